/* The budget table; the policy is in ip_budget.h.
 *
 * Layout: each stripe is a chained hash table with a power-of-two bucket
 * count, grown at load factor 1 and shrunk when a quarter full. An entry is
 * created by the first take under its key and freed by the put that brings
 * it back to zero, so holders keep a valid pointer to it without a lookup.
 * The total is reserved with a compare-and-swap against the cap,
 * under the stripe lock after the key's share, so the total never passes
 * its cap and a refusal takes nothing. */
#include "http/ip_budget.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/siphash.h"
#include "base/strtab.h"
#include "base/xalloc.h"

#define MIN_BUCKETS 16

struct http_ip_budget_entry {
    struct http_ip_budget_entry *next; /* bucket chain */
    uint64_t hash;
    uint64_t used;
    unsigned stripe;
    size_t key_len;
    unsigned char key[];
};

struct stripe {
    pthread_mutex_t lock;
    struct http_ip_budget_entry **buckets;
    size_t bucket_count;
    size_t count;
    char pad[64]; /* keeps neighbouring stripes' locks off one cache line */
};

struct http_ip_budget {
    uint64_t total_cap;
    uint64_t key_cap;
    _Atomic uint64_t total;
    _Atomic uint64_t peak;
    struct siphash_key seed;
    struct stripe stripes[HTTP_IP_BUDGET_STRIPES];
};

static const char *const rc_names[HTTP_IP_BUDGET_RC_COUNT] = {
    [HTTP_IP_BUDGET_OK] = "ok",
    [HTTP_IP_BUDGET_OVER_TOTAL] = "over_total",
    [HTTP_IP_BUDGET_OVER_KEY] = "over_key",
};

const char *
http_ip_budget_rc_str(enum http_ip_budget_rc rc)
{
    return strtab_name(rc_names, HTTP_IP_BUDGET_RC_COUNT, (size_t)rc, "unknown");
}

struct http_ip_budget *
http_ip_budget_new(uint64_t total, uint64_t per_key)
{
    struct http_ip_budget *b = xcalloc(1, sizeof(*b));
    b->total_cap = total;
    b->key_cap = per_key;
    atomic_init(&b->total, 0);
    atomic_init(&b->peak, 0);
    b->seed = siphash_key_random();
    for (size_t i = 0; i < HTTP_IP_BUDGET_STRIPES; i++) {
        pthread_mutex_init(&b->stripes[i].lock, NULL);
    }
    return b;
}

void
http_ip_budget_free(struct http_ip_budget *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < HTTP_IP_BUDGET_STRIPES; i++) {
        struct stripe *st = &b->stripes[i];
        for (size_t k = 0; k < st->bucket_count; k++) {
            struct http_ip_budget_entry *e = st->buckets[k];
            while (e != NULL) {
                struct http_ip_budget_entry *next = e->next;
                xfree(e);
                e = next;
            }
        }
        xfree(st->buckets);
        pthread_mutex_destroy(&st->lock);
    }
    xfree(b);
}

static struct slice
clip(struct slice key)
{
    if (key.len > HTTP_IP_BUDGET_KEY_MAX) {
        key.len = HTTP_IP_BUDGET_KEY_MAX;
    }
    return key;
}

/* ---- the total ---- */

static void
note_peak(struct http_ip_budget *b, uint64_t now)
{
    uint64_t p = atomic_load_explicit(&b->peak, memory_order_relaxed);
    while (now > p && !atomic_compare_exchange_weak_explicit(
                          &b->peak, &p, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static bool
total_take(struct http_ip_budget *b, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&b->total, memory_order_relaxed);
    do {
        if (b->total_cap != 0 && (cur > b->total_cap || n > b->total_cap - cur)) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&b->total, &cur, cur + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    note_peak(b, cur + n);
    return true;
}

static void
total_put(struct http_ip_budget *b, uint64_t n)
{
    uint64_t was = atomic_fetch_sub_explicit(&b->total, n, memory_order_relaxed);
    assert(was >= n);
    (void)was;
}

/* ---- inside one stripe (lock held) ---- */

static struct http_ip_budget_entry *
find(struct stripe *st, uint64_t hash, struct slice key)
{
    if (st->bucket_count == 0) {
        return NULL;
    }
    for (struct http_ip_budget_entry *e = st->buckets[hash & (st->bucket_count - 1)]; e != NULL;
         e = e->next) {
        if (e->hash == hash && e->key_len == key.len && memcmp(e->key, key.ptr, key.len) == 0) {
            return e;
        }
    }
    return NULL;
}

static void
rehash(struct stripe *st, size_t buckets)
{
    struct http_ip_budget_entry **nb = xcalloc(buckets, sizeof(nb[0]));
    for (size_t i = 0; i < st->bucket_count; i++) {
        struct http_ip_budget_entry *e = st->buckets[i];
        while (e != NULL) {
            struct http_ip_budget_entry *next = e->next;
            size_t k = e->hash & (buckets - 1);
            e->next = nb[k];
            nb[k] = e;
            e = next;
        }
    }
    xfree(st->buckets);
    st->buckets = nb;
    st->bucket_count = buckets;
}

static struct http_ip_budget_entry *
insert(struct stripe *st, unsigned stripe, uint64_t hash, struct slice key)
{
    if (st->count + 1 > st->bucket_count) {
        rehash(st, st->bucket_count ? st->bucket_count * 2 : MIN_BUCKETS);
    }
    struct http_ip_budget_entry *e = xcalloc(1, sizeof(*e) + key.len);
    e->hash = hash;
    e->stripe = stripe;
    e->key_len = key.len;
    if (key.len > 0) {
        memcpy(e->key, key.ptr, key.len);
    }
    size_t k = hash & (st->bucket_count - 1);
    e->next = st->buckets[k];
    st->buckets[k] = e;
    st->count++;
    return e;
}

static void
unlink_entry(struct stripe *st, struct http_ip_budget_entry *e)
{
    struct http_ip_budget_entry **pp = &st->buckets[e->hash & (st->bucket_count - 1)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    st->count--;
    xfree(e);
    if (st->count == 0) {
        xfree(st->buckets);
        st->buckets = NULL;
        st->bucket_count = 0;
    } else if (st->bucket_count > MIN_BUCKETS && st->count < st->bucket_count / 4) {
        rehash(st, st->bucket_count / 2);
    }
}

static bool
key_fits(const struct http_ip_budget *b, uint64_t used, uint64_t n)
{
    return b->key_cap == 0 || (used <= b->key_cap && n <= b->key_cap - used);
}

/* ---- public ---- */

/* The key's share is judged before the total, so OVER_KEY means "this
 * key is at its share" whatever the total, and a caller that makes room in
 * the total (the connection cap closing an idle connection) never does so
 * for a key that would be refused anyway. */
enum http_ip_budget_rc
http_ip_budget_take(struct http_ip_budget *b, struct slice key, uint64_t n,
                    struct http_ip_budget_hold *hold)
{
    if (n == 0) {
        return HTTP_IP_BUDGET_OK;
    }
    assert(hold->budget == NULL || hold->budget == b);
    struct http_ip_budget_entry *e = hold->entry;
    key = clip(key);
    if (e == NULL && (hold->budget != NULL || key.len == 0)) {
        /* An empty key: the total is all there is. */
        if (!total_take(b, n)) {
            return HTTP_IP_BUDGET_OVER_TOTAL;
        }
        hold->budget = b;
        hold->amount += n;
        return HTTP_IP_BUDGET_OK;
    }
    unsigned si = 0;
    uint64_t hash = 0;
    if (e != NULL) {
        si = e->stripe;
    } else {
        hash = siphash24(&b->seed, key.ptr, key.len);
        si = (unsigned)(hash >> 58) % HTTP_IP_BUDGET_STRIPES;
    }
    struct stripe *st = &b->stripes[si];
    enum http_ip_budget_rc rc = HTTP_IP_BUDGET_OK;
    pthread_mutex_lock(&st->lock);
    if (e == NULL) {
        e = find(st, hash, key);
    }
    if (!key_fits(b, e != NULL ? e->used : 0, n)) {
        rc = HTTP_IP_BUDGET_OVER_KEY;
    } else if (!total_take(b, n)) {
        rc = HTTP_IP_BUDGET_OVER_TOTAL;
    } else {
        if (e == NULL) {
            e = insert(st, si, hash, key);
        }
        e->used += n;
    }
    pthread_mutex_unlock(&st->lock);
    if (rc != HTTP_IP_BUDGET_OK) {
        return rc;
    }
    hold->budget = b;
    hold->entry = e;
    hold->amount += n;
    return HTTP_IP_BUDGET_OK;
}

bool
http_ip_budget_fits(struct http_ip_budget *b, struct slice key, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&b->total, memory_order_relaxed);
    if (b->total_cap != 0 && (cur > b->total_cap || n > b->total_cap - cur)) {
        return false;
    }
    key = clip(key);
    return key.len == 0 || key_fits(b, http_ip_budget_key_in_use(b, key), n);
}

void
http_ip_budget_put(struct http_ip_budget_hold *hold)
{
    struct http_ip_budget *b = hold->budget;
    if (b == NULL) {
        return;
    }
    struct http_ip_budget_entry *e = hold->entry;
    if (e != NULL) {
        struct stripe *st = &b->stripes[e->stripe];
        pthread_mutex_lock(&st->lock);
        assert(e->used >= hold->amount);
        e->used -= hold->amount;
        if (e->used == 0) {
            unlink_entry(st, e);
        }
        pthread_mutex_unlock(&st->lock);
    }
    total_put(b, hold->amount);
    *hold = (struct http_ip_budget_hold){0};
}

uint64_t
http_ip_budget_in_use(const struct http_ip_budget *b)
{
    return atomic_load_explicit(&b->total, memory_order_relaxed);
}

uint64_t
http_ip_budget_key_in_use(struct http_ip_budget *b, struct slice key)
{
    key = clip(key);
    if (key.len == 0) {
        return 0;
    }
    uint64_t hash = siphash24(&b->seed, key.ptr, key.len);
    struct stripe *st = &b->stripes[(unsigned)(hash >> 58) % HTTP_IP_BUDGET_STRIPES];
    pthread_mutex_lock(&st->lock);
    struct http_ip_budget_entry *e = find(st, hash, key);
    uint64_t used = e != NULL ? e->used : 0;
    pthread_mutex_unlock(&st->lock);
    return used;
}

uint64_t
http_ip_budget_take_peak(struct http_ip_budget *b)
{
    uint64_t now = atomic_load_explicit(&b->total, memory_order_relaxed);
    uint64_t p = atomic_exchange_explicit(&b->peak, now, memory_order_relaxed);
    return p > now ? p : now;
}

size_t
http_ip_budget_keys(struct http_ip_budget *b)
{
    size_t n = 0;
    for (size_t i = 0; i < HTTP_IP_BUDGET_STRIPES; i++) {
        pthread_mutex_lock(&b->stripes[i].lock);
        n += b->stripes[i].count;
        pthread_mutex_unlock(&b->stripes[i].lock);
    }
    return n;
}

uint64_t
http_ip_budget_total_cap(const struct http_ip_budget *b)
{
    return b->total_cap;
}

uint64_t
http_ip_budget_key_cap(const struct http_ip_budget *b)
{
    return b->key_cap;
}
