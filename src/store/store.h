/* The replay store: single-use claims and refresh rotation (SPEC.md 5).
 *
 * A small vtable with two back ends: Redis (store/redis.h, one connection
 * per worker) and an in-process table (store/memory.h, one table per
 * process behind a mutex, for a single replica). A `struct store_backend`
 * is process-wide and immutable after start-up; each worker opens its own
 * `struct store` on its event loop and uses it only on that thread.
 *
 * Every operation is asynchronous: it returns a handle at once and answers
 * exactly once through its callback, on the store's event loop, never from
 * inside the call that started it (a back end that knows the answer at
 * once still defers it through the loop). store_cancel() means the callback
 * never runs; it does not undo the operation -- a command already sent to
 * Redis, or a claim already recorded in memory, stands. That is what lets
 * a refresh-family revocation survive a client that disconnects mid-request
 * (SPEC.md 5.3).
 *
 * Keys are given without REDIS_KEY_PREFIX; the store adds it (the memory
 * store too, harmlessly). Build them with the store_key_* helpers so no
 * handler spells a namespace. Errors fail closed: anything but a clear
 * answer is STORE_ERR_UNAVAILABLE. This module never logs above debug (but
 * for the memory store's rate-limited replay_store_full warning); the
 * handler that decides the outcome logs it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

struct event_base;
struct store_backend;
struct store;
struct store_op;
struct worker;

enum store_rc {
    STORE_OK = 0,
    STORE_ERR_ALREADY_USED, /* claim_once: the key was already claimed */
    STORE_ERR_UNAVAILABLE,  /* the store could not decide: fail closed */
    STORE_RC_COUNT,
};

/* Outcome of the refresh-rotation check-and-claim (SPEC.md 5.3). */
enum store_refresh {
    STORE_REFRESH_FRESH = 0,      /* first use of this refresh token: rotate */
    STORE_REFRESH_RACING,         /* claimed less than grace ago: 429, family untouched */
    STORE_REFRESH_REUSED,         /* claimed earlier: family revoked in the same step */
    STORE_REFRESH_FAMILY_REVOKED, /* family already revoked: nothing claimed */
    STORE_REFRESH_UNAVAILABLE,    /* the store could not decide: fail closed */
    STORE_REFRESH_RETRY,          /* claimed less than the retry grace ago: answer the
                                   * successor derived from that claim's time */
    STORE_REFRESH_COUNT,
};

/* "ok", "already_used", "unavailable"; "fresh", "racing", "reused",
 * "family_revoked", "unavailable", "retry". Static strings, for logs. */
const char *store_rc_str(enum store_rc rc);
const char *store_refresh_str(enum store_refresh rc);

/* Callbacks run on the store's loop. `error` is NULL unless rc is
 * UNAVAILABLE; then it is a short reason for the log line ("not connected",
 * "command timed out", the server's error text ...), free of secrets and
 * valid only during the call. The operation's handle is already gone when
 * the callback runs: do not cancel it there. */
typedef void (*store_done_fn)(enum store_rc rc, const char *error, void *arg);
/* claimed_ms: for FRESH the request's now_ms (the claim just written), for
 * RETRY the time of the earlier claim it retries; 0 otherwise. */
typedef void (*store_refresh_fn)(enum store_refresh rc, int64_t claimed_ms, const char *error,
                                 void *arg);

/* Longest error text passed to a callback or written by start-up checks. */
#define STORE_ERROR_MAX 256

/* ---- Back ends (process-wide) ------------------------------------------ */

/* "redis" or "memory" (static). */
const char *store_backend_name(const struct store_backend *b);
/* Frees a back end after every store opened on it is freed. NULL is a
 * no-op. */
void store_backend_free(struct store_backend *b);

/* ---- One store per worker ------------------------------------------------ */

/* Opens a store on `base` (borrowed; it must outlive the store). The Redis
 * back end starts connecting at once. Never NULL. */
struct store *store_new(struct store_backend *b, struct event_base *base);
/* Cancels every outstanding operation (no callback runs), closes the
 * connection and frees the store. Safe from inside one of the store's own
 * callbacks (the memory is released when that callback returns). NULL is a
 * no-op. */
void store_free(struct store *s);
/* Opens w's store (store_new on its loop) in its WORKER_SLOT_STORE, closed
 * with the worker's slots (worker.h). b is borrowed and must outlive w. */
void store_attach_worker(struct worker *w, struct store_backend *b);
/* w's store, or NULL when none is attached (no replay store configured).
 * Borrowed. */
struct store *store_of_worker(const struct worker *w);
/* True when operations can currently be answered (memory: always; Redis:
 * connected and past AUTH/SELECT). A hint for tests and diagnostics. */
bool store_is_connected(const struct store *s);

/* ---- Operations ------------------------------------------------------------
 * Each copies what it needs from its arguments before returning (the key
 * may be freed at once) and returns a handle, never NULL, valid until the
 * callback starts or store_cancel() is called. */

/* SET <prefix><key> 1 NX PX ttl_ms: STORE_OK when this call claimed the
 * key, STORE_ERR_ALREADY_USED when it was already claimed. A ttl_ms of 0 is
 * raised to 1. */
struct store_op *store_claim_once(struct store *s, struct slice key, uint64_t ttl_ms,
                                  store_done_fn cb, void *arg);
/* SET <prefix><key> 1 PX ttl_ms, unconditionally (revokes a refresh family
 * after a code replay, SPEC.md 3.8 code step 11). STORE_OK or UNAVAILABLE. */
struct store_op *store_mark(struct store *s, struct slice key, uint64_t ttl_ms, store_done_fn cb,
                            void *arg);

struct store_refresh_req {
    struct slice family_key; /* store_key_refresh_family_revoked(fam) */
    struct slice claim_key;  /* store_key_refresh(tid) */
    uint64_t claim_ttl_ms;   /* life of the claim; 0 is raised to 1 */
    uint64_t family_ttl_ms;  /* life of a revocation marker (7 d); 0 → 1 */
    int64_t now_ms;          /* proxy wall clock, Unix ms; stored as the claim time */
    uint64_t grace_ms;       /* REFRESH_RACE_GRACE_SEC in ms; 0 = no racing window */
    uint64_t retry_grace_ms; /* REFRESH_RETRY_GRACE in ms; 0 = no retries answered */
    /* The token's rotation generation (grant_refresh.generation). Redis ignores
     * it (one key per token); the memory store keeps one record per family
     * and needs it to tell the family's next token from a used one. */
    uint64_t generation;
};

/* The atomic check-and-claim of SPEC.md 5.3, as one step:
 * 1. family marker present → FAMILY_REVOKED (nothing written);
 * 2. claim key absent → write now_ms there → FRESH;
 * 3. retry_grace > 0 and now_ms − prior claim time < retry_grace → RETRY
 *    with the prior claim time (docs/internals/rotation.md);
 * 4. grace > 0 and now_ms − prior claim time < grace → RACING;
 * 5. otherwise write the family marker → REUSED. */
struct store_op *store_refresh_claim(struct store *s, const struct store_refresh_req *req,
                                     store_refresh_fn cb, void *arg);

/* Readiness probe (SPEC.md 5.5): EXISTS <prefix>__readyz_probe__ on Redis.
 * STORE_OK when the store answered. Use store/readiness.h for the cached,
 * single-flight /readyz answer. */
struct store_op *store_ping(struct store *s, store_done_fn cb, void *arg);

/* A revocation (revocation/revocation.h builds the member; handlers call
 * revocation_revoke_*, not this): one atomic script that ZADDs member with
 * score expires_ms (GT: a later expiry wins) into <prefix>revocations,
 * drops the members whose score is at or before now_ms, and PUBLISHes
 * "<expires_ms> <member>" on the channel <prefix>revocations. STORE_OK or
 * UNAVAILABLE. The memory back end answers STORE_OK at once: its process
 * is the whole fleet, and revocation.c has already added the entry to the
 * process's set. */
struct store_revocation_req {
    struct slice member;
    int64_t expires_ms;
    int64_t now_ms;
};
struct store_op *store_revocation_publish(struct store *s, const struct store_revocation_req *r,
                                          store_done_fn cb, void *arg);
/* The sorted set and the channel, before the prefix. */
#define STORE_KEY_REVOCATIONS "revocations"

/* After this the callback never runs; the operation itself is not undone.
 * NULL is a no-op. */
void store_cancel(struct store_op *op);

/* ---- Key names (SPEC.md 5.2) --------------------------------------------
 * Each appends "<namespace>:<id>" to out. -1 when id is empty or the key
 * would pass BOUNDS_STORE_KEY_MAX or the buffer's cap (out unchanged). */
#define STORE_KEY_READYZ_PROBE "__readyz_probe__"

int store_key_authz_code(struct slice code_tid, struct buf *out) BUF_WUR;
int store_key_refresh_family_revoked(struct slice family_id, struct buf *out) BUF_WUR;
int store_key_refresh(struct slice refresh_tid, struct buf *out) BUF_WUR;
int store_key_consent(struct slice jti, struct buf *out) BUF_WUR;
int store_key_callback_state(struct slice sid, struct buf *out) BUF_WUR;
/* id: oauth_client_assertion_replay_id (a hash of client_id and jti). */
int store_key_client_assertion(struct slice id, struct buf *out) BUF_WUR;

/* A revoked family stays revoked this long: 7 days (SPEC.md 5.2). */
#define STORE_FAMILY_REVOKED_TTL_MS (7ULL * 24 * 3600 * 1000)

/* TTL of a claim on a token that expires at exp_unix_s: max(exp − now, 1 s)
 * in milliseconds (SPEC.md 3.5 step 9, 3.7 step 8, 3.8). */
uint64_t store_ttl_ms_until(int64_t exp_unix_s, int64_t now_unix_s);
