/* GET /authorize through the real connection layer (SPEC.md 3.3, 3.4):
 * the client lookup's answers, the JSON and 302 error phases, the consent
 * fork (page, headers, the sealed consent grant) and the silent fork (the
 * IdP URL and the sealed session), and the counters of SPEC.md 7.1. The
 * pure order of the checks is in test_oauth_authorize_rules.c. */
#include "oauth_flow_app.h"

#include "base/clock.h"
#include "base/form.h"
#include "bounds.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "grants.h"
#include "base/pkce.h"
#include "oauth_mint.h"

#define RU "https://app.example.com/cb"
#define RU_ENC "https%3A%2F%2Fapp.example.com%2Fcb"
#define CH FIXTURE_PKCE_CHALLENGE
#define CONSENT_CSP                                                                                \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "                          \
    "frame-ancestors 'none'; base-uri 'none'"

static struct flow_app FA;

static int
setup(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    flow_app_init(&FA, FLOW_STORE_NONE);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    flow_app_cleanup(&FA);
    fixture_unpin_clock();
    return 0;
}

/* A sealed client_id as POST /register mints it. */
static void
make_client(const char *aud, int64_t exp, const char *name, struct buf *out)
{
    static const char *const uris[] = {RU, "http://127.0.0.1:8765/callback"};
    struct grant_client c = {
        .id = "11111111-2222-4333-8444-555555555555",
        .redirect_uris = uris,
        .redirect_uri_count = 2,
        .client_name = name,
        .aud = aud,
        .exp = exp,
    };
    mint_client(FA.oauth.seal, &c, out);
}

/* /authorize?<query> with client_id appended (URL-safe: base64url). */
static void
authorize(const char *client_id, const char *query, struct harness_response *resp)
{
    struct buf t;
    buf_init(&t, 64 * 1024);
    assert_int_equal(buf_appendf(&t, "/authorize?%s%s%s", query, client_id ? "&client_id=" : "",
                                 client_id ? client_id : ""),
                     0);
    flow_app_get(&FA, buf_cstr(&t), resp);
    buf_cleanup(&t);
}

#define GOOD_Q                                                                                     \
    "response_type=code&redirect_uri=" RU_ENC "&state=st8&code_challenge=" CH                      \
    "&code_challenge_method=S256"

/* The value of name in the query of url ("" when absent), copied into out. */
static void
query_param(const char *url, const char *name, char *out, size_t cap)
{
    const char *q = strchr(url, '?');
    out[0] = '\0';
    if (q == NULL) {
        return;
    }
    struct form_params p;
    assert_int_equal(
        form_parse(slice_from_cstr(q + 1), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p), FORM_OK);
    size_t n = 0;
    const char *v = form_params_get(&p, name, &n);
    snprintf(out, cap, "%s", v);
    form_params_cleanup(&p);
}

static bool
has_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    if (q == NULL) {
        return false;
    }
    struct form_params p;
    assert_int_equal(
        form_parse(slice_from_cstr(q + 1), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p), FORM_OK);
    size_t n = 0;
    (void)form_params_get(&p, name, &n);
    form_params_cleanup(&p);
    return n > 0;
}

/* The hidden consent_token of a consent page, copied into out. */
static void
scrape_token(const char *html, char *out, size_t cap)
{
    const char *p = strstr(html, "name=\"consent_token\" value=\"");
    assert_non_null(p);
    p += strlen("name=\"consent_token\" value=\"");
    const char *e = strchr(p, '"');
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

/* Opens the consent token of the consent page r into g (caller cleans up). */
static void
open_page_consent(const struct harness_response *r, struct grant_consent *g)
{
    char token[20000];
    scrape_token(r->body, token, sizeof(token));
    assert_int_equal(grants_open_consent(FA.oauth.seal, slice_from_cstr(token), FIXTURE_BASE,
                                         clock_unix_s(), g, NULL),
                     GRANTS_OK);
}

/* The one Set-Cookie of r: checks it is the binding cookie `kind`
 * ("consent" or "callback") with exactly the attributes oauth/binding.h
 * promises -- `__Host-` and Secure only when secure -- whose name carries
 * bh's first 8 characters and whose value hashes to bh. */
static void
assert_binding_cookie(const struct harness_response *r, const char *kind, const char *bh,
                      bool secure, int max_age)
{
    assert_int_equal(harness_header_count(r, "Set-Cookie"), 1);
    char got[512], want[512], b[PKCE_S256_LEN + 1], h[PKCE_S256_LEN + 1];
    flow_header(r, "Set-Cookie", got, sizeof(got));
    const char *eq = strchr(got, '=');
    assert_non_null(eq);
    assert_true(strlen(eq + 1) > PKCE_S256_LEN);
    memcpy(b, eq + 1, PKCE_S256_LEN);
    b[PKCE_S256_LEN] = '\0';
    pkce_challenge_s256(slice_from_cstr(b), h);
    assert_string_equal(h, bh);
    snprintf(want, sizeof(want), "%smcp_%s_%.8s=%s; Path=/; Max-Age=%d; HttpOnly; %sSameSite=%s",
             secure ? "__Host-" : "", kind, bh, b, max_age, secure ? "Secure; " : "",
             strcmp(kind, "consent") == 0 ? "Strict" : "Lax");
    assert_string_equal(got, want);
}

static void
test_consent_page(void **state)
{
    (void)state;
    struct buf cid;
    make_client(FIXTURE_BASE, FIXTURE_NOW + 3600, "Claude <b>Desktop</b>", &cid);
    FA.cfg.mcp_resource_name = "Acme Tools";
    struct harness_response r;
    authorize(buf_cstr(&cid), GOOD_Q "&prompt=login", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Type"), "text/html; charset=utf-8");
    assert_string_equal(harness_header(&r, "Content-Security-Policy"), CONSENT_CSP);
    assert_int_equal(harness_header_count(&r, "Content-Security-Policy"), 1);
    assert_string_equal(harness_header(&r, "Cache-Control"), "no-store");
    assert_string_equal(harness_header(&r, "Pragma"), "no-cache");
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    assert_non_null(strstr(r.body, "Claude &lt;b&gt;Desktop&lt;/b&gt;"));
    assert_null(strstr(r.body, "<b>Desktop"));
    assert_non_null(strstr(r.body, "Acme Tools"));
    assert_non_null(strstr(r.body, "app.example.com"));
    assert_non_null(strstr(r.body, "action=\"" FIXTURE_BASE "/consent\""));
    assert_null(strstr(r.body, "<script"));
    const char *deny = strstr(r.body, "value=\"deny\"");
    const char *approve = strstr(r.body, "value=\"approve\"");
    assert_true(deny != NULL && approve != NULL && deny < approve);
    assert_int_equal(metrics_get_authorize_initiated(true), 1);
    assert_int_equal(metrics_get_authorize_initiated(false), 0);

    /* The consent grant carries what /consent needs (SPEC.md 3.3 step 14). */
    struct grant_consent g;
    open_page_consent(&r, &g);
    assert_int_equal(strlen(g.jti), 36);
    assert_string_equal(g.client_id, "11111111-2222-4333-8444-555555555555");
    assert_string_equal(g.client_name, "Claude <b>Desktop</b>");
    assert_string_equal(g.redirect_uri, RU);
    assert_string_equal(g.client_state, "st8");
    assert_string_equal(g.code_challenge, CH);
    assert_false(g.server_pkce);
    assert_string_equal(g.resource, FIXTURE_BASE "/mcp");
    assert_int_equal(g.exp, FIXTURE_NOW + 300);
    /* The browser binding: the page sets the Strict consent cookie whose
     * secret hashes to the grant's bh, for the grant's lifetime, and lets
     * its own form post carry our Origin (page.h). */
    assert_int_equal(strlen(g.binding_hash), PKCE_S256_LEN);
    assert_binding_cookie(&r, "consent", g.binding_hash, true, 300);
    assert_string_equal(harness_header(&r, "Referrer-Policy"), "same-origin");
    char first_bh[PKCE_S256_LEN + 1];
    snprintf(first_bh, sizeof(first_bh), "%s", g.binding_hash);
    grants_cleanup_consent(&g);
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_CONSENT), 1);
    harness_response_free(&r);

    /* Each render mints a new jti; without a resource name the canonical
     * resource is listed; an unnamed client is called so. */
    buf_cleanup(&cid);
    make_client(FIXTURE_BASE, 0, "", &cid);
    FA.cfg.mcp_resource_name = "";
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, FIXTURE_BASE "/mcp"));
    assert_non_null(strstr(r.body, "unnamed MCP client"));
    /* A second sign-in (another tab) gets its own secret and its own
     * cookie name, so it cannot clobber the first one's cookie. */
    open_page_consent(&r, &g);
    assert_binding_cookie(&r, "consent", g.binding_hash, true, 300);
    assert_string_not_equal(g.binding_hash, first_bh);
    assert_int_not_equal(strncmp(g.binding_hash, first_bh, 8), 0);
    grants_cleanup_consent(&g);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* PROXY_BASE_URL over plain http (loopback only, config.c): the same
 * cookies without `__Host-` and Secure, which browsers refuse to store
 * from an http origin. */
static void
test_binding_cookie_plain_http(void **state)
{
    (void)state;
#define HTTP_BASE "http://127.0.0.1:8080"
    FA.cfg.proxy_base_url = HTTP_BASE;
    FA.cfg.canonical_resource = HTTP_BASE "/mcp";
    FA.cfg.idp_redirect_uri = HTTP_BASE "/callback";
    struct buf cid;
    make_client(HTTP_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 200);
    char token[20000];
    scrape_token(r.body, token, sizeof(token));
    struct grant_consent g;
    assert_int_equal(grants_open_consent(FA.oauth.seal, slice_from_cstr(token), HTTP_BASE,
                                         clock_unix_s(), &g, NULL),
                     GRANTS_OK);
    assert_binding_cookie(&r, "consent", g.binding_hash, false, 300);
    grants_cleanup_consent(&g);
    harness_response_free(&r);

    FA.cfg.render_consent_page = false;
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 302);
    char location[32768], v[20000];
    flow_header(&r, "Location", location, sizeof(location));
    query_param(location, "state", v, sizeof(v));
    struct grant_session s;
    assert_int_equal(
        grants_open_session(FA.oauth.seal, slice_from_cstr(v), HTTP_BASE, clock_unix_s(), &s, NULL),
        GRANTS_OK);
    assert_binding_cookie(&r, "callback", s.binding_hash, false, 600);
    grants_cleanup_session(&s);
    harness_response_free(&r);
    buf_cleanup(&cid);
#undef HTTP_BASE
}

static void
test_head_answers_too(void **state)
{
    (void)state;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct buf raw;
    buf_init(&raw, 64 * 1024);
    assert_int_equal(buf_appendf(&raw,
                                 "HEAD /authorize?%s&client_id=%s HTTP/1.1\r\nHost: a\r\n"
                                 "Connection: close\r\n\r\n",
                                 GOOD_Q, buf_cstr(&cid)),
                     0);
    struct harness_response r;
    flow_app_send(&FA, buf_cstr(&raw), true, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Security-Policy"), CONSENT_CSP);
    harness_response_free(&r);
    buf_cleanup(&raw);
    buf_cleanup(&cid);
}

static void
test_silent_fork(void **state)
{
    (void)state;
    FA.cfg.render_consent_page = false;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), GOOD_Q "&resource=" FIXTURE_BASE, &r);
    assert_int_equal(r.status, 302);
    char location[32768];
    flow_header(&r, "Location", location, sizeof(location));
    assert_true(strncmp(location, FLOW_IDP_AUTHORIZE "?", strlen(FLOW_IDP_AUTHORIZE) + 1) == 0);
    assert_int_equal(metrics_get_authorize_initiated(false), 1);
    assert_int_equal(metrics_get_authorize_initiated(true), 0);

    char v[20000];
    query_param(location, "client_id", v, sizeof(v));
    assert_string_equal(v, FLOW_OIDC_CLIENT);
    query_param(location, "redirect_uri", v, sizeof(v));
    assert_string_equal(v, FIXTURE_BASE "/callback");
    query_param(location, "response_type", v, sizeof(v));
    assert_string_equal(v, "code");
    query_param(location, "code_challenge_method", v, sizeof(v));
    assert_string_equal(v, "S256");
    query_param(location, "scope", v, sizeof(v));
    assert_string_equal(v, "openid email profile");
    char nonce[64], idp_challenge[64];
    query_param(location, "nonce", nonce, sizeof(nonce));
    query_param(location, "code_challenge", idp_challenge, sizeof(idp_challenge));
    assert_int_equal(strlen(nonce), 32);
    assert_false(has_param(location, "prompt"));

    /* The IdP state is the sealed session, not the client's state. */
    query_param(location, "state", v, sizeof(v));
    struct grant_session s;
    assert_int_equal(grants_open_session(FA.oauth.seal, slice_from_cstr(v), FIXTURE_BASE,
                                         clock_unix_s(), &s, NULL),
                     GRANTS_OK);
    assert_string_equal(s.client_id, "11111111-2222-4333-8444-555555555555");
    assert_string_equal(s.redirect_uri, RU);
    assert_string_equal(s.client_state, "st8");
    assert_string_equal(s.code_challenge, CH);
    assert_string_equal(s.nonce, nonce);
    assert_int_equal(strlen(s.session_id), 36);
    assert_string_equal(s.server_verifier, "");
    assert_string_equal(s.server_challenge, "");
    assert_string_equal(s.resource, FIXTURE_BASE "/mcp");
    assert_int_equal(s.exp, FIXTURE_NOW + 600);
    char pv_challenge[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_from_cstr(s.upstream_verifier), pv_challenge);
    assert_string_equal(pv_challenge, idp_challenge);
    /* No consent page, so the 302 itself binds the callback to this
     * browser: the Lax callback cookie, for the session's lifetime. */
    assert_binding_cookie(&r, "callback", s.binding_hash, true, 600);
    grants_cleanup_session(&s);
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_CONSENT), 0);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* Step-up (docs/step-up.md): step-up scopes in the grant put acr_values
 * (union) and max_age (smallest), or prompt=login for 0, on the IdP URL
 * and in the session; a request naming no scope gets no step-up scope. */
static void
stepup_authorize(const char *cid, const char *scope_q, char *location, size_t cap,
                 struct grant_session *s)
{
    struct buf q;
    buf_init(&q, 4096);
    assert_int_equal(buf_append_str(&q, GOOD_Q), 0);
    assert_int_equal(buf_append_str(&q, scope_q), 0);
    struct harness_response r;
    authorize(cid, buf_cstr(&q), &r);
    assert_int_equal(r.status, 302);
    flow_header(&r, "Location", location, cap);
    char v[20000];
    query_param(location, "state", v, sizeof(v));
    assert_int_equal(grants_open_session(FA.oauth.seal, slice_from_cstr(v), FIXTURE_BASE,
                                         clock_unix_s(), s, NULL),
                     GRANTS_OK);
    harness_response_free(&r);
    buf_cleanup(&q);
}

static void
test_silent_fork_stepup(void **state)
{
    (void)state;
    FA.cfg.render_consent_page = false;
    FA.cfg.scopes_supported = (char *)"mcp:read mcp:mfa mcp:fresh mcp:now";
    static const char text[] = "step_up:\n"
                               "  mcp:mfa: {acr: [urn:mfa, urn:hwk]}\n"
                               "  mcp:fresh: {max_age: 300}\n"
                               "  mcp:now: {max_age: 0}\n";
    struct buf err;
    buf_init(&err, 256);
    struct policy *p = policy_load_parse(slice_from_cstr(text), &err);
    assert_non_null(p);
    buf_cleanup(&err);
    FA.oauth.policy = policy_holder_new(p);
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    char location[32768], v[1024];
    struct grant_session s;

    stepup_authorize(buf_cstr(&cid), "&scope=mcp%3Aread+mcp%3Amfa+mcp%3Afresh", location,
                     sizeof(location), &s);
    query_param(location, "acr_values", v, sizeof(v));
    assert_string_equal(v, "urn:mfa urn:hwk");
    query_param(location, "max_age", v, sizeof(v));
    assert_string_equal(v, "300");
    assert_false(has_param(location, "prompt"));
    assert_string_equal(s.scope, "mcp:read mcp:mfa mcp:fresh");
    assert_string_equal(s.stepup_acr_values, "urn:mfa urn:hwk");
    assert_int_equal(s.stepup_max_age, 300);
    assert_true(s.stepup_max_age_set);
    grants_cleanup_session(&s);

    stepup_authorize(buf_cstr(&cid), "&scope=mcp%3Anow+mcp%3Afresh", location, sizeof(location),
                     &s);
    query_param(location, "prompt", v, sizeof(v));
    assert_string_equal(v, "login");
    assert_false(has_param(location, "max_age"));
    assert_false(has_param(location, "acr_values"));
    assert_int_equal(s.stepup_max_age, 0);
    assert_true(s.stepup_max_age_set);
    grants_cleanup_session(&s);

    /* No scope named: the default leaves the step-up scopes out. */
    stepup_authorize(buf_cstr(&cid), "", location, sizeof(location), &s);
    assert_false(has_param(location, "acr_values"));
    assert_false(has_param(location, "max_age"));
    assert_false(has_param(location, "prompt"));
    assert_string_equal(s.scope, "mcp:read");
    assert_false(s.stepup_max_age_set);
    grants_cleanup_session(&s);

    /* No policy file: the same scopes are plain scopes. */
    policy_holder_free(FA.oauth.policy);
    FA.oauth.policy = NULL;
    stepup_authorize(buf_cstr(&cid), "&scope=mcp%3Amfa", location, sizeof(location), &s);
    assert_false(has_param(location, "acr_values"));
    assert_string_equal(s.scope, "mcp:mfa");
    grants_cleanup_session(&s);
    buf_cleanup(&cid);
}

/* H6: PKCE optional and no client challenge → the session holds a
 * server-side pair with cc = sch = S256(sv). */
static void
test_silent_server_pkce(void **state)
{
    (void)state;
    FA.cfg.render_consent_page = false;
    FA.cfg.pkce_required = false;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), "response_type=code&redirect_uri=" RU_ENC "&state=s", &r);
    assert_int_equal(r.status, 302);
    char v[20000], location[32768];
    flow_header(&r, "Location", location, sizeof(location));
    query_param(location, "state", v, sizeof(v));
    struct grant_session s;
    assert_int_equal(grants_open_session(FA.oauth.seal, slice_from_cstr(v), FIXTURE_BASE,
                                         clock_unix_s(), &s, NULL),
                     GRANTS_OK);
    assert_int_equal(strlen(s.server_verifier), 43);
    char sch[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_from_cstr(s.server_verifier), sch);
    assert_string_equal(s.server_challenge, sch);
    assert_string_equal(s.code_challenge, sch);
    assert_string_not_equal(s.server_verifier, s.upstream_verifier);
    grants_cleanup_session(&s);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

struct json_case {
    const char *name;
    const char *client_aud; /* NULL: the client_id is "garbage" */
    int64_t client_exp;
    const char *query;
    const char *body;
    enum metrics_denied metric; /* METRICS_DENIED_COUNT: none */
};

static void
test_json_errors(void **state)
{
    (void)state;
    static const struct json_case cases[] = {
        {"garbage client_id", NULL, 0, GOOD_Q,
         "{\"error\":\"invalid_client\",\"error_description\":\"unknown client_id\"}\n",
         METRICS_DENIED_CLIENT_ID_INVALID},
        {"foreign audience", FIXTURE_OTHER_BASE, 0, GOOD_Q,
         "{\"error\":\"invalid_client\",\"error_description\":\"client registered for a "
         "different audience\"}\n",
         METRICS_DENIED_CLIENT_AUDIENCE_MISMATCH},
        {"expired", FIXTURE_BASE, FIXTURE_NOW - 1, GOOD_Q,
         "{\"error\":\"invalid_client\",\"error_description\":\"client registration "
         "expired\"}\n",
         METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED},
        {"missing redirect_uri", FIXTURE_BASE, 0, "response_type=code&state=s",
         "{\"error\":\"invalid_request\",\"error_description\":\"redirect_uri is required\"}\n",
         METRICS_DENIED_COUNT},
        {"unregistered redirect_uri", FIXTURE_BASE, 0,
         "response_type=code&state=s&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
         "{\"error\":\"invalid_request\",\"error_description\":\"redirect_uri does not match "
         "registered URIs\"}\n",
         METRICS_DENIED_COUNT},
        {"loopback, other host", FIXTURE_BASE, 0,
         "response_type=code&state=s&redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback",
         "{\"error\":\"invalid_request\",\"error_description\":\"redirect_uri does not match "
         "registered URIs\"}\n",
         METRICS_DENIED_COUNT},
        {"repeated", FIXTURE_BASE, 0, GOOD_Q "&response_type=code",
         "{\"error\":\"invalid_request\",\"error_description\":\"response_type must not be "
         "repeated\"}\n",
         METRICS_DENIED_COUNT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct json_case *c = &cases[i];
        metrics_reset();
        struct buf cid;
        if (c->client_aud != NULL) {
            make_client(c->client_aud, c->client_exp, "x", &cid);
        } else {
            buf_init(&cid, 64);
            assert_int_equal(buf_append_str(&cid, "garbage"), 0);
        }
        struct harness_response r;
        authorize(buf_cstr(&cid), c->query, &r);
        if (r.status != 400 || strcmp(r.body, c->body) != 0) {
            fail_msg("%s: %d %s", c->name, r.status, r.body);
        }
        assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
        assert_string_equal(harness_header(&r, "Cache-Control"), "");
        for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
            assert_int_equal(metrics_get_denied((enum metrics_denied)m), m == (int)c->metric);
        }
        assert_int_equal(metrics_get_authorize_initiated(true), 0);
        assert_int_equal(metrics_get_authorize_initiated(false), 0);
        harness_response_free(&r);
        buf_cleanup(&cid);
    }
}

static void
test_client_id_missing(void **state)
{
    (void)state;
    struct harness_response r;
    authorize(NULL, GOOD_Q, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":\"invalid_request\",\"error_description\":"
                                "\"client_id is required\"}\n");
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_ID_MISSING), 1);
    harness_response_free(&r);
    /* Present but empty counts as missing; repeated comes first. */
    authorize("", GOOD_Q, &r);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_ID_MISSING), 2);
    harness_response_free(&r);
    authorize(NULL, GOOD_Q "&client_id=&client_id=", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "client_id must not be repeated"));
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CLIENT_ID_MISSING), 2);
    harness_response_free(&r);
}

/* Zero exp never expires (SPEC.md 2.2); exp == now is not yet expired. */
static void
test_client_expiry_edges(void **state)
{
    (void)state;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    buf_cleanup(&cid);
    make_client(FIXTURE_BASE, FIXTURE_NOW, "x", &cid);
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    fixture_pin_clock(1);
    authorize(buf_cstr(&cid), GOOD_Q, &r);
    assert_int_equal(r.status, 400);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

struct redirect_case {
    const char *name;
    const char *query;
    const char *error;
    const char *description;
    const char *state; /* NULL: no state param */
};

static void
test_redirect_errors(void **state)
{
    (void)state;
    static const struct redirect_case cases[] = {
        {"no response_type", "redirect_uri=" RU_ENC "&state=abc", "unsupported_response_type",
         "response_type must be 'code'", "abc"},
        {"resource mismatch",
         GOOD_Q "&resource=https%3A%2F%2Fauth.example.com"
                "&resource=https%3A%2F%2Fevil.example.com",
         "invalid_target", "resource does not identify this authorization server", "st8"},
        {"plain",
         "response_type=code&redirect_uri=" RU_ENC "&state=st8&code_challenge=" CH
         "&code_challenge_method=plain",
         "invalid_request", "code_challenge_method must be S256", "st8"},
        {"bad challenge",
         "response_type=code&redirect_uri=" RU_ENC "&state=st8"
         "&code_challenge=short&code_challenge_method=S256",
         "invalid_request", "code_challenge must be 43-128 unreserved characters", "st8"},
        {"missing challenge", "response_type=code&redirect_uri=" RU_ENC "&state=st8",
         "invalid_request", "code_challenge is required", "st8"},
        {"missing state (STATE_REQUIRED)",
         "response_type=code&redirect_uri=" RU_ENC "&code_challenge=" CH
         "&code_challenge_method=S256",
         "invalid_request", "state is required", NULL},
    };
    /* Only the last row depends on it; the others fail before step 13. */
    FA.cfg.state_required = true;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct redirect_case *c = &cases[i];
        metrics_reset();
        struct harness_response r;
        authorize(buf_cstr(&cid), c->query, &r);
        if (r.status != 302) {
            fail_msg("%s: status %d %s", c->name, r.status, r.body);
        }
        char location[8192];
        flow_header(&r, "Location", location, sizeof(location));
        assert_true(strncmp(location, RU "?", strlen(RU) + 1) == 0);
        char v[1024];
        query_param(location, "error", v, sizeof(v));
        assert_string_equal(v, c->error);
        query_param(location, "error_description", v, sizeof(v));
        assert_string_equal(v, c->description);
        query_param(location, "iss", v, sizeof(v));
        assert_string_equal(v, FIXTURE_BASE);
        assert_int_equal(has_param(location, "state"), c->state != NULL);
        if (c->state != NULL) {
            query_param(location, "state", v, sizeof(v));
            assert_string_equal(v, c->state);
        }
        assert_int_equal(metrics_get_denied(METRICS_DENIED_STATE_MISSING), c->state == NULL);
        assert_int_equal(metrics_get_authorize_initiated(true), 0);
        assert_int_equal(metrics_get_authorize_initiated(false), 0);
        harness_response_free(&r);
    }
    buf_cleanup(&cid);
}

/* RFC 9207: iss is the AS metadata issuer byte for byte, form-encoded in
 * the query (here an issuer with a port, so ':' and '/' are escaped). A
 * base the fixture does not use proves it is not a constant. */
static void
test_iss_is_the_metadata_issuer(void **state)
{
    (void)state;
    FA.cfg.proxy_base_url = "http://127.0.0.1:8443";
    FA.cfg.canonical_resource = "http://127.0.0.1:8443/mcp";
    struct buf cid;
    make_client("http://127.0.0.1:8443", 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), "response_type=code&redirect_uri=" RU_ENC "&state=st8", &r);
    assert_int_equal(r.status, 302);
    char location[8192], v[1024];
    flow_header(&r, "Location", location, sizeof(location));
    assert_non_null(strstr(location, "&iss=http%3A%2F%2F127.0.0.1%3A8443&"));
    query_param(location, "iss", v, sizeof(v));
    assert_string_equal(v, oauth_discovery_issuer(&FA.cfg));
    assert_string_equal(v, "http://127.0.0.1:8443");
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* The loopback redirect URI may change port (RFC 8252 7.3); the error
 * redirect keeps the client's existing query and drops a fragment-free URL
 * sorted. */
static void
test_loopback_port_relaxation(void **state)
{
    (void)state;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid),
              "response_type=code&state=s&code_challenge=" CH "&code_challenge_method=S256"
              "&redirect_uri=http%3A%2F%2F127.0.0.1%3A50123%2Fcallback",
              &r);
    assert_int_equal(r.status, 200);
    struct grant_consent g;
    open_page_consent(&r, &g);
    assert_string_equal(g.redirect_uri, "http://127.0.0.1:50123/callback");
    assert_non_null(strstr(r.body, "127.0.0.1:50123"));
    grants_cleanup_consent(&g);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* OAuth 2.1's CSRF section: with an S256 challenge, no state is needed
 * (STATE_REQUIRED=false, the default). Not a denial, nothing made up: the
 * grant carries no state, so the client's redirect will carry none. */
static void
test_state_optional_beside_s256(void **state)
{
    (void)state;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid),
              "response_type=code&redirect_uri=" RU_ENC "&code_challenge=" CH
              "&code_challenge_method=S256",
              &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_STATE_MISSING), 0);
    assert_int_equal(metrics_get_authorize_initiated(true), 1);
    struct grant_consent g;
    open_page_consent(&r, &g);
    assert_string_equal(g.client_state, "");
    grants_cleanup_consent(&g);
    harness_response_free(&r);

    /* A later error redirect of the same request has no state at all. */
    authorize(buf_cstr(&cid),
              "response_type=code&redirect_uri=" RU_ENC "&code_challenge=" CH
              "&code_challenge_method=plain",
              &r);
    assert_int_equal(r.status, 302);
    char location[8192];
    flow_header(&r, "Location", location, sizeof(location));
    assert_false(has_param(location, "state"));
    assert_null(strstr(location, "state="));
    harness_response_free(&r);

    /* Without a challenge (PKCE optional) state is still required. */
    FA.cfg.pkce_required = false;
    authorize(buf_cstr(&cid), "response_type=code&redirect_uri=" RU_ENC, &r);
    assert_int_equal(r.status, 302);
    flow_header(&r, "Location", location, sizeof(location));
    assert_non_null(strstr(location, "error_description=state+is+required"));
    assert_int_equal(metrics_get_denied(METRICS_DENIED_STATE_MISSING), 1);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* COMPAT_ALLOW_STATELESS: where state is required (STATE_REQUIRED here), a
 * missing one is counted and replaced by 32 hex characters. */
static void
test_compat_synthesizes_state(void **state)
{
    (void)state;
    FA.cfg.compat_allow_stateless = true;
    FA.cfg.state_required = true;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid),
              "response_type=code&redirect_uri=" RU_ENC "&code_challenge=" CH
              "&code_challenge_method=S256",
              &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_STATE_MISSING), 1);
    assert_int_equal(metrics_get_authorize_initiated(true), 1);
    struct grant_consent g;
    open_page_consent(&r, &g);
    assert_int_equal(strlen(g.client_state), 32);
    assert_int_equal(strspn(g.client_state, "0123456789abcdef"), 32);
    grants_cleanup_consent(&g);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* The consent fork with PKCE optional and no challenge: spkce in the grant. */
static void
test_consent_spkce(void **state)
{
    (void)state;
    FA.cfg.pkce_required = false;
    struct buf cid;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    struct harness_response r;
    authorize(buf_cstr(&cid), "response_type=code&redirect_uri=" RU_ENC "&state=s", &r);
    assert_int_equal(r.status, 200);
    struct grant_consent g;
    open_page_consent(&r, &g);
    assert_true(g.server_pkce);
    assert_string_equal(g.code_challenge, "");
    grants_cleanup_consent(&g);
    harness_response_free(&r);
    buf_cleanup(&cid);
}

/* A state too large to seal: the consent fork answers server_error through
 * the interstitial to the client (SPEC.md 3.4's last item). */
static void
test_consent_seal_failure(void **state)
{
    (void)state;
    struct buf cid, q;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    buf_init(&q, 64 * 1024);
    assert_int_equal(buf_append_str(&q, "response_type=code&redirect_uri=" RU_ENC
                                        "&code_challenge=" CH "&code_challenge_method=S256"
                                        "&state="),
                     0);
    for (int i = 0; i < 13000; i++) {
        assert_int_equal(buf_append_byte(&q, 'a'), 0);
    }
    struct harness_response r;
    authorize(buf_cstr(&cid), buf_cstr(&q), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(harness_header(&r, "Content-Security-Policy"), "form-action 'none'"));
    assert_non_null(strstr(r.body, "http-equiv=\"refresh\""));
    assert_non_null(strstr(r.body, "error=server_error"));
    /* RFC 9207 on the interstitial's target too (the page escapes & as &amp;). */
    assert_non_null(strstr(r.body, "&amp;iss=https%3A%2F%2Fauth.example.com&amp;"));
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_CONSENT), 0);
    harness_response_free(&r);
    buf_cleanup(&q);
    buf_cleanup(&cid);
}

static void
test_wrong_method(void **state)
{
    (void)state;
    struct harness_response r;
    flow_app_send(&FA,
                  "POST /authorize HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n",
                  false, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(harness_header(&r, "Allow"), "GET, HEAD");
    harness_response_free(&r);
}

/* The client sends and closes at once. The sealed source answers on the
 * next loop pass, usually before the close is seen; either way the request
 * ends once and nothing outlives it (the ASan run). The cancel path itself
 * is tested in test_oauth_client.c. */
static void
test_client_leaves_mid_lookup(void **state)
{
    (void)state;
    struct buf cid, raw;
    make_client(FIXTURE_BASE, 0, "x", &cid);
    buf_init(&raw, 64 * 1024);
    assert_int_equal(buf_appendf(&raw, "GET /authorize?%s&client_id=%s HTTP/1.1\r\nHost: a\r\n\r\n",
                                 GOOD_Q, buf_cstr(&cid)),
                     0);
    for (int i = 0; i < 10; i++) {
        int fd = harness_connect(&FA.h);
        harness_send(&FA.h, fd, raw.ptr, raw.len);
        close(fd);
        harness_pump(&FA.h, -1, NULL, 10);
    }
    assert_true(metrics_get_authorize_initiated(true) <= 10);
    buf_cleanup(&raw);
    buf_cleanup(&cid);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_consent_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_answers_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_fork_stepup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_cookie_plain_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_pkce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_id_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_expiry_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iss_is_the_metadata_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback_port_relaxation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_optional_beside_s256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compat_synthesizes_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_spkce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_seal_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_leaves_mid_lookup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
