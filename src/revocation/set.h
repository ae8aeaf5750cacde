/* revocation/set: the process-wide revoked set -- families and subjects
 * (docs/internals/revocation.md).
 *
 * A chained hash table keyed by SipHash-2-4 (random key per set) of the
 * kind and the id, behind a reader-writer lock: every MCP request reads it,
 * a revocation or a resync writes it. Readers first look at an atomic entry
 * count, so while nothing is revoked (the usual case) a check is one atomic
 * load and takes no lock at all. Lookups ignore expiry (an expired entry
 * refuses only tokens that have expired anyway); writers sweep expired
 * entries at most every BOUNDS_REVOCATION_SWEEP_MS.
 *
 * At the cap (BOUNDS_REVOCATION_ENTRIES_MAX live entries) a revocation
 * that does not fit is not dropped silently: the set marks itself
 * overflowed and every check answers REVOCATION_OVERFLOW (the caller
 * refuses: fail closed) until a complete resync from the store fits again
 * (revocation_set_resync_end). Nothing is evicted to make room: evicting
 * would forget a revocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "revocation/revocation.h"

enum revocation_kind {
    REVOCATION_KIND_FAMILY = 0,
    REVOCATION_KIND_SUBJECT,
    REVOCATION_KIND_COUNT,
};

/* One revocation as the store and the channel carry it. */
struct revocation_entry {
    enum revocation_kind kind;
    struct slice id;    /* family id or subject; 1..BOUNDS_REVOCATION_ID_MAX bytes */
    int64_t at_ms;      /* subject: revocation time, Unix ms; family: 0 */
    int64_t expires_ms; /* Unix ms after which it can be forgotten */
};

enum revocation_set_rc {
    REVOCATION_SET_ADDED = 0, /* a new entry */
    REVOCATION_SET_UPDATED,   /* known: at and expiry raised to the later of both */
    REVOCATION_SET_EXPIRED,   /* already past its expiry: nothing to keep */
    REVOCATION_SET_INVALID,   /* empty or oversized id */
    REVOCATION_SET_FULL,      /* at the cap: the set is now overflowed */
};

struct revocation_set;

/* An empty set holding at most cap entries. Never NULL. */
struct revocation_set *revocation_set_new(size_t cap);
void revocation_set_free(struct revocation_set *s);

/* Adds or merges e (copied). now_ms: Unix ms, for the sweep. Any thread. */
enum revocation_set_rc revocation_set_add(struct revocation_set *s,
                                          const struct revocation_entry *e, int64_t now_ms);
/* The bearer check: fam (may be empty) revoked, or sub revoked at or after
 * iat_s. No I/O, no allocation; one atomic load while the set is empty. */
enum revocation_verdict revocation_set_check(struct revocation_set *s, struct slice fam,
                                             struct slice sub, int64_t iat_s);

/* Drops every entry whose expiry is at or before now_ms. */
void revocation_set_sweep(struct revocation_set *s, int64_t now_ms);

/* A resync brackets its adds with these; end(complete = every page read)
 * clears the overflow when nothing failed to fit since begin. */
uint64_t revocation_set_resync_begin(struct revocation_set *s);
void revocation_set_resync_end(struct revocation_set *s, uint64_t token, bool complete);

size_t revocation_set_count(const struct revocation_set *s);
bool revocation_set_overflowed(const struct revocation_set *s);

/* The one set of this process (created on first use; never freed before
 * exit, so a worker thread can never read a freed set). */
struct revocation_set *revocation_set_global(void);
