/* GET /authorize's pure checks, one function per phase, each written as
 * SPEC.md 3.3's numbered list so a reader can hold the two side by side.
 *
 * Example request (the parameters an MCP client sends):
 *   /authorize?response_type=code&client_id=<sealed>&state=xyz
 *     &redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback
 *     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
 *     &code_challenge_method=S256&resource=https%3A%2F%2Fauth.example.com%2Fmcp */
#include "oauth/authorize_rules.h"

#include <string.h>

#include "base/pkce.h"
#include "oauth/redirect_uri.h"
#include "oauth/resource.h"

/* SPEC.md 3.3 step 1, in the order Go checks them. */
static const char *const singletons[] = {
    "response_type",         "client_id", "redirect_uri", "code_challenge",
    "code_challenge_method", "state",
};
/* SPEC.md 3.0.6's description for each, static so the error can borrow it. */
static const char *const repeated_descriptions[] = {
    "response_type must not be repeated",         "client_id must not be repeated",
    "redirect_uri must not be repeated",          "code_challenge must not be repeated",
    "code_challenge_method must not be repeated", "state must not be repeated",
};
_Static_assert(sizeof(singletons) == sizeof(repeated_descriptions), "one description per name");

#define N_SINGLETONS (sizeof(singletons) / sizeof(singletons[0]))

/* Step 2: accepted parameters (scope is read when MCP_SCOPES_SUPPORTED is
 * set, step 14, and ignored otherwise). */
static const char *const accepted[] = {
    "response_type",         "client_id", "redirect_uri", "code_challenge",
    "code_challenge_method", "state",     "resource",     "scope",
};
/* OIDC request parameters a client might expect us to pass on; we never do
 * (SPEC.md 6.2: nothing is forwarded to the IdP). */
static const char *const oidc_extensions[] = {
    "prompt",     "id_token_hint", "login_hint", "acr_values",  "claims", "display",
    "ui_locales", "max_age",       "request",    "request_uri", "nonce",
};

static bool
in_list(struct slice name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slice_eq_cstr(name, list[i])) {
            return true;
        }
    }
    return false;
}

const char *
oauth_authorize_rules_param_category(struct slice name)
{
    if (in_list(name, accepted, sizeof(accepted) / sizeof(accepted[0]))) {
        return NULL;
    }
    if (in_list(name, oidc_extensions, sizeof(oidc_extensions) / sizeof(oidc_extensions[0]))) {
        return "oidc_extension_not_forwarded";
    }
    return "unknown";
}

enum oauth_authorize_verdict
oauth_authorize_rules_parse(const struct form_params *p, struct oauth_authorize_request *out,
                            struct oauth_error *err, bool *out_client_id_missing)
{
    if (out_client_id_missing != NULL) {
        *out_client_id_missing = false;
    }
    /* 1. */
    const char *repeated = form_params_find_repeated(p, singletons, N_SINGLETONS);
    if (repeated != NULL) {
        for (size_t i = 0; i < N_SINGLETONS; i++) {
            if (repeated == singletons[i]) {
                oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, repeated_descriptions[i]);
            }
        }
        return OAUTH_AUTHORIZE_REPLY_JSON;
    }
    size_t resource_count = 0;
    *out = (struct oauth_authorize_request){
        .response_type = form_params_get(p, "response_type", NULL),
        .client_id = form_params_get(p, "client_id", NULL),
        .redirect_uri = form_params_get(p, "redirect_uri", NULL),
        .code_challenge = form_params_get(p, "code_challenge", NULL),
        .code_challenge_method = form_params_get(p, "code_challenge_method", NULL),
        .state = form_params_get(p, "state", NULL),
        .scope = form_params_get(p, "scope", NULL),
        .params = p,
    };
    (void)form_params_get(p, "resource", &resource_count);
    out->resource_count = resource_count;

    /* 3. (2 is the handler's debug log.) */
    if (out->client_id[0] == '\0') {
        if (out_client_id_missing != NULL) {
            *out_client_id_missing = true;
        }
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, "client_id is required");
        return OAUTH_AUTHORIZE_REPLY_JSON;
    }
    return OAUTH_AUTHORIZE_PROCEED;
}

static bool
redirect_uri_registered(const char *requested, const char *const *registered, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (oauth_redirect_uri_matches(registered[i], requested)) {
            return true;
        }
    }
    return false;
}

/* Step 11: every `resource` value, empty ones included, must name us. */
static bool
resources_accepted(const struct oauth_authorize_request *r,
                   const struct oauth_authorize_policy *policy)
{
    const struct form_params *p = r->params;
    for (size_t i = 0; p != NULL && i < p->count; i++) {
        if (!slice_eq_cstr(p->items[i].name, "resource")) {
            continue;
        }
        if (!oauth_resource_accepted(p->items[i].value.ptr, policy->base, policy->mount)) {
            return false;
        }
    }
    return true;
}

/* Step 12. NULL when the PKCE parameters are acceptable, else the static
 * description of the invalid_request. */
static const char *
check_pkce(const struct oauth_authorize_request *r, bool pkce_required)
{
    if (r->code_challenge[0] != '\0') {
        if (strcmp(r->code_challenge_method, "S256") != 0) {
            return "code_challenge_method must be S256";
        }
        if (!pkce_is_valid_verifier(slice_from_cstr(r->code_challenge))) {
            return "code_challenge must be 43-128 unreserved characters";
        }
        return NULL;
    }
    /* The method is ignored when no challenge was sent. */
    return pkce_required ? "code_challenge is required" : NULL;
}

static void
redirect_error(struct oauth_authorize_outcome *out, enum oauth_error_code code,
               const char *description)
{
    out->verdict = OAUTH_AUTHORIZE_REDIRECT_ERROR;
    oauth_error_set(&out->err, 302, code, description);
}

void
oauth_authorize_rules_check(const struct oauth_authorize_request *r, const char *const *registered,
                            size_t registered_count, const struct oauth_authorize_policy *policy,
                            struct oauth_authorize_outcome *out)
{
    *out = (struct oauth_authorize_outcome){.verdict = OAUTH_AUTHORIZE_PROCEED};

    /* 8, 9: until the redirect_uri is trusted, errors stay on the proxy. */
    if (r->redirect_uri[0] == '\0') {
        out->verdict = OAUTH_AUTHORIZE_REPLY_JSON;
        oauth_error_set(&out->err, 400, OAUTH_ERROR_INVALID_REQUEST, "redirect_uri is required");
        return;
    }
    if (!redirect_uri_registered(r->redirect_uri, registered, registered_count)) {
        out->verdict = OAUTH_AUTHORIZE_REPLY_JSON;
        oauth_error_set(&out->err, 400, OAUTH_ERROR_INVALID_REQUEST,
                        "redirect_uri does not match registered URIs");
        return;
    }

    /* 10. */
    if (strcmp(r->response_type, "code") != 0) {
        redirect_error(out, OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE, "response_type must be 'code'");
        return;
    }
    /* 11. */
    if (r->resource_count > 0 && !resources_accepted(r, policy)) {
        redirect_error(out, OAUTH_ERROR_INVALID_TARGET,
                       "resource does not identify this authorization server");
        return;
    }
    /* 12. */
    const char *pkce = check_pkce(r, policy->pkce_required);
    if (pkce != NULL) {
        redirect_error(out, OAUTH_ERROR_INVALID_REQUEST, pkce);
        return;
    }
    /* 12a (ours). After the SPEC.md steps that could refuse the request,
     * so those keep their answers; before 13, whose outcome is counted. */
    const char *scope = oauth_scope_rules_grant(policy->scopes_supported, r->scope, out->scope);
    if (scope != NULL) {
        redirect_error(out, OAUTH_ERROR_INVALID_SCOPE, scope);
        return;
    }
    /* 13. OAuth 2.1's CSRF section (RFC 9700 4.7.1): a client using PKCE
     * may rely on it instead of state, and the MCP SDKs send none when
     * their provider has no state(). Step 12 passed, so a challenge here
     * is a well-formed S256 one. */
    bool pkce_protects = r->code_challenge[0] != '\0' && !policy->state_required;
    if (r->state[0] == '\0' && !pkce_protects) {
        out->state_missing = true;
        if (!policy->allow_stateless) {
            redirect_error(out, OAUTH_ERROR_INVALID_REQUEST, "state is required");
            return;
        }
        out->synthesize_state = true;
    }
    out->server_pkce = !policy->pkce_required && r->code_challenge[0] == '\0';
}
