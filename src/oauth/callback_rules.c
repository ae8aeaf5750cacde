#include "oauth/callback_rules.h"

#include <string.h>

#include "oauth/redirect_uri.h"

static const char *const singletons[] = {"code", "state", "error", "error_description", "iss"};
static const char *const repeated_desc[] = {
    "code must not be repeated",  "state must not be repeated",
    "error must not be repeated", "error_description must not be repeated",
    "iss must not be repeated",
};
_Static_assert(sizeof(singletons) == sizeof(repeated_desc), "one description per singleton");

bool
oauth_callback_rules_query(const struct form_params *p, const char *idp_issuer,
                           struct oauth_error *err)
{
    size_t n = sizeof(singletons) / sizeof(singletons[0]);
    const char *repeated = form_params_find_repeated(p, singletons, n);
    if (repeated != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (repeated == singletons[i]) {
                oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, repeated_desc[i]);
            }
        }
        return false;
    }
    size_t count = 0;
    const char *iss = form_params_get(p, "iss", &count);
    /* Decoded values hold no NUL (base/form.h), so strcmp is exact. */
    if (count > 0 && strcmp(iss, idp_issuer) != 0) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST,
                        "iss does not match the identity provider's issuer");
        return false;
    }
    return true;
}

int
oauth_callback_rules_idp_error_location(const char *ru, enum oauth_error_code mapped,
                                        const char *os, const char *base, struct buf *out)
{
    const struct oauth_param params[] = {
        {"error", oauth_error_code_str(mapped)},
        {"error_description", OAUTH_CALLBACK_IDP_DENIED_DESCRIPTION},
        {"state", os},
        {"iss", base},
    };
    return oauth_redirect_uri_with_params(ru, params, sizeof(params) / sizeof(params[0]), out) ==
                   OAUTH_REDIRECT_URI_OK
               ? 0
               : -1;
}

void
oauth_callback_rules_idp_error_unmatched(enum oauth_error_code mapped, struct oauth_error *err)
{
    oauth_error_set(err, 400, mapped,
                    "authorization request could not be matched to a known session");
}

bool
oauth_callback_rules_identity(const struct oidc_claims *c, char *const *allowed,
                              size_t allowed_count, struct oauth_error *err,
                              enum metrics_denied *out_denied)
{
    if (c->sub == NULL || c->sub[0] == '\0') {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, "id token missing subject claim");
        err->error_code = "subject_missing";
        *out_denied = METRICS_DENIED_SUBJECT_MISSING;
        return false;
    }
    /* A control byte in sub or email would be sealed into 7-day tokens
     * that proxy/headers then refuses to forward (502 on every request):
     * refuse the login instead, with a reason the user can report. */
    const char *invalid = oidc_claims_check_identity(c);
    if (invalid != NULL) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, invalid);
        err->error_code = "claim_invalid";
        *out_denied = METRICS_DENIED_CLAIM_INVALID;
        return false;
    }
    /* An absent claim is accepted (SPEC.md 6.5); only an explicit false
     * denies. */
    if (c->email_verified_present && !c->email_verified) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, "email address is not verified");
        err->error_code = "email_not_verified";
        *out_denied = METRICS_DENIED_EMAIL_UNVERIFIED;
        return false;
    }
    const char *reason = oidc_claims_check_groups(c);
    if (reason != NULL) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, reason);
        err->error_code = "group_invalid";
        *out_denied = METRICS_DENIED_GROUP_INVALID;
        return false;
    }
    if (allowed_count > 0 && c->groups_overage) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, OAUTH_CALLBACK_GROUPS_OVERAGE);
        err->error_code = "groups_overage";
        *out_denied = METRICS_DENIED_GROUPS_OVERAGE;
        return false;
    }
    if (!oidc_claims_in_allowed_groups(c, allowed, allowed_count)) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, "user not in any allowed group");
        *out_denied = METRICS_DENIED_GROUP;
        return false;
    }
    return true;
}

bool
oauth_callback_rules_access(const struct oidc_claims *c, bool groups_checked,
                            char *const *hosted_domains, size_t hosted_domain_count,
                            struct oauth_error *err, enum metrics_denied *out_denied)
{
    if (groups_checked && c->groups_overage) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, OAUTH_CALLBACK_GROUPS_OVERAGE);
        err->error_code = "groups_overage";
        *out_denied = METRICS_DENIED_GROUPS_OVERAGE;
        return false;
    }
    if (!oidc_claims_in_hosted_domains(c, hosted_domains, hosted_domain_count)) {
        oauth_error_set(err, 403, OAUTH_ERROR_ACCESS_DENIED, "hosted domain not allowed");
        err->error_code = "hosted_domain_not_allowed";
        *out_denied = METRICS_DENIED_HOSTED_DOMAIN;
        return false;
    }
    return true;
}

void
oauth_callback_rules_build_code(const struct grant_session *s, const struct oidc_claims *c,
                                const char *token_id, const char *family_id, const char *aud,
                                int64_t now_s, struct grant_code *out)
{
    memset(out, 0, sizeof(*out));
    out->token_id = token_id;
    out->family_id = family_id;
    out->client_id = s->client_id;
    out->redirect_uri = s->redirect_uri;
    out->code_challenge = s->code_challenge;
    out->sub = c->sub;
    out->email = c->email;
    out->name = c->name;
    out->groups = (const char *const *)c->groups;
    out->group_count = c->group_count;
    out->resource = s->resource;
    out->scope = s->scope;
    out->server_pkce = s->server_verifier != NULL && s->server_verifier[0] != '\0';
    out->server_verifier = s->server_verifier;
    out->aud = aud;
    out->exp = now_s + OAUTH_CALLBACK_CODE_TTL_S;
    out->acr = c->acr;
    out->auth_time = c->auth_time;
}

int
oauth_callback_rules_success_location(const char *ru, const char *code, const char *os,
                                      const char *base, struct buf *out)
{
    const struct oauth_param params[] = {
        {"code", code},
        {"state", os},
        {"iss", base},
    };
    return oauth_redirect_uri_with_params(ru, params, sizeof(params) / sizeof(params[0]), out) ==
                   OAUTH_REDIRECT_URI_OK
               ? 0
               : -1;
}
