/* Redis protocol for the replay store (see redis_proto.h). */
#include "store/redis_proto.h"

#include <assert.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/xalloc.h"
#include "bounds.h"

/* ---- Reader ------------------------------------------------------------------ */

struct store_redis_reader {
    redisReader *hr;
    size_t objects;      /* objects of the reply being read (BOUNDS_REDIS_REPLY_OBJECTS_MAX) */
    size_t elements_max; /* elements in any one array; BOUNDS_REDIS_REPLY_ARRAY_MAX by default */
    size_t
        pending_max; /* bytes of an unfinished reply; BOUNDS_REDIS_REPLY_PENDING_MAX by default */
};

/* Counts one more object of the current reply; false past the cap (the
 * create function then returns NULL: hiredis reports an error, frees what
 * was built and the connection goes). hiredis hands the reader's privdata
 * to every task. */
static bool
admit(const redisReadTask *task)
{
    struct store_redis_reader *r = task->privdata;
    if (task->parent == NULL) {
        r->objects = 0; /* a new reply begins */
    }
    return ++r->objects <= BOUNDS_REDIS_REPLY_OBJECTS_MAX;
}

static struct store_redis_reply *
node_new(const redisReadTask *task, enum store_redis_type type)
{
    struct store_redis_reply *n = xcalloc(1, sizeof(*n));
    n->type = type;
    if (task->parent != NULL) {
        /* hiredis hands every element its parent and index; attaching at
         * once means freeing the root on an error frees everything. */
        struct store_redis_reply *parent = task->parent->obj;
        if (task->idx >= 0 && (size_t)task->idx < parent->count) {
            parent->elems[task->idx] = n;
        }
    }
    return n;
}

static void *
create_string(const redisReadTask *task, char *str, size_t len)
{
    enum store_redis_type type;
    switch (task->type) {
    case REDIS_REPLY_STATUS:
        type = STORE_REDIS_STATUS;
        break;
    case REDIS_REPLY_ERROR:
        type = STORE_REDIS_ERROR;
        break;
    default:
        type = STORE_REDIS_STRING;
        break;
    }
    if (len > BOUNDS_REDIS_REPLY_STRING_MAX || !admit(task)) {
        return NULL; /* the reader reports an error; the connection goes */
    }
    struct store_redis_reply *n = node_new(task, type);
    n->str = xstrndup(str, len);
    n->len = len;
    return n;
}

static void *
create_array(const redisReadTask *task, int elements)
{
    /* Only the cluster topology replies nest; depth, width and the
     * object count are each capped, and the element table is sized from
     * the peer's count only after that count passed its cap. */
    int depth = 0;
    for (const redisReadTask *t = task->parent; t != NULL; t = t->parent) {
        depth++;
    }
    if (depth >= BOUNDS_REDIS_REPLY_DEPTH_MAX || elements < 0 ||
        (size_t)elements > ((const struct store_redis_reader *)task->privdata)->elements_max ||
        !admit(task)) {
        return NULL;
    }
    struct store_redis_reply *n = node_new(task, STORE_REDIS_ARRAY);
    n->count = (size_t)elements;
    n->elems = xcalloc(n->count ? n->count : 1, sizeof(*n->elems));
    return n;
}

static void *
create_integer(const redisReadTask *task, long long value)
{
    if (!admit(task)) {
        return NULL;
    }
    struct store_redis_reply *n = node_new(task, STORE_REDIS_INTEGER);
    n->integer = value;
    return n;
}

static void *
create_nil(const redisReadTask *task)
{
    if (!admit(task)) {
        return NULL;
    }
    return node_new(task, STORE_REDIS_NIL);
}

void
store_redis_proto_reply_free(struct store_redis_reply *reply)
{
    if (reply == NULL) {
        return;
    }
    for (size_t i = 0; i < reply->count; i++) {
        store_redis_proto_reply_free(reply->elems[i]);
    }
    xfree(reply->elems);
    xfree(reply->str);
    xfree(reply);
}

static void
free_object(void *obj)
{
    store_redis_proto_reply_free(obj);
}

/* hiredis 0.14 takes a non-const table. */
static redisReplyObjectFunctions reply_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

struct store_redis_reader *
store_redis_proto_reader_new(void)
{
    return store_redis_proto_reader_new_sized(BOUNDS_REDIS_REPLY_ARRAY_MAX,
                                              BOUNDS_REDIS_REPLY_PENDING_MAX);
}

struct store_redis_reader *
store_redis_proto_reader_new_sized(size_t elements_max, size_t pending_max)
{
    struct store_redis_reader *r = xcalloc(1, sizeof(*r));
    r->elements_max = elements_max;
    r->pending_max = pending_max;
    r->hr = redisReaderCreateWithFunctions(&reply_functions);
    if (r->hr == NULL) {
        fprintf(stderr, "fatal: redisReaderCreate failed (out of memory)\n");
        abort();
    }
    /* Every read task carries it: create_array reads the caps there. */
    r->hr->privdata = r; /* hiredis's setter macro casts to int, which clang refuses */
    return r;
}

void
store_redis_proto_reader_free(struct store_redis_reader *r)
{
    if (r == NULL) {
        return;
    }
    redisReaderFree(r->hr);
    xfree(r);
}

enum store_redis_read
store_redis_proto_feed(struct store_redis_reader *r, const char *data, size_t len)
{
    if (r->hr->err != 0 || len > STORE_REDIS_FEED_MAX) {
        return STORE_REDIS_READ_ERROR;
    }
    size_t pending = r->hr->len - r->hr->pos;
    if (pending + len > r->pending_max) {
        return STORE_REDIS_READ_ERROR;
    }
    if (len > 0 && redisReaderFeed(r->hr, data, len) != REDIS_OK) {
        return STORE_REDIS_READ_ERROR;
    }
    return STORE_REDIS_READ_MORE;
}

enum store_redis_read
store_redis_proto_next(struct store_redis_reader *r, struct store_redis_reply **out)
{
    void *reply = NULL;
    if (r->hr->err != 0 || redisReaderGetReply(r->hr, &reply) != REDIS_OK) {
        return STORE_REDIS_READ_ERROR;
    }
    if (reply == NULL) {
        return STORE_REDIS_READ_MORE;
    }
    *out = reply;
    return STORE_REDIS_READ_REPLY;
}

/* ---- Commands ------------------------------------------------------------------- */

#define ARGV_MAX 10

static int
command(struct buf *out, int argc, const struct slice *argv)
{
    const char *ptrs[ARGV_MAX];
    size_t lens[ARGV_MAX];
    char *cmd = NULL;
    assert(argc <= ARGV_MAX);
    for (int i = 0; i < argc; i++) {
        ptrs[i] = argv[i].ptr;
        lens[i] = argv[i].len;
    }
    int n = redisFormatCommandArgv(&cmd, argc, ptrs, lens);
    if (n < 0) {
        fprintf(stderr, "fatal: redisFormatCommandArgv failed (out of memory)\n");
        abort();
    }
    int rc = buf_append(out, cmd, (size_t)n);
    redisFreeCommand(cmd);
    return rc;
}

/* Decimal text of a number in a caller's array. */
#define NUM_MAX 24

static struct slice
num_u(char buf[NUM_MAX], uint64_t v)
{
    int n = snprintf(buf, NUM_MAX, "%" PRIu64, v);
    return slice_make(buf, (size_t)n);
}

static struct slice
num_i(char buf[NUM_MAX], int64_t v)
{
    int n = snprintf(buf, NUM_MAX, "%" PRId64, v);
    return slice_make(buf, (size_t)n);
}

int
store_redis_proto_set_nx(struct buf *out, struct slice key, uint64_t ttl_ms)
{
    char ttl[NUM_MAX];
    struct slice argv[] = {SLICE_LIT("SET"),  key, SLICE_LIT("1"), SLICE_LIT("NX"), SLICE_LIT("PX"),
                           num_u(ttl, ttl_ms)};
    return command(out, 6, argv);
}

int
store_redis_proto_set(struct buf *out, struct slice key, uint64_t ttl_ms)
{
    char ttl[NUM_MAX];
    struct slice argv[] = {SLICE_LIT("SET"), key, SLICE_LIT("1"), SLICE_LIT("PX"),
                           num_u(ttl, ttl_ms)};
    return command(out, 5, argv);
}

int
store_redis_proto_exists(struct buf *out, struct slice key)
{
    struct slice argv[] = {SLICE_LIT("EXISTS"), key};
    return command(out, 2, argv);
}

int
store_redis_proto_ping(struct buf *out)
{
    struct slice argv[] = {SLICE_LIT("PING")};
    return command(out, 1, argv);
}

int
store_redis_proto_auth(struct buf *out, const char *user, const char *password)
{
    struct slice argv[] = {SLICE_LIT("AUTH"), slice_from_cstr(user),
                           slice_from_cstr(password ? password : "")};
    if (user == NULL) {
        argv[1] = argv[2];
        return command(out, 2, argv);
    }
    return command(out, 3, argv);
}

int
store_redis_proto_select(struct buf *out, unsigned db)
{
    char n[NUM_MAX];
    struct slice argv[] = {SLICE_LIT("SELECT"), num_u(n, db)};
    return command(out, 2, argv);
}

/* SPEC.md 5.3. Why a script: whether the family is revoked, whether this
 * refresh token was already claimed, and -- if it was claimed long enough
 * ago -- the revocation of the whole family must be one decision. Two
 * replicas handling the same stolen token at once must not both see "not
 * revoked, not claimed"; and a reuse must revoke the family in the same
 * step, so neither a crash nor a client that disconnects between a claim
 * and a separate revocation write can leave the family alive. Redis runs a
 * script atomically, in one round trip.
 *
 * KEYS[1] family marker, KEYS[2] claim key; ARGV claim TTL ms, family TTL
 * ms, now ms (the proxy's clock), race grace ms, retry grace ms. Returns
 * {revoked, racing, reused, retry_claim_ms}: a retry inside the retry
 * grace (docs/internals/rotation.md) answers {0, 0, 0, prior}, the claim
 * time the successor is derived from. A legacy claim value "1" reads as
 * 1 ms, so it is always stale. Lua numbers are doubles: epoch
 * milliseconds are exact well past 2200. */
static const char refresh_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  return {1, 0, 0, 0}\n"
    "end\n"
    "if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[1]) then\n"
    "  return {0, 0, 0, 0}\n"
    "end\n"
    "local now = tonumber(ARGV[3])\n"
    "local prior = tonumber(redis.call('GET', KEYS[2]))\n"
    "local retry = tonumber(ARGV[5])\n"
    "if prior and prior > 1 and retry > 0 and now - prior < retry then\n"
    "  return {0, 0, 0, prior}\n"
    "end\n"
    "local grace = tonumber(ARGV[4])\n"
    "if prior and grace > 0 and now - prior < grace then\n"
    "  return {0, 1, 0, 0}\n"
    "end\n"
    "redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])\n"
    "return {0, 0, 1, 0}\n";

const char *
store_redis_proto_refresh_script(void)
{
    return refresh_script;
}

void
store_redis_proto_refresh_sha1(char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(refresh_script, sizeof(refresh_script) - 1, md, &md_len, EVP_sha1(), NULL) !=
            1 ||
        md_len != 20) {
        fprintf(stderr, "fatal: SHA-1 of the refresh script failed\n");
        abort();
    }
    hex_encode(md, 20, out);
}

static int
script_call(struct buf *out, struct slice head, struct slice body,
            const struct store_redis_refresh_args *a)
{
    char ttl[NUM_MAX], fttl[NUM_MAX], now[NUM_MAX], grace[NUM_MAX], retry[NUM_MAX];
    struct slice argv[] = {
        head,
        body,
        SLICE_LIT("2"),
        a->family_key,
        a->claim_key,
        num_u(ttl, a->claim_ttl_ms),
        num_u(fttl, a->family_ttl_ms),
        num_i(now, a->now_ms),
        num_u(grace, a->grace_ms),
        num_u(retry, a->retry_grace_ms),
    };
    return command(out, 10, argv);
}

int
store_redis_proto_evalsha(struct buf *out, const char *sha1_hex,
                          const struct store_redis_refresh_args *a)
{
    return script_call(out, SLICE_LIT("EVALSHA"), slice_from_cstr(sha1_hex), a);
}

int
store_redis_proto_eval(struct buf *out, const struct store_redis_refresh_args *a)
{
    return script_call(out, SLICE_LIT("EVAL"),
                       slice_make(refresh_script, sizeof(refresh_script) - 1), a);
}

/* Issue 14, RATE_LIMIT_STORE=redis: the per-endpoint budgets shared by every
 * replica. The estimate of ratelimit.c (SPEC.md 3.0.3) on one hash per key:
 * w = the window index of c, c = requests counted in w, p = in w - 1.
 * Windows are the caller's clock's UTC minutes (ARGV[3] ms each); a refused
 * request is not counted and does not extend the TTL, which is two windows
 * from the last counted request (after that the key weighs nothing). A
 * caller whose clock is behind the key's window is judged at that window's
 * start, as ratelimit.c does. Lua numbers are doubles: every quantity is an
 * integer below 2^53, and the one division is floored exactly (its true
 * quotient is at least 1/120000 from the next integer, far more than the
 * rounding error). KEYS[1] the key; ARGV now ms, limit, window ms. Returns
 * 1 allowed (counted), 0 refused. */
static const char rate_window_script[] =
    "local now = tonumber(ARGV[1])\n"
    "local limit = tonumber(ARGV[2])\n"
    "local len = tonumber(ARGV[3])\n"
    "local win = math.floor(now / len)\n"
    "local elapsed = now - win * len\n"
    "local v = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')\n"
    "local w = tonumber(v[1])\n"
    "local cur = tonumber(v[2]) or 0\n"
    "local prev = tonumber(v[3]) or 0\n"
    "if w == nil then\n"
    "  w = win cur = 0 prev = 0\n"
    "elseif w < win then\n"
    "  if w == win - 1 then prev = cur else prev = 0 end\n"
    "  cur = 0 w = win\n"
    "elseif w > win then\n"
    "  elapsed = 0\n"
    "end\n"
    "local est = math.floor((2 * prev * (len - elapsed) + len) / (2 * len)) + cur\n"
    "if est + 1 > limit then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'w', w, 'c', cur + 1, 'p', prev)\n"
    "redis.call('PEXPIRE', KEYS[1], 2 * len)\n"
    "return 1\n";

const char *
store_redis_proto_rate_window_script(void)
{
    return rate_window_script;
}

int
store_redis_proto_rate_window(struct buf *out, struct slice key, uint32_t limit, int64_t now_ms)
{
    char now[NUM_MAX], lim[NUM_MAX], len[NUM_MAX];
    struct slice argv[] = {
        SLICE_LIT("EVAL"),
        slice_make(rate_window_script, sizeof(rate_window_script) - 1),
        SLICE_LIT("1"),
        key,
        num_i(now, now_ms),
        num_u(lim, limit),
        num_u(len, BOUNDS_RATE_WINDOW_MS),
    };
    return command(out, 7, argv);
}

enum store_rc
store_redis_proto_rate_window_result(const struct store_redis_reply *r)
{
    if (r != NULL && r->type == STORE_REDIS_INTEGER && (r->integer == 0 || r->integer == 1)) {
        return r->integer == 1 ? STORE_OK : STORE_ERR_ALREADY_USED;
    }
    return STORE_ERR_UNAVAILABLE;
}

/* ---- Replies to results ------------------------------------------------------------ */

static bool
is_status(const struct store_redis_reply *r, const char *text)
{
    return r != NULL && r->type == STORE_REDIS_STATUS && strcmp(r->str, text) == 0;
}

enum store_rc
store_redis_proto_claim_result(const struct store_redis_reply *r)
{
    if (is_status(r, "OK")) {
        return STORE_OK;
    }
    if (r != NULL && r->type == STORE_REDIS_NIL) {
        return STORE_ERR_ALREADY_USED;
    }
    return STORE_ERR_UNAVAILABLE;
}

enum store_rc
store_redis_proto_ok_result(const struct store_redis_reply *r)
{
    return is_status(r, "OK") ? STORE_OK : STORE_ERR_UNAVAILABLE;
}

enum store_rc
store_redis_proto_exists_result(const struct store_redis_reply *r)
{
    return r != NULL && r->type == STORE_REDIS_INTEGER ? STORE_OK : STORE_ERR_UNAVAILABLE;
}

enum store_rc
store_redis_proto_pong_result(const struct store_redis_reply *r)
{
    return is_status(r, "PONG") ? STORE_OK : STORE_ERR_UNAVAILABLE;
}

/* The three flags of the reply (and its fourth element, the retried
 * claim's time, when there is one); false when the shape is wrong. */
static bool
refresh_fields(const struct store_redis_reply *r, int64_t v[4])
{
    if (r == NULL || r->type != STORE_REDIS_ARRAY || (r->count != 3 && r->count != 4)) {
        return false;
    }
    v[3] = 0;
    for (size_t i = 0; i < r->count; i++) {
        const struct store_redis_reply *e = r->elems[i];
        if (e == NULL || e->type != STORE_REDIS_INTEGER) {
            return false;
        }
        if (i < 3 && e->integer != 0 && e->integer != 1) {
            return false;
        }
        if (i == 3 && e->integer < 0) {
            return false;
        }
        v[i] = e->integer;
    }
    return true;
}

enum store_refresh
store_redis_proto_refresh_result(const struct store_redis_reply *r)
{
    int64_t v[4];
    if (!refresh_fields(r, v)) {
        return STORE_REFRESH_UNAVAILABLE;
    }
    if (v[3] != 0) {
        return v[0] == 0 && v[1] == 0 && v[2] == 0 ? STORE_REFRESH_RETRY
                                                   : STORE_REFRESH_UNAVAILABLE;
    }
    if (v[0] == 1 && v[1] == 0 && v[2] == 0) {
        return STORE_REFRESH_FAMILY_REVOKED;
    }
    if (v[0] == 0 && v[1] == 0 && v[2] == 0) {
        return STORE_REFRESH_FRESH;
    }
    if (v[0] == 0 && v[1] == 1 && v[2] == 0) {
        return STORE_REFRESH_RACING;
    }
    if (v[0] == 0 && v[1] == 0 && v[2] == 1) {
        return STORE_REFRESH_REUSED;
    }
    return STORE_REFRESH_UNAVAILABLE;
}

int64_t
store_redis_proto_refresh_retry_ms(const struct store_redis_reply *r)
{
    int64_t v[4];
    if (store_redis_proto_refresh_result(r) != STORE_REFRESH_RETRY || !refresh_fields(r, v)) {
        return 0;
    }
    return v[3];
}

static bool
error_starts_with(const struct store_redis_reply *r, const char *word)
{
    size_t n = strlen(word);
    return r != NULL && r->type == STORE_REDIS_ERROR && r->len >= n && memcmp(r->str, word, n) == 0;
}

bool
store_redis_proto_is_noscript(const struct store_redis_reply *r)
{
    return error_starts_with(r, "NOSCRIPT");
}

bool
store_redis_proto_is_auth_error(const struct store_redis_reply *r)
{
    if (error_starts_with(r, "WRONGPASS") || error_starts_with(r, "NOAUTH")) {
        return true;
    }
    /* Pre-6 servers and "AUTH without a configured password". */
    return error_starts_with(r, "ERR") &&
           (strstr(r->str, "AUTH") != NULL || strstr(r->str, "password") != NULL);
}

void
store_redis_proto_describe(const struct store_redis_reply *r, char *out, size_t cap)
{
    static const char *const type_names[STORE_REDIS_TYPE_COUNT] = {
        "status", "error", "integer", "nil", "string", "array",
    };
    if (cap == 0) {
        return;
    }
    if (r == NULL) {
        snprintf(out, cap, "no reply");
        return;
    }
    if (r->type != STORE_REDIS_ERROR && r->type != STORE_REDIS_STATUS) {
        snprintf(out, cap, "unexpected %s reply", type_names[r->type]);
        return;
    }
    size_t n = r->len < cap - 1 ? r->len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->str[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

/* ---- Link, WAIT and Sentinel commands (issue 14) ------------------------------------ */

int
store_redis_proto_command(struct buf *out, size_t argc, const struct slice *argv)
{
    if (argc == 0 || argc > ARGV_MAX) {
        return -1;
    }
    return command(out, (int)argc, argv);
}

int
store_redis_proto_subscribe(struct buf *out, const char *channel)
{
    struct slice argv[] = {SLICE_LIT("SUBSCRIBE"), slice_from_cstr(channel)};
    return command(out, 2, argv);
}

int
store_redis_proto_wait(struct buf *out, unsigned replicas, uint64_t timeout_ms)
{
    char n[NUM_MAX];
    char t[NUM_MAX];
    struct slice argv[] = {SLICE_LIT("WAIT"), num_u(n, replicas), num_u(t, timeout_ms)};
    return command(out, 3, argv);
}

enum store_rc
store_redis_proto_wait_result(const struct store_redis_reply *r, unsigned replicas)
{
    return r != NULL && r->type == STORE_REDIS_INTEGER && r->integer >= 0 &&
                   (uint64_t)r->integer >= replicas
               ? STORE_OK
               : STORE_ERR_UNAVAILABLE;
}

bool
store_redis_proto_is_readonly(const struct store_redis_reply *r)
{
    return error_starts_with(r, "READONLY");
}

enum store_redis_resend
store_redis_proto_resend(const struct store_redis_reply *r, bool sent_evalsha)
{
    if (sent_evalsha && store_redis_proto_is_noscript(r)) {
        return STORE_REDIS_RESEND_EVAL;
    }
    return error_starts_with(r, "TRYAGAIN") ? STORE_REDIS_RESEND_TRYAGAIN : STORE_REDIS_RESEND_NONE;
}

bool
store_redis_proto_wait_short(const struct store_redis_reply *wait_reply, unsigned replicas,
                             uint64_t timeout_ms, char *text, size_t cap)
{
    if (store_redis_proto_wait_result(wait_reply, replicas) == STORE_OK) {
        return false;
    }
    if (wait_reply != NULL && wait_reply->type == STORE_REDIS_INTEGER) {
        snprintf(text, cap, "WAIT: %lld of %u replicas acknowledged within %llu ms",
                 (long long)wait_reply->integer, replicas, (unsigned long long)timeout_ms);
    } else if (wait_reply != NULL) {
        char why[STORE_ERROR_MAX / 2];
        store_redis_proto_describe(wait_reply, why, sizeof(why));
        snprintf(text, cap, "WAIT failed: %s", why);
    } else {
        snprintf(text, cap, "WAIT: no reply");
    }
    return true;
}

/* ---- Revocations (revocation/revocation.h, docs/internals/revocation.md) ---- */

/* Why one script: the entry, the trim of expired ones and the message must
 * be one step, so no replica can read the set between the write and the
 * publish and miss both (a resync that ran before the ZADD and a message
 * it subscribed after). ZADD GT: a later expiry wins, an earlier one never
 * shortens an entry. KEYS[1] the sorted set (also the channel's name);
 * ARGV expires ms, member, now ms. Returns the PUBLISH count (>= 0). */
static const char revocation_script[] =
    "redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])\n"
    "return redis.call('PUBLISH', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])\n";

const char *
store_redis_proto_revocation_script(void)
{
    return revocation_script;
}

int
store_redis_proto_revocation(struct buf *out, struct slice key, struct slice member,
                             int64_t expires_ms, int64_t now_ms)
{
    char e[NUM_MAX];
    char n[NUM_MAX];
    struct slice argv[] = {
        SLICE_LIT("EVAL"),    slice_make(revocation_script, sizeof(revocation_script) - 1),
        SLICE_LIT("1"),       key,
        num_i(e, expires_ms), member,
        num_i(n, now_ms),
    };
    return command(out, 7, argv);
}

enum store_rc
store_redis_proto_revocation_result(const struct store_redis_reply *r)
{
    return r != NULL && r->type == STORE_REDIS_INTEGER && r->integer >= 0 ? STORE_OK
                                                                          : STORE_ERR_UNAVAILABLE;
}

int
store_redis_proto_revocation_page(struct buf *out, struct slice key, int64_t min_ms,
                                  uint64_t offset, uint64_t count)
{
    char m[NUM_MAX];
    char o[NUM_MAX];
    char c[NUM_MAX];
    /* "(" makes min exclusive: an entry whose score is now is expired. */
    char min[NUM_MAX + 1];
    struct slice mv = num_i(m, min_ms);
    min[0] = '(';
    memcpy(min + 1, mv.ptr, mv.len);
    struct slice argv[] = {
        SLICE_LIT("ZRANGEBYSCORE"),
        key,
        slice_make(min, mv.len + 1),
        SLICE_LIT("+inf"),
        SLICE_LIT("WITHSCORES"),
        SLICE_LIT("LIMIT"),
        num_u(o, offset),
        num_u(c, count),
    };
    return command(out, 8, argv);
}
