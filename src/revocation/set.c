/* The process-wide revoked set (see set.h). */
#include "revocation/set.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"
#include "base/xalloc.h"
#include "bounds.h"

/* One allocation per entry: the id follows the header. */
struct node {
    struct node *next;
    uint64_t hash;
    int64_t at_ms;
    int64_t expires_ms;
    uint16_t len;
    uint8_t kind;
    char id[];
};

struct revocation_set {
    pthread_rwlock_t lock;
    struct siphash_key key;
    struct node **buckets; /* nbuckets, a power of two */
    size_t nbuckets;
    size_t cap;
    _Atomic size_t count;    /* read without the lock by the fast path */
    _Atomic bool overflowed; /* likewise */
    uint64_t failed_adds;    /* adds refused at the cap, ever */
    int64_t next_sweep_ms;
};

#define INITIAL_BUCKETS 64

struct revocation_set *
revocation_set_new(size_t cap)
{
    struct revocation_set *s = xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    s->key = siphash_key_random();
    s->nbuckets = INITIAL_BUCKETS;
    s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
    s->cap = cap;
    return s;
}

void
revocation_set_free(struct revocation_set *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct node *n = s->buckets[i];
        while (n != NULL) {
            struct node *next = n->next;
            xfree(n);
            n = next;
        }
    }
    xfree(s->buckets);
    pthread_rwlock_destroy(&s->lock);
    xfree(s);
}

static uint64_t
hash_of(const struct revocation_set *s, enum revocation_kind kind, struct slice id)
{
    /* The kind picks a different table position for the same text, so
     * "f:x" and "s:x" never share a chain by construction. */
    return siphash24(&s->key, id.ptr, id.len) ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ULL);
}

static struct node *
find(const struct revocation_set *s, enum revocation_kind kind, struct slice id, uint64_t h)
{
    for (struct node *n = s->buckets[h & (s->nbuckets - 1)]; n != NULL; n = n->next) {
        if (n->hash == h && n->kind == kind && n->len == id.len &&
            memcmp(n->id, id.ptr, id.len) == 0) {
            return n;
        }
    }
    return NULL;
}

/* Doubles the table (load factor 1), under the write lock. */
static void
grow(struct revocation_set *s)
{
    size_t nb = s->nbuckets * 2;
    struct node **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct node *n = s->buckets[i];
        while (n != NULL) {
            struct node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    xfree(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

static void
sweep_locked(struct revocation_set *s, int64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct node **pp = &s->buckets[i];
        while (*pp != NULL) {
            struct node *n = *pp;
            if (n->expires_ms <= now_ms) {
                *pp = n->next;
                xfree(n);
                dropped++;
            } else {
                pp = &n->next;
            }
        }
    }
    atomic_fetch_sub(&s->count, dropped);
    s->next_sweep_ms = now_ms + BOUNDS_REVOCATION_SWEEP_MS;
}

void
revocation_set_sweep(struct revocation_set *s, int64_t now_ms)
{
    pthread_rwlock_wrlock(&s->lock);
    sweep_locked(s, now_ms);
    pthread_rwlock_unlock(&s->lock);
}

enum revocation_set_rc
revocation_set_add(struct revocation_set *s, const struct revocation_entry *e, int64_t now_ms)
{
    if (e->id.len == 0 || e->id.len > BOUNDS_REVOCATION_ID_MAX ||
        (unsigned)e->kind >= REVOCATION_KIND_COUNT) {
        return REVOCATION_SET_INVALID;
    }
    if (e->expires_ms <= now_ms) {
        return REVOCATION_SET_EXPIRED;
    }
    enum revocation_set_rc rc;
    uint64_t h = hash_of(s, e->kind, e->id);
    pthread_rwlock_wrlock(&s->lock);
    if (now_ms >= s->next_sweep_ms) {
        sweep_locked(s, now_ms);
    }
    struct node *n = find(s, e->kind, e->id, h);
    if (n != NULL) {
        n->at_ms = e->at_ms > n->at_ms ? e->at_ms : n->at_ms;
        n->expires_ms = e->expires_ms > n->expires_ms ? e->expires_ms : n->expires_ms;
        rc = REVOCATION_SET_UPDATED;
        goto out;
    }
    if (atomic_load(&s->count) >= s->cap) {
        /* Forced sweep first: a full set of expired entries is not full. */
        sweep_locked(s, now_ms);
    }
    if (atomic_load(&s->count) >= s->cap) {
        s->failed_adds++;
        atomic_store(&s->overflowed, true);
        rc = REVOCATION_SET_FULL;
        goto out;
    }
    if (atomic_load(&s->count) >= s->nbuckets) {
        grow(s);
    }
    n = xmalloc(sizeof(*n) + e->id.len);
    n->hash = h;
    n->at_ms = e->at_ms;
    n->expires_ms = e->expires_ms;
    n->len = (uint16_t)e->id.len;
    n->kind = (uint8_t)e->kind;
    memcpy(n->id, e->id.ptr, e->id.len);
    size_t i = h & (s->nbuckets - 1);
    n->next = s->buckets[i];
    s->buckets[i] = n;
    atomic_fetch_add(&s->count, 1);
    rc = REVOCATION_SET_ADDED;
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

enum revocation_verdict
revocation_set_check(struct revocation_set *s, struct slice fam, struct slice sub, int64_t iat_s)
{
    /* The usual case -- nothing revoked -- costs two relaxed loads. A
     * writer racing with this load is ordered before or after the check,
     * as it would be with the lock. */
    if (atomic_load_explicit(&s->overflowed, memory_order_acquire)) {
        return REVOCATION_OVERFLOW;
    }
    if (atomic_load_explicit(&s->count, memory_order_acquire) == 0) {
        return REVOCATION_CLEAR;
    }
    /* Hash outside the lock: the key never changes. */
    uint64_t hf = fam.len > 0 ? hash_of(s, REVOCATION_KIND_FAMILY, fam) : 0;
    uint64_t hs = sub.len > 0 ? hash_of(s, REVOCATION_KIND_SUBJECT, sub) : 0;
    enum revocation_verdict v = REVOCATION_CLEAR;
    pthread_rwlock_rdlock(&s->lock);
    if (fam.len > 0 && find(s, REVOCATION_KIND_FAMILY, fam, hf) != NULL) {
        v = REVOCATION_FAMILY;
    } else if (sub.len > 0) {
        const struct node *n = find(s, REVOCATION_KIND_SUBJECT, sub, hs);
        /* iat is whole seconds: a token of the revocation's own second
         * counts as issued before it (fail closed on the boundary). */
        if (n != NULL && (iat_s <= n->at_ms / 1000)) {
            v = REVOCATION_SUBJECT;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return v;
}

uint64_t
revocation_set_resync_begin(struct revocation_set *s)
{
    pthread_rwlock_rdlock(&s->lock);
    uint64_t t = s->failed_adds;
    pthread_rwlock_unlock(&s->lock);
    return t;
}

void
revocation_set_resync_end(struct revocation_set *s, uint64_t token, bool complete)
{
    pthread_rwlock_wrlock(&s->lock);
    /* Every entry the store holds was added and none was refused since the
     * resync began: whatever overflowed before is in the set now. */
    if (complete && s->failed_adds == token) {
        atomic_store(&s->overflowed, false);
    }
    pthread_rwlock_unlock(&s->lock);
}

size_t
revocation_set_count(const struct revocation_set *s)
{
    return atomic_load(&s->count);
}

bool
revocation_set_overflowed(const struct revocation_set *s)
{
    return atomic_load(&s->overflowed);
}

static struct revocation_set *global_set;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
    global_set = revocation_set_new(BOUNDS_REVOCATION_ENTRIES_MAX);
}

struct revocation_set *
revocation_set_global(void)
{
    pthread_once(&global_once, global_init);
    return global_set;
}
