/* Per-subject concurrency (SPEC.md 4.6); the policy and its reasons are in
 * subject_limit.h.
 *
 * Layout: each stripe is a chained hash table (power-of-two bucket count,
 * grown at load factor 1, shrunk by prune) plus a doubly linked list of its
 * idle entries, least recently used first. An entry is on the idle list
 * exactly when nothing is in flight, so reclaiming idle entries is popping
 * the list head while it is old enough, and making room in a full stripe is
 * popping the head whatever its age. Entries with requests in flight are
 * never freed, which is what keeps a held slot's pointer valid without a
 * lookup on release. */
#include "proxy/subject_limit.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "base/rand.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"

#define MIN_BUCKETS 16

struct proxy_subject_entry {
    struct proxy_subject_entry *next;      /* bucket chain */
    struct proxy_subject_entry *idle_prev; /* idle list links, valid when in_flight == 0 */
    struct proxy_subject_entry *idle_next;
    uint64_t hash;
    uint64_t last_used_ms;
    unsigned in_flight;
    unsigned stripe;
    size_t sub_len; /* the whole subject's length */
    char sub[];     /* its first min(sub_len, BOUNDS_SUBJECT_KEY_BYTES) bytes */
};

struct stripe {
    pthread_mutex_t lock;
    struct proxy_subject_entry **buckets;
    size_t bucket_count;
    size_t count;
    struct proxy_subject_entry *idle_head; /* least recently used */
    struct proxy_subject_entry *idle_tail;
    char pad[64]; /* keeps neighbouring stripes' locks off one cache line */
};

struct proxy_subject_limit {
    unsigned per_subject;
    size_t max_per_stripe;
    uint64_t seed;
    struct stripe stripes[PROXY_SUBJECT_LIMIT_STRIPES];
};

static const char *const rc_names[PROXY_SUBJECT_LIMIT_RC_COUNT] = {
    [PROXY_SUBJECT_LIMIT_OK] = "ok",
    [PROXY_SUBJECT_LIMIT_BUSY] = "busy",
    [PROXY_SUBJECT_LIMIT_UNTRACKED] = "untracked",
};

const char *
proxy_subject_limit_rc_str(enum proxy_subject_limit_rc rc)
{
    return strtab_name(rc_names, PROXY_SUBJECT_LIMIT_RC_COUNT, (size_t)rc, "unknown");
}

/* FNV-1a over the seed and the bytes, then a 64-bit finaliser
 * (MurmurHash3's fmix64) so both the high bits (stripe) and the low bits
 * (bucket) are well mixed. Subjects are minted by the IdP, not chosen by
 * clients; the random seed still keeps stripes unpredictable. */
static uint64_t
hash_subject(uint64_t seed, struct slice s)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static unsigned
stripe_index(uint64_t hash)
{
    return (unsigned)(hash >> 58) % PROXY_SUBJECT_LIMIT_STRIPES;
}

struct proxy_subject_limit *
proxy_subject_limit_new_capped(unsigned per_subject, size_t max_entries)
{
    struct proxy_subject_limit *l = xcalloc(1, sizeof(*l));
    l->per_subject = per_subject;
    size_t per = (max_entries + PROXY_SUBJECT_LIMIT_STRIPES - 1) / PROXY_SUBJECT_LIMIT_STRIPES;
    l->max_per_stripe = per > 0 ? per : 1;
    rand_bytes((uint8_t *)&l->seed, sizeof(l->seed));
    for (size_t i = 0; i < PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        pthread_mutex_init(&l->stripes[i].lock, NULL);
    }
    return l;
}

struct proxy_subject_limit *
proxy_subject_limit_new(unsigned per_subject)
{
    return proxy_subject_limit_new_capped(per_subject, BOUNDS_SUBJECT_ENTRIES_MAX);
}

void
proxy_subject_limit_free(struct proxy_subject_limit *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        struct stripe *st = &l->stripes[i];
        for (size_t b = 0; b < st->bucket_count; b++) {
            struct proxy_subject_entry *e = st->buckets[b];
            while (e != NULL) {
                struct proxy_subject_entry *next = e->next;
                xfree(e);
                e = next;
            }
        }
        xfree(st->buckets);
        pthread_mutex_destroy(&st->lock);
    }
    xfree(l);
}

/* ---- inside one stripe (lock held) ----------------------------------------- */

static void
idle_unlink(struct stripe *st, struct proxy_subject_entry *e)
{
    if (e->idle_prev != NULL) {
        e->idle_prev->idle_next = e->idle_next;
    } else {
        st->idle_head = e->idle_next;
    }
    if (e->idle_next != NULL) {
        e->idle_next->idle_prev = e->idle_prev;
    } else {
        st->idle_tail = e->idle_prev;
    }
    e->idle_prev = NULL;
    e->idle_next = NULL;
}

static void
idle_append(struct stripe *st, struct proxy_subject_entry *e)
{
    e->idle_prev = st->idle_tail;
    e->idle_next = NULL;
    if (st->idle_tail != NULL) {
        st->idle_tail->idle_next = e;
    } else {
        st->idle_head = e;
    }
    st->idle_tail = e;
}

static void
rehash(struct stripe *st, size_t new_count)
{
    struct proxy_subject_entry **nb = xcalloc(new_count, sizeof(*nb));
    for (size_t b = 0; b < st->bucket_count; b++) {
        struct proxy_subject_entry *e = st->buckets[b];
        while (e != NULL) {
            struct proxy_subject_entry *next = e->next;
            size_t k = (size_t)e->hash & (new_count - 1);
            e->next = nb[k];
            nb[k] = e;
            e = next;
        }
    }
    xfree(st->buckets);
    st->buckets = nb;
    st->bucket_count = new_count;
}

/* Unlinks an idle entry from its bucket and the idle list, and frees it. */
static void
remove_entry(struct stripe *st, struct proxy_subject_entry *e)
{
    assert(e->in_flight == 0);
    struct proxy_subject_entry **pp = &st->buckets[(size_t)e->hash & (st->bucket_count - 1)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    idle_unlink(st, e);
    st->count--;
    xfree(e);
}

static bool
is_expired(const struct proxy_subject_entry *e, uint64_t now_ms)
{
    return now_ms >= e->last_used_ms + BOUNDS_SUBJECT_IDLE_MS;
}

/* The opportunistic sweep: idle entries old enough, oldest first. */
static size_t
reclaim_expired_head(struct stripe *st, uint64_t now_ms)
{
    size_t n = 0;
    while (st->idle_head != NULL && is_expired(st->idle_head, now_ms)) {
        remove_entry(st, st->idle_head);
        n++;
    }
    return n;
}

static size_t
key_len(struct slice sub)
{
    return sub.len < BOUNDS_SUBJECT_KEY_BYTES ? sub.len : BOUNDS_SUBJECT_KEY_BYTES;
}

/* Same subject: same length, same hash of the whole value, same stored
 * bytes (all of them for any subject OIDC allows). */
static struct proxy_subject_entry *
find(const struct stripe *st, uint64_t hash, struct slice sub)
{
    if (st->bucket_count == 0) {
        return NULL;
    }
    for (struct proxy_subject_entry *e = st->buckets[(size_t)hash & (st->bucket_count - 1)];
         e != NULL; e = e->next) {
        if (e->hash == hash && e->sub_len == sub.len &&
            memcmp(e->sub, sub.ptr, key_len(sub)) == 0) {
            return e;
        }
    }
    return NULL;
}

/* A new idle-state entry for sub, or NULL when the stripe is full of
 * entries with requests in flight. */
static struct proxy_subject_entry *
insert(struct proxy_subject_limit *l, struct stripe *st, unsigned idx, uint64_t hash,
       struct slice sub)
{
    if (st->count >= l->max_per_stripe) {
        if (st->idle_head == NULL) {
            return NULL;
        }
        remove_entry(st, st->idle_head); /* idle == absent: nobody can tell */
    }
    if (st->bucket_count == 0) {
        rehash(st, MIN_BUCKETS);
    } else if (st->count >= st->bucket_count) {
        rehash(st, st->bucket_count * 2);
    }
    struct proxy_subject_entry *e = xcalloc(1, sizeof(*e) + key_len(sub));
    e->hash = hash;
    e->stripe = idx;
    e->sub_len = sub.len;
    memcpy(e->sub, sub.ptr, key_len(sub));
    size_t k = (size_t)hash & (st->bucket_count - 1);
    e->next = st->buckets[k];
    st->buckets[k] = e;
    st->count++;
    return e;
}

/* ---- the public operations ------------------------------------------------- */

enum proxy_subject_limit_rc
proxy_subject_limit_acquire(struct proxy_subject_limit *l, struct slice sub, uint64_t now_ms,
                            struct proxy_subject_slot *out_slot)
{
    out_slot->entry = NULL;
    if (l->per_subject == 0 || sub.len == 0) {
        return PROXY_SUBJECT_LIMIT_OK;
    }
    uint64_t hash = hash_subject(l->seed, sub);
    unsigned idx = stripe_index(hash);
    struct stripe *st = &l->stripes[idx];
    enum proxy_subject_limit_rc rc = PROXY_SUBJECT_LIMIT_OK;

    pthread_mutex_lock(&st->lock);
    reclaim_expired_head(st, now_ms);
    struct proxy_subject_entry *e = find(st, hash, sub);
    if (e == NULL) {
        e = insert(l, st, idx, hash, sub);
        if (e == NULL) {
            rc = PROXY_SUBJECT_LIMIT_UNTRACKED;
            goto out;
        }
    } else if (e->in_flight >= l->per_subject) {
        rc = PROXY_SUBJECT_LIMIT_BUSY;
        goto out;
    } else if (e->in_flight == 0) {
        idle_unlink(st, e);
    }
    e->in_flight++;
    e->last_used_ms = now_ms;
    out_slot->entry = e;
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void
proxy_subject_limit_release(struct proxy_subject_limit *l, struct proxy_subject_slot *slot,
                            uint64_t now_ms)
{
    struct proxy_subject_entry *e = slot->entry;
    if (e == NULL) {
        return;
    }
    slot->entry = NULL;
    struct stripe *st = &l->stripes[e->stripe];
    pthread_mutex_lock(&st->lock);
    assert(e->in_flight > 0);
    if (--e->in_flight == 0) {
        /* A clock read on another thread may be a little behind: keep the
         * latest stamp so the idle list stays in order. */
        if (now_ms > e->last_used_ms) {
            e->last_used_ms = now_ms;
        }
        idle_append(st, e);
    }
    reclaim_expired_head(st, now_ms);
    pthread_mutex_unlock(&st->lock);
}

size_t
proxy_subject_limit_prune(struct proxy_subject_limit *l, uint64_t now_ms)
{
    size_t removed = 0;
    for (size_t i = 0; i < PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        struct stripe *st = &l->stripes[i];
        pthread_mutex_lock(&st->lock);
        /* The whole list, not just its head: stamps from racing threads can
         * leave it slightly out of order. */
        struct proxy_subject_entry *e = st->idle_head;
        while (e != NULL) {
            struct proxy_subject_entry *next = e->idle_next;
            if (is_expired(e, now_ms)) {
                remove_entry(st, e);
                removed++;
            }
            e = next;
        }
        if (st->count == 0 && st->bucket_count > 0) {
            xfree(st->buckets);
            st->buckets = NULL;
            st->bucket_count = 0;
        } else if (st->bucket_count > MIN_BUCKETS && st->count < st->bucket_count / 4) {
            rehash(st, st->bucket_count / 2);
        }
        pthread_mutex_unlock(&st->lock);
    }
    return removed;
}

size_t
proxy_subject_limit_entries(struct proxy_subject_limit *l)
{
    size_t n = 0;
    for (size_t i = 0; i < PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        pthread_mutex_lock(&l->stripes[i].lock);
        n += l->stripes[i].count;
        pthread_mutex_unlock(&l->stripes[i].lock);
    }
    return n;
}

unsigned
proxy_subject_limit_in_flight(struct proxy_subject_limit *l, struct slice sub)
{
    uint64_t hash = hash_subject(l->seed, sub);
    struct stripe *st = &l->stripes[stripe_index(hash)];
    pthread_mutex_lock(&st->lock);
    const struct proxy_subject_entry *e = find(st, hash, sub);
    unsigned n = e != NULL ? e->in_flight : 0;
    pthread_mutex_unlock(&st->lock);
    return n;
}

unsigned
proxy_subject_limit_stripe_of(const struct proxy_subject_limit *l, struct slice sub)
{
    return l->per_subject == 0 ? 0 : stripe_index(hash_subject(l->seed, sub));
}
