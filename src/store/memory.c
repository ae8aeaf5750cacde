/* In-process replay store (see memory.h). Every decision is taken under the
 * back end's mutex while the calling thread holds it, so each operation is
 * atomic exactly like the Redis script; the answer then goes out through
 * store_op_finish(), which defers it to the caller's loop.
 *
 * Each share is a linear-probing table of fixed-size slots. A slot starts
 * with struct slot_head; expires_ms == 0 marks it empty (a record always
 * expires at >= 1). Deletion shifts the rest of the probe run back (Knuth's
 * algorithm R), so there are no tombstones and a lookup stops at the first
 * empty slot. */
#include "store/memory.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/clock.h"
#include "base/siphash.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "store/store_int.h"

/* A table starts this small and doubles up to its limit's 4/3. */
#define INITIAL_SLOTS 64

struct slot_head {
    uint64_t fp[2];     /* the id's fingerprint */
    int64_t expires_ms; /* Unix ms; gone at or after this; 0 = empty slot */
};

/* consent, callback state, authorization code: 24 bytes. */
struct claim_slot {
    struct slot_head h;
};

/* A refresh family: 48 bytes. */
struct family_slot {
    struct slot_head h;
    int64_t claimed_ms;      /* proxy clock when `gen` was claimed (grace) */
    int64_t prev_claimed_ms; /* when `gen - 1` was claimed (its retries); 0 = unknown */
    uint32_t gen;            /* newest generation claimed (saturates) */
    uint32_t revoked;        /* 1 once the family is revoked */
};

_Static_assert(sizeof(struct claim_slot) == 24, "claim record size is documented");
_Static_assert(sizeof(struct family_slot) == 48, "family record size is documented");

struct share {
    unsigned char *slots; /* capacity * slot_size bytes */
    size_t slot_size;
    size_t capacity;
    size_t count; /* occupied slots, expired included until swept */
    size_t limit; /* records this share may hold */
    int64_t last_full_sweep_ms;
    int64_t last_warn_ms;
    enum metrics_store_share metric;
};

/* One share per namespace that keeps records (store_key_ns order). */
enum {
    SHARE_CONSENT = 0,
    SHARE_CALLBACK_STATE,
    SHARE_AUTHZ_CODE,
    SHARE_REFRESH_FAMILY,
    SHARE_COUNT,
};

struct memory_backend {
    struct store_backend base;
    pthread_mutex_t lock;
    struct siphash_key k0, k1;        /* fingerprint keys, fixed at creation */
    struct share shares[SHARE_COUNT]; /* guarded by lock */
};

static struct memory_backend *
backend_of(struct store *s)
{
    return (struct memory_backend *)s->backend;
}

/* ---- the table ---------------------------------------------------------- */

static struct slot_head *
slot_at(const struct share *t, size_t i)
{
    return (struct slot_head *)(void *)(t->slots + i * t->slot_size);
}

/* The slot a fingerprint would like: fp[0] scaled onto [0, capacity). */
static size_t
home_of(const struct share *t, const uint64_t fp[2])
{
    return (size_t)(((unsigned __int128)fp[0] * t->capacity) >> 64);
}

static size_t
max_slots(const struct share *t)
{
    return t->limit + t->limit / 3 + 1;
}

/* The slot holding fp, or the empty slot where it would go. */
static size_t
probe(const struct share *t, const uint64_t fp[2], bool *out_found)
{
    size_t i = home_of(t, fp);
    for (;;) {
        struct slot_head *h = slot_at(t, i);
        if (h->expires_ms == 0) {
            *out_found = false;
            return i;
        }
        if (h->fp[0] == fp[0] && h->fp[1] == fp[1]) {
            *out_found = true;
            return i;
        }
        i = i + 1 == t->capacity ? 0 : i + 1;
    }
}

/* Empties slot i and moves the rest of its run back so every record stays
 * reachable from its home slot. */
static void
delete_at(struct share *t, size_t i)
{
    size_t j = i;
    for (;;) {
        j = j + 1 == t->capacity ? 0 : j + 1;
        struct slot_head *h = slot_at(t, j);
        if (h->expires_ms == 0) {
            break;
        }
        size_t k = home_of(t, h->fp);
        /* Leave the record at j when its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            memcpy(slot_at(t, i), h, t->slot_size);
            i = j;
        }
    }
    memset(slot_at(t, i), 0, t->slot_size);
    t->count--;
}

static void
sweep(struct share *t, int64_t now)
{
    for (size_t i = 0; i < t->capacity; i++) {
        /* A deletion may move a later record into i: look again. */
        while (slot_at(t, i)->expires_ms != 0 && slot_at(t, i)->expires_ms <= now) {
            delete_at(t, i);
        }
    }
}

/* Rehashes the live records into `slots` slots. */
static void
resize(struct share *t, size_t slots, int64_t now)
{
    struct share old = *t;
    t->slots = xcalloc(slots, t->slot_size);
    t->capacity = slots;
    t->count = 0;
    for (size_t i = 0; i < old.capacity; i++) {
        struct slot_head *h = slot_at(&old, i);
        if (h->expires_ms != 0 && h->expires_ms > now) {
            bool found;
            size_t at = probe(t, h->fp, &found);
            memcpy(slot_at(t, at), h, t->slot_size);
            t->count++;
        }
    }
    xfree(old.slots);
}

static void
warn_full(struct share *t, int64_t now)
{
    metrics_inc_store_full(t->metric);
    if (t->last_warn_ms != 0 && now - t->last_warn_ms < BOUNDS_MEMORY_STORE_FULL_WARN_MS &&
        now >= t->last_warn_ms) {
        return;
    }
    t->last_warn_ms = now;
    struct log_line l;
    log_begin(&l, LOG_WARN, "replay_store_full");
    log_str(&l, "kind", metrics_store_share_str(t->metric));
    log_uint(&l, "max_entries", t->limit);
    log_end(&l);
}

/* Makes room for one more record; false when the share is full even after
 * a sweep (fail closed: SPEC.md 5.6). Never more than 3/4 of the slots are
 * used, so a probe always ends at an empty slot. */
static bool
make_room(struct share *t, int64_t now)
{
    if (t->count >= t->limit) {
        /* At most one walk a second while full: a flood of new ids against
         * a full share costs a lookup each. */
        if (now - t->last_full_sweep_ms >= BOUNDS_MEMORY_STORE_FULL_SWEEP_MS ||
            now < t->last_full_sweep_ms) {
            t->last_full_sweep_ms = now;
            sweep(t, now);
        }
        if (t->count >= t->limit) {
            warn_full(t, now);
            return false;
        }
    }
    if ((t->count + 1) * 4 > t->capacity * 3) {
        /* Reclaim before growing; grow unless that freed a third of the
         * table, so each walk is paid for by many inserts. */
        sweep(t, now);
        if (t->count * 2 > t->capacity && t->capacity < max_slots(t)) {
            size_t want = t->capacity * 2 < max_slots(t) ? t->capacity * 2 : max_slots(t);
            resize(t, want, now);
        }
    }
    return true;
}

/* The live record for fp, or NULL; an expired one is removed on the way. */
static struct slot_head *
find(struct share *t, const uint64_t fp[2], int64_t now)
{
    bool found;
    size_t i = probe(t, fp, &found);
    if (!found) {
        return NULL;
    }
    if (slot_at(t, i)->expires_ms <= now) {
        delete_at(t, i);
        return NULL;
    }
    return slot_at(t, i);
}

/* A new, zeroed record for an fp known to be absent, or NULL when full. */
static struct slot_head *
insert(struct share *t, const uint64_t fp[2], int64_t now)
{
    if (!make_room(t, now)) {
        return NULL;
    }
    bool found;
    size_t i = probe(t, fp, &found);
    struct slot_head *h = slot_at(t, i);
    memset(h, 0, t->slot_size);
    h->fp[0] = fp[0];
    h->fp[1] = fp[1];
    t->count++;
    return h;
}

static int64_t
expiry(int64_t now, uint64_t ttl_ms)
{
    if (ttl_ms > (uint64_t)(INT64_MAX - now)) {
        return INT64_MAX;
    }
    int64_t e = now + (int64_t)ttl_ms;
    return e > 0 ? e : 1;
}

/* Pushes an expiry later, never earlier. */
static void
extend(struct slot_head *h, int64_t now, uint64_t ttl_ms)
{
    int64_t e = expiry(now, ttl_ms);
    if (e > h->expires_ms) {
        h->expires_ms = e;
    }
}

static void
share_init(struct share *t, size_t slot_size, size_t limit, enum metrics_store_share metric)
{
    memset(t, 0, sizeof(*t));
    t->slot_size = slot_size;
    t->limit = limit > 0 ? limit : 1;
    t->metric = metric;
    t->capacity = INITIAL_SLOTS < max_slots(t) ? INITIAL_SLOTS : max_slots(t);
    t->slots = xcalloc(t->capacity, slot_size);
}

/* ---- the operations ---------------------------------------------------- */

static void
fingerprint(const struct memory_backend *m, struct slice id, uint64_t out[2])
{
    out[0] = siphash24(&m->k0, id.ptr, id.len);
    out[1] = siphash24(&m->k1, id.ptr, id.len);
}

/* SET NX (claim) or SET (mark) on a single-use share. */
static int
claim_or_mark(struct share *t, const uint64_t fp[2], bool only_if_absent, uint64_t ttl_ms,
              int64_t now)
{
    struct slot_head *h = find(t, fp, now);
    if (h != NULL && only_if_absent) {
        return STORE_ERR_ALREADY_USED;
    }
    if (h == NULL && (h = insert(t, fp, now)) == NULL) {
        return STORE_ERR_UNAVAILABLE;
    }
    h->expires_ms = expiry(now, ttl_ms);
    return STORE_OK;
}

/* SET NX (claim) or SET (mark) on refresh_family_revoked:<fam>: revokes. */
static int
revoke_family(struct share *t, const uint64_t fp[2], bool only_if_absent, uint64_t ttl_ms,
              int64_t now)
{
    struct family_slot *f = (struct family_slot *)find(t, fp, now);
    if (f != NULL && f->revoked && only_if_absent) {
        return STORE_ERR_ALREADY_USED;
    }
    if (f == NULL && (f = (struct family_slot *)insert(t, fp, now)) == NULL) {
        return STORE_ERR_UNAVAILABLE;
    }
    f->revoked = 1;
    extend(&f->h, now, ttl_ms);
    return STORE_OK;
}

/* now_ms - since_ms < window, with an age that overflows counted as the
 * script (Lua doubles) would: far in the past is stale, far in the future
 * is inside. */
static bool
within(int64_t now_ms, int64_t since_ms, uint64_t window_ms)
{
    int64_t age;
    int64_t w = window_ms > INT64_MAX ? INT64_MAX : (int64_t)window_ms;
    if (__builtin_sub_overflow(now_ms, since_ms, &age)) {
        age = now_ms < since_ms ? INT64_MIN : INT64_MAX;
    }
    return age < w;
}

/* SPEC.md 5.3 on one family record; see memory.h for why the generation
 * stands in for the per-token claim key. A retry (docs/internals/
 * rotation.md) needs the claim time of the retried token itself: the
 * record keeps it for the newest two generations, which covers a client
 * that retries a token and one that retries it after using the successor
 * it was answered. */
static enum store_refresh
refresh_claim(struct share *t, const uint64_t fp[2], const struct store_req *req, int64_t now,
              int64_t *out_claimed_ms)
{
    uint32_t gen = req->generation < UINT32_MAX ? (uint32_t)req->generation : UINT32_MAX;
    struct family_slot *f = (struct family_slot *)find(t, fp, now);
    if (f != NULL && f->revoked) {
        return STORE_REFRESH_FAMILY_REVOKED;
    }
    if (f == NULL || gen > f->gen) {
        int64_t prev = f != NULL && gen == f->gen + 1 ? f->claimed_ms : 0;
        if (f == NULL && (f = (struct family_slot *)insert(t, fp, now)) == NULL) {
            return STORE_REFRESH_UNAVAILABLE;
        }
        f->prev_claimed_ms = prev;
        f->gen = gen;
        f->claimed_ms = req->now_ms;
        extend(&f->h, now, req->ttl_ms);
        *out_claimed_ms = req->now_ms;
        return STORE_REFRESH_FRESH;
    }
    int64_t own = gen == f->gen ? f->claimed_ms : gen + 1 == f->gen ? f->prev_claimed_ms : 0;
    if (req->retry_grace_ms > 0 && own != 0 && within(req->now_ms, own, req->retry_grace_ms)) {
        *out_claimed_ms = own;
        return STORE_REFRESH_RETRY;
    }
    if (req->grace_ms > 0 && within(req->now_ms, f->claimed_ms, req->grace_ms)) {
        return STORE_REFRESH_RACING;
    }
    f->revoked = 1;
    extend(&f->h, now, req->family_ttl_ms);
    return STORE_REFRESH_REUSED;
}

/* The share a prefixed key belongs to, with its id; -1 for a key this
 * store keeps nothing for (refresh:<tid>, or a foreign namespace). */
static int
share_of(const struct memory_backend *m, struct slice key, struct slice *out_id)
{
    struct slice rest = slice_make(key.ptr + m->base.prefix_len, key.len - m->base.prefix_len);
    switch (store_key_ns(rest, out_id)) {
    case STORE_NS_CONSENT:
        return SHARE_CONSENT;
    case STORE_NS_CALLBACK_STATE:
        return SHARE_CALLBACK_STATE;
    case STORE_NS_AUTHZ_CODE:
    /* One assertion per /token request, like one code per redemption: its
     * jti hash shares the codes' table (the ids are 43-character SHA-256
     * hashes, so they cannot meet a code's id) and its cap. */
    case STORE_NS_CLIENT_ASSERTION:
        return SHARE_AUTHZ_CODE;
    case STORE_NS_REFRESH_FAMILY:
        return SHARE_REFRESH_FAMILY;
    case STORE_NS_REFRESH:
    case STORE_NS_OTHER:
    case STORE_NS_COUNT:
        break;
    }
    return -1;
}

static void
mem_start(struct store *s, struct store_op *op, const struct store_req *req)
{
    struct memory_backend *m = backend_of(s);
    bool refresh = req->kind == STORE_OP_REFRESH_CLAIM;
    int unavailable = refresh ? (int)STORE_REFRESH_UNAVAILABLE : (int)STORE_ERR_UNAVAILABLE;
    if (req->kind == STORE_OP_PING) {
        store_op_finish(op, STORE_OK, NULL);
        return;
    }
    if (req->kind == STORE_OP_REVOCATION) {
        /* One process is the whole fleet: revocation.c has already put the
         * entry in this process's set, which is all there is to tell. */
        store_op_finish(op, STORE_OK, NULL);
        return;
    }
    struct slice id;
    int which = share_of(m, req->key, &id);
    if (which < 0 || (refresh && which != SHARE_REFRESH_FAMILY)) {
        /* Nothing in the proxy sends such a key; refuse rather than keep
         * an unbounded extra table. */
        store_op_finish(op, unavailable, "key kind not kept by the memory store");
        return;
    }
    uint64_t fp[2];
    fingerprint(m, id, fp);
    struct share *t = &m->shares[which];
    bool family = which == SHARE_REFRESH_FAMILY;
    bool claim = req->kind == STORE_OP_CLAIM_ONCE;
    int rc;
    int64_t claimed_ms = 0;

    pthread_mutex_lock(&m->lock);
    int64_t now = clock_unix_ms();
    if (refresh) {
        rc = (int)refresh_claim(t, fp, req, now, &claimed_ms);
    } else if (family) {
        rc = revoke_family(t, fp, claim, req->ttl_ms, now);
    } else {
        rc = claim_or_mark(t, fp, claim, req->ttl_ms, now);
    }
    pthread_mutex_unlock(&m->lock);

    const char *error = NULL;
    if (rc == unavailable) {
        static const char *const full[SHARE_COUNT] = {
            "store full: consent",
            "store full: callback_state",
            "store full: authz_code",
            "store full: refresh_family",
        };
        error = full[which];
    }
    if (refresh) {
        store_op_finish_refresh(op, (enum store_refresh)rc, claimed_ms, error);
        return;
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
    for (int i = 0; i < SHARE_COUNT; i++) {
        xfree(m->shares[i].slots);
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

struct store_memory_limits
store_memory_default_limits(void)
{
    return (struct store_memory_limits){
        .consent = BOUNDS_MEMORY_STORE_CONSENT_MAX,
        .callback_state = BOUNDS_MEMORY_STORE_CALLBACK_STATE_MAX,
        .authz_code = BOUNDS_MEMORY_STORE_AUTHZ_CODE_MAX,
        .refresh_family = BOUNDS_MEMORY_STORE_REFRESH_FAMILY_MAX,
    };
}

struct store_backend *
store_memory_backend_new_limited(const char *key_prefix, const struct store_memory_limits *lim)
{
    struct memory_backend *m = xcalloc(1, sizeof(*m));
    store_backend_init(&m->base, &memory_ops, key_prefix);
    pthread_mutex_init(&m->lock, NULL);
    m->k0 = siphash_key_random();
    m->k1 = siphash_key_random();
    share_init(&m->shares[SHARE_CONSENT], sizeof(struct claim_slot), lim->consent,
               METRICS_STORE_SHARE_CONSENT);
    share_init(&m->shares[SHARE_CALLBACK_STATE], sizeof(struct claim_slot), lim->callback_state,
               METRICS_STORE_SHARE_CALLBACK_STATE);
    share_init(&m->shares[SHARE_AUTHZ_CODE], sizeof(struct claim_slot), lim->authz_code,
               METRICS_STORE_SHARE_AUTHZ_CODE);
    share_init(&m->shares[SHARE_REFRESH_FAMILY], sizeof(struct family_slot), lim->refresh_family,
               METRICS_STORE_SHARE_REFRESH_FAMILY);
    return &m->base;
}

struct store_backend *
store_memory_backend_new(const char *key_prefix)
{
    struct store_memory_limits lim = store_memory_default_limits();
    return store_memory_backend_new_limited(key_prefix, &lim);
}

size_t
store_memory_backend_count(struct store_backend *b)
{
    struct memory_backend *m = (struct memory_backend *)b;
    size_t n = 0;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < SHARE_COUNT; i++) {
        n += m->shares[i].count;
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t
store_memory_backend_bytes(struct store_backend *b)
{
    struct memory_backend *m = (struct memory_backend *)b;
    size_t n = 0;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < SHARE_COUNT; i++) {
        n += m->shares[i].capacity * m->shares[i].slot_size;
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}
