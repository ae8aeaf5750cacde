/* proxy/subject_limit: per-subject concurrency on the MCP route (SPEC.md
 * 4.6): at most N requests in flight per access-token `sub` across the
 * whole process (N = MCP_PER_SUBJECT_CONCURRENCY, 0 = off). A slot is
 * taken without waiting and held for the entire request, streamed
 * responses included; the caller answers 503 with PROXY_SUBJECT_LIMIT_BODY
 * and Retry-After: 1 when none is free, and counts
 * access_denied{subject_concurrency_exceeded}.
 *
 * One table for all workers, split into PROXY_SUBJECT_LIMIT_STRIPES
 * stripes with a mutex each (a subject hashes to one stripe with a keyed
 * hash). An entry is the subject's in-flight count and when it was last
 * used. An idle entry (nothing in flight) behaves exactly like no entry,
 * so reclaiming one is never observable; entries idle for
 * BOUNDS_SUBJECT_IDLE_MS (5 min) are reclaimed by
 * proxy_subject_limit_prune (the runtime calls it every
 * BOUNDS_SUBJECT_PRUNE_INTERVAL_MS, 2 min) and also by every acquire and
 * release in their stripe, so memory follows the active subjects.
 * "Last used" is stamped at creation, at each acquire and when the last
 * request finishes (Go stamped acquires only, so a subject whose 10-minute
 * stream just ended could be reclaimed at once; no difference a client can
 * see).
 *
 * The table holds at most BOUNDS_SUBJECT_ENTRIES_MAX subjects (split evenly
 * over the stripes). When a new subject meets a full stripe, the stripe's
 * least recently used idle entry is reclaimed early (harmless, see above);
 * only when every entry of the stripe has a request in flight is the new
 * subject admitted WITHOUT a slot (PROXY_SUBJECT_LIMIT_UNTRACKED: fail
 * open). Why open: failing closed would refuse every request of every
 * subject that arrives while the table is full -- a lockout of real users
 * for as long as the load lasts -- while failing open only waives a
 * fairness cap for newcomers. Filling the table takes ~100 000 subjects
 * with requests in flight at the same moment, i.e. that many accounts at
 * the IdP; subjects already tracked stay limited. The caller logs a warn.
 *
 * No I/O; times are monotonic milliseconds from the caller (clock_mono_ms()
 * in production, fixed values in tests). Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

#define PROXY_SUBJECT_LIMIT_STRIPES 64

/* The 503 (SPEC.md 4.6): Content-Type: application/json, Retry-After: 1,
 * this body with no trailing newline. */
#define PROXY_SUBJECT_LIMIT_BODY                                                                   \
    "{\"error\":\"temporarily_unavailable\",\"error_description\":\"per-subject concurrency "      \
    "limit reached\"}"
#define PROXY_SUBJECT_LIMIT_RETRY_AFTER "1"

struct proxy_subject_limit;
struct proxy_subject_entry;

/* A held slot: keep it for the request's lifetime and give it back with
 * proxy_subject_limit_release. entry == NULL means nothing is held
 * (limiter off, no subject, untracked, or already released). */
struct proxy_subject_slot {
    struct proxy_subject_entry *entry;
};

enum proxy_subject_limit_rc {
    PROXY_SUBJECT_LIMIT_OK = 0,    /* proceed (a slot is held when the limiter is on) */
    PROXY_SUBJECT_LIMIT_BUSY,      /* all N slots of this subject are in use: 503 */
    PROXY_SUBJECT_LIMIT_UNTRACKED, /* table full of active subjects: proceed, no slot */
    PROXY_SUBJECT_LIMIT_RC_COUNT,
};

/* "ok", "busy", "untracked". */
const char *proxy_subject_limit_rc_str(enum proxy_subject_limit_rc rc);

/* A limiter allowing per_subject requests in flight per subject, with the
 * table cap of bounds.h; per_subject 0 gives a limiter that admits
 * everything and holds no table. Never NULL. */
struct proxy_subject_limit *proxy_subject_limit_new(unsigned per_subject);
/* Same with another table cap (tests): max_entries is rounded up to a
 * multiple of PROXY_SUBJECT_LIMIT_STRIPES, at least one per stripe. */
struct proxy_subject_limit *proxy_subject_limit_new_capped(unsigned per_subject,
                                                           size_t max_entries);
/* NULL is a no-op. No other thread may be using l, and no slot may still
 * be held (slots of a freed limiter must never be released). */
void proxy_subject_limit_free(struct proxy_subject_limit *l);

/* Tries to take a slot for sub (the opened token's subject, borrowed; an
 * entry keeps at most BOUNDS_SUBJECT_KEY_BYTES of it) at now_ms. *out_slot is always
 * written. OK with a held slot; OK without one when the limiter is off or
 * sub is empty (SPEC.md 4.6: no subject passes through); BUSY; or
 * UNTRACKED (see above). Never blocks on anything but a stripe mutex. */
enum proxy_subject_limit_rc proxy_subject_limit_acquire(struct proxy_subject_limit *l,
                                                        struct slice sub, uint64_t now_ms,
                                                        struct proxy_subject_slot *out_slot)
    __attribute__((warn_unused_result));
/* Gives the slot back at the end of the request (after the last byte of a
 * stream, or when the client went away) and clears it, so a second
 * release is a no-op. A slot holding nothing is a no-op. */
void proxy_subject_limit_release(struct proxy_subject_limit *l, struct proxy_subject_slot *slot,
                                 uint64_t now_ms);

/* Reclaims every entry idle for at least BOUNDS_SUBJECT_IDLE_MS at now_ms
 * and shrinks emptied tables. Returns how many entries were reclaimed. */
size_t proxy_subject_limit_prune(struct proxy_subject_limit *l, uint64_t now_ms);

/* Subjects tracked right now (tests, a gauge). */
size_t proxy_subject_limit_entries(struct proxy_subject_limit *l);
/* Requests in flight for sub right now (tests). */
unsigned proxy_subject_limit_in_flight(struct proxy_subject_limit *l, struct slice sub);
/* Tests only: the stripe sub hashes to in this limiter (lets a test put two
 * subjects in one stripe); 0 for a disabled limiter. */
unsigned proxy_subject_limit_stripe_of(const struct proxy_subject_limit *l, struct slice sub);
