/* POST /consent through the real connection layer (SPEC.md 3.5, 3.6, 5.4):
 * every input check in order, the single-use claim with the in-process
 * store (replay re-render, claim before the action, legacy jti, no store,
 * store down), expiry with a pinned clock, deny and approve interstitials,
 * and the counters (SPEC.md 9's consent_test and single_use_replay_test
 * lists for /consent); and the browser binding (oauth/binding.h): a
 * cross-site post or one without the flow's consent cookie is a 403 page
 * that consumes nothing, and the decision moves the cookie's secret to the
 * callback cookie. */
#include "oauth_flow_app.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/form.h"
#include "bounds.h"
#include "grants.h"
#include "oauth/page.h"
#include "base/pkce.h"
#include "oauth_mint.h"

#define RU "https://app.example.com/cb?keep=1"
#define CID "11111111-2222-4333-8444-555555555555"
#define JTI "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
/* The browser's cookie for the flows minted below. */
#define COOKIE_HEADER "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "\r\n"
#define INTERSTITIAL_CSP                                                                           \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "                          \
    "frame-ancestors 'none'; base-uri 'none'"

static struct flow_app FA;

static int
setup_store(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    flow_app_init(&FA, FLOW_STORE_MEMORY);
    return 0;
}

static int
setup_nostore(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    flow_app_init(&FA, FLOW_STORE_NONE);
    return 0;
}

static int
setup_down(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    flow_app_init(&FA, FLOW_STORE_DOWN);
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

struct consent_opts {
    const char *jti;
    const char *binding_hash;
    const char *aud;
    const char *redirect_uri;
    int64_t exp;
    bool server_pkce;
    const char *code_challenge;
    const char *client_state; /* NULL: "client-state" */
};

/* A sealed consent token as GET /authorize mints it, into out (cap 20000). */
static void
mint(const struct consent_opts *o, char *out)
{
    struct grant_consent g = {
        .jti = o->jti != NULL ? o->jti : JTI,
        .client_id = CID,
        .client_name = "Claude",
        .redirect_uri = o->redirect_uri != NULL ? o->redirect_uri : RU,
        .client_state = o->client_state != NULL ? o->client_state : "client-state",
        .code_challenge = o->code_challenge != NULL
                              ? o->code_challenge
                              : (o->server_pkce ? "" : FIXTURE_PKCE_CHALLENGE),
        .server_pkce = o->server_pkce,
        .resource = FIXTURE_BASE "/mcp",
        .binding_hash = o->binding_hash != NULL ? o->binding_hash : FIXTURE_BINDING_HASH,
        .aud = o->aud != NULL ? o->aud : FIXTURE_BASE,
        .exp = o->exp != 0 ? o->exp : FIXTURE_NOW + 300,
    };
    struct buf b;
    mint_consent(FA.oauth.seal, &g, &b);
    memcpy(out, b.ptr, b.len + 1);
    buf_cleanup(&b);
}

static void
mint_default(char *out)
{
    const struct consent_opts o = {0};
    mint(&o, out);
}

/* POST /consent consent_token=<token>&action=<action> with extra headers
 * ("Name: v\r\n"...). */
static void
post_with(const char *headers, const char *token, const char *action, struct harness_response *r)
{
    struct buf body;
    buf_init(&body, 64 * 1024);
    assert_int_equal(buf_appendf(&body, "consent_token=%s&action=%s", token, action), 0);
    flow_app_post(&FA, "/consent", headers, buf_cstr(&body), r);
    buf_cleanup(&body);
}

/* The same from the browser the flow belongs to (its consent cookie). */
static void
post(const char *token, const char *action, struct harness_response *r)
{
    post_with(COOKIE_HEADER, token, action, r);
}

/* Is there a Set-Cookie line starting with prefix? */
static bool
has_set_cookie(const struct harness_response *r, const char *prefix)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\nSet-Cookie: %s", prefix);
    return strstr(r->head, want) != NULL;
}

/* The refusal of a request from another browser: 403, the HTML page (not
 * JSON, not a redirect), its CSP, never cached. */
static void
assert_refused(const struct harness_response *r)
{
    if (r->status != 403) {
        fail_msg("want 403, got %d %s", r->status, r->body);
    }
    assert_string_equal(harness_header(r, "Content-Type"), "text/html; charset=utf-8");
    assert_string_equal(harness_header(r, "Content-Security-Policy"), OAUTH_PAGE_REFUSED_CSP);
    assert_string_equal(harness_header(r, "Cache-Control"), "no-store");
    assert_int_equal(harness_header_count(r, "Location"), 0);
    assert_int_equal(harness_header_count(r, "Set-Cookie"), 0);
    assert_non_null(strstr(r->body, "start the sign-in again"));
}

static void
assert_json_400(const struct harness_response *r, const char *description)
{
    char want[512];
    snprintf(want, sizeof(want), "{\"error\":\"invalid_request\",\"error_description\":\"%s\"}\n",
             description);
    if (r->status != 400 || strcmp(r->body, want) != 0) {
        fail_msg("want 400 %s, got %d %s", want, r->status, r->body);
    }
    assert_string_equal(harness_header(r, "Content-Type"), "application/json");
}

/* The meta-refresh target of an interstitial, unescaped (&amp; → &). The
 * anchor must carry the identical escaped text (SPEC.md 3.6). */
static void
interstitial_target(const struct harness_response *r, char *out, size_t cap)
{
    assert_int_equal(r->status, 200);
    assert_string_equal(harness_header(r, "Content-Security-Policy"), INTERSTITIAL_CSP);
    assert_string_equal(harness_header(r, "Cache-Control"), "no-store");
    assert_string_equal(harness_header(r, "Pragma"), "no-cache");
    assert_string_equal(harness_header(r, "Content-Type"), "text/html; charset=utf-8");
    const char *m = strstr(r->body, "content=\"0;url=");
    assert_non_null(m);
    m += strlen("content=\"0;url=");
    const char *e = strchr(m, '"');
    const char *a = strstr(r->body, "<a href=\"");
    assert_non_null(a);
    a += strlen("<a href=\"");
    assert_int_equal(strncmp(a, m, (size_t)(e - m)), 0);
    assert_int_equal(a[e - m], '"');
    size_t n = 0;
    for (const char *p = m; p < e; p++) {
        assert_true(n + 1 < cap);
        if (strncmp(p, "&amp;", 5) == 0) {
            out[n++] = '&';
            p += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    assert_null(strstr(r->body, "<script"));
    assert_null(strstr(r->body, "<form"));
}

static void
query_param(const char *url, const char *name, char *out, size_t cap)
{
    const char *q = strchr(url, '?');
    assert_non_null(q);
    struct form_params p;
    assert_int_equal(
        form_parse(slice_from_cstr(q + 1), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p), FORM_OK);
    snprintf(out, cap, "%s", form_params_get(&p, name, NULL));
    form_params_cleanup(&p);
}

static void
scrape_token(const char *html, char *out, size_t cap)
{
    const char *p = strstr(html, "name=\"consent_token\" value=\"");
    assert_non_null(p);
    p += strlen("name=\"consent_token\" value=\"");
    const char *e = strchr(p, '"');
    assert_true(e != NULL && (size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

/* ---- steps 1-8 ---- */

static void
test_input_checks(void **state)
{
    (void)state;
    char token[20000];
    mint_default(token);
    struct harness_response r;

    /* 1. Query, even one that holds the token. */
    flow_app_post(&FA, "/consent?consent_token=x", "", "", &r);
    assert_json_400(&r, "consent endpoint parameters must be in the request body, not the URL "
                        "query");
    harness_response_free(&r);
    /* A bare '?' is no query (Go's RawQuery is empty). */
    flow_app_post(&FA, "/consent?", "", "", &r);
    assert_json_400(&r, "consent_token is required");
    harness_response_free(&r);

    /* 2. Any Authorization header. */
    flow_app_post(&FA, "/consent", "Authorization: Basic Zm9vOmJhcg==\r\n", "", &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, "{\"error\":\"invalid_client\",\"error_description\":\"this "
                                "consent endpoint does not authenticate clients\"}\n");
    assert_string_equal(harness_header(&r, "WWW-Authenticate"),
                        "Basic realm=\"consent\", error=\"invalid_client\", "
                        "error_description=\"this consent endpoint does not authenticate "
                        "clients\"");
    harness_response_free(&r);

    /* 3. Not a form: the form is empty. Malformed: 400. */
    struct buf body;
    buf_init(&body, 64 * 1024);
    assert_int_equal(buf_appendf(&body, "consent_token=%s&action=approve", token), 0);
    flow_app_post(&FA, "/consent", "Content-Type: text/plain\r\n", buf_cstr(&body), &r);
    assert_json_400(&r, "consent_token is required");
    harness_response_free(&r);
    flow_app_post(&FA, "/consent",
                  "Content-Type: Application/X-WWW-Form-Urlencoded; "
                  "charset=utf-8\r\n",
                  "consent_token=&action=deny", &r);
    assert_json_400(&r, "consent_token is required");
    harness_response_free(&r);
    flow_app_post(&FA, "/consent", "", "consent_token=a%zz&action=deny", &r);
    assert_json_400(&r, "malformed form body");
    harness_response_free(&r);
    flow_app_post(&FA, "/consent", "", "consent_token=a;b", &r);
    assert_json_400(&r, "malformed form body");
    harness_response_free(&r);

    /* 4. */
    buf_reset(&body);
    assert_int_equal(buf_appendf(&body, "consent_token=%s&consent_token=%s", token, token), 0);
    flow_app_post(&FA, "/consent", "", buf_cstr(&body), &r);
    assert_json_400(&r, "consent_token must not be repeated");
    harness_response_free(&r);
    flow_app_post(&FA, "/consent", "", "action=approve&action=", &r);
    assert_json_400(&r, "action must not be repeated");
    harness_response_free(&r);

    /* 5-8. */
    post("", "approve", &r);
    assert_json_400(&r, "consent_token is required");
    harness_response_free(&r);
    post("garbage", "approve", &r);
    assert_json_400(&r, "consent token invalid or expired");
    harness_response_free(&r);
    /* A session blob (another purpose) does not open as consent. */
    struct grant_session s = {
        .client_id = CID, .redirect_uri = RU, .aud = FIXTURE_BASE, .exp = FIXTURE_NOW + 60};
    struct buf sb;
    mint_session(FA.oauth.seal, &s, &sb);
    post(buf_cstr(&sb), "approve", &r);
    assert_json_400(&r, "consent token invalid or expired");
    harness_response_free(&r);
    buf_cleanup(&sb);
    const struct consent_opts foreign = {.aud = FIXTURE_OTHER_BASE};
    mint(&foreign, token);
    post(token, "approve", &r);
    assert_json_400(&r, "consent token bound to a different audience");
    harness_response_free(&r);
    const struct consent_opts expired = {.exp = FIXTURE_NOW - 1};
    mint(&expired, token);
    post(token, "approve", &r);
    assert_json_400(&r, "consent token expired");
    harness_response_free(&r);

    /* None of these is a decision, a replay or a denial. */
    assert_int_equal(metrics_get_consent_decision(true), 0);
    assert_int_equal(metrics_get_consent_decision(false), 0);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 0);
    for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
        assert_int_equal(metrics_get_denied((enum metrics_denied)m), 0);
    }
    buf_cleanup(&body);
}

static void
test_too_large(void **state)
{
    (void)state;
    struct harness_response r;
    flow_app_send(&FA,
                  "POST /consent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 1048577\r\n\r\n",
                  false, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"error\":\"invalid_request\",\"error_description\":\"request "
                                "body exceeds the 64 KiB cap\"}\n");
    harness_response_free(&r);
}

/* exp == now is still valid (expired only when now > exp); one second
 * later it is not. */
static void
test_expiry_with_clock(void **state)
{
    (void)state;
    char token[20000];
    const struct consent_opts o = {.exp = FIXTURE_NOW + 300};
    mint(&o, token);
    fixture_pin_clock(301);
    struct harness_response r;
    post(token, "deny", &r);
    assert_json_400(&r, "consent token expired");
    harness_response_free(&r);
    fixture_pin_clock(300);
    post(token, "deny", &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
}

/* ---- decisions ---- */

static void
test_deny(void **state)
{
    (void)state;
    char token[20000], target[8192], v[1024];
    mint_default(token);
    struct harness_response r;
    post(token, "deny", &r);
    interstitial_target(&r, target, sizeof(target));
    assert_true(strncmp(target, "https://app.example.com/cb?", 27) == 0);
    query_param(target, "error", v, sizeof(v));
    assert_string_equal(v, "access_denied");
    query_param(target, "error_description", v, sizeof(v));
    assert_string_equal(v, "user declined to authorize this client");
    query_param(target, "state", v, sizeof(v));
    assert_string_equal(v, "client-state");
    query_param(target, "iss", v, sizeof(v));
    assert_string_equal(v, FIXTURE_BASE);
    query_param(target, "keep", v, sizeof(v));
    assert_string_equal(v, "1");
    assert_int_equal(harness_header_count(&r, "Set-Cookie"), 1);
    assert_true(has_set_cookie(&r, FIXTURE_CONSENT_COOKIE_NAME "=; Path=/; Max-Age=0;"));
    assert_int_equal(metrics_get_consent_decision(false), 1);
    assert_int_equal(metrics_get_consent_decision(true), 0);
    for (int m = 0; m < METRICS_DENIED_COUNT; m++) {
        assert_int_equal(metrics_get_denied((enum metrics_denied)m), 0);
    }
    harness_response_free(&r);
}

/* A flow begun without state (PKCE stands in, OAuth 2.1): the deny
 * redirect carries no state parameter at all, never an empty one, and
 * still iss. */
static void
test_deny_without_state(void **state)
{
    (void)state;
    char token[20000], target[8192], v[1024];
    const struct consent_opts o = {.client_state = ""};
    mint(&o, token);
    struct harness_response r;
    post(token, "deny", &r);
    interstitial_target(&r, target, sizeof(target));
    query_param(target, "error", v, sizeof(v));
    assert_string_equal(v, "access_denied");
    assert_null(strstr(target, "state="));
    query_param(target, "iss", v, sizeof(v));
    assert_string_equal(v, FIXTURE_BASE);
    harness_response_free(&r);
}

/* A redirect_uri that does not parse: JSON 400 access_denied, still
 * counted as a denial decision. */
static void
test_deny_unparseable_redirect(void **state)
{
    (void)state;
    char token[20000];
    const struct consent_opts o = {.redirect_uri = "not a url"};
    mint(&o, token);
    struct harness_response r;
    post(token, "deny", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":\"access_denied\",\"error_description\":\"user "
                                "declined to authorize this client\"}\n");
    assert_int_equal(metrics_get_consent_decision(false), 1);
    harness_response_free(&r);
}

static void
test_bad_action(void **state)
{
    (void)state;
    char token[20000];
    mint_default(token);
    struct harness_response r;
    post(token, "maybe", &r);
    assert_json_400(&r, "action must be approve or deny");
    harness_response_free(&r);
    /* The claim came first: the token is spent. */
    post(token, "approve", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "already processed"));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 0);
}

static void
open_idp_session(const char *target, struct grant_session *s)
{
    char v[20000];
    assert_true(strncmp(target, FLOW_IDP_AUTHORIZE "?", strlen(FLOW_IDP_AUTHORIZE) + 1) == 0);
    query_param(target, "client_id", v, sizeof(v));
    assert_string_equal(v, FLOW_OIDC_CLIENT);
    query_param(target, "state", v, sizeof(v));
    assert_int_equal(grants_open_session(FA.oauth.seal, slice_from_cstr(v), FIXTURE_BASE,
                                         clock_unix_s(), s, NULL),
                     GRANTS_OK);
    char nonce[64], challenge[64], pvc[PKCE_S256_LEN + 1];
    query_param(target, "nonce", nonce, sizeof(nonce));
    assert_string_equal(s->nonce, nonce);
    query_param(target, "code_challenge", challenge, sizeof(challenge));
    pkce_challenge_s256(slice_from_cstr(s->upstream_verifier), pvc);
    assert_string_equal(pvc, challenge);
    query_param(target, "code_challenge_method", v, sizeof(v));
    assert_string_equal(v, "S256");
}

static void
test_approve(void **state)
{
    (void)state;
    char token[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    post(token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    struct grant_session s;
    open_idp_session(target, &s);
    assert_string_equal(s.client_id, CID);
    assert_string_equal(s.redirect_uri, RU);
    assert_string_equal(s.client_state, "client-state");
    assert_string_equal(s.code_challenge, FIXTURE_PKCE_CHALLENGE);
    assert_string_equal(s.server_verifier, "");
    assert_string_equal(s.resource, FIXTURE_BASE "/mcp");
    assert_int_equal(strlen(s.session_id), 36);
    assert_int_equal(s.exp, FIXTURE_NOW + 600);
    /* The binding travels on: the same bh in the IdP state, the same B in
     * the callback cookie (Lax: the IdP's redirect back is cross-site),
     * and the spent consent cookie cleared. */
    assert_string_equal(s.binding_hash, FIXTURE_BINDING_HASH);
    grants_cleanup_session(&s);
    assert_int_equal(harness_header_count(&r, "Set-Cookie"), 2);
    assert_true(has_set_cookie(&r, FIXTURE_CONSENT_COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; "
                                                               "Secure; SameSite=Strict\r\n"));
    assert_true(has_set_cookie(&r, FIXTURE_CALLBACK_COOKIE_NAME
                               "=" FIXTURE_BINDING_SECRET
                               "; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax\r\n"));
    assert_int_equal(metrics_get_consent_decision(true), 1);
    assert_int_equal(metrics_get_consent_decision(false), 0);
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_SESSION), 1);
    harness_response_free(&r);
}

/* H6: spkce → a server-side pair minted at approve, cc = sch = S256(sv). */
static void
test_approve_server_pkce(void **state)
{
    (void)state;
    char token[20000], target[32768];
    const struct consent_opts o = {.server_pkce = true};
    mint(&o, token);
    struct harness_response r;
    post(token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    struct grant_session s;
    open_idp_session(target, &s);
    char sch[PKCE_S256_LEN + 1];
    assert_int_equal(strlen(s.server_verifier), 43);
    pkce_challenge_s256(slice_from_cstr(s.server_verifier), sch);
    assert_string_equal(s.server_challenge, sch);
    assert_string_equal(s.code_challenge, sch);
    grants_cleanup_session(&s);
    harness_response_free(&r);
}

/* ---- single use ---- */

static void
test_replay_rerenders(void **state)
{
    (void)state;
    char token[20000], fresh[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    post(token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);

    /* Replayed, whatever the action: the page again, a new jti, the same
     * expiry, the notice; no decision counted. */
    post(token, "deny", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Security-Policy"), OAUTH_PAGE_CONSENT_CSP);
    assert_string_equal(harness_header(&r, "Cache-Control"), "no-store");
    assert_non_null(strstr(r.body, "already processed"));
    /* The same B again, for the rest of the token's life: a racing first
     * submit may have cleared it. */
    assert_true(has_set_cookie(&r, FIXTURE_CONSENT_COOKIE_NAME
                               "=" FIXTURE_BINDING_SECRET
                               "; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Strict"));
    assert_string_equal(harness_header(&r, "Referrer-Policy"), "same-origin");
    scrape_token(r.body, fresh, sizeof(fresh));
    harness_response_free(&r);
    struct grant_consent g;
    assert_int_equal(grants_open_consent(FA.oauth.seal, slice_from_cstr(fresh), FIXTURE_BASE,
                                         clock_unix_s(), &g, NULL),
                     GRANTS_OK);
    assert_string_not_equal(g.jti, JTI);
    assert_int_equal(strlen(g.jti), 36);
    assert_int_equal(g.exp, FIXTURE_NOW + 300);
    assert_string_equal(g.client_id, CID);
    assert_string_equal(g.redirect_uri, RU);
    assert_string_equal(g.client_state, "client-state");
    assert_string_equal(g.code_challenge, FIXTURE_PKCE_CHALLENGE);
    assert_string_equal(g.binding_hash, FIXTURE_BINDING_HASH);
    grants_cleanup_consent(&g);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 1);
    assert_int_equal(metrics_get_consent_decision(true), 1);
    assert_int_equal(metrics_get_consent_decision(false), 0);

    /* A second replay of the original counts again. */
    post(token, "approve", &r);
    assert_non_null(strstr(r.body, "already processed"));
    harness_response_free(&r);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 2);

    /* The fresh token works exactly once. */
    post(fresh, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 2);
    post(fresh, "approve", &r);
    assert_non_null(strstr(r.body, "already processed"));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 2);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 3);

    /* The re-rendered token keeps the original expiry: past it, expired. */
    fixture_pin_clock(301);
    post(fresh, "approve", &r);
    assert_json_400(&r, "consent token expired");
    harness_response_free(&r);
}

/* Deny, then the replay re-renders, then approve with the fresh token. */
static void
test_deny_then_approve_fresh(void **state)
{
    (void)state;
    char token[20000], fresh[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    post(token, "deny", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    post(token, "approve", &r);
    assert_non_null(strstr(r.body, "already processed"));
    scrape_token(r.body, fresh, sizeof(fresh));
    harness_response_free(&r);
    post(fresh, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    assert_true(strncmp(target, FLOW_IDP_AUTHORIZE, strlen(FLOW_IDP_AUTHORIZE)) == 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(false), 1);
    assert_int_equal(metrics_get_consent_decision(true), 1);
}

/* Legacy consent blobs without jti skip the claim even with a store. */
static void
test_legacy_empty_jti(void **state)
{
    (void)state;
    char token[20000], target[32768];
    const struct consent_opts o = {.jti = ""};
    mint(&o, token);
    struct harness_response r;
    for (int i = 0; i < 2; i++) {
        post(token, "approve", &r);
        interstitial_target(&r, target, sizeof(target));
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get_consent_decision(true), 2);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 0);
}

/* The claim lives until the token's expiry (max(exp - now, 1 s)). */
static void
test_claim_ttl(void **state)
{
    (void)state;
    char token[20000], target[32768];
    const struct consent_opts o = {.exp = FIXTURE_NOW + 10};
    mint(&o, token);
    struct harness_response r;
    post(token, "deny", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    assert_int_equal(store_memory_backend_count(FA.backend), 1);
    fixture_pin_clock(9);
    post(token, "deny", &r);
    assert_non_null(strstr(r.body, "already processed"));
    harness_response_free(&r);
}

/* No store configured: the same token may be used again within its TTL. */
static void
test_no_store_reusable(void **state)
{
    (void)state;
    char token[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    post(token, "deny", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    post(token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 1);
    assert_int_equal(metrics_get_consent_decision(false), 1);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 0);
}

/* The store cannot answer: fail closed with 503. */
static void
test_store_down(void **state)
{
    (void)state;
    char token[20000];
    mint_default(token);
    struct harness_response r;
    post(token, "approve", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"error\":\"server_error\",\"error_description\":\"replay store "
                                "unavailable\",\"error_code\":\"replay_store_unavailable\"}\n");
    assert_int_equal(metrics_get_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE), 1);
    assert_int_equal(metrics_get_consent_decision(true), 0);
    harness_response_free(&r);
    /* A legacy token never reaches the store. */
    const struct consent_opts o = {.jti = ""};
    mint(&o, token);
    post(token, "deny", &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
}

/* The client leaves while the claim is in flight. The store here is a
 * "Redis" that accepts the connection and never answers, so the claim is
 * still pending when the disconnect is seen: the abort callback cancels it,
 * and when the command's deadline passes no callback runs (had it run, the
 * 503 path would have counted replay_store_unavailable). ASan checks that
 * nothing outlives the request. */
static void
test_client_leaves_mid_claim(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%u/0", (unsigned)ntohs(sa.sin_port));
    struct buf err;
    buf_init(&err, STORE_ERROR_MAX - 1);
    FA.backend = store_redis_backend_new(url, "", NULL, &err);
    buf_cleanup(&err);
    assert_non_null(FA.backend);
    store_attach_worker(FA.h.w, FA.backend);
    harness_pump(&FA.h, -1, NULL, 50); /* resolve and connect (the kernel accepts) */

    char token[20000];
    mint_default(token);
    struct buf raw;
    buf_init(&raw, 64 * 1024);
    assert_int_equal(buf_appendf(&raw,
                                 "POST /consent HTTP/1.1\r\nHost: a\r\n" COOKIE_HEADER
                                 "Content-Type: application/x-www-form-urlencoded\r\n"
                                 "Content-Length: %zu\r\n\r\nconsent_token=%s&action=approve",
                                 strlen("consent_token=&action=approve") + strlen(token), token),
                     0);
    int fd = harness_connect(&FA.h);
    harness_send(&FA.h, fd, raw.ptr, raw.len);
    struct buf out;
    buf_init(&out, 64 * 1024);
    harness_pump(&FA.h, fd, &out, 50);
    assert_int_equal(out.len, 0); /* waiting on the store */
    close(fd);
    harness_pump(&FA.h, -1, NULL, BOUNDS_REDIS_COMMAND_TIMEOUT_MS + 300);
    assert_int_equal(metrics_get_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE), 0);
    assert_int_equal(metrics_get_consent_decision(true), 0);
    buf_cleanup(&out);
    buf_cleanup(&raw);
    close(lfd);
}

/* ---- the browser binding ---- */

/* Step 0: a post from another site -- the attacker's page auto-submitting
 * a consent token it minted -- is refused before anything is read, even
 * with the right cookie (a same-site attacker could not have it, but the
 * Origin alone already says the page is not ours). Nothing is consumed:
 * the same token then works from our own page. */
static void
test_cross_site_refused(void **state)
{
    (void)state;
    char token[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    static const char *const refused[] = {
        COOKIE_HEADER "Origin: https://attacker.example\r\n",
        COOKIE_HEADER "Origin: null\r\n",
        COOKIE_HEADER "Origin: https://auth.example.com.attacker.example\r\n",
        COOKIE_HEADER "Origin: http://auth.example.com\r\n",
        COOKIE_HEADER "Origin: https://auth.example.com:8443\r\n",
        COOKIE_HEADER "Origin: https://auth.example.com\r\nOrigin: https://attacker.example\r\n",
        COOKIE_HEADER "Origin: https://auth.example.com\r\nSec-Fetch-Site: cross-site\r\n",
        COOKIE_HEADER "Sec-Fetch-Site: cross-site\r\n",
        COOKIE_HEADER "Sec-Fetch-Site: Cross-Site\r\n",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        post_with(refused[i], token, "approve", &r);
        assert_refused(&r);
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CONSENT_CROSS_SITE),
                     sizeof(refused) / sizeof(refused[0]));
    assert_int_equal(store_memory_backend_count(FA.backend), 0);
    assert_int_equal(metrics_get_consent_decision(true), 0);
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_SESSION), 0);

    /* Our own origin (any case), and the Sec-Fetch-Site values a browser
     * sends for our page's post. */
    post_with(COOKIE_HEADER "Origin: HTTPS://Auth.Example.Com\r\n"
                            "Sec-Fetch-Site: same-origin\r\n",
              token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 1);
}

/* Step 8b: without the flow's consent cookie, with a wrong value, or with
 * another flow's cookie, the decision is refused -- and nothing is
 * consumed, so the browser that holds the cookie still can decide. */
static void
test_wrong_browser_refused(void **state)
{
    (void)state;
    char token[20000], target[32768];
    mint_default(token);
    struct harness_response r;
    static const char *const refused[] = {
        "",
        "Origin: https://auth.example.com\r\n",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=\r\n",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=" FIXTURE_BINDING_HASH "\r\n",
        /* B itself under the other cookie's name, and under another flow's. */
        "Cookie: " FIXTURE_CALLBACK_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "\r\n",
        "Cookie: __Host-mcp_consent_AAAAAAAA=" FIXTURE_BINDING_SECRET "\r\n",
        /* Without the prefix an https deployment never sets. */
        "Cookie: mcp_consent_E9Melhoa=" FIXTURE_BINDING_SECRET "\r\n",
        /* Names are case-sensitive (RFC 6265 5.4). */
        "Cookie: __host-mcp_consent_E9Melhoa=" FIXTURE_BINDING_SECRET "\r\n",
        /* One character off, and one too many. */
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\r\n",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "x\r\n",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        post_with(refused[i], token, i % 2 == 0 ? "approve" : "deny", &r);
        assert_refused(&r);
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CONSENT_BROWSER_MISMATCH),
                     sizeof(refused) / sizeof(refused[0]));
    assert_int_equal(store_memory_backend_count(FA.backend), 0);
    assert_int_equal(metrics_get_consent_decision(true), 0);
    assert_int_equal(metrics_get_consent_decision(false), 0);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CONSENT), 0);

    /* The real browser: its cookie among others, on a second Cookie line
     * (as an HTTP/2 front end may split them), quoted, or sent twice with
     * a stale value first. */
    static const char *const accepted[] = {
        "Cookie: a=1; b=2\r\nCookie: theme=dark; " FIXTURE_CONSENT_COOKIE_NAME
        "=" FIXTURE_BINDING_SECRET "; z=9\r\n",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=\"" FIXTURE_BINDING_SECRET "\"\r\n",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=stale; bad pair; " FIXTURE_CONSENT_COOKIE_NAME
        "=" FIXTURE_BINDING_SECRET "\r\n",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        char fresh[20000];
        char jti[64];
        snprintf(jti, sizeof(jti), "aaaaaaaa-bbbb-4ccc-8ddd-00000000000%zu", i);
        const struct consent_opts o = {.jti = jti};
        mint(&o, fresh);
        post_with(accepted[i], fresh, "approve", &r);
        interstitial_target(&r, target, sizeof(target));
        harness_response_free(&r);
    }
    /* And the first token, which nothing consumed. */
    post(token, "approve", &r);
    interstitial_target(&r, target, sizeof(target));
    harness_response_free(&r);
    assert_int_equal(metrics_get_consent_decision(true), 4);
}

/* Many cookies for the host: ours is found among 200 others; past
 * BOUNDS_COOKIE_PAIRS_MAX pairs the walk stops and the request is refused
 * as if the cookie were missing (fail closed, bounded work). */
static void
test_many_cookies(void **state)
{
    (void)state;
    char token[20000], target[32768];
    struct harness_response r;
    for (int round = 0; round < 2; round++) {
        int others = round == 0 ? 200 : BOUNDS_COOKIE_PAIRS_MAX;
        struct buf h;
        buf_init(&h, 64 * 1024);
        assert_int_equal(buf_append_str(&h, "Cookie: "), 0);
        for (int i = 0; i < others; i++) {
            assert_int_equal(buf_appendf(&h, "c%d=v%d; ", i, i), 0);
        }
        assert_int_equal(
            buf_append_str(&h, FIXTURE_CONSENT_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "\r\n"), 0);
        char jti[64];
        snprintf(jti, sizeof(jti), "aaaaaaaa-bbbb-4ccc-8ddd-00000000000%d", round);
        const struct consent_opts o = {.jti = jti};
        mint(&o, token);
        post_with(buf_cstr(&h), token, "approve", &r);
        if (round == 0) {
            interstitial_target(&r, target, sizeof(target));
        } else {
            assert_refused(&r);
        }
        harness_response_free(&r);
        buf_cleanup(&h);
    }
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CONSENT_BROWSER_MISMATCH), 1);
}

/* A token whose bh is not one we could have minted is bound to no browser:
 * refused whatever cookie comes with it. */
static void
test_unbound_token(void **state)
{
    (void)state;
    char token[20000];
    static const char *const bad[] = {"", "short", FIXTURE_BINDING_HASH "A",
                                      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"};
    struct harness_response r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct consent_opts o = {.binding_hash = bad[i]};
        mint(&o, token);
        post(token, "approve", &r);
        assert_refused(&r);
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CONSENT_BROWSER_MISMATCH),
                     sizeof(bad) / sizeof(bad[0]));
    assert_int_equal(store_memory_backend_count(FA.backend), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_input_checks, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_with_clock, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_deny_without_state, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_deny, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_deny_unparseable_redirect, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_bad_action, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_approve, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_approve_server_pkce, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_replay_rerenders, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_deny_then_approve_fresh, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_empty_jti, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_claim_ttl, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_no_store_reusable, setup_nostore, teardown),
        cmocka_unit_test_setup_teardown(test_store_down, setup_down, teardown),
        cmocka_unit_test_setup_teardown(test_client_leaves_mid_claim, setup_nostore, teardown),
        cmocka_unit_test_setup_teardown(test_cross_site_refused, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_browser_refused, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_many_cookies, setup_store, teardown),
        cmocka_unit_test_setup_teardown(test_unbound_token, setup_store, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
