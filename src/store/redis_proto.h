/* The Redis protocol as the replay store speaks it (SPEC.md 5): command
 * encoding, a capped reply reader, and the mapping from replies to store
 * results. Pure -- no sockets, no loop -- so the reply path is fuzzed
 * (fuzz/fuzz_redis_reply.c) and unit-tested without a server.
 *
 * hiredis does the byte work: redisFormatCommandArgv encodes commands and
 * its reader (redisReaderCreateWithFunctions) parses RESP, but into our own
 * reply objects, built by callbacks that enforce our caps -- arrays nested
 * at most BOUNDS_REDIS_REPLY_DEPTH_MAX deep (only CLUSTER SHARDS / SLOTS
 * answers nest), at most BOUNDS_REDIS_REPLY_ARRAY_MAX elements per array
 * and BOUNDS_REDIS_REPLY_OBJECTS_MAX objects per reply, strings of at
 * most BOUNDS_REDIS_REPLY_STRING_MAX bytes, and at most
 * BOUNDS_REDIS_REPLY_PENDING_MAX bytes of an unfinished reply buffered.
 * Nothing is sized from a count the server sent before it is checked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "store/store.h"

enum store_redis_type {
    STORE_REDIS_STATUS = 0, /* +OK */
    STORE_REDIS_ERROR,      /* -ERR ... */
    STORE_REDIS_INTEGER,    /* :1 */
    STORE_REDIS_NIL,        /* $-1 or *-1 */
    STORE_REDIS_STRING,     /* $3 abc */
    STORE_REDIS_ARRAY,      /* *3 ... (nested only in cluster topology replies) */
    STORE_REDIS_TYPE_COUNT,
};

struct store_redis_reply {
    enum store_redis_type type;
    int64_t integer; /* INTEGER */
    char *str;       /* STATUS, ERROR, STRING: NUL-terminated */
    size_t len;
    size_t count;                     /* ARRAY */
    struct store_redis_reply **elems; /* ARRAY: count entries */
};

/* ---- Reading ---------------------------------------------------------- */

struct store_redis_reader;

/* Bytes given to one store_redis_proto_feed() call at most. */
#define STORE_REDIS_FEED_MAX (16 * 1024)

enum store_redis_read {
    STORE_REDIS_READ_REPLY = 0, /* *out holds a reply (caller frees it) */
    STORE_REDIS_READ_MORE,      /* no complete reply yet */
    STORE_REDIS_READ_ERROR,     /* protocol error or a cap passed: drop the connection */
};

struct store_redis_reader *store_redis_proto_reader_new(void);
/* A reader with other caps than the store's (the revocation subscriber
 * reads pages of up to 2 * BOUNDS_REVOCATION_RESYNC_PAGE elements). */
struct store_redis_reader *store_redis_proto_reader_new_sized(size_t elements_max,
                                                              size_t pending_max);
void store_redis_proto_reader_free(struct store_redis_reader *r);
/* Adds len (<= STORE_REDIS_FEED_MAX) bytes. READ_ERROR when the bytes of
 * the unfinished reply would pass the cap; feed a chunk, then take every
 * reply with store_redis_proto_next() before feeding the next one. */
enum store_redis_read store_redis_proto_feed(struct store_redis_reader *r, const char *data,
                                             size_t len);
/* The next complete reply, if any. After READ_ERROR the reader is dead. */
enum store_redis_read store_redis_proto_next(struct store_redis_reader *r,
                                             struct store_redis_reply **out);
void store_redis_proto_reply_free(struct store_redis_reply *reply);

/* ---- Commands (each appends its RESP encoding to out; -1 at the cap) ---- */

int store_redis_proto_set_nx(struct buf *out, struct slice key, uint64_t ttl_ms) BUF_WUR;
int store_redis_proto_set(struct buf *out, struct slice key, uint64_t ttl_ms) BUF_WUR;
int store_redis_proto_exists(struct buf *out, struct slice key) BUF_WUR;
int store_redis_proto_ping(struct buf *out) BUF_WUR;
/* user NULL: legacy "AUTH password"; else ACL "AUTH user password". */
int store_redis_proto_auth(struct buf *out, const char *user, const char *password) BUF_WUR;
int store_redis_proto_select(struct buf *out, unsigned db) BUF_WUR;

/* Arguments of the refresh-rotation script (SPEC.md 5.3). */
struct store_redis_refresh_args {
    struct slice family_key;
    struct slice claim_key;
    uint64_t claim_ttl_ms;
    uint64_t family_ttl_ms;
    int64_t now_ms;
    uint64_t grace_ms;
    uint64_t retry_grace_ms;
};

/* EVALSHA <sha> 2 family claim claimTTL familyTTL now grace retryGrace. */
int store_redis_proto_evalsha(struct buf *out, const char *sha1_hex,
                              const struct store_redis_refresh_args *a) BUF_WUR;
/* The same with the script text (the NOSCRIPT fallback). */
int store_redis_proto_eval(struct buf *out, const struct store_redis_refresh_args *a) BUF_WUR;

/* The Lua text of the refresh-rotation script (static). */
const char *store_redis_proto_refresh_script(void);
/* Its SHA-1 as 40 lowercase hex digits + NUL, the EVALSHA handle. */
void store_redis_proto_refresh_sha1(char out[41]);

/* Issue 14: the shared rate window (store_rate_window), "EVAL <script> 1
 * key now limit window_ms". EVAL, not EVALSHA: the script is short, and
 * one command form keeps the op self-contained (no NOSCRIPT resend). */
int store_redis_proto_rate_window(struct buf *out, struct slice key, uint32_t limit,
                                  int64_t now_ms) BUF_WUR;
/* Its Lua text (static; tests run it against a real server). */
const char *store_redis_proto_rate_window_script(void);
/* Its reply: 1 → OK (allowed), 0 → ALREADY_USED (refused), anything else
 * → UNAVAILABLE. */
enum store_rc store_redis_proto_rate_window_result(const struct store_redis_reply *r);

/* ---- Replies to results ------------------------------------------------- */

/* SET NX: +OK → OK, nil → ALREADY_USED, anything else → UNAVAILABLE. */
enum store_rc store_redis_proto_claim_result(const struct store_redis_reply *r);
/* SET, AUTH, SELECT: +OK → OK, else UNAVAILABLE. */
enum store_rc store_redis_proto_ok_result(const struct store_redis_reply *r);
/* EXISTS: an integer → OK, else UNAVAILABLE. */
enum store_rc store_redis_proto_exists_result(const struct store_redis_reply *r);
/* PING: +PONG → OK, else UNAVAILABLE. */
enum store_rc store_redis_proto_pong_result(const struct store_redis_reply *r);
/* The script's {revoked, racing, reused, retry_ms} (a 3-element reply
 * reads retry_ms 0): {1,0,0,0} FAMILY_REVOKED, {0,0,0,0} FRESH, {0,1,0,0}
 * RACING, {0,0,1,0} REUSED, {0,0,0,ms > 0} RETRY; anything else is
 * UNAVAILABLE (fail closed). */
enum store_refresh store_redis_proto_refresh_result(const struct store_redis_reply *r);
/* RETRY's claim time (ms > 0); 0 for every other reply. */
int64_t store_redis_proto_refresh_retry_ms(const struct store_redis_reply *r);
/* -NOSCRIPT: the server lost the script cache; resend with EVAL. */
bool store_redis_proto_is_noscript(const struct store_redis_reply *r);
/* The first word of an error reply is one of these authentication errors:
 * WRONGPASS, NOAUTH, or "ERR ... AUTH ..." / "ERR invalid password". */
bool store_redis_proto_is_auth_error(const struct store_redis_reply *r);
/* A printable sample of an error or unexpected reply for logs: at most
 * cap - 1 bytes, non-printable bytes as '?'. Never contains our arguments
 * (Redis does not echo passwords). */
void store_redis_proto_describe(const struct store_redis_reply *r, char *out, size_t cap);

/* ---- Link, WAIT and Sentinel commands (issue 14) ------------------------ */

/* Any command from its arguments (at most 10); -1 past that or at the cap. */
int store_redis_proto_command(struct buf *out, size_t argc, const struct slice *argv) BUF_WUR;
int store_redis_proto_subscribe(struct buf *out, const char *channel) BUF_WUR;
/* WAIT <replicas> <timeout_ms>. */
int store_redis_proto_wait(struct buf *out, unsigned replicas, uint64_t timeout_ms) BUF_WUR;
/* WAIT's integer reply: at least replicas → OK; fewer, or anything else
 * (an error, a non-integer) → UNAVAILABLE. */
enum store_rc store_redis_proto_wait_result(const struct store_redis_reply *r, unsigned replicas);
/* -READONLY: we wrote to a replica (a failover demoted our primary). */
bool store_redis_proto_is_readonly(const struct store_redis_reply *r);

/* The reply handling both Redis back ends share after a write
 * (redis_conn.c, redis_cluster.c), so they cannot drift apart. */
enum store_redis_resend {
    STORE_REDIS_RESEND_NONE = 0, /* map the reply to a result */
    STORE_REDIS_RESEND_EVAL,     /* -NOSCRIPT to an EVALSHA: send the script's text */
    STORE_REDIS_RESEND_TRYAGAIN, /* -TRYAGAIN (Cluster, a slot mid-migration): once, later */
};
enum store_redis_resend store_redis_proto_resend(const struct store_redis_reply *r,
                                                 bool sent_evalsha);
/* The WAIT that followed a write that succeeded: true when fewer than
 * replicas acknowledged it -- the write must not count (fail closed) --
 * and then one sentence in text ("WAIT: 0 of 1 replicas acknowledged
 * within 500 ms", "WAIT failed: <error>"). */
bool store_redis_proto_wait_short(const struct store_redis_reply *wait_reply, unsigned replicas,
                                  uint64_t timeout_ms, char *text, size_t cap);

/* ---- Revocations (docs/internals/revocation.md) ---------------------------- */

/* EVAL <script> 1 key expires_ms member now_ms: ZADD GT + ZREMRANGEBYSCORE
 * + PUBLISH "<expires_ms> <member>" on the channel named key. */
int store_redis_proto_revocation(struct buf *out, struct slice key, struct slice member,
                                 int64_t expires_ms, int64_t now_ms) BUF_WUR;
/* Its reply: an integer >= 0 (the PUBLISH count) → OK, else UNAVAILABLE. */
enum store_rc store_redis_proto_revocation_result(const struct store_redis_reply *r);
/* The Lua text (static), for tests and the CLI's documentation. */
const char *store_redis_proto_revocation_script(void);
/* ZRANGEBYSCORE key (min_ms +inf WITHSCORES LIMIT offset count. */
int store_redis_proto_revocation_page(struct buf *out, struct slice key, int64_t min_ms,
                                      uint64_t offset, uint64_t count) BUF_WUR;
