/* oauth/revoke_rules: what POST /revoke (RFC 7009) decides about a token,
 * before any I/O: which grant it is, whose, and which family it names.
 *
 * A token is tried as the type its token_type_hint names first, then as
 * the other (RFC 7009 2.1: a wrong hint is only a hint; an unsupported
 * hint value is ignored, not an error -- the endpoint supports both types
 * it could name). Sealed purposes are AEAD-bound (seal.h), so a token opens
 * as at most one of the two. Anything that does not open, has expired or
 * was minted for another PROXY_BASE_URL is UNKNOWN: the endpoint answers
 * 200 and revokes nothing (RFC 7009 2.2: "invalid tokens do not cause an
 * error response"). A token the authenticated client does not own is
 * CLIENT_MISMATCH and handled the same (2.1: "the authorization server ...
 * refuses to process the request"; answering as for an unknown token
 * tells the caller nothing about someone else's token).
 *
 * Pure: no I/O, thread-safe. */
#pragma once

#include <stdint.h>

#include "base/slice.h"
#include "grants.h"
#include "oauth/error.h"

struct form_params;

/* RFC 6749 3.2 (as /token, SPEC.md 3.0.6): a parameter sent twice is
 * refused, 400 invalid_request "<name> must not be repeated". true when
 * the form may go on; false with *err set. */
bool oauth_revoke_rules_front(const struct form_params *p, struct oauth_error *err);

enum oauth_revoke_rules_hint {
    OAUTH_REVOKE_RULES_HINT_NONE = 0, /* absent or not one we name: refresh first */
    OAUTH_REVOKE_RULES_HINT_ACCESS,   /* "access_token" */
    OAUTH_REVOKE_RULES_HINT_REFRESH,  /* "refresh_token" */
};

/* The hint's value as sent (borrowed); never fails. */
enum oauth_revoke_rules_hint oauth_revoke_rules_hint_parse(struct slice hint);

enum oauth_revoke_rules_verdict {
    OAUTH_REVOKE_RULES_FAMILY = 0,      /* revoke out->family_id */
    OAUTH_REVOKE_RULES_UNKNOWN,         /* not ours, garbage, expired: nothing to do */
    OAUTH_REVOKE_RULES_CLIENT_MISMATCH, /* another client's token: nothing to do */
    OAUTH_REVOKE_RULES_LEGACY,          /* an access token without "fam": nothing to do */
    OAUTH_REVOKE_RULES_VERDICT_COUNT,
};

/* "family", "unknown_token", "client_mismatch", "legacy_token" (static). */
const char *oauth_revoke_rules_verdict_str(enum oauth_revoke_rules_verdict v);

/* What the token turned out to be. family_id, sub and client_id point into
 * the opened grant ("" when none opened); valid until
 * oauth_revoke_rules_cleanup, which must be called whatever the verdict. */
struct oauth_revoke_rules_found {
    const char *type; /* "access_token", "refresh_token", or "" */
    const char *family_id;
    const char *sub;
    const char *client_id;
    struct grant_access access;
    struct grant_refresh refresh;
};

/* Opens token (borrowed) with ring for audience aud at now_s, and compares
 * its client with client_id (the authenticated client's internal id). *out
 * is overwritten and filled whatever the verdict. */
enum oauth_revoke_rules_verdict
oauth_revoke_rules_judge(const struct seal_ring *ring, struct slice token,
                         enum oauth_revoke_rules_hint hint, const char *aud, int64_t now_s,
                         const char *client_id, struct oauth_revoke_rules_found *out);

void oauth_revoke_rules_cleanup(struct oauth_revoke_rules_found *f);
