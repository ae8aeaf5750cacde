/* oauth/authorize_rules: the checks of GET /authorize that need no I/O
 * (SPEC.md 3.3), in SPEC order, as pure functions over decoded query
 * parameters. The handler (oauth/authorize.c) runs them around the one
 * asynchronous step, the client lookup (oauth/client.h, steps 4-7):
 *
 *   oauth_authorize_rules_parse   steps 1 and 3 (and names step 2's drops)
 *   client lookup                   steps 4-7
 *   oauth_authorize_rules_check   steps 8-13, given the registration
 *
 * and then acts on the outcome: a JSON error, a 302 error to the client, or
 * the consent / silent fork. No logging, no metrics, no randomness here:
 * the outcome says what to count and whether to mint a state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/form.h"
#include "base/slice.h"
#include "oauth/error.h"
#include "oauth/scope_rules.h"

/* The decoded request. Strings borrow from the form_params given to
 * _parse and are "" when absent (lookups take the first value, SPEC.md
 * 3.0.6); params stays borrowed for the `resource` values, which may
 * repeat. */
struct oauth_authorize_request {
    const char *response_type;
    const char *client_id;
    const char *redirect_uri;
    const char *code_challenge;
    const char *code_challenge_method;
    const char *state;
    const char *scope;                /* the first `scope` value; "" when absent */
    size_t resource_count;            /* how many `resource` pairs, empty ones included */
    const struct form_params *params; /* borrowed: the `resource` values */
};

enum oauth_authorize_verdict {
    OAUTH_AUTHORIZE_PROCEED = 0,    /* go on to the next phase / the fork */
    OAUTH_AUTHORIZE_REPLY_JSON,     /* error answered on the proxy (client not yet trusted) */
    OAUTH_AUTHORIZE_REDIRECT_ERROR, /* error sent as a 302 to the requested redirect_uri */
    OAUTH_AUTHORIZE_VERDICT_COUNT,
};

/* Step 2: why a parameter is dropped, for the debug line
 * authorize_param_dropped. NULL for the ones /authorize reads
 * (response_type, client_id, redirect_uri, code_challenge,
 * code_challenge_method, state, resource, scope); else
 * "oidc_extension_not_forwarded" for prompt, id_token_hint, login_hint,
 * acr_values, claims, display, ui_locales, max_age, request, request_uri
 * and nonce; else "unknown". Static. */
const char *oauth_authorize_rules_param_category(struct slice name);

/* Steps 1 and 3. Fills *out from p (borrowed) and returns PROCEED, or
 * REPLY_JSON with *err set:
 *   1. a repeated response_type, client_id, redirect_uri, code_challenge,
 *      code_challenge_method or state: 400 invalid_request
 *      "<name> must not be repeated";
 *   3. client_id empty: 400 invalid_request "client_id is required", and
 *      *out_client_id_missing is true (the handler counts
 *      access_denied{client_id_missing} and logs it).
 * out_client_id_missing may be NULL. */
enum oauth_authorize_verdict oauth_authorize_rules_parse(const struct form_params *p,
                                                         struct oauth_authorize_request *out,
                                                         struct oauth_error *err,
                                                         bool *out_client_id_missing);

/* What steps 8-13 depend on besides the request. */
struct oauth_authorize_policy {
    const char *base;             /* PROXY_BASE_URL */
    const char *mount;            /* the MCP mount path ("/mcp"), may be "" */
    bool pkce_required;           /* PKCE_REQUIRED */
    bool allow_stateless;         /* COMPAT_ALLOW_STATELESS */
    bool state_required;          /* STATE_REQUIRED: state even beside an S256 challenge */
    const char *scopes_supported; /* MCP_SCOPES_SUPPORTED; "" or NULL = scopes off */
};

struct oauth_authorize_outcome {
    enum oauth_authorize_verdict verdict;
    struct oauth_error err; /* when not PROCEED; static strings */
    /* Step 13: state was empty and no S256 challenge stands in for it
     * (or STATE_REQUIRED). Counted as access_denied{state_missing} in
     * both modes; in strict mode the verdict is REDIRECT_ERROR (without a
     * state, as there is none), in compat mode PROCEED with
     * synthesize_state. */
    bool state_missing;
    bool synthesize_state; /* PROCEED: mint a 32-hex state (SPEC.md 2.7) */
    /* PROCEED: the server keeps the downstream PKCE pair itself (spkce),
     * i.e. PKCE is optional and the client sent no challenge. */
    bool server_pkce;
    /* PROCEED: the granted scope (step 12a), "" when scopes are off. */
    char scope[OAUTH_SCOPE_RULES_MAX];
};

/* Steps 8-13 for request r from a client whose registered redirect URIs
 * are registered[0..registered_count):
 *   8. redirect_uri empty: JSON 400 invalid_request "redirect_uri is required";
 *   9. no registered URI matches (oauth_redirect_uri_matches): JSON 400
 *      invalid_request "redirect_uri does not match registered URIs";
 *  then REDIRECT_ERROR (the handler adds state when non-empty, and iss):
 *  10. response_type not "code": unsupported_response_type
 *      "response_type must be 'code'";
 *  11. any resource value (an empty one too) not accepted for base/mount:
 *      invalid_target "resource does not identify this authorization server";
 *  12. challenge sent with a method other than exactly "S256":
 *      invalid_request "code_challenge_method must be S256"; a challenge that
 *      is not 43-128 unreserved characters: invalid_request
 *      "code_challenge must be 43-128 unreserved characters"; no challenge
 *      while PKCE is required: invalid_request "code_challenge is required";
 * 12a. (ours) scope, by oauth_scope_rules_grant against scopes_supported:
 *      invalid_scope with its description; else the granted scope goes to
 *      out->scope ("" when scopes are off);
 *  13. state empty: with an S256 challenge and !state_required, PROCEED
 *      as is (PKCE carries the CSRF protection, OAuth 2.1; the client's
 *      redirect then has no state); else state_missing, and strict:
 *      invalid_request "state is required"; compat: PROCEED with
 *      synthesize_state.
 * The 302 errors carry status 302 in err.status. */
void oauth_authorize_rules_check(const struct oauth_authorize_request *r,
                                 const char *const *registered, size_t registered_count,
                                 const struct oauth_authorize_policy *policy,
                                 struct oauth_authorize_outcome *out);
