/* Fuzz target: GET /authorize's pure checks (oauth/authorize_rules,
 * SPEC.md 3.3 steps 1-3 and 8-13) on an arbitrary query string, decoded as
 * the handler decodes it. The first byte picks the policy (PKCE required or
 * not, stateless compat or not, root or /mcp mount); the rest is the query.
 *
 * Properties: every outcome carries SPEC.md's status for its phase (400 for
 * JSON, 302 for the redirect phase) and a non-empty static description;
 * PROCEED means the requested redirect_uri matched a registered one, the
 * response_type is "code", and a challenge is either absent (only when PKCE
 * is optional) or 43-128 unreserved characters with method S256; a
 * synthesized state only when the state was empty and compat is on; the
 * granted scope (bit 16 of the first byte turns MCP_SCOPES_SUPPORTED on)
 * is a subset of the supported set and of what was requested, holds
 * offline_access only when asked for, and is "" with scopes off; only
 * scopes on can answer invalid_scope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/form.h"
#include "base/pkce.h"
#include "base/scope.h"
#include "bounds.h"
#include "oauth/authorize_rules.h"
#include "oauth/redirect_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const registered[] = {
    "https://app.example.com/cb",
    "http://127.0.0.1:8765/callback",
    "http://localhost/cb?x=1",
};

#define SUPPORTED "mcp:read mcp:write offline_access"

static void
check_scope(const struct oauth_authorize_request *r, const struct oauth_authorize_policy *pol,
            const char *granted)
{
    if (pol->scopes_supported[0] == '\0') {
        if (granted[0] != '\0') {
            abort();
        }
        return;
    }
    struct slice rest = slice_from_cstr(r->scope);
    struct slice t;
    bool asked = scope_next(&rest, " ", &t);
    rest = slice_from_cstr(granted);
    while (scope_next(&rest, " ", &t)) {
        if (!scope_has(pol->scopes_supported, t) || (asked && !scope_has(r->scope, t)) ||
            (!asked && slice_eq_cstr(t, SCOPE_OFFLINE_ACCESS))) {
            abort();
        }
    }
}

static void
check_proceed(const struct oauth_authorize_request *r, const struct oauth_authorize_policy *pol,
              const struct oauth_authorize_outcome *out)
{
    bool matched = false;
    for (size_t i = 0; i < 3; i++) {
        matched |= oauth_redirect_uri_matches(registered[i], r->redirect_uri);
    }
    if (!matched || strcmp(r->response_type, "code") != 0) {
        abort();
    }
    if (r->code_challenge[0] == '\0') {
        if (pol->pkce_required || !out->server_pkce) {
            abort();
        }
    } else if (strcmp(r->code_challenge_method, "S256") != 0 ||
               !pkce_is_valid_verifier(slice_from_cstr(r->code_challenge)) || out->server_pkce) {
        abort();
    }
    /* An S256 challenge stands in for state unless STATE_REQUIRED. */
    bool state_needed = r->code_challenge[0] == '\0' || pol->state_required;
    if (out->synthesize_state != (r->state[0] == '\0' && state_needed) ||
        out->state_missing != out->synthesize_state ||
        (out->synthesize_state && !pol->allow_stateless)) {
        abort();
    }
    check_scope(r, pol, out->scope);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const struct oauth_authorize_policy pol = {
        .base = "https://auth.example.com",
        .mount = (data[0] & 4) ? "/mcp" : "",
        .pkce_required = (data[0] & 1) == 0,
        .allow_stateless = (data[0] & 2) != 0,
        .state_required = (data[0] & 8) != 0,
        .scopes_supported = (data[0] & 16) ? SUPPORTED : "",
    };
    struct form_params p;
    struct slice q = slice_make((const char *)data + 1, size - 1);
    if (form_parse(q, FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p) != FORM_OK) {
        return 0;
    }
    struct oauth_authorize_request r;
    struct oauth_error err = {0};
    bool missing = false;
    enum oauth_authorize_verdict v = oauth_authorize_rules_parse(&p, &r, &err, &missing);
    if (v != OAUTH_AUTHORIZE_PROCEED) {
        if (v != OAUTH_AUTHORIZE_REPLY_JSON || err.status != 400 || err.description == NULL ||
            err.description[0] == '\0') {
            abort();
        }
        form_params_cleanup(&p);
        return 0;
    }
    if (missing || r.client_id[0] == '\0') {
        abort();
    }
    struct oauth_authorize_outcome out;
    oauth_authorize_rules_check(&r, registered, 3, &pol, &out);
    switch (out.verdict) {
    case OAUTH_AUTHORIZE_PROCEED:
        check_proceed(&r, &pol, &out);
        break;
    case OAUTH_AUTHORIZE_REPLY_JSON:
        if (out.err.status != 400 || out.err.description == NULL) {
            abort();
        }
        break;
    case OAUTH_AUTHORIZE_REDIRECT_ERROR:
        if (out.err.status != 302 || out.err.description == NULL || out.synthesize_state ||
            (out.err.code == OAUTH_ERROR_INVALID_SCOPE && !(data[0] & 16))) {
            abort();
        }
        break;
    default:
        abort();
    }
    form_params_cleanup(&p);
    return 0;
}
