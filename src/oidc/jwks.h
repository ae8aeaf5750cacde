/* The IdP's signing keys (SPEC.md 6.4, preface fix 6).
 *
 * A struct oidc_jwks_set is an immutable snapshot of the usable keys of one
 * JWKS document, shared by every worker through an atomic reference count.
 * A struct oidc_jwks owns the current snapshot and replaces it (a pointer
 * swap under its own mutex) whenever a refresh succeeds; a failed refresh
 * keeps the previous keys and logs warn jwks_refresh_failed.
 *
 * Refreshes run on one small dedicated thread, started by oidc_jwks_new:
 * every BOUNDS_JWKS_REFRESH_INTERVAL_MS (1 h), and on demand when a token
 * names a kid the snapshot lacks. On-demand refreshes are rate-limited to
 * one per BOUNDS_JWKS_MIN_REFRESH_GAP_MS (30 s) and coalesced: whoever asks
 * while one is running waits for that one. Waiting is asynchronous: the
 * answer is delivered on the asker's own event loop. A thread was chosen
 * over "one worker's loop" so that no worker carries others' work and the
 * fetch may simply block (fetch_blocking) with its 10 s timeout.
 *
 * Cross-thread delivery uses event_active() on the asker's event_base, so
 * libevent threading must be on (evthread_use_pthreads()) before any worker
 * base is created. cjose stays inside src/oidc/: struct oidc_jwk only
 * forward-declares cjose's key type. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

struct _cjose_jwk_int;
struct event_base;

/* One usable key. Only asymmetric signing keys are kept: kty RSA (modulus
 * of at least 2048 bits) or EC on P-256/P-384/P-521, "use" absent or "sig",
 * "alg" absent or one of enum oidc_alg. */
struct oidc_jwk {
    char *kid;                  /* NULL when the key has none */
    unsigned alg_mask;          /* bit (1 << enum oidc_alg) per alg this
                                 * key may verify: RS* and PS* for RSA,
                                 * the one ES* matching an EC curve, and
                                 * only its own "alg" when it names one */
    struct _cjose_jwk_int *jwk; /* owned by the set */
};

struct oidc_jwks_set;

/* Parses a JWKS document ({"keys":[...]}, RFC 7517 section 5), keeping the
 * usable keys and skipping the rest (encryption keys, symmetric keys, other
 * curves, short RSA keys). Fails (-1, one sentence in err) when the text is
 * not a JSON object with a "keys" array, holds more than
 * BOUNDS_JWKS_KEYS_MAX keys, or no key is usable. On success *out has one
 * reference (the caller's). */
int oidc_jwks_set_parse(struct slice json, struct oidc_jwks_set **out, struct buf *err)
    __attribute__((warn_unused_result));
struct oidc_jwks_set *oidc_jwks_set_ref(struct oidc_jwks_set *s);
/* Drops a reference; the last one frees the keys. NULL-safe; returns NULL. */
struct oidc_jwks_set *oidc_jwks_set_unref(struct oidc_jwks_set *s);
size_t oidc_jwks_set_count(const struct oidc_jwks_set *s);
/* Borrowed; valid while the caller holds a reference to s. */
const struct oidc_jwk *oidc_jwks_set_key(const struct oidc_jwks_set *s, size_t i);
/* Increases by one with every successful refresh (0 for a parsed set). */
uint64_t oidc_jwks_set_generation(const struct oidc_jwks_set *s);

/* Produces the JWKS document text into out_body. Runs on the refresh thread
 * (and once on the caller's thread inside oidc_jwks_new); may block; should
 * give up once *stop reads true. Returns 0, or -1 with a sentence in err. */
typedef int (*oidc_jwks_source_fn)(void *arg, const atomic_bool *stop, struct buf *out_body,
                                   struct buf *err);

struct oidc_jwks_options {
    oidc_jwks_source_fn source; /* production: oidc_jwks_new_http's GET */
    void *source_arg;
    uint64_t refresh_interval_ms; /* periodic refresh; 0 = none */
    uint64_t min_refresh_gap_ms;  /* between refreshes started by a miss */
};

struct oidc_jwks;

/* Loads the first snapshot on the calling thread (fails closed: -1 and a
 * sentence in err when the source or the document fails), then starts the
 * refresh thread. stop (may be NULL) interrupts that first load. */
int oidc_jwks_new(const struct oidc_jwks_options *opt, const atomic_bool *stop,
                  struct oidc_jwks **out, struct buf *err) __attribute__((warn_unused_result));
/* The production set-up: source = GET jwks_uri (BOUNDS_JWKS_FETCH_TIMEOUT_MS,
 * BOUNDS_FETCH_RESPONSE_MAX, status 200), refresh every
 * BOUNDS_JWKS_REFRESH_INTERVAL_MS, on-demand gap BOUNDS_JWKS_MIN_REFRESH_GAP_MS. */
int oidc_jwks_new_http(const char *jwks_uri, const atomic_bool *stop, struct oidc_jwks **out,
                       struct buf *err) __attribute__((warn_unused_result));
/* Stops and joins the refresh thread, then frees. Every wait must have
 * completed or been cancelled first. NULL is a no-op. */
void oidc_jwks_free(struct oidc_jwks *j);

/* The current snapshot with a new reference (release with
 * oidc_jwks_set_unref). Never NULL. Any thread. */
struct oidc_jwks_set *oidc_jwks_get(struct oidc_jwks *j);

struct oidc_jwks_wait;

/* Delivered on the asker's loop with the newest snapshot (borrowed for the
 * call; take a reference to keep it). When the refresh failed it is the
 * same keys as before. The wait handle is already gone when this runs. */
typedef void (*oidc_jwks_refreshed_fn)(void *arg, struct oidc_jwks_set *set);

/* "A snapshot of generation seen_generation lacked the key I need": asks
 * for a newer one, delivered by cb on base (the caller's loop, never
 * synchronously from this call). If a newer snapshot already exists it is
 * delivered at once; if a refresh is running, the caller joins it;
 * otherwise a refresh starts unless one started less than
 * min_refresh_gap_ms ago. Returns the wait (owned by the jwks until cb
 * runs; cancel with oidc_jwks_refresh_cancel), or NULL when refused by the
 * rate limit: then nothing will be called and the caller fails closed. */
struct oidc_jwks_wait *oidc_jwks_refresh_start(struct oidc_jwks *j, struct event_base *base,
                                               uint64_t seen_generation, oidc_jwks_refreshed_fn cb,
                                               void *arg) __attribute__((warn_unused_result));
/* cb will not run. Call on the loop passed to refresh_start, before cb has
 * run. NULL is a no-op. */
void oidc_jwks_refresh_cancel(struct oidc_jwks_wait *w);

/* Refreshes performed by the thread so far, successful or not (tests). */
uint64_t oidc_jwks_refresh_count(struct oidc_jwks *j);
