/* In-process replay store for a single replica (SPEC.md 5.6; wired when
 * REDIS_REQUIRED=false and REDIS_URL is empty, SPEC preface fix 11).
 *
 * One back end per process, shared by every worker's store behind a mutex,
 * holding one share (an open-addressing table of fixed-size records) per
 * kind of key, so a flood of one kind cannot starve another: anonymous
 * login traffic (consent, callback state, codes: minutes) never takes room
 * from refresh rotation (7 days).
 *
 *  - consent:, callback_state:, authz_code: a single-use claim is 24 bytes:
 *    a 128-bit fingerprint of the id and its expiry.
 *  - refresh_family_revoked:<fam> and the refresh rotation: one 48-byte
 *    record per family, not per token: the newest generation claimed
 *    (grant_refresh.generation), its claim time and the one before it (so
 *    a retry of either of the newest two tokens gets RETRY with its own
 *    claim time, as Redis's per-token keys give), a revoked flag, an expiry. A
 *    family has exactly one token per generation (each fresh claim mints
 *    one successor, generation + 1), so "this token was already claimed"
 *    is "its generation <= the newest claimed". The four outcomes of
 *    SPEC.md 5.3 are kept; the one difference from per-token keys: a token
 *    older than the newest claimed one is judged by the newest claim's time,
 *    which is never earlier than its own, so it can get RACING where Redis
 *    says REUSED, never the reverse (docs/internals/store.md). The record
 *    lives as long as the newest claimed token, or 7 days past a
 *    revocation, whichever is later. Keys refresh:<tid> are not kept.
 *
 * Fingerprints are two SipHash-2-4 values of the id under two random
 * per-process keys. Two ids collide with probability 2^-128 per pair, and
 * an attacker cannot aim for it without the keys; a collision could only
 * answer "already used" or "revoked" for an id that was not -- a refusal,
 * never an acceptance (the generation of a shared family record only
 * rises).
 *
 * Time is Unix milliseconds from base/clock (tests pin it). Expired records
 * are dropped when looked up, and a share sweeps (walks its table) before
 * it grows and, when full, at most once per BOUNDS_MEMORY_STORE_FULL_SWEEP_MS.
 * A full share fails closed for its own kind only: STORE_ERR_UNAVAILABLE /
 * STORE_REFRESH_UNAVAILABLE ("store full: <kind>"), the counter
 * mcp_auth_replay_store_full_total{kind} and a warn line
 * `replay_store_full` at most once a minute per kind (the one place this
 * module logs above debug: nothing else tells an operator which share).
 * Claims are not shared with other replicas: run one. */
#pragma once

#include <stddef.h>

struct store_backend;

/* Records each share may hold. */
struct store_memory_limits {
    size_t consent;
    size_t callback_state;
    size_t authz_code;
    size_t refresh_family;
};

/* The BOUNDS_MEMORY_STORE_*_MAX defaults. */
struct store_memory_limits store_memory_default_limits(void);

/* key_prefix is copied (NULL = ""). Never NULL. Default limits. */
struct store_backend *store_memory_backend_new(const char *key_prefix);
/* The same with other limits (tests; each >= 1). */
struct store_backend *store_memory_backend_new_limited(const char *key_prefix,
                                                       const struct store_memory_limits *lim);

/* Tests and diagnostics: records held over all shares, expired ones
 * included until they are looked up or swept. */
size_t store_memory_backend_count(struct store_backend *b);
/* Bytes of the share tables as allocated now (grows with use up to at
 * most 4/3 slot per record at the limit). */
size_t store_memory_backend_bytes(struct store_backend *b);
