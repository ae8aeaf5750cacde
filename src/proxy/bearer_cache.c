/* The per-worker cache of opened access tokens; why it is safe is in
 * bearer_cache.h, the layout and the measured sizes in
 * docs/internals/bearer-cache.md.
 *
 * Direct-mapped: the slot is the keyed hash's low bits, and a new token
 * simply replaces the one in its slot. With a secret per-worker key an
 * attacker cannot aim tokens at one slot, and a lookup is one hash, one
 * 64-bit compare and (on a match) one compare of the token bytes. Each
 * entry is a single allocation: the header, the token bytes, the groups
 * array and the grant's strings, which the entry's grant points into. */
#include "proxy/bearer_cache.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdalign.h>
#include <string.h>

#include "base/siphash.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "grants.h"
#include "metrics.h"
#include "seal.h"
#include "worker.h"

_Static_assert((BOUNDS_BEARER_CACHE_SLOTS & (BOUNDS_BEARER_CACHE_SLOTS - 1)) == 0,
               "BOUNDS_BEARER_CACHE_SLOTS must be a power of two");
_Static_assert(BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES <= BOUNDS_BEARER_CACHE_BYTES,
               "one entry must fit the cache");

struct entry {
    uint64_t hash;
    size_t size; /* bytes of this allocation, counted against the cap */
    size_t token_len;
    struct grant_access grant;           /* strings and groups point into data */
    alignas(sizeof(void *)) char data[]; /* token | groups array | strings */
};

struct proxy_bearer_cache {
    struct siphash_key key;
    proxy_bearer_cache_hash_fn hash;
    uint64_t ring_serial; /* the ring every entry was opened under; 0 = none yet */
    size_t count;
    size_t bytes;
    size_t hand; /* next slot the byte cap evicts */
    struct entry *slots[BOUNDS_BEARER_CACHE_SLOTS];
};

struct proxy_bearer_cache *
proxy_bearer_cache_new(void)
{
    struct proxy_bearer_cache *c = xcalloc(1, sizeof(*c));
    c->key = siphash_key_random();
    c->hash = siphash24;
    return c;
}

static void
drop(struct proxy_bearer_cache *c, size_t slot)
{
    struct entry *e = c->slots[slot];
    if (e == NULL) {
        return;
    }
    c->slots[slot] = NULL;
    c->count--;
    c->bytes -= e->size;
    /* The token is a credential and the strings an identity. */
    OPENSSL_cleanse(e, e->size);
    xfree(e);
}

static void
drop_all(struct proxy_bearer_cache *c)
{
    for (size_t i = 0; i < BOUNDS_BEARER_CACHE_SLOTS; i++) {
        drop(c, i);
    }
}

void
proxy_bearer_cache_free(struct proxy_bearer_cache *c)
{
    if (c == NULL) {
        return;
    }
    drop_all(c);
    xfree(c);
}

static void
close_slot(void *handle)
{
    proxy_bearer_cache_free(handle);
}

void
proxy_bearer_cache_attach_worker(struct worker *w)
{
    worker_slot_set(w, WORKER_SLOT_BEARER_CACHE, proxy_bearer_cache_new(), close_slot);
}

struct proxy_bearer_cache *
proxy_bearer_cache_of_worker(const struct worker *w)
{
    return worker_slot_get(w, WORKER_SLOT_BEARER_CACHE);
}

/* The slot only needs a keyed hash nobody can aim, not a digest of every
 * byte: the full compare decides. A sealed token's first 32 characters
 * hold its nonce (random, or synthetic and so distinct per plaintext) and
 * its last 32 its GCM tag, so two tokens we minted differ there; hashing
 * those and the length costs the same for a token of any size (a whole
 * 450-character token took ~3 000 instructions, this ~700). */
#define HASH_EDGE 32

static uint64_t
token_hash(const struct proxy_bearer_cache *c, struct slice token)
{
    if (token.len <= 2 * HASH_EDGE) {
        return c->hash(&c->key, token.ptr, token.len);
    }
    uint8_t in[sizeof(uint64_t) + 2 * HASH_EDGE];
    uint64_t len = token.len;
    memcpy(in, &len, sizeof(len));
    memcpy(in + sizeof(len), token.ptr, HASH_EDGE);
    memcpy(in + sizeof(len) + HASH_EDGE, token.ptr + token.len - HASH_EDGE, HASH_EDGE);
    return c->hash(&c->key, in, sizeof(in));
}

/* Entries opened under another ring must never answer: a new ring (a
 * retired key gone) empties the cache before anything is looked up. */
static void
follow_ring(struct proxy_bearer_cache *c, const struct seal_ring *ring)
{
    uint64_t serial = seal_ring_serial(ring);
    if (serial != c->ring_serial) {
        drop_all(c);
        c->ring_serial = serial;
    }
}

const struct grant_access *
proxy_bearer_cache_get(struct proxy_bearer_cache *c, const struct seal_ring *ring,
                       struct slice token, int64_t now_s)
{
    if (c == NULL) {
        return NULL;
    }
    follow_ring(c, ring);
    uint64_t h = token_hash(c, token);
    size_t slot = (size_t)h & (BOUNDS_BEARER_CACHE_SLOTS - 1);
    struct entry *e = c->slots[slot];
    /* The hash only skips the compare; the token bytes decide. A plain
     * memcmp: its timing could only tell something about a token whose
     * 64-bit keyed hash already equals a cached one's, which nobody
     * without the worker's key can produce on purpose, and every mismatch
     * then pays a full open (~65 000 instructions) that drowns it. */
    bool same = e != NULL && e->hash == h && e->token_len == token.len &&
                memcmp(e->data, token.ptr, token.len) == 0;
    if (same && now_s > e->grant.exp) {
        drop(c, slot); /* expired for good: nothing will accept it again */
        same = false;
    }
    metrics_inc_bearer_cache(same);
    return same ? &e->grant : NULL;
}

/* ---- storing ---- */

static const char *
str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* The grant's strings, in one list so sizing and copying cannot disagree. */
#define STRING_MEMBERS(X)                                                                          \
    X(token_id) X(family_id) X(aud) X(resource) X(scope) X(sub) X(email) X(client_id) X(acr)

/* Where the groups array starts in data: after the token, aligned. */
static size_t
groups_offset(size_t token_len)
{
    return (token_len + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
}

static size_t
entry_size(size_t token_len, const struct grant_access *g)
{
    size_t n = offsetof(struct entry, data) + groups_offset(token_len);
    n += g->group_count * sizeof(char *);
#define SIZE_OF(m) n += strlen(str_or_empty(g->m)) + 1;
    STRING_MEMBERS(SIZE_OF)
#undef SIZE_OF
    for (size_t i = 0; i < g->group_count; i++) {
        n += strlen(g->groups[i]) + 1;
    }
    return n;
}

static const char *
copy_str(char **cursor, const char *s)
{
    size_t len = strlen(s) + 1;
    char *dst = *cursor;
    memcpy(dst, s, len);
    *cursor += len;
    return dst;
}

void
proxy_bearer_cache_put(struct proxy_bearer_cache *c, const struct seal_ring *ring,
                       struct slice token, const struct grant_access *g)
{
    if (c == NULL || token.len > BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES) {
        return;
    }
    size_t size = entry_size(token.len, g);
    if (size > BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES) {
        return; /* opened on every use, as without a cache */
    }
    follow_ring(c, ring);
    uint64_t h = token_hash(c, token);
    size_t slot = (size_t)h & (BOUNDS_BEARER_CACHE_SLOTS - 1);
    drop(c, slot);
    /* Terminates: an empty cache holds 0 bytes and size fits the cap. */
    while (c->bytes + size > BOUNDS_BEARER_CACHE_BYTES) {
        drop(c, c->hand);
        c->hand = (c->hand + 1) & (BOUNDS_BEARER_CACHE_SLOTS - 1);
    }

    struct entry *e = xmalloc(size);
    e->hash = h;
    e->size = size;
    e->token_len = token.len;
    e->grant = *g;
    e->grant.storage = (struct grants_storage){0};
    memcpy(e->data, token.ptr, token.len);
    size_t groups_at = groups_offset(token.len);
    const char **groups = (const char **)(void *)(e->data + groups_at);
    char *cursor = e->data + groups_at + g->group_count * sizeof(char *);
#define COPY(m) e->grant.m = copy_str(&cursor, str_or_empty(g->m));
    STRING_MEMBERS(COPY)
#undef COPY
    for (size_t i = 0; i < g->group_count; i++) {
        groups[i] = copy_str(&cursor, g->groups[i]);
    }
    e->grant.groups = g->group_count > 0 ? groups : NULL;
    assert((size_t)(cursor - (char *)e) == size);

    c->slots[slot] = e;
    c->count++;
    c->bytes += size;
}

size_t
proxy_bearer_cache_count(const struct proxy_bearer_cache *c)
{
    return c->count;
}

size_t
proxy_bearer_cache_bytes(const struct proxy_bearer_cache *c)
{
    return c->bytes;
}

void
proxy_bearer_cache_test_set_hash(struct proxy_bearer_cache *c, proxy_bearer_cache_hash_fn fn)
{
    assert(c->count == 0);
    c->hash = fn;
}
