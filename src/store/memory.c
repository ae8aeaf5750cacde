/* In-process replay store (see memory.h). Every decision is taken under the
 * table's mutex while the calling thread holds it, so each operation is
 * atomic exactly like the Redis script; the answer then goes out through
 * store_op_finish(), which defers it to the caller's loop. */
#include "store/memory.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "store/store_int.h"

/* FNV-1a instead of uthash's default Jenkins hash, whose switch
 * fall-through clang's -Wimplicit-fallthrough refuses. Keys embed ids from
 * our own sealed tokens, which a client cannot choose, so a hash-flooding
 * resistant function buys nothing here. */
static inline uint32_t
key_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = key_hash((keyptr), (size_t)(keylen)))
#define uthash_malloc(sz) xmalloc(sz)
#define uthash_free(ptr, sz) xfree(ptr)
#define uthash_fatal(msg) abort()
#include <uthash.h>

struct entry {
    UT_hash_handle hh;
    int64_t expires_at_ms;  /* Unix ms; the entry is gone at or after this */
    int64_t set_at_ms;      /* claim time: the refresh grace compares with it */
    size_t key_len;
    char key[];
};

struct memory_backend {
    struct store_backend base;
    pthread_mutex_t lock;
    struct entry *table;    /* guarded by lock */
    size_t count;           /* guarded by lock */
    int64_t last_sweep_ms;  /* guarded by lock */
};

static struct memory_backend *
backend_of(struct store *s)
{
    return (struct memory_backend *)s->backend;
}

static void
drop(struct memory_backend *m, struct entry *e)
{
    HASH_DEL(m->table, e);
    xfree(e);
    m->count--;
}

static void
sweep(struct memory_backend *m, int64_t now)
{
    struct entry *e, *tmp;
    HASH_ITER(hh, m->table, e, tmp) {
        if (e->expires_at_ms <= now) {
            drop(m, e);
        }
    }
    m->last_sweep_ms = now;
}

/* The live entry for key, or NULL; an expired one is removed on the way. */
static struct entry *
lookup(struct memory_backend *m, struct slice key, int64_t now)
{
    struct entry *e = NULL;
    HASH_FIND(hh, m->table, key.ptr, key.len, e);
    if (e != NULL && e->expires_at_ms <= now) {
        drop(m, e);
        e = NULL;
    }
    return e;
}

static int64_t
expiry(int64_t now, uint64_t ttl_ms)
{
    if (ttl_ms > (uint64_t)(INT64_MAX - now)) {
        return INT64_MAX;
    }
    return now + (int64_t)ttl_ms;
}

/* A new entry for a key known to be absent, or NULL when the table is full
 * even after a sweep (fail closed: SPEC.md 5.6). */
static struct entry *
insert(struct memory_backend *m, struct slice key, int64_t now)
{
    if (now - m->last_sweep_ms >= BOUNDS_MEMORY_STORE_SWEEP_MS || now < m->last_sweep_ms) {
        sweep(m, now);
    }
    if (m->count >= BOUNDS_MEMORY_STORE_ENTRIES_MAX) {
        /* Sweep once -- but at most once a second while full, so a flood
         * of new keys against a full table costs a lookup each, not a
         * walk of 100 000 entries each. */
        if (now - m->last_sweep_ms >= 1000) {
            sweep(m, now);
        }
        if (m->count >= BOUNDS_MEMORY_STORE_ENTRIES_MAX) {
            return NULL;
        }
    }
    struct entry *e = xcalloc(1, sizeof(*e) + key.len);
    memcpy(e->key, key.ptr, key.len);
    e->key_len = key.len;
    HASH_ADD(hh, m->table, key, e->key_len, e);
    m->count++;
    return e;
}

/* SET key value [NX] PX ttl; false when a new key does not fit. */
static bool
put(struct memory_backend *m, struct slice key, int64_t now, uint64_t ttl_ms, int64_t set_at)
{
    struct entry *e = lookup(m, key, now);
    if (e == NULL) {
        e = insert(m, key, now);
        if (e == NULL) {
            return false;
        }
    }
    e->expires_at_ms = expiry(now, ttl_ms);
    e->set_at_ms = set_at;
    return true;
}

/* SPEC.md 5.3, the same four steps as the Redis script. */
static enum store_refresh
refresh_claim(struct memory_backend *m, const struct store_req *req, int64_t now)
{
    if (lookup(m, req->key, now) != NULL) {
        return STORE_REFRESH_FAMILY_REVOKED;
    }
    struct entry *claim = lookup(m, req->claim_key, now);
    if (claim == NULL) {
        if (!put(m, req->claim_key, now, req->ttl_ms, req->now_ms)) {
            return STORE_REFRESH_UNAVAILABLE;
        }
        return STORE_REFRESH_FRESH;
    }
    if (req->grace_ms > 0) {
        int64_t age;
        int64_t grace = req->grace_ms > INT64_MAX ? INT64_MAX : (int64_t)req->grace_ms;
        /* An overflowing age is far in the past or future: the script
         * (Lua doubles) calls the first stale and the second racing. */
        if (__builtin_sub_overflow(req->now_ms, claim->set_at_ms, &age)) {
            age = req->now_ms < claim->set_at_ms ? INT64_MIN : INT64_MAX;
        }
        if (age < grace) {
            return STORE_REFRESH_RACING;
        }
    }
    if (!put(m, req->key, now, req->family_ttl_ms, now)) {
        return STORE_REFRESH_UNAVAILABLE;
    }
    return STORE_REFRESH_REUSED;
}

static void
mem_start(struct store *s, struct store_op *op, const struct store_req *req)
{
    struct memory_backend *m = backend_of(s);
    int rc = STORE_OK;
    const char *error = NULL;

    pthread_mutex_lock(&m->lock);
    int64_t now = clock_unix_ms();
    switch (req->kind) {
    case STORE_OP_CLAIM_ONCE:
        if (lookup(m, req->key, now) != NULL) {
            rc = STORE_ERR_ALREADY_USED;
        } else if (!put(m, req->key, now, req->ttl_ms, now)) {
            rc = STORE_ERR_UNAVAILABLE;
        }
        break;
    case STORE_OP_MARK:
        if (!put(m, req->key, now, req->ttl_ms, now)) {
            rc = STORE_ERR_UNAVAILABLE;
        }
        break;
    case STORE_OP_REFRESH_CLAIM:
        rc = refresh_claim(m, req, now);
        break;
    case STORE_OP_PING:
    case STORE_OP_KIND_COUNT:
        break;
    }
    pthread_mutex_unlock(&m->lock);

    if (rc == STORE_ERR_UNAVAILABLE ||
        (req->kind == STORE_OP_REFRESH_CLAIM && rc == STORE_REFRESH_UNAVAILABLE)) {
        error = "store full";
    }
    store_op_finish(op, rc, error);
}

static void
mem_detach(struct store *s, struct store_op *op)
{
    /* Never reached: every operation is finished inside start(). */
    (void)s;
    (void)op;
}

static void
mem_close(struct store *s)
{
    (void)s;
}

static bool
mem_is_connected(const struct store *s)
{
    (void)s;
    return true;
}

static struct store *
mem_open(struct store_backend *b, struct event_base *base)
{
    struct store *s = xcalloc(1, sizeof(*s));
    store_init(s, b, base);
    return s;
}

static void
mem_backend_free(struct store_backend *b)
{
    struct memory_backend *m = (struct memory_backend *)b;
    struct entry *e, *tmp;
    HASH_ITER(hh, m->table, e, tmp) {
        HASH_DEL(m->table, e);
        xfree(e);
    }
    pthread_mutex_destroy(&m->lock);
    store_backend_cleanup(&m->base);
    xfree(m);
}

static const struct store_backend_ops memory_ops = {
    .name = "memory",
    .open = mem_open,
    .backend_free = mem_backend_free,
    .start = mem_start,
    .detach = mem_detach,
    .close = mem_close,
    .is_connected = mem_is_connected,
};

struct store_backend *
store_memory_backend_new(const char *key_prefix)
{
    struct memory_backend *m = xcalloc(1, sizeof(*m));
    store_backend_init(&m->base, &memory_ops, key_prefix);
    pthread_mutex_init(&m->lock, NULL);
    m->table = NULL;
    m->count = 0;
    m->last_sweep_ms = clock_unix_ms();
    return &m->base;
}

size_t
store_memory_backend_count(struct store_backend *b)
{
    struct memory_backend *m = (struct memory_backend *)b;
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}
