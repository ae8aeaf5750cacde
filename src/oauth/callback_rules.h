/* The decisions of GET /callback (SPEC.md 3.7) that need no I/O: the query
 * checks before the session is opened (steps 1-3 and the RFC 9207 `iss`
 * check of SPEC preface fix 6), the IdP error branch's redirect (step 2),
 * the session outcomes (steps 4-6), the identity rules on the verified
 * claims (steps 14-18), the code grant (step 19) and the success redirect
 * (step 20).
 *
 * Pure: no I/O, no logging, no metrics; the handler (oauth/callback.c)
 * logs, counts and replies. Every struct oauth_error filled here points at
 * static strings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/form.h"
#include "grants.h"
#include "metrics.h"
#include "oauth/error.h"
#include "oidc/claims.h"

/* SPEC.md 2.4: the authorization code lives 60 s. */
#define OAUTH_CALLBACK_CODE_TTL_S 60

/* The fixed text sent back instead of the IdP's own description (SPEC.md
 * 6.6): an IdP-supplied description never reaches the client. */
#define OAUTH_CALLBACK_IDP_DENIED_DESCRIPTION "authorization denied by identity provider"

/* Step 1: a repeated code, state, error or error_description, or a
 * repeated `iss`, is 400 invalid_request "<name> must not be repeated".
 * Then, SPEC preface fix 6 (RFC 9207 2.4): an `iss` parameter, when
 * present, must equal the IdP's issuer byte for byte, else 400
 * invalid_request "iss does not match the identity provider's issuer". The
 * iss check runs before the error branch: an error response carrying
 * another issuer's name may come from a mix-up attacker and must not be
 * relayed to the client. True when the query passes. */
bool oauth_callback_rules_query(const struct form_params *p, const char *idp_issuer,
                                struct oauth_error *err);

/* Step 2: the URL a client is sent back to when the IdP returned `error`
 * and the state opened as a valid session: ru with error=<mapped>,
 * error_description=<the fixed text>, state=<os> (when non-empty) and
 * iss=<base> merged into its query (oauth/redirect_uri.h). Returns 0 and
 * appends to out, or -1 (out unchanged) when ru cannot carry it: the
 * handler then answers JSON 400 with the mapped error. */
int oauth_callback_rules_idp_error_location(const char *ru, enum oauth_error_code mapped,
                                            const char *os, const char *base, struct buf *out)
    __attribute__((warn_unused_result));
/* Step 2's fallback when the state is not a valid session: 400 with the
 * mapped error and "authorization request could not be matched to a known
 * session". */
void oauth_callback_rules_idp_error_unmatched(enum oauth_error_code mapped,
                                              struct oauth_error *err);

/* Steps 14, 15, 17 and 18 on the parsed claims: empty sub (403
 * access_denied subject_missing), sub or email with a control byte or
 * invalid UTF-8 (403 claim_invalid; not in SPEC.md, docs/conformance.md),
 * email_verified false (403 email_not_verified), a group with ',', a
 * control byte or invalid UTF-8 (403 group_invalid), with ALLOWED_GROUPS
 * set the groups elsewhere (403 groups_overage, docs/idps.md), then
 * no overlap with ALLOWED_GROUPS (403 "user not in any allowed group", no
 * error_code). True when the user may proceed; else false with *err and
 * *out_denied, the mcp_auth_access_denied_total reason. Step 16 (groups
 * shape mismatch) is the handler's: it only logs and counts. */
bool oauth_callback_rules_identity(const struct oidc_claims *c, char *const *allowed,
                                   size_t allowed_count, struct oauth_error *err,
                                   enum metrics_denied *out_denied);

/* The refusal when the groups are elsewhere (oidc_claims.groups_overage):
 * the proxy does not fetch them, so a group check cannot be made. */
#define OAUTH_CALLBACK_GROUPS_OVERAGE                                                              \
    "the identity provider sent a reference to the user's groups instead of the groups "           \
    "(groups overage); configure it to emit the groups in the id_token (docs/idps.md)"

/* After oauth_callback_rules_identity passed (docs/idps.md): groups_checked
 * says a group rule is configured anywhere (ALLOWED_GROUPS or a policy file,
 * whose rules may name groups); then groups elsewhere are 403 access_denied
 * OAUTH_CALLBACK_GROUPS_OVERAGE (error_code groups_overage) -- never a login
 * that passes with no groups. With ALLOWED_HOSTED_DOMAINS set, an `hd` in
 * none of them (or none at all: a personal Google account) is 403
 * access_denied "hosted domain not allowed" (hosted_domain_not_allowed).
 * True when the user may proceed. */
bool oauth_callback_rules_access(const struct oidc_claims *c, bool groups_checked,
                                 char *const *hosted_domains, size_t hosted_domain_count,
                                 struct oauth_error *err, enum metrics_denied *out_denied);

/* Step 19: fills *out (borrowing every string: from s, c, token_id,
 * family_id and aud) with the code to seal: client_id, redirect_uri, code_challenge,
 * resource and server_verifier from the session, server_pkce when the
 * session has a server-side verifier, sub, email, name and groups
 * from the claims, exp = now_s + 60. groups points at c->groups. acr and
 * auth_time are the claims' as given: the handler records the auth_time
 * oauth_stepup_rules_auth_time keeps and narrows scope to what the login
 * proves (oauth/stepup_rules.h). */
void oauth_callback_rules_build_code(const struct grant_session *s, const struct oidc_claims *c,
                                     const char *token_id, const char *family_id, const char *aud,
                                     int64_t now_s, struct grant_code *out);

/* Step 20: ru with code=<code>, state=<os> (when non-empty) and iss=<base>
 * merged into its query, names sorted, fragment dropped. 0 and appended to
 * out, or -1 (out unchanged) when ru does not parse: 400 invalid_request
 * "malformed redirect_uri". */
int oauth_callback_rules_success_location(const char *ru, const char *code, const char *os,
                                          const char *base, struct buf *out)
    __attribute__((warn_unused_result));
