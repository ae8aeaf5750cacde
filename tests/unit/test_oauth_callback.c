/* oauth/callback: GET /callback end to end inside one process -- the
 * handler on the HTTP harness with a real fetch, the real id_token check
 * and the in-process replay store; the IdP's token endpoint is the loopback
 * fault server answering with id_tokens this test signs -- so the
 * asynchronous chain (claim, exchange, verification) and its cancellation
 * when the client leaves are exercised under the sanitizers without a
 * browser or an IdP process. The real IdP is tests/e2e's business. Also
 * the browser binding (oauth/binding.h): a callback without the flow's
 * callback cookie is a 403 page that claims and exchanges nothing. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <cmocka.h>
#include <jansson.h>

#include "oauth_flow_app.h"
#include "base/xalloc.h"
#include "config.h"
#include "fault_server.h"
#include "fetch.h"
#include "fixtures.h"
#include "grants.h"
#include "http/router.h"
#include "http_harness.h"
#include "jws_mint.h"
#include "log.h"
#include "metrics.h"
#include "oauth/oauth.h"
#include "oauth_mint.h"
#include "oidc/jwks.h"
#include "oidc/provider.h"
#include "oidc/throttle.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "store/memory.h"
#include "store/store.h"
#include "wiring/app.h"
#include "worker.h"

#define BASE FIXTURE_BASE
#define NOW FIXTURE_NOW
#define CLIENT "proxy-client"
#define NONCE "0123456789abcdef0123456789abcdef"
#define PV "pv-0123456789-0123456789-0123456789-012345"
/* The browser the flow belongs to. */
#define COOKIE_HEADER "Cookie: " FIXTURE_CALLBACK_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "\r\n"

static cjose_jwk_t *key;
static char *jwks_doc;

/* What the fault server's token endpoint answers; set by the test before
 * a request, read on the server's threads. */
static _Atomic(char *) token_response;
static _Atomic int token_status;
static _Atomic unsigned token_delay_ms;

struct fx {
    struct fault_server *idp;
    char *issuer;
    struct flow_app fa; /* the OAuth units' one app fixture, with this IdP */
};

static struct fx F;

static void
on_idp(void *arg, const struct fault_request *req, struct fault_response *out)
{
    (void)arg;
    (void)req;
    out->status = token_status;
    out->content_type = "application/json";
    out->body = token_response;
    out->delay_ms = token_delay_ms;
}

static int
jwks_source(void *arg, const atomic_bool *stop, struct buf *out_body, struct buf *err)
{
    (void)arg;
    (void)stop;
    (void)err;
    return buf_append_str(out_body, jwks_doc) == 0 ? 0 : -1;
}

/* A signed id_token for F.issuer; claims_extra (stolen) is merged last, so
 * it may replace or (with json_null) remove the defaults. */
static char *
id_token(json_t *claims_extra)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:s,s:[s]}", "iss", F.issuer, "aud", CLIENT,
                          "sub", "alice", "email", "alice@example.com", "email_verified", 1, "exp",
                          (json_int_t)NOW + 300, "iat", (json_int_t)NOW, "nonce", NONCE, "groups",
                          "mcp-users");
    const char *k;
    json_t *v;
    json_object_foreach(claims_extra, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(c, k);
        } else {
            json_object_set(c, k, v);
        }
    }
    json_decref(claims_extra);
    char *ser = jws_mint_sign(key, "RS256", "k1", NULL, c);
    char *body = NULL;
    assert_true(asprintf(&body,
                         "{\"access_token\":\"at\",\"token_type\":\"Bearer\","
                         "\"id_token\":\"%s\"}",
                         ser) > 0);
    free(ser);
    return body;
}

/* Answers replaced while a server thread may still be sending them: freed
 * only once the server has joined its threads (stop). */
static char *retired[16];
static size_t retired_count;

static void
set_answer(int status, char *body)
{
    if (token_response != NULL) {
        assert_true(retired_count < sizeof(retired) / sizeof(retired[0]));
        retired[retired_count++] = token_response;
    }
    token_response = body;
    token_status = status;
}

static void
free_retired(void)
{
    for (size_t i = 0; i < retired_count; i++) {
        free(retired[i]);
    }
    retired_count = 0;
}

static int
group_setup(void **state)
{
    (void)state;
    key = jws_mint_rsa_key("k1");
    jwks_doc = jws_mint_public_jwks(&key, 1, NULL);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    cjose_jwk_release(key);
    free(jwks_doc);
    free(token_response);
    token_response = NULL;
    return 0;
}

static void
start(double idp_rate)
{
    memset(&F, 0, sizeof(F));
    fixture_pin_clock(0);
    log_set_level(LOG_ERROR);
    metrics_reset();
    flow_app_init(&F.fa, FLOW_STORE_MEMORY);
    F.idp = fault_server_start(on_idp, NULL);
    F.issuer = xstrdup(fault_server_url(F.idp));
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
             F.issuer, F.issuer, F.issuer, F.issuer);
    struct buf err;
    buf_init(&err, 1024);
    /* This IdP instead of the fixture's fixed one. */
    oidc_provider_free(F.fa.oauth.oidc);
    F.fa.oauth.oidc = NULL;
    assert_int_equal(oidc_provider_parse(F.issuer, slice_from_cstr(doc), &F.fa.oauth.oidc, &err),
                     0);
    struct oidc_jwks_options jo = {.source = jwks_source, .min_refresh_gap_ms = 30000};
    assert_int_equal(oidc_jwks_new(&jo, NULL, &F.fa.oauth.jwks, &err), 0);
    buf_cleanup(&err);

    F.fa.cfg.oidc_client_id = CLIENT;
    F.fa.cfg.oidc_client_secret = "secret";
    F.fa.cfg.oidc_issuer_url = F.issuer;
    F.fa.cfg.groups_claim = "groups";
    F.fa.cfg.email_claim = "email";
    F.fa.oauth.idp_throttle = oidc_throttle_new(idp_rate, 1);
    http_router_add(F.fa.router, HTTP_METHODS_GET, "/callback", oauth_callback_handle, &F.fa.oauth,
                    NULL);
    fetch_attach_worker(F.fa.h.w);
    token_delay_ms = 0;
    set_answer(200, id_token(json_object()));
}

static int
stop(void **state)
{
    (void)state;
    oidc_throttle_free(F.fa.oauth.idp_throttle);
    oidc_jwks_free(F.fa.oauth.jwks);
    flow_app_cleanup(&F.fa);
    fault_server_stop(F.idp);
    free_retired();
    xfree(F.issuer);
    fixture_unpin_clock();
    return 0;
}

/* The state the IdP hands back: a session for client "cid-1", bound to
 * the browser holding FIXTURE_BINDING_SECRET. */
static char *
session(const char *sid)
{
    const struct grant_session s = {
        .binding_hash = FIXTURE_BINDING_HASH,
        .client_id = "cid-1",
        .redirect_uri = "http://127.0.0.1:9/cb",
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .client_state = "client-state",
        .nonce = NONCE,
        .upstream_verifier = PV,
        .session_id = sid,
        .aud = BASE,
        .resource = BASE "/mcp",
        .exp = NOW + 600,
    };
    struct buf b;
    mint_session(F.fa.oauth.seal, &s, &b);
    return buf_take(&b);
}

struct reply {
    int status;
    char head[40000];
    char body[4096];
};

/* GET /callback?<query> with extra headers ("Name: v\r\n"...). */
static void
get_raw(const char *query, const char *headers, struct reply *out)
{
    char req[20000];
    snprintf(req, sizeof(req), "GET /callback?%s HTTP/1.1\r\nHost: a\r\n%s\r\n", query, headers);
    int fd = harness_connect(&F.fa.h);
    harness_send_str(&F.fa.h, fd, req);
    struct buf raw;
    buf_init(&raw, 1 << 20);
    (void)harness_wait_responses(&F.fa.h, fd, &raw, 1, 5000);
    struct harness_response r;
    assert_true(harness_parse(raw.ptr, raw.len, false, false, &r) > 0);
    out->status = r.status;
    snprintf(out->head, sizeof(out->head), "%s", r.head);
    snprintf(out->body, sizeof(out->body), "%.*s", (int)r.body_len, r.body);
    harness_response_free(&r);
    buf_cleanup(&raw);
    close(fd);
}

/* The IdP's redirect back, from the browser the flow belongs to. */
static void
get(const char *state, struct reply *out)
{
    char query[20000];
    snprintf(query, sizeof(query), "code=idp-code&state=%s", state);
    get_raw(query, COOKIE_HEADER, out);
}

static void
test_success_redirects_with_a_code(void **state)
{
    (void)state;
    start(0);
    char *st = session("sid-1");
    struct reply r;
    get(st, &r);
    assert_int_equal(r.status, 302);
    const char *loc = strstr(r.head, "Location: http://127.0.0.1:9/cb?code=");
    assert_non_null(loc);
    assert_non_null(strstr(loc, "&iss=https%3A%2F%2Fauth.example.com&state=client-state\r\n"));
    /* /callback never carries CORS (SPEC preface fix 10). */
    assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
    /* The spent flow's cookie is cleared. */
    assert_non_null(strstr(r.head, "\r\nSet-Cookie: " FIXTURE_CALLBACK_COOKIE_NAME
                                   "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax\r\n"));

    /* The IdP got the session's verifier and our redirect URI. */
    char *body = fault_server_last_body(F.idp);
    assert_non_null(strstr(body, "code=idp-code"));
    assert_non_null(strstr(body, "code_verifier=" PV));
    assert_non_null(strstr(body, "redirect_uri=https%3A%2F%2Fauth.example.com%2Fcallback"));
    xfree(body);

    /* The code opens and carries the identity and the session's binding. */
    const char *c = loc + strlen("Location: http://127.0.0.1:9/cb?code=");
    size_t n = strcspn(c, "&");
    struct grant_code g;
    assert_int_equal(grants_open_code(F.fa.oauth.seal, slice_make(c, n), BASE, NOW, &g, NULL),
                     GRANTS_OK);
    assert_string_equal(g.sub, "alice");
    assert_string_equal(g.email, "alice@example.com");
    assert_string_equal(g.client_id, "cid-1");
    assert_string_equal(g.code_challenge, FIXTURE_PKCE_CHALLENGE);
    assert_string_equal(g.resource, BASE "/mcp");
    assert_int_equal(g.group_count, 1);
    assert_string_equal(g.groups[0], "mcp-users");
    assert_int_equal(strlen(g.token_id), 36);
    assert_int_equal(strlen(g.family_id), 36);
    assert_false(g.server_pkce);
    assert_int_equal(g.exp, NOW + 60);
    grants_cleanup_code(&g);
    xfree(st);
}

/* Step-up (docs/step-up.md): the code keeps a step-up scope only when the
 * id_token proves it, records acr and auth_time, and drops unproven
 * step-up scopes without failing the login. */
static char *
stepup_session(const char *sid, const char *scope, bool max_age_set)
{
    const struct grant_session s = {
        .binding_hash = FIXTURE_BINDING_HASH,
        .client_id = "cid-1",
        .redirect_uri = "http://127.0.0.1:9/cb",
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .client_state = "client-state",
        .nonce = NONCE,
        .upstream_verifier = PV,
        .session_id = sid,
        .aud = BASE,
        .resource = BASE "/mcp",
        .scope = scope,
        .exp = NOW + 600,
        .stepup_acr_values = "urn:mfa",
        .stepup_max_age = 300,
        .stepup_max_age_set = max_age_set,
    };
    struct buf b;
    mint_session(F.fa.oauth.seal, &s, &b);
    return buf_take(&b);
}

/* The code of a 302 answer, opened into *g. */
static void
open_code(const struct reply *r, struct grant_code *g)
{
    assert_int_equal(r->status, 302);
    const char *loc = strstr(r->head, "Location: http://127.0.0.1:9/cb?code=");
    assert_non_null(loc);
    const char *c = loc + strlen("Location: http://127.0.0.1:9/cb?code=");
    assert_int_equal(
        grants_open_code(F.fa.oauth.seal, slice_make(c, strcspn(c, "&")), BASE, NOW, g, NULL),
        GRANTS_OK);
}

static void
test_stepup_proven_or_dropped(void **state)
{
    (void)state;
    start(0);
    static const char text[] = "step_up:\n"
                               "  mcp:mfa: {acr: [urn:mfa]}\n"
                               "  mcp:fresh: {max_age: 300}\n";
    struct buf err;
    buf_init(&err, 256);
    struct policy *p = policy_load_parse(slice_from_cstr(text), &err);
    assert_non_null(p);
    buf_cleanup(&err);
    F.fa.oauth.policy = policy_holder_new(p);
    const char *all = "mcp:read mcp:mfa mcp:fresh";
    struct reply r;
    struct grant_code g;

    /* Proven: MFA acr and a login 10 s ago. */
    set_answer(
        200, id_token(json_pack("{s:s,s:I}", "acr", "urn:mfa", "auth_time", (json_int_t)NOW - 10)));
    char *st = stepup_session("sid-s1", all, true);
    get(st, &r);
    open_code(&r, &g);
    assert_string_equal(g.scope, all);
    assert_string_equal(g.acr, "urn:mfa");
    assert_int_equal(g.auth_time, NOW - 10);
    grants_cleanup_code(&g);
    xfree(st);

    /* A password acr: mcp:mfa dropped, the login stands. */
    set_answer(
        200, id_token(json_pack("{s:s,s:I}", "acr", "urn:pwd", "auth_time", (json_int_t)NOW - 10)));
    st = stepup_session("sid-s2", all, true);
    get(st, &r);
    open_code(&r, &g);
    assert_string_equal(g.scope, "mcp:read mcp:fresh");
    assert_string_equal(g.acr, "urn:pwd");
    grants_cleanup_code(&g);
    xfree(st);

    /* max_age asked, no auth_time: no step-up scope at all. */
    set_answer(200, id_token(json_pack("{s:s}", "acr", "urn:mfa")));
    st = stepup_session("sid-s3", all, true);
    get(st, &r);
    open_code(&r, &g);
    assert_string_equal(g.scope, "mcp:read");
    assert_int_equal(g.auth_time, 0);
    grants_cleanup_code(&g);
    xfree(st);

    /* An auth_time far in the future is unknown: not fresh. */
    set_answer(200, id_token(json_pack("{s:s,s:I}", "acr", "urn:mfa", "auth_time",
                                       (json_int_t)NOW + 3600)));
    st = stepup_session("sid-s4", all, false);
    get(st, &r);
    open_code(&r, &g);
    assert_string_equal(g.scope, "mcp:read mcp:mfa");
    assert_int_equal(g.auth_time, 0);
    grants_cleanup_code(&g);
    xfree(st);

    /* No policy: nothing is a step-up scope, acr still recorded. */
    policy_holder_free(F.fa.oauth.policy);
    F.fa.oauth.policy = NULL;
    set_answer(200, id_token(json_pack("{s:s}", "acr", "urn:pwd")));
    st = stepup_session("sid-s5", all, true);
    get(st, &r);
    open_code(&r, &g);
    assert_string_equal(g.scope, all);
    assert_string_equal(g.acr, "urn:pwd");
    grants_cleanup_code(&g);
    xfree(st);
}

static void
test_replay_is_refused_without_a_second_exchange(void **state)
{
    (void)state;
    start(0);
    char *st = session("sid-1");
    struct reply r;
    get(st, &r);
    assert_int_equal(r.status, 302);
    unsigned hits = fault_server_hits(F.idp);
    get(st, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":\"invalid_request\",\"error_description\":\"callback "
                                "state already used\",\"error_code\":\"callback_state_replay\"}\n");
    assert_int_equal(fault_server_hits(F.idp), hits);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CALLBACK_STATE), 1);
    xfree(st);

    /* A legacy session without sid skips the claim (SPEC.md 5.4). */
    st = session("");
    get(st, &r);
    assert_int_equal(r.status, 302);
    get(st, &r);
    assert_int_equal(r.status, 302);
    xfree(st);
}

static void
test_nonce_and_verification_failures(void **state)
{
    (void)state;
    start(0);
    struct reply r;
    char *st = session("sid-1");
    set_answer(200, id_token(json_pack("{s:s}", "nonce", "ffffffffffffffffffffffffffffffff")));
    get(st, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.body, "{\"error\":\"server_error\",\"error_description\":\"id token "
                                "nonce mismatch\",\"error_code\":\"id_token_verification_"
                                "failed\"}\n");
    xfree(st);

    st = session("sid-2");
    set_answer(200, id_token(json_pack("{s:s}", "aud", "someone-else")));
    get(st, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "\"id token verification failed\""));
    assert_int_equal(metrics_get_denied(METRICS_DENIED_ID_TOKEN_VERIFICATION_FAILED), 2);
    xfree(st);

    st = session("sid-3");
    set_answer(200, id_token(json_pack("{s:b}", "email_verified", 0)));
    get(st, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"error_code\":\"email_not_verified\""));
    xfree(st);

    st = session("sid-4");
    set_answer(200, xstrdup("{\"access_token\":\"at\",\"token_type\":\"Bearer\"}"));
    get(st, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "\"no id_token in upstream response\""));
    xfree(st);

    st = session("sid-5");
    set_answer(500, xstrdup("{\"error\":\"server_error\"}"));
    get(st, &r);
    assert_int_equal(r.status, 502);
    assert_string_equal(r.body, "{\"error\":\"server_error\",\"error_description\":\"upstream "
                                "authentication failed\"}\n");
    xfree(st);
}

static void
test_client_gone_during_exchange(void **state)
{
    (void)state;
    start(0);
    char *st = session("sid-1");
    token_delay_ms = 300;
    char req[20000];
    snprintf(req, sizeof(req),
             "GET /callback?code=idp-code&state=%s HTTP/1.1\r\nHost: a\r\n" COOKIE_HEADER "\r\n",
             st);
    int fd = harness_connect(&F.fa.h);
    harness_send_str(&F.fa.h, fd, req);
    /* The exchange is under way when the client hangs up. */
    uint64_t waited = 0;
    while (fault_server_hits(F.idp) == 0 && waited < 3000) {
        harness_pump(&F.fa.h, -1, NULL, 10);
        waited += 10;
    }
    assert_int_equal(fault_server_hits(F.idp), 1);
    close(fd);
    /* The IdP answers into a cancelled exchange: nothing may run on the
     * freed request (the sanitizers watch this). */
    harness_pump(&F.fa.h, -1, NULL, 600);
    assert_int_equal(fetch_pending(fetch_of_worker(F.fa.h.w)), 0);
    /* The claim stood: the same state is now a replay. */
    token_delay_ms = 0;
    struct reply r;
    get(st, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "callback_state_replay"));
    xfree(st);
}

static void
test_throttle_before_claim(void **state)
{
    (void)state;
    start(0.001);
    char *a = session("sid-a");
    char *b = session("sid-b");
    struct reply r;
    get(a, &r);
    assert_int_equal(r.status, 302);
    unsigned hits = fault_server_hits(F.idp);
    for (int i = 0; i < 2; i++) {
        get(b, &r);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.head, "Retry-After: 1\r\n"));
        /* Nothing spent: the cookie stays, so the retry can work. */
        assert_null(strstr(r.head, "Set-Cookie"));
        assert_string_equal(r.body,
                            "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                            "\"upstream IdP exchange throttled; retry shortly\",\"error_code\":"
                            "\"idp_exchange_throttled\"}\n");
    }
    assert_int_equal(fault_server_hits(F.idp), hits);
    assert_int_equal(metrics_get(METRICS_IDP_EXCHANGE_THROTTLED), 2);
    xfree(a);
    xfree(b);
}

/* The refusal page (403 HTML, never a redirect: the session's redirect URI
 * may be the attacker's). */
static void
assert_refused(const struct reply *r)
{
    if (r->status != 403) {
        fail_msg("want 403, got %d %s", r->status, r->body);
    }
    assert_non_null(strstr(r->head, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_null(strstr(r->head, "Location:"));
    assert_null(strstr(r->head, "Set-Cookie:"));
    assert_non_null(strstr(r->body, "start the sign-in again"));
}

/* A callback in a browser without the flow's cookie -- the IdP link of the
 * attacker's own flow opened by a victim whose IdP session signs in
 * silently, or an attacker's callback URL (login CSRF) -- is refused before
 * the claim and the exchange; the browser that holds the cookie can still
 * use the same state afterwards. */
static void
test_wrong_browser_refused(void **state)
{
    (void)state;
    start(0);
    char *st = session("sid-1");
    char query[20000];
    snprintf(query, sizeof(query), "code=idp-code&state=%s", st);
    static const char *const refused[] = {
        "",
        "Cookie: " FIXTURE_CONSENT_COOKIE_NAME "=" FIXTURE_BINDING_SECRET "\r\n",
        "Cookie: " FIXTURE_CALLBACK_COOKIE_NAME "=" FIXTURE_BINDING_HASH "\r\n",
        "Cookie: " FIXTURE_CALLBACK_COOKIE_NAME "=\r\n",
        "Cookie: __Host-mcp_callback_AAAAAAAA=" FIXTURE_BINDING_SECRET "\r\n",
        "Cookie: mcp_callback_E9Melhoa=" FIXTURE_BINDING_SECRET "\r\n",
    };
    struct reply r;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        get_raw(query, refused[i], &r);
        assert_refused(&r);
    }
    assert_int_equal(metrics_get_denied(METRICS_DENIED_CALLBACK_BROWSER_MISMATCH),
                     sizeof(refused) / sizeof(refused[0]));
    assert_int_equal(fault_server_hits(F.idp), 0);
    assert_int_equal(metrics_get_replay(METRICS_REPLAY_CALLBACK_STATE), 0);
    /* The refused state is spent: the IdP code in that URL belongs to
     * whoever signed in in the refusing browser, and the browser holding
     * the cookie must not finish with it. */
    assert_int_equal(store_memory_backend_count(F.fa.backend), 1);
    get(st, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "callback state already used"));
    assert_int_equal(fault_server_hits(F.idp), 0);
    xfree(st);

    /* The IdP's error answer is bound the same way: a victim's browser is
     * not sent on to the attacker's redirect URI. It carries no code, so
     * nothing is spent. */
    st = session("sid-2");
    char eq[20000];
    snprintf(eq, sizeof(eq), "error=access_denied&state=%s", st);
    get_raw(eq, "", &r);
    assert_refused(&r);
    get_raw(eq, COOKIE_HEADER, &r);
    assert_int_equal(r.status, 302);
    assert_non_null(strstr(r.head, "Location: http://127.0.0.1:9/cb?error=access_denied&"));
    /* RFC 9207 on the error redirect too: the metadata issuer, encoded. */
    assert_non_null(strstr(r.head, "&iss=https%3A%2F%2Fauth.example.com&state=client-state\r\n"));
    assert_non_null(strstr(r.head, "Set-Cookie: " FIXTURE_CALLBACK_COOKIE_NAME "=; "));

    /* The real browser: the error answers spent nothing. */
    get(st, &r);
    assert_int_equal(r.status, 302);
    assert_non_null(strstr(r.head, "Location: http://127.0.0.1:9/cb?code="));
    assert_int_equal(fault_server_hits(F.idp), 1);
    xfree(st);

    /* A session minted without a usable binding is bound to no browser. */
    const struct grant_session unbound = {
        .client_id = "cid-1",
        .redirect_uri = "http://127.0.0.1:9/cb",
        .code_challenge = FIXTURE_PKCE_CHALLENGE,
        .client_state = "s",
        .nonce = NONCE,
        .upstream_verifier = PV,
        .session_id = "sid-9",
        .binding_hash = "",
        .aud = BASE,
        .exp = NOW + 600,
    };
    struct buf b;
    mint_session(F.fa.oauth.seal, &unbound, &b);
    get(buf_cstr(&b), &r);
    assert_refused(&r);
    buf_cleanup(&b);
    assert_int_equal(fault_server_hits(F.idp), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_success_redirects_with_a_code, stop),
        cmocka_unit_test_teardown(test_replay_is_refused_without_a_second_exchange, stop),
        cmocka_unit_test_teardown(test_stepup_proven_or_dropped, stop),
        cmocka_unit_test_teardown(test_nonce_and_verification_failures, stop),
        cmocka_unit_test_teardown(test_client_gone_during_exchange, stop),
        cmocka_unit_test_teardown(test_throttle_before_claim, stop),
        cmocka_unit_test_teardown(test_wrong_browser_refused, stop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
