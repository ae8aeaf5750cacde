/* oauth/authorize_rules: GET /authorize's checks in SPEC.md 3.3 order,
 * one table row per rule (and per ordering between two rules), plus the
 * /authorize cases of SPEC.md 9's handlers_test and consent_test lists that
 * do not need the client lookup or the forks (those are in
 * test_oauth_authorize.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/form.h"
#include "bounds.h"
#include "fixtures.h"
#include "oauth/authorize_rules.h"

#define CH "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 App. B */
#define RU "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
#define OK_PREFIX "response_type=code&client_id=c&" RU
#define GOOD OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256&state=s"

static const char *const registered[] = {
    "https://app.example.com/cb",
    "http://127.0.0.1:8765/callback",
};

enum mode {
    STRICT = 0,    /* PKCE_REQUIRED=true, COMPAT_ALLOW_STATELESS=false (defaults) */
    NO_PKCE = 1,   /* PKCE_REQUIRED=false */
    STATELESS = 2, /* COMPAT_ALLOW_STATELESS=true */
    STATE_REQ = 4, /* STATE_REQUIRED=true */
};

enum flag {
    F_CLIENT_ID_MISSING = 1,
    F_STATE_MISSING = 2,
    F_SYNTH_STATE = 4,
    F_SERVER_PKCE = 8,
};

struct row {
    const char *name;
    const char *query;
    unsigned mode;
    enum oauth_authorize_verdict verdict;
    int status;
    enum oauth_error_code code;
    const char *description;
    unsigned flags;
};

#define JSON OAUTH_AUTHORIZE_REPLY_JSON
#define REDIR OAUTH_AUTHORIZE_REDIRECT_ERROR
#define PROCEED OAUTH_AUTHORIZE_PROCEED
#define INVALID_REQUEST OAUTH_ERROR_INVALID_REQUEST

static const struct row rows[] = {
    /* 1. repeated singletons: JSON 400 before anything else. */
    {"two response_type", "response_type=code&" GOOD, STRICT, JSON, 400, INVALID_REQUEST,
     "response_type must not be repeated", 0},
    {"two client_id", GOOD "&client_id=d", STRICT, JSON, 400, INVALID_REQUEST,
     "client_id must not be repeated", 0},
    {"two redirect_uri", GOOD "&" RU, STRICT, JSON, 400, INVALID_REQUEST,
     "redirect_uri must not be repeated", 0},
    {"two code_challenge", GOOD "&code_challenge=" CH, STRICT, JSON, 400, INVALID_REQUEST,
     "code_challenge must not be repeated", 0},
    {"two methods", GOOD "&code_challenge_method=S256", STRICT, JSON, 400, INVALID_REQUEST,
     "code_challenge_method must not be repeated", 0},
    {"two states, both empty", OK_PREFIX "&code_challenge=" CH "&state=&state=", STRICT, JSON, 400,
     INVALID_REQUEST, "state must not be repeated", 0},
    {"repeat beats missing client_id", "state=a&state=b", STRICT, JSON, 400, INVALID_REQUEST,
     "state must not be repeated", 0},
    {"first repeated in SPEC order wins", "state=a&state=b&response_type=x&response_type=y", STRICT,
     JSON, 400, INVALID_REQUEST, "response_type must not be repeated", 0},
    {"resource may repeat",
     GOOD "&resource=https%3A%2F%2Fauth.example.com"
          "&resource=https%3A%2F%2Fauth.example.com%2Fmcp",
     STRICT, PROCEED, 0, 0, NULL, 0},
    /* 3. client_id. */
    {"no client_id", "response_type=code&" RU "&state=s", STRICT, JSON, 400, INVALID_REQUEST,
     "client_id is required", F_CLIENT_ID_MISSING},
    {"empty client_id", "response_type=code&client_id=&" RU, STRICT, JSON, 400, INVALID_REQUEST,
     "client_id is required", F_CLIENT_ID_MISSING},
    {"client_id missing beats redirect_uri", "", STRICT, JSON, 400, INVALID_REQUEST,
     "client_id is required", F_CLIENT_ID_MISSING},
    /* 8, 9. redirect_uri: still JSON. */
    {"no redirect_uri", "response_type=code&client_id=c&state=s", STRICT, JSON, 400,
     INVALID_REQUEST, "redirect_uri is required", 0},
    {"empty redirect_uri beats bad response_type", "client_id=c&redirect_uri=", STRICT, JSON, 400,
     INVALID_REQUEST, "redirect_uri is required", 0},
    {"unregistered redirect_uri",
     "response_type=code&client_id=c&state=s"
     "&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb",
     STRICT, JSON, 400, INVALID_REQUEST, "redirect_uri does not match registered URIs", 0},
    {"path differs",
     "response_type=code&client_id=c&state=s&code_challenge=" CH
     "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb2",
     STRICT, JSON, 400, INVALID_REQUEST, "redirect_uri does not match registered URIs", 0},
    {"non-loopback port differs",
     "response_type=code&client_id=c&state=s"
     "&redirect_uri=https%3A%2F%2Fapp.example.com%3A444%2Fcb",
     STRICT, JSON, 400, INVALID_REQUEST, "redirect_uri does not match registered URIs", 0},
    {"loopback port relaxation (RFC 8252 7.3)",
     "response_type=code&client_id=c&state=s"
     "&code_challenge=" CH "&code_challenge_method=S256"
     "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback",
     STRICT, PROCEED, 0, 0, NULL, 0},
    {"loopback host literal differs",
     "response_type=code&client_id=c&state=s"
     "&redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback",
     STRICT, JSON, 400, INVALID_REQUEST, "redirect_uri does not match registered URIs", 0},
    /* 10. response_type, now a 302. */
    {"no response_type", "client_id=c&" RU "&state=s", STRICT, REDIR, 302,
     OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE, "response_type must be 'code'", 0},
    {"response_type token", "response_type=token&client_id=c&" RU "&state=s", STRICT, REDIR, 302,
     OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE, "response_type must be 'code'", 0},
    {"response_type beats resource",
     "response_type=CODE&client_id=c&" RU "&resource=https%3A%2F%2Fevil.example.com", STRICT, REDIR,
     302, OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE, "response_type must be 'code'", 0},
    /* 11. resource. */
    {"resource base", GOOD "&resource=https%3A%2F%2Fauth.example.com", STRICT, PROCEED, 0, 0, NULL,
     0},
    {"resource trailing slash", GOOD "&resource=https%3A%2F%2Fauth.example.com%2F", STRICT, PROCEED,
     0, 0, NULL, 0},
    {"resource mount", GOOD "&resource=https%3A%2F%2Fauth.example.com%2Fmcp", STRICT, PROCEED, 0, 0,
     NULL, 0},
    {"resource mismatch", GOOD "&resource=https%3A%2F%2Fevil.example.com", STRICT, REDIR, 302,
     OAUTH_ERROR_INVALID_TARGET, "resource does not identify this authorization server", 0},
    {"one bad among several",
     GOOD "&resource=https%3A%2F%2Fauth.example.com"
          "&resource=https%3A%2F%2Fauth.example.com%2Fother&resource=https%3A%2F%2Fauth.example.com"
          "%2Fmcp",
     STRICT, REDIR, 302, OAUTH_ERROR_INVALID_TARGET,
     "resource does not identify this authorization server", 0},
    {"empty resource", GOOD "&resource=", STRICT, REDIR, 302, OAUTH_ERROR_INVALID_TARGET,
     "resource does not identify this authorization server", 0},
    {"resource beats PKCE", OK_PREFIX "&resource=x&code_challenge_method=plain&code_challenge=" CH,
     STRICT, REDIR, 302, OAUTH_ERROR_INVALID_TARGET,
     "resource does not identify this authorization server", 0},
    /* 12. PKCE. */
    {"plain method", OK_PREFIX "&code_challenge=" CH "&code_challenge_method=plain&state=s", STRICT,
     REDIR, 302, INVALID_REQUEST, "code_challenge_method must be S256", 0},
    {"challenge without method", OK_PREFIX "&code_challenge=" CH "&state=s", STRICT, REDIR, 302,
     INVALID_REQUEST, "code_challenge_method must be S256", 0},
    {"method case matters", OK_PREFIX "&code_challenge=" CH "&code_challenge_method=s256", STRICT,
     REDIR, 302, INVALID_REQUEST, "code_challenge_method must be S256", 0},
    {"plain refused when PKCE optional",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=plain&state=s", NO_PKCE, REDIR, 302,
     INVALID_REQUEST, "code_challenge_method must be S256", 0},
    {"no method refused when PKCE optional", OK_PREFIX "&code_challenge=" CH "&state=s", NO_PKCE,
     REDIR, 302, INVALID_REQUEST, "code_challenge_method must be S256", 0},
    {"43 x '!'",
     OK_PREFIX "&code_challenge_method=S256&state=s&code_challenge="
               "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
     STRICT, REDIR, 302, INVALID_REQUEST, "code_challenge must be 43-128 unreserved characters", 0},
    {"42 chars",
     OK_PREFIX "&code_challenge_method=S256&state=s&code_challenge="
               "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
     STRICT, REDIR, 302, INVALID_REQUEST, "code_challenge must be 43-128 unreserved characters", 0},
    {"129 chars",
     OK_PREFIX
     "&code_challenge_method=S256&state=s&code_challenge="
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     STRICT, REDIR, 302, INVALID_REQUEST, "code_challenge must be 43-128 unreserved characters", 0},
    {"128 unreserved chars",
     OK_PREFIX
     "&code_challenge_method=S256&state=s&code_challenge="
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-._~A",
     STRICT, PROCEED, 0, 0, NULL, 0},
    {"challenge required", OK_PREFIX "&state=s", STRICT, REDIR, 302, INVALID_REQUEST,
     "code_challenge is required", 0},
    {"method alone is not a challenge", OK_PREFIX "&code_challenge_method=S256&state=s", STRICT,
     REDIR, 302, INVALID_REQUEST, "code_challenge is required", 0},
    {"PKCE optional, none sent: server PKCE", OK_PREFIX "&state=s", NO_PKCE, PROCEED, 0, 0, NULL,
     F_SERVER_PKCE},
    {"PKCE optional, method ignored without challenge",
     OK_PREFIX "&code_challenge_method=plain&state=s", NO_PKCE, PROCEED, 0, 0, NULL, F_SERVER_PKCE},
    {"PKCE optional, client challenge: no server PKCE", GOOD, NO_PKCE, PROCEED, 0, 0, NULL, 0},
    {"PKCE beats state", OK_PREFIX, STRICT, REDIR, 302, INVALID_REQUEST,
     "code_challenge is required", 0},
    /* 13. state: optional beside an S256 challenge (OAuth 2.1 CSRF
     * section) unless STATE_REQUIRED; required without one. */
    {"no state beside S256: PKCE stands in",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256", STRICT, PROCEED, 0, 0, NULL, 0},
    {"empty state beside S256: PKCE stands in",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256&state=", STRICT, PROCEED, 0, 0,
     NULL, 0},
    {"state required (STATE_REQUIRED)",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256", STATE_REQ, REDIR, 302,
     INVALID_REQUEST, "state is required", F_STATE_MISSING},
    {"empty state (STATE_REQUIRED)",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256&state=", STATE_REQ, REDIR, 302,
     INVALID_REQUEST, "state is required", F_STATE_MISSING},
    {"no state and no challenge (PKCE optional)", OK_PREFIX, NO_PKCE, REDIR, 302, INVALID_REQUEST,
     "state is required", F_STATE_MISSING},
    {"compat beside S256: nothing to synthesize",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256", STATELESS, PROCEED, 0, 0, NULL,
     0},
    {"compat synthesizes (STATE_REQUIRED)",
     OK_PREFIX "&code_challenge=" CH "&code_challenge_method=S256", STATELESS | STATE_REQ, PROCEED,
     0, 0, NULL, F_STATE_MISSING | F_SYNTH_STATE},
    {"compat and no PKCE", OK_PREFIX, STATELESS | NO_PKCE, PROCEED, 0, 0, NULL,
     F_STATE_MISSING | F_SYNTH_STATE | F_SERVER_PKCE},
    /* Everything right. */
    {"good", GOOD, STRICT, PROCEED, 0, 0, NULL, 0},
    {"unknown and OIDC params are ignored", GOOD "&prompt=login&foo=bar&scope=openid", STRICT,
     PROCEED, 0, 0, NULL, 0},
    {"bad pairs already dropped by the query parser", GOOD "&x=%zz&y=1;2", STRICT, PROCEED, 0, 0,
     NULL, 0},
};

static void
run_row(const struct row *r)
{
    struct form_params p;
    assert_int_equal(
        form_parse(slice_from_cstr(r->query), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
        FORM_OK);
    struct oauth_authorize_request ar;
    struct oauth_error err = {0};
    bool missing = true;
    enum oauth_authorize_verdict v = oauth_authorize_rules_parse(&p, &ar, &err, &missing);
    struct oauth_authorize_outcome out = {.verdict = v, .err = err};
    if (v == PROCEED) {
        struct oauth_authorize_policy pol = {
            .base = FIXTURE_BASE,
            .mount = "/mcp",
            .pkce_required = (r->mode & NO_PKCE) == 0,
            .allow_stateless = (r->mode & STATELESS) != 0,
            .state_required = (r->mode & STATE_REQ) != 0,
        };
        oauth_authorize_rules_check(&ar, registered, 2, &pol, &out);
    }
    if (out.verdict != r->verdict) {
        fail_msg("%s: verdict %d, want %d (%s)", r->name, out.verdict, r->verdict,
                 out.err.description ? out.err.description : "-");
    }
    assert_int_equal(missing, (r->flags & F_CLIENT_ID_MISSING) != 0);
    if (r->verdict != PROCEED) {
        assert_int_equal(out.err.status, r->status);
        assert_int_equal(out.err.code, r->code);
        if (strcmp(out.err.description, r->description) != 0) {
            fail_msg("%s: description \"%s\", want \"%s\"", r->name, out.err.description,
                     r->description);
        }
    }
    if (v == PROCEED) {
        if (out.state_missing != ((r->flags & F_STATE_MISSING) != 0) ||
            out.synthesize_state != ((r->flags & F_SYNTH_STATE) != 0) ||
            (out.verdict == PROCEED && out.server_pkce != ((r->flags & F_SERVER_PKCE) != 0))) {
            fail_msg("%s: flags state_missing=%d synth=%d server_pkce=%d", r->name,
                     out.state_missing, out.synthesize_state, out.server_pkce);
        }
    }
    form_params_cleanup(&p);
}

static void
test_spec_order_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        run_row(&rows[i]);
    }
}

/* The parsed request borrows the first value of each parameter and counts
 * the resource values. */
static void
test_parse_fields(void **state)
{
    (void)state;
    struct form_params p;
    assert_int_equal(form_parse(slice_from_cstr(GOOD "&resource=a&resource=&scope=x+y"),
                                FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    struct oauth_authorize_request ar;
    struct oauth_error err;
    assert_int_equal(oauth_authorize_rules_parse(&p, &ar, &err, NULL), PROCEED);
    assert_string_equal(ar.response_type, "code");
    assert_string_equal(ar.client_id, "c");
    assert_string_equal(ar.redirect_uri, "https://app.example.com/cb");
    assert_string_equal(ar.code_challenge, CH);
    assert_string_equal(ar.code_challenge_method, "S256");
    assert_string_equal(ar.state, "s");
    assert_int_equal(ar.resource_count, 2);
    assert_string_equal(ar.scope, "x y");
    form_params_cleanup(&p);
}

/* Step 12a with MCP_SCOPES_SUPPORTED set: the outcome carries the grant,
 * or an invalid_scope redirect; the SPEC.md steps before it keep their
 * answers, and with scopes off `scope` is ignored as before. */
static void
check_scope(const char *query, const char *supported, bool pkce_required,
            enum oauth_authorize_verdict verdict, enum oauth_error_code code, const char *want)
{
    struct form_params p;
    assert_int_equal(
        form_parse(slice_from_cstr(query), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p), FORM_OK);
    struct oauth_authorize_request ar;
    struct oauth_error err;
    assert_int_equal(oauth_authorize_rules_parse(&p, &ar, &err, NULL), PROCEED);
    struct oauth_authorize_policy pol = {
        .base = FIXTURE_BASE,
        .mount = "/mcp",
        .pkce_required = pkce_required,
        .scopes_supported = supported,
    };
    struct oauth_authorize_outcome out;
    oauth_authorize_rules_check(&ar, registered, 2, &pol, &out);
    if (out.verdict != verdict) {
        fail_msg("%s: verdict %d, want %d (%s)", query, out.verdict, verdict,
                 out.err.description ? out.err.description : "-");
    }
    if (verdict == PROCEED) {
        assert_string_equal(out.scope, want);
    } else {
        assert_int_equal(out.err.code, code);
        assert_string_equal(out.err.description, want);
    }
    form_params_cleanup(&p);
}

static void
test_scope_step(void **state)
{
    (void)state;
    const char *sup = "mcp:read mcp:write offline_access";
    check_scope(GOOD, sup, true, PROCEED, 0, "mcp:read mcp:write");
    check_scope(GOOD "&scope=mcp%3Aread", sup, true, PROCEED, 0, "mcp:read");
    check_scope(GOOD "&scope=offline_access+mcp%3Awrite+openid", sup, true, PROCEED, 0,
                "mcp:write offline_access");
    check_scope(GOOD "&scope=mcp%3Aread&scope=mcp%3Awrite", sup, true, PROCEED, 0, "mcp:read");
    check_scope(GOOD "&scope=openid", sup, true, REDIR, OAUTH_ERROR_INVALID_SCOPE,
                "none of the requested scopes is supported");
    check_scope(GOOD "&scope=mcp%3Aread+%22x%22", sup, true, REDIR, OAUTH_ERROR_INVALID_SCOPE,
                "scope is malformed");
    /* Earlier steps first. */
    check_scope("response_type=token&client_id=c&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
                "&scope=openid",
                sup, true, REDIR, OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE,
                "response_type must be 'code'");
    check_scope(OK_PREFIX "&scope=openid", sup, true, REDIR, OAUTH_ERROR_INVALID_REQUEST,
                "code_challenge is required");
    /* Before 13: no state and no challenge, the scope still answers. */
    check_scope(OK_PREFIX "&scope=openid", sup, false, REDIR, OAUTH_ERROR_INVALID_SCOPE,
                "none of the requested scopes is supported");
    /* Scopes off: ignored, nothing granted. */
    check_scope(GOOD "&scope=openid+%22x%22", "", true, PROCEED, 0, "");
    check_scope(GOOD "&scope=openid", NULL, true, PROCEED, 0, "");
}

/* Another mount: only its own resource is accepted. */
static void
test_custom_mount(void **state)
{
    (void)state;
    struct form_params p;
    assert_int_equal(form_parse(slice_from_cstr(GOOD "&resource=https%3A%2F%2Fauth.example"
                                                     ".com%2Fmcp"),
                                FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    struct oauth_authorize_request ar;
    struct oauth_error err;
    assert_int_equal(oauth_authorize_rules_parse(&p, &ar, &err, NULL), PROCEED);
    struct oauth_authorize_policy pol = {FIXTURE_BASE, "/api/v1/mcp", true, false, false, ""};
    struct oauth_authorize_outcome out;
    oauth_authorize_rules_check(&ar, registered, 2, &pol, &out);
    assert_int_equal(out.verdict, REDIR);
    assert_int_equal(out.err.code, OAUTH_ERROR_INVALID_TARGET);
    pol.mount = "/mcp";
    oauth_authorize_rules_check(&ar, registered, 2, &pol, &out);
    assert_int_equal(out.verdict, PROCEED);
    /* No registered URIs at all: nothing matches. */
    oauth_authorize_rules_check(&ar, NULL, 0, &pol, &out);
    assert_int_equal(out.verdict, JSON);
    form_params_cleanup(&p);
}

static void
test_param_categories(void **state)
{
    (void)state;
    static const char *const read[] = {
        "response_type",         "client_id", "redirect_uri", "code_challenge",
        "code_challenge_method", "state",     "resource",     "scope",
    };
    for (size_t i = 0; i < sizeof(read) / sizeof(read[0]); i++) {
        assert_null(oauth_authorize_rules_param_category(slice_from_cstr(read[i])));
    }
    static const char *const oidc[] = {
        "prompt",     "id_token_hint", "login_hint", "acr_values",  "claims", "display",
        "ui_locales", "max_age",       "request",    "request_uri", "nonce",
    };
    for (size_t i = 0; i < sizeof(oidc) / sizeof(oidc[0]); i++) {
        assert_string_equal(oauth_authorize_rules_param_category(slice_from_cstr(oidc[i])),
                            "oidc_extension_not_forwarded");
    }
    assert_string_equal(oauth_authorize_rules_param_category(slice_from_cstr("foo")), "unknown");
    assert_string_equal(oauth_authorize_rules_param_category(slice_from_cstr("Scope")), "unknown");
    assert_string_equal(oauth_authorize_rules_param_category(slice_from_cstr("")), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_order_table), cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_scope_step),       cmocka_unit_test(test_custom_mount),
        cmocka_unit_test(test_param_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
