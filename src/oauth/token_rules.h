/* The decisions of POST /token (SPEC.md 3.8) that need no I/O: the common
 * prefix on the parsed form (steps 4-6), the checks on an opened code or
 * refresh token, PKCE (code step 10), REVOKE_BEFORE on a refresh family
 * (refresh step 5), the refresh-rotation outcome (refresh step 9), and the
 * success body.
 *
 * Pure: no I/O, no logging, no metrics; the handler (oauth/token.c) logs,
 * counts and replies. Every struct oauth_error filled here points at
 * static strings. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/form.h"
#include "base/slice.h"
#include "grants.h"
#include "metrics.h"
#include "oauth/error.h"
#include "store/store.h"

/* SPEC.md 2.4: access tokens live 1 h (expires_in: 3600), refresh tokens
 * 7 d from each (re)issue. */
#define OAUTH_TOKEN_ACCESS_TTL_S 3600
#define OAUTH_TOKEN_REFRESH_TTL_S (7 * 24 * 3600)
/* SPEC.md 3.8 refresh step 9: fixed, whatever REFRESH_RACE_GRACE_SEC is. */
#define OAUTH_TOKEN_RACING_RETRY_AFTER_S 2

enum oauth_token_grant {
    OAUTH_TOKEN_GRANT_AUTHORIZATION_CODE = 0,
    OAUTH_TOKEN_GRANT_REFRESH_TOKEN,
    OAUTH_TOKEN_GRANT_COUNT,
};

/* SPEC.md 3.8 steps 4-6 on the parsed form: a repeated grant_type, code,
 * redirect_uri, client_id, code_verifier or refresh_token (3.0.6); every
 * `resource` value naming base or base+mount (3.12; mount may be NULL);
 * grant_type one of the two grants. True and *out_grant set when all pass;
 * otherwise false with *err filled (400 invalid_request, invalid_target or
 * unsupported_grant_type). */
bool oauth_token_rules_front(const struct form_params *p, const char *base, const char *mount,
                             enum oauth_token_grant *out_grant, struct oauth_error *err);

/* Code step 9: the code carries its token id and family id. */
bool oauth_token_rules_code_has_ids(const struct grant_code *code, struct oauth_error *err);

/* Code step 10, given the opened code and the client's code_verifier
 * (empty when not sent). With a challenge sealed in the code, the verifier
 * is the client's, or the code's server_verifier when the code asks for
 * server-side PKCE and the client sent none; a wrong client verifier is
 * never replaced by server_verifier. True when the check passes (or there is nothing to
 * check); else false with *err: 400 invalid_grant "code_verifier is
 * required" / "PKCE verification failed", or 400 invalid_request when the
 * client sent a verifier for a code issued without a challenge. */
bool oauth_token_rules_pkce(const struct grant_code *code, struct slice client_verifier,
                            struct oauth_error *err);

/* Refresh step 5 / SPEC.md 10.1 item 13: is this refresh token's family
 * issued before REVOKE_BEFORE? The family's stamp is family_iat, or iat
 * for a legacy token whose family_iat is 0. Token times are whole seconds, so a stamp
 * in the cut-off's own second counts as before it when the cut-off has a
 * fraction. False when REVOKE_BEFORE is not set. */
bool oauth_token_rules_refresh_revoked(int64_t iat, int64_t family_iat, bool revoke_before_set,
                                       int64_t revoke_before_s, int32_t revoke_before_ns);
/* The family_iat a rotated refresh token carries (refresh step 11): the
 * old family_iat, or the old iat when that is 0. */
int64_t oauth_token_rules_family_iat(int64_t iat, int64_t family_iat);

enum oauth_token_refresh_verdict {
    OAUTH_TOKEN_REFRESH_OK = 0,
    OAUTH_TOKEN_REFRESH_DENIED,  /* *err says why (no log above debug, no metric) */
    OAUTH_TOKEN_REFRESH_REVOKED, /* REVOKE_BEFORE: *err set; debug log only */
};

/* Refresh steps 2-6 in SPEC order on grants_open_refresh's outcome and the
 * grant it filled (on OK, AUDIENCE and EXPIRED): did not open / wrong typ;
 * missing token_id or family_id; other audience; family issued before REVOKE_BEFORE;
 * expired. */
enum oauth_token_refresh_verdict
oauth_token_rules_refresh_check(enum grants_rc rc, const struct grant_refresh *g,
                                bool revoke_before_set, int64_t revoke_before_s,
                                int32_t revoke_before_ns, struct oauth_error *err);

/* What refresh step 9 answers for a rotation outcome other than FRESH. */
struct oauth_token_refresh_denial {
    struct oauth_error err;
    bool has_denied; /* count mcp_auth_access_denied_total{denied} */
    enum metrics_denied denied;
    bool replay;            /* count mcp_auth_replay_detected_total{refresh} */
    unsigned retry_after_s; /* Retry-After value; 0: no header */
};

/* FAMILY_REVOKED: 400 refresh_family_revoked (denied); RACING: 429
 * refresh_concurrent_submit, Retry-After 2 (denied); REUSED: 400
 * refresh_reuse_detected (replay); UNAVAILABLE: 503
 * replay_store_unavailable (denied): false with *out filled. True for
 * FRESH, the pass: nothing to answer. */
bool oauth_token_rules_refresh_claim(enum store_refresh rc, struct oauth_token_refresh_denial *out);

/* The 503 every fail-closed store site answers (SPEC.md 5.4). */
void oauth_token_rules_store_unavailable(struct oauth_error *err);

/* The success body, keys sorted (SPEC.md 3.8):
 * {"access_token":"...","expires_in":3600,"refresh_token":"...","scope":"...","token_type":"Bearer"}\n
 * refresh_token is left out when empty (no refresh token for this grant,
 * oauth/scope_rules.h), scope when empty (scopes off: as before them;
 * RFC 6749 5.1 wants it whenever it differs from the request, and with
 * scopes on it is always sent). Returns 0, or -1 at out's cap (out may
 * hold a partial body; reset it). */
int oauth_token_rules_format_success(struct slice access_token, struct slice refresh_token,
                                     struct slice scope, struct buf *out)
    __attribute__((warn_unused_result));
