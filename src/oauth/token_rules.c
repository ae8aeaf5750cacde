#include "oauth/token_rules.h"

#include <string.h>

#include "base/pkce.h"
#include "oauth/resource.h"

/* SPEC.md 3.0.6 for /token, with the description of each. */
static const char *const singletons[] = {
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "code_verifier",
    "refresh_token",
    /* RFC 7523 2.2: exactly one JWT. */
    "client_assertion",
    "client_assertion_type",
};
static const char *const repeated_desc[] = {
    "grant_type must not be repeated",       "code must not be repeated",
    "redirect_uri must not be repeated",     "client_id must not be repeated",
    "code_verifier must not be repeated",    "refresh_token must not be repeated",
    "client_assertion must not be repeated", "client_assertion_type must not be repeated",
};
_Static_assert(sizeof(singletons) == sizeof(repeated_desc), "one description per singleton");

bool
oauth_token_rules_front(const struct form_params *p, const char *base, const char *mount,
                        enum oauth_token_grant *out_grant, struct oauth_error *err)
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
    /* Step 5: checked before the grant switch, against our own two
     * identifiers only (SPEC.md 10.1 item 14). */
    for (size_t i = 0; i < p->count; i++) {
        if (slice_eq_cstr(p->items[i].name, "resource") &&
            !oauth_resource_accepted(p->items[i].value.ptr, base, mount)) {
            oauth_error_set(err, 400, OAUTH_ERROR_INVALID_TARGET,
                            "resource does not identify this authorization server");
            return false;
        }
    }
    const char *grant = form_params_get(p, "grant_type", NULL);
    if (strcmp(grant, "authorization_code") == 0) {
        *out_grant = OAUTH_TOKEN_GRANT_AUTHORIZATION_CODE;
        return true;
    }
    if (strcmp(grant, "refresh_token") == 0) {
        *out_grant = OAUTH_TOKEN_GRANT_REFRESH_TOKEN;
        return true;
    }
    oauth_error_set(err, 400, OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE,
                    "grant_type must be authorization_code or refresh_token");
    return false;
}

bool
oauth_token_rules_code_has_ids(const struct grant_code *code, struct oauth_error *err)
{
    if (code->token_id[0] == '\0' || code->family_id[0] == '\0') {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_GRANT,
                        "authorization code missing token id or family id");
        return false;
    }
    return true;
}

bool
oauth_token_rules_pkce(const struct grant_code *code, struct slice client_verifier,
                       struct oauth_error *err)
{
    if (code->code_challenge[0] == '\0') {
        if (client_verifier.len > 0) {
            oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST,
                            "code_verifier supplied but code was issued without a "
                            "code_challenge");
            return false;
        }
        return true;
    }
    struct slice verifier = client_verifier;
    if (verifier.len == 0 && code->server_pkce) {
        verifier = slice_from_cstr(code->server_verifier);
    }
    if (verifier.len == 0) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_GRANT, "code_verifier is required");
        return false;
    }
    /* Constant time over the challenge (base/pkce.h). */
    if (!pkce_verify_s256(verifier, slice_from_cstr(code->code_challenge))) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_GRANT, "PKCE verification failed");
        return false;
    }
    return true;
}

bool
oauth_token_rules_refresh_revoked(int64_t iat, int64_t family_iat, bool revoke_before_set,
                                  int64_t revoke_before_s, int32_t revoke_before_ns)
{
    if (!revoke_before_set) {
        return false;
    }
    int64_t stamp = oauth_token_rules_family_iat(iat, family_iat);
    return stamp < revoke_before_s || (stamp == revoke_before_s && revoke_before_ns > 0);
}

int64_t
oauth_token_rules_family_iat(int64_t iat, int64_t family_iat)
{
    return family_iat != 0 ? family_iat : iat;
}

enum oauth_token_refresh_verdict
oauth_token_rules_refresh_check(enum grants_rc rc, const struct grant_refresh *g,
                                bool revoke_before_set, int64_t revoke_before_s,
                                int32_t revoke_before_ns, struct oauth_error *err)
{
    if (rc != GRANTS_OK && rc != GRANTS_ERR_AUDIENCE && rc != GRANTS_ERR_EXPIRED) {
        (void)oauth_error_from_grants(OAUTH_ERROR_TOKEN_REFRESH, rc, err);
        return OAUTH_TOKEN_REFRESH_DENIED;
    }
    if (g->family_id[0] == '\0' || g->token_id[0] == '\0') {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_GRANT, "refresh token missing family or id");
        return OAUTH_TOKEN_REFRESH_DENIED;
    }
    if (rc == GRANTS_ERR_AUDIENCE) {
        (void)oauth_error_from_grants(OAUTH_ERROR_TOKEN_REFRESH, rc, err);
        return OAUTH_TOKEN_REFRESH_DENIED;
    }
    /* Before expiry, as SPEC.md orders it: a revoked family says so even
     * when the token has also run out. */
    if (oauth_token_rules_refresh_revoked(g->iat, g->family_iat, revoke_before_set, revoke_before_s,
                                          revoke_before_ns)) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_GRANT, "refresh token revoked");
        return OAUTH_TOKEN_REFRESH_REVOKED;
    }
    if (rc == GRANTS_ERR_EXPIRED) {
        (void)oauth_error_from_grants(OAUTH_ERROR_TOKEN_REFRESH, rc, err);
        return OAUTH_TOKEN_REFRESH_DENIED;
    }
    return OAUTH_TOKEN_REFRESH_OK;
}

bool
oauth_token_rules_refresh_claim(enum store_refresh rc, struct oauth_token_refresh_denial *out)
{
    memset(out, 0, sizeof(*out));
    switch (rc) {
    case STORE_REFRESH_FRESH:
    case STORE_REFRESH_RETRY:
        /* A retry inside REFRESH_RETRY_GRACE gets the successor the first
         * claim minted, derived again (docs/internals/rotation.md). */
        return true;
    case STORE_REFRESH_FAMILY_REVOKED:
        oauth_error_set(&out->err, 400, OAUTH_ERROR_INVALID_GRANT, "refresh token revoked");
        out->err.error_code = "refresh_family_revoked";
        out->has_denied = true;
        out->denied = METRICS_DENIED_REFRESH_FAMILY_REVOKED;
        return false;
    case STORE_REFRESH_RACING:
        /* SPEC.md 10.1 item 3: deliberately 429, outside RFC 6749 5.2. */
        oauth_error_set(&out->err, 429, OAUTH_ERROR_INVALID_GRANT,
                        "refresh token concurrent submit; the legitimate peer is rotating, "
                        "retry after the new refresh lands");
        out->err.error_code = "refresh_concurrent_submit";
        out->has_denied = true;
        out->denied = METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT;
        out->retry_after_s = OAUTH_TOKEN_RACING_RETRY_AFTER_S;
        return false;
    case STORE_REFRESH_REUSED:
        /* The em dash is kept as in the Go source; the description
         * sanitiser drops its three bytes, so clients read two spaces
         * (SPEC.md 3.0.5). */
        oauth_error_set(&out->err, 400, OAUTH_ERROR_INVALID_GRANT,
                        "refresh token reuse detected \xe2\x80\x94 family revoked");
        out->err.error_code = "refresh_reuse_detected";
        out->replay = true;
        return false;
    case STORE_REFRESH_UNAVAILABLE:
    case STORE_REFRESH_COUNT:
        break;
    }
    oauth_token_rules_store_unavailable(&out->err);
    out->has_denied = true;
    out->denied = METRICS_DENIED_REPLAY_STORE_UNAVAILABLE;
    return false;
}

void
oauth_token_rules_store_unavailable(struct oauth_error *err)
{
    oauth_error_set(err, 503, OAUTH_ERROR_SERVER_ERROR, "replay store unavailable");
    err->error_code = "replay_store_unavailable";
}

int
oauth_token_rules_format_success(struct slice access_token, struct slice refresh_token,
                                 struct slice scope, struct buf *out)
{
    if (buf_append_str(out, "{\"access_token\":\"") != 0 ||
        buf_append_json_escaped(out, access_token) != 0 ||
        buf_appendf(out, "\",\"expires_in\":%d", OAUTH_TOKEN_ACCESS_TTL_S) != 0) {
        return -1;
    }
    if (refresh_token.len > 0 &&
        (buf_append_str(out, ",\"refresh_token\":\"") != 0 ||
         buf_append_json_escaped(out, refresh_token) != 0 || buf_append_byte(out, '"') != 0)) {
        return -1;
    }
    if (scope.len > 0 &&
        (buf_append_str(out, ",\"scope\":\"") != 0 || buf_append_json_escaped(out, scope) != 0 ||
         buf_append_byte(out, '"') != 0)) {
        return -1;
    }
    return buf_append_str(out, ",\"token_type\":\"Bearer\"}\n");
}
