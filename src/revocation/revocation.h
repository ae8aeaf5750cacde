/* revocation: the revoked families and subjects every replica enforces
 * (issue 14 item 5, docs/internals/revocation.md).
 *
 * Each process keeps one revoked set in memory (revocation/set.h); the
 * bearer check and the refresh grant consult it in O(1) with no I/O. A
 * revocation is written to the store with one atomic script (ZADD into
 * <prefix>revocations, drop expired entries, PUBLISH on the channel of the
 * same name); every replica's subscriber (revocation/subscriber.h) applies
 * the message, and resyncs the whole sorted set at start-up, on every
 * reconnect and every BOUNDS_REVOCATION_RESYNC_MS, so a lost message heals.
 *
 * An entry is forgotten once every token it could refuse has expired
 * anyway: REVOCATION_FORGET_AFTER_MS after it was written (the longest
 * refresh-token life; access tokens live an hour). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"
#include "metrics.h"
#include "store/store.h"

struct worker;

/* Longest life of anything a revocation refuses: a refresh token's 7 days
 * (oauth/token_rules.h OAUTH_TOKEN_REFRESH_TTL_S, STORE_FAMILY_REVOKED_TTL_MS). */
#define REVOCATION_FORGET_AFTER_MS STORE_FAMILY_REVOKED_TTL_MS

/* Records and publishes a revoked family / subject: adds it to this
 * process's set at once (this replica refuses it before the callback),
 * then writes it to w's store (the script above) so every replica learns
 * it. cb gets STORE_OK or STORE_ERR_UNAVAILABLE (then the caller answers
 * 503 where the RFC lets it, and logs). On the worker's loop. The family
 * marker refresh_family_revoked:<fam> stays the caller's (store_mark).
 * at_ms: the subject's revocation time, Unix ms (normally now): tokens of
 * sub whose iat (seconds) * 1000 is at or before it are refused.
 * An id that is empty or longer than BOUNDS_REVOCATION_ID_MAX fails at once
 * (through the loop) with STORE_ERR_UNAVAILABLE and records nothing. */
struct store_op *revocation_revoke_family(struct worker *w, struct slice family_id,
                                          store_done_fn cb, void *arg);
struct store_op *revocation_revoke_subject(struct worker *w, struct slice sub, int64_t at_ms,
                                           store_done_fn cb, void *arg);
/* The same on any store (the `revoke` CLI: a store opened on a private
 * loop). Also adds to this process's set. */
struct store_op *revocation_revoke_family_on(struct store *s, struct slice family_id,
                                             store_done_fn cb, void *arg);
struct store_op *revocation_revoke_subject_on(struct store *s, struct slice sub, int64_t at_ms,
                                              store_done_fn cb, void *arg);

/* O(1), no I/O, any thread. True also when the set overflowed its cap
 * (BOUNDS_REVOCATION_ENTRIES_MAX) and a revocation could not be kept:
 * then nothing can be proven unrevoked, so everything is refused (fail
 * closed) until a resync fits (revocation_set_overflowed). */
bool revocation_family_revoked(struct slice family_id);
bool revocation_subject_revoked(struct slice sub, int64_t iat_s);

/* Both checks under one lock, for the bearer check: which one refused. */
enum revocation_verdict {
    REVOCATION_CLEAR = 0,
    REVOCATION_FAMILY,   /* fam is revoked */
    REVOCATION_SUBJECT,  /* sub was revoked at or after iat */
    REVOCATION_OVERFLOW, /* the set is over its cap: fail closed */
};
/* family_id may be empty (a legacy token without `fam`: subject only). */
enum revocation_verdict revocation_check(struct slice family_id, struct slice sub, int64_t iat_s);

/* "clear", "family", "subject", "overflow" (static, for logs). */
const char *revocation_verdict_str(enum revocation_verdict v);
/* The mcp_auth_access_denied_total reason of a refusal: token_revoked_family,
 * token_revoked_subject or revocation_set_full (CLEAR: invalid_token, unused). */
enum metrics_denied revocation_verdict_denied(enum revocation_verdict v);
