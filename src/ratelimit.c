#include "ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/siphash.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"

/* Keys up to this many bytes are stored whole; longer keys (raw peer text,
 * legacy header values) keep their first bytes, their length and their
 * 64-bit keyed hash, which tells them apart with probability 1 - 2^-64 per
 * pair (and a collision only makes two such keys share a budget). Every
 * address key (at most "ffff:ffff:ffff:ffff::", 21 bytes) fits. */
#define KEY_INLINE 40
/* Slots per stripe when the first entry arrives; tables double from here
 * and stay at most 3/4 full. */
#define STRIPE_MIN_SLOTS 16
/* The stripe is chosen by the hash's top bits, the slot by its low bits. */
#define STRIPE_SHIFT 58
_Static_assert(RATELIMIT_STRIPES == 1 << (64 - STRIPE_SHIFT), "stripe bits");

static const unsigned limits[METRICS_ENDPOINT_COUNT] = {
    [METRICS_ENDPOINT_REGISTER] = BOUNDS_RATE_REGISTER_PER_WINDOW,
    [METRICS_ENDPOINT_AUTHORIZE] = BOUNDS_RATE_AUTHORIZE_PER_WINDOW,
    [METRICS_ENDPOINT_CONSENT] = BOUNDS_RATE_CONSENT_PER_WINDOW,
    [METRICS_ENDPOINT_CALLBACK] = BOUNDS_RATE_CALLBACK_PER_WINDOW,
    [METRICS_ENDPOINT_TOKEN] = BOUNDS_RATE_TOKEN_PER_WINDOW,
    [METRICS_ENDPOINT_MCP] = BOUNDS_RATE_MCP_PER_WINDOW,
    [METRICS_ENDPOINT_DISCOVERY] = BOUNDS_RATE_DISCOVERY_PER_WINDOW,
    [METRICS_ENDPOINT_REVOKE] = BOUNDS_RATE_REVOKE_PER_WINDOW,
};

struct entry {
    uint64_t hash;
    int64_t window;   /* window index (Unix ms / window length) of cur */
    uint32_t cur;     /* requests counted in `window` */
    uint32_t prev;    /* requests counted in `window - 1` */
    uint32_t key_len; /* full length (saturated at UINT32_MAX) */
    uint8_t bucket;
    bool used;
    char key[KEY_INLINE];
};

struct stripe {
    pthread_mutex_t lock;
    struct entry *slots; /* open addressing, linear probing; NULL when empty */
    size_t nslots;       /* power of two, or 0 */
    size_t count;
    int64_t swept; /* newest window in which stale entries were dropped */
};

struct ratelimit {
    bool enabled;
    struct siphash_key hash_key;
    size_t stripe_cap;
    _Atomic int64_t full_warned; /* window of the last table-full warning */
    struct stripe stripes[RATELIMIT_STRIPES];
};

unsigned
ratelimit_limit(enum metrics_endpoint bucket)
{
    return (unsigned)bucket < METRICS_ENDPOINT_COUNT ? limits[bucket] : 0;
}

struct ratelimit *
ratelimit_new_capped(bool enabled, size_t max_entries)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    rl->enabled = enabled;
    if (!enabled) {
        return rl;
    }
    rl->hash_key = siphash_key_random();
    rl->stripe_cap = (max_entries + RATELIMIT_STRIPES - 1) / RATELIMIT_STRIPES;
    if (rl->stripe_cap == 0) {
        rl->stripe_cap = 1;
    }
    atomic_init(&rl->full_warned, INT64_MIN);
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
        pthread_mutex_init(&rl->stripes[i].lock, NULL);
        rl->stripes[i].swept = INT64_MIN;
    }
    return rl;
}

struct ratelimit *
ratelimit_new(bool enabled)
{
    return ratelimit_new_capped(enabled, BOUNDS_RATELIMIT_ENTRIES_MAX);
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    if (rl->enabled) {
        for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
            pthread_mutex_destroy(&rl->stripes[i].lock);
            xfree(rl->stripes[i].slots);
        }
    }
    xfree(rl);
}

/* Floor division, so windows stay aligned for times before 1970 too. */
static int64_t
window_of(int64_t now_ms)
{
    int64_t w = now_ms / BOUNDS_RATE_WINDOW_MS;
    if (now_ms % BOUNDS_RATE_WINDOW_MS < 0) {
        w--;
    }
    return w;
}

/* Does the entry still weigh anything in `window`? Its cur counts as prev
 * in the next window and as nothing after that. */
static bool
is_live(const struct entry *e, int64_t window)
{
    return e->window >= window - 1;
}

/* Moves every entry with window >= min_window into a table of nslots
 * slots (0: free the table). */
static void
rebuild(struct stripe *st, size_t nslots, int64_t min_window)
{
    struct entry *old = st->slots;
    size_t old_n = st->nslots;
    st->slots = nslots ? xcalloc(nslots, sizeof(struct entry)) : NULL;
    st->nslots = nslots;
    st->count = 0;
    for (size_t i = 0; i < old_n; i++) {
        const struct entry *e = &old[i];
        if (!e->used || e->window < min_window) {
            continue;
        }
        size_t j = (size_t)e->hash & (nslots - 1);
        while (st->slots[j].used) {
            j = (j + 1) & (nslots - 1);
        }
        st->slots[j] = *e;
        st->count++;
    }
    xfree(old);
}

/* Smallest power-of-two table that holds n entries at most 3/4 full. */
static size_t
slots_for(size_t n)
{
    size_t s = STRIPE_MIN_SLOTS;
    while (s * 3 < n * 4) {
        s *= 2;
    }
    return s;
}

/* Drops the entries that weigh nothing in `window` and shrinks the table
 * when it has become mostly empty (memory comes back after a burst). */
static void
sweep(struct stripe *st, int64_t window)
{
    if (st->slots == NULL) {
        return;
    }
    size_t live = 0;
    for (size_t i = 0; i < st->nslots; i++) {
        live += st->slots[i].used && is_live(&st->slots[i], window);
    }
    if (live == st->count) {
        return;
    }
    size_t want = live == 0 ? 0 : slots_for(live);
    rebuild(st, want < st->nslots ? want : st->nslots, window - 1);
}

static bool
entry_matches(const struct entry *e, uint64_t hash, uint8_t bucket, const char *key, uint32_t len)
{
    size_t stored = len < KEY_INLINE ? len : KEY_INLINE;
    return e->used && e->hash == hash && e->bucket == bucket && e->key_len == len &&
           memcmp(e->key, key, stored) == 0;
}

static struct entry *
find(struct stripe *st, uint64_t hash, uint8_t bucket, const char *key, uint32_t len)
{
    if (st->slots == NULL) {
        return NULL;
    }
    size_t mask = st->nslots - 1;
    for (size_t j = (size_t)hash & mask; st->slots[j].used; j = (j + 1) & mask) {
        if (entry_matches(&st->slots[j], hash, bucket, key, len)) {
            return &st->slots[j];
        }
    }
    return NULL;
}

/* A new entry, or NULL when the stripe holds its share of the cap. */
static struct entry *
insert(struct ratelimit *rl, struct stripe *st, uint64_t hash, uint8_t bucket, const char *key,
       uint32_t len)
{
    if (st->count >= rl->stripe_cap) {
        return NULL;
    }
    if (st->nslots == 0 || (st->count + 1) * 4 > st->nslots * 3) {
        rebuild(st, st->nslots ? st->nslots * 2 : STRIPE_MIN_SLOTS, INT64_MIN);
    }
    size_t mask = st->nslots - 1;
    size_t j = (size_t)hash & mask;
    while (st->slots[j].used) {
        j = (j + 1) & mask;
    }
    struct entry *e = &st->slots[j];
    memset(e, 0, sizeof(*e));
    e->used = true;
    e->hash = hash;
    e->bucket = bucket;
    e->key_len = len;
    memcpy(e->key, key, len < KEY_INLINE ? len : KEY_INLINE);
    st->count++;
    return e;
}

/* Shifts the entry's counts so that cur belongs to `window`. */
static void
roll(struct entry *e, int64_t window)
{
    if (e->window == window) {
        return;
    }
    e->prev = e->window == window - 1 ? e->cur : 0;
    e->cur = 0;
    e->window = window;
}

/* round(prev * (W - elapsed) / W) + cur, halves rounded up (Go's math.Round
 * on a non-negative value), in integers. prev <= BOUNDS_RATE_PER_WINDOW_MAX
 * and W = 60000, so the products stay far inside 64 bits. */
uint64_t
ratelimit_estimate(uint32_t prev, uint32_t cur, int64_t elapsed_ms)
{
    uint64_t num = (uint64_t)prev * (uint64_t)(BOUNDS_RATE_WINDOW_MS - elapsed_ms);
    uint64_t den = BOUNDS_RATE_WINDOW_MS;
    return (2 * num + den) / (2 * den) + cur;
}

static uint64_t
estimate(const struct entry *e, int64_t elapsed_ms)
{
    return ratelimit_estimate(e->prev, e->cur, elapsed_ms);
}

static uint64_t
key_hash(const struct ratelimit *rl, uint8_t bucket, const char *key, size_t len)
{
    /* One derived key per bucket keeps the buckets' hashes independent. */
    struct siphash_key k = rl->hash_key;
    k.k1 ^= bucket;
    return siphash24(&k, key, len);
}

bool
ratelimit_allow(struct ratelimit *rl, enum metrics_endpoint bucket, const char *key, int64_t now_ms)
{
    return ratelimit_allow_budget(rl, bucket, key, ratelimit_limit(bucket), now_ms);
}

bool
ratelimit_allow_budget(struct ratelimit *rl, enum metrics_endpoint bucket, const char *key,
                       unsigned limit, int64_t now_ms)
{
    if (!rl->enabled || (unsigned)bucket >= METRICS_ENDPOINT_COUNT) {
        return true;
    }
    if (key == NULL) {
        key = "";
    }
    size_t full_len = strlen(key);
    uint32_t len = full_len > UINT32_MAX ? UINT32_MAX : (uint32_t)full_len;
    uint64_t hash = key_hash(rl, (uint8_t)bucket, key, full_len);
    struct stripe *st = &rl->stripes[hash >> STRIPE_SHIFT];
    int64_t window = window_of(now_ms);
    int64_t elapsed = now_ms - window * BOUNDS_RATE_WINDOW_MS;
    bool allowed;
    bool table_full = false;

    pthread_mutex_lock(&st->lock);
    if (window > st->swept) {
        sweep(st, window);
        st->swept = window;
    }
    struct entry *e = find(st, hash, (uint8_t)bucket, key, len);
    if (e != NULL) {
        if (window < e->window) {
            window = e->window; /* the wall clock stepped back */
            elapsed = 0;
        }
        roll(e, window);
        allowed = estimate(e, elapsed) + 1 <= limit;
        if (allowed) {
            e->cur++;
        }
    } else {
        allowed = limit >= 1;
        if (allowed) {
            e = insert(rl, st, hash, (uint8_t)bucket, key, len);
            if (e != NULL) {
                e->window = window;
                e->cur = 1;
            } else {
                table_full = true; /* fail open, see ratelimit.h */
            }
        }
    }
    pthread_mutex_unlock(&st->lock);

    if (table_full) {
        int64_t last = atomic_load(&rl->full_warned);
        if (last < window && atomic_compare_exchange_strong(&rl->full_warned, &last, window)) {
            struct log_line l;
            log_begin(&l, LOG_WARN, "rate_limit_table_full");
            log_str(&l, "endpoint", metrics_endpoint_str(bucket));
            log_uint(&l, "max_entries", (uint64_t)rl->stripe_cap * RATELIMIT_STRIPES);
            log_end(&l);
        }
    }
    return allowed;
}

size_t
ratelimit_sweep(struct ratelimit *rl, int64_t now_ms)
{
    if (!rl->enabled) {
        return 0;
    }
    int64_t window = window_of(now_ms);
    size_t total = 0;
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
        struct stripe *st = &rl->stripes[i];
        pthread_mutex_lock(&st->lock);
        if (window >= st->swept) {
            sweep(st, window);
            st->swept = window;
        }
        total += st->count;
        pthread_mutex_unlock(&st->lock);
    }
    return total;
}

size_t
ratelimit_entries(struct ratelimit *rl)
{
    if (!rl->enabled) {
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
        pthread_mutex_lock(&rl->stripes[i].lock);
        total += rl->stripes[i].count;
        pthread_mutex_unlock(&rl->stripes[i].lock);
    }
    return total;
}
