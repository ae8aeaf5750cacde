/* proxy/bearer_cache: a worker's memory of the access tokens it has opened,
 * so a client that sends one token with many requests pays base64url,
 * AES-GCM and the JSON payload parse once, not on every request
 * (issue 13 item 1, docs/internals/bearer-cache.md).
 *
 * Why remembering is safe: what grants_open_access reads out of a token is
 * a pure function of the token's bytes and the key ring (AES-GCM opens the
 * same bytes under the same keys to the same payload, or refuses them
 * every time). So an entry is keyed by exactly that pair:
 *  - the token bytes, compared in full (a keyed-hash match alone never
 *    counts; the hash only picks the slot and skips the compare);
 *  - the ring's serial (seal_ring_serial): a lookup or store under any other
 *    ring empties the cache first, so a ring built without a retired key
 *    never answers from what the old ring opened.
 * Everything else the answer depends on -- the time, the mount's audience
 * and resource, REVOKE_BEFORE -- is not in the entry: proxy/bearer.c checks
 * it again on every use, in the same order as a fresh open. Only tokens
 * that passed every check are stored; a refused token never is.
 *
 * One per public worker (its WORKER_SLOT_BEARER_CACHE), used only on that
 * worker's thread: no locks. Bounded by BOUNDS_BEARER_CACHE_* (bounds.h);
 * entries past their exp are dropped when looked up. Memory holding token
 * bytes or identities is wiped before it is freed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct grant_access;
struct seal_ring;
struct siphash_key;
struct worker;

struct proxy_bearer_cache;

/* An empty cache with a fresh random hash key. */
struct proxy_bearer_cache *proxy_bearer_cache_new(void);
/* Wipes and frees every entry and the cache; NULL is a no-op. */
void proxy_bearer_cache_free(struct proxy_bearer_cache *c);
/* Builds w's cache into its WORKER_SLOT_BEARER_CACHE, freed with the
 * worker's slots (worker.h). */
void proxy_bearer_cache_attach_worker(struct worker *w);
/* w's cache, or NULL when none is attached (the control loop). Borrowed. */
struct proxy_bearer_cache *proxy_bearer_cache_of_worker(const struct worker *w);

/* The grant stored for exactly these token bytes under this ring, or NULL
 * (c NULL, not stored, or stored but now_s > exp: that entry is dropped).
 * Counts mcp_auth_bearer_cache_lookups_total{result="hit|miss"} when c is
 * not NULL. The grant is borrowed: valid until the next call on c; its
 * storage is zeroed, so grants_cleanup_access on a copy frees nothing. */
const struct grant_access *proxy_bearer_cache_get(struct proxy_bearer_cache *c,
                                                  const struct seal_ring *ring, struct slice token,
                                                  int64_t now_s);
/* Stores a copy of g for token under ring, replacing whatever held its
 * slot. g must be what grants_open_access opened from token under ring and
 * every check passed. Nothing is stored when c is NULL or the copy would
 * be over BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES. */
void proxy_bearer_cache_put(struct proxy_bearer_cache *c, const struct seal_ring *ring,
                            struct slice token, const struct grant_access *g);

/* Entries held, and the bytes they take (their allocations, as counted
 * against BOUNDS_BEARER_CACHE_BYTES). */
size_t proxy_bearer_cache_count(const struct proxy_bearer_cache *c);
size_t proxy_bearer_cache_bytes(const struct proxy_bearer_cache *c);

/* Tests only: hash tokens with fn instead of SipHash-2-4 (a constant fn
 * puts every token in one slot with one hash, the worst an attacker could
 * hope for). Call on an empty cache. */
typedef uint64_t (*proxy_bearer_cache_hash_fn)(const struct siphash_key *key, const void *data,
                                               size_t len);
void proxy_bearer_cache_test_set_hash(struct proxy_bearer_cache *c, proxy_bearer_cache_hash_fn fn);
