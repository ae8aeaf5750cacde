/* oidc/provider: discovery document rules, the IdP authorization URL, and
 * start-up discovery with retries.
 *
 * Discovery runs against the loopback fault server (support/fault_server.h)
 * because the cases are faults — 503s a set number of times, a wrong
 * issuer, an IdP that never answers — that a real provider cannot be made
 * to produce on demand. Discovery against a real OpenID provider is part
 * of the end-to-end suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fault_server.h"
#include "log.h"
#include "oidc/provider.h"

#define ISS "https://idp.example.com"

static const char *
doc_for(const char *issuer, const char *extra)
{
    static char doc[4096];
    snprintf(doc, sizeof(doc),
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"%s%s}",
             issuer, issuer, issuer, issuer, extra ? "," : "", extra ? extra : "");
    return doc;
}

static struct oidc_provider *
parse_ok(const char *issuer, const char *doc)
{
    struct oidc_provider *p = NULL;
    struct buf err;
    buf_init(&err, 4096);
    int rc = oidc_provider_parse(issuer, slice_from_cstr(doc), &p, &err);
    if (rc != 0) {
        fprintf(stderr, "unexpected: %s\n", buf_cstr(&err));
    }
    assert_int_equal(rc, 0);
    buf_cleanup(&err);
    return p;
}

/* Parses expecting failure; returns the error sentence (caller frees). */
static char *
parse_err(const char *issuer, const char *doc)
{
    struct oidc_provider *p = NULL;
    struct buf err;
    buf_init(&err, 4096);
    assert_int_equal(oidc_provider_parse(issuer, slice_from_cstr(doc), &p, &err), -1);
    assert_null(p);
    assert_true(err.len > 0);
    return buf_take(&err);
}

static void
test_parse_good_document(void **state)
{
    (void)state;
    struct oidc_provider *p =
        parse_ok(ISS, doc_for(ISS, "\"id_token_signing_alg_values_supported\":[\"RS256\",\"HS256\","
                                   "\"none\",\"ES256\",\"EdDSA\"],\"userinfo_endpoint\":\"x\""));
    assert_string_equal(oidc_provider_get_issuer(p), ISS);
    assert_string_equal(oidc_provider_get_authorization_endpoint(p), ISS "/auth");
    assert_string_equal(oidc_provider_get_token_endpoint(p), ISS "/token");
    assert_string_equal(oidc_provider_get_jwks_uri(p), ISS "/jwks");
    assert_true(oidc_provider_allows_alg(p, OIDC_ALG_RS256));
    assert_true(oidc_provider_allows_alg(p, OIDC_ALG_ES256));
    assert_false(oidc_provider_allows_alg(p, OIDC_ALG_PS256));
    assert_false(oidc_provider_allows_alg(p, OIDC_ALG_RS512));
    assert_int_equal(oidc_provider_get_auth_method(p), OIDC_AUTH_CLIENT_SECRET_BASIC);
    oidc_provider_free(p);
}

static void
test_algs_default_to_rs256(void **state)
{
    (void)state;
    const char *extras[] = {NULL, "\"id_token_signing_alg_values_supported\":[]",
                            "\"id_token_signing_alg_values_supported\":[\"HS256\",\"none\"]"};
    for (size_t i = 0; i < 3; i++) {
        struct oidc_provider *p = parse_ok(ISS, doc_for(ISS, extras[i]));
        for (int a = 0; a < OIDC_ALG_COUNT; a++) {
            assert_int_equal(oidc_provider_allows_alg(p, (enum oidc_alg)a), a == OIDC_ALG_RS256);
        }
        oidc_provider_free(p);
    }
}

static void
test_auth_method_choice(void **state)
{
    (void)state;
    static const struct {
        const char *extra;
        enum oidc_auth_method want;
    } cases[] = {
        {NULL, OIDC_AUTH_CLIENT_SECRET_BASIC},
        {"\"token_endpoint_auth_methods_supported\":[\"client_secret_post\"]",
         OIDC_AUTH_CLIENT_SECRET_POST},
        {"\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
         "\"client_secret_basic\"]",
         OIDC_AUTH_CLIENT_SECRET_BASIC},
        {"\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"]",
         OIDC_AUTH_CLIENT_SECRET_BASIC},
        {"\"token_endpoint_auth_methods_supported\":[]", OIDC_AUTH_CLIENT_SECRET_BASIC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oidc_provider *p = parse_ok(ISS, doc_for(ISS, cases[i].extra));
        assert_int_equal(oidc_provider_get_auth_method(p), cases[i].want);
        oidc_provider_free(p);
    }
    assert_string_equal(oidc_auth_method_str(OIDC_AUTH_CLIENT_SECRET_POST), "client_secret_post");
}

static void
test_bad_documents(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "[1,2]",
        "{\"issuer\":\"" ISS "\",\"issuer\":\"" ISS "\"}",
        "{\"authorization_endpoint\":\"" ISS "/a\"}",
        "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"" ISS "/t\",\"jwks_uri\":\"" ISS "/j\"}",
        "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"/auth\",\"token_endpoint\":\"" ISS
        "/t\",\"jwks_uri\":\"" ISS "/j\"}",
        /* http endpoint under an https issuer */
        "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":"
        "\"http://idp.example.com/t\",\"jwks_uri\":\"" ISS "/j\"}",
        "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS
        "/t\",\"jwks_uri\":\"ftp://idp.example.com/j\"}",
        "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS
        "/t\",\"jwks_uri\":\"" ISS "/j\",\"id_token_signing_alg_values_supported\":\"RS256\"}",
        "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS
        "/t\",\"jwks_uri\":\"" ISS "/j\",\"token_endpoint_auth_methods_supported\":[1]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xfree(parse_err(ISS, bad[i]));
    }
}

static void
test_issuer_must_match_exactly(void **state)
{
    (void)state;
    /* Configured without '/', IdP says with: the hint names the IdP's value. */
    char *e = parse_err(ISS, doc_for(ISS "/", NULL));
    assert_non_null(strstr(e, "set OIDC_ISSUER_URL=" ISS "/ "));
    xfree(e);
    /* Configured with '/', IdP says without. */
    e = parse_err(ISS "/", doc_for(ISS, NULL));
    assert_non_null(strstr(e, "set OIDC_ISSUER_URL=" ISS " "));
    xfree(e);
    /* Any other difference: a plain mismatch, no hint. */
    e = parse_err(ISS, doc_for("https://IDP.example.com", NULL));
    assert_non_null(strstr(e, "issuer mismatch"));
    assert_null(strstr(e, "set OIDC_ISSUER_URL"));
    xfree(e);
    /* Both with '/': accepted as is, nothing stripped. */
    struct oidc_provider *p = parse_ok(ISS "/", doc_for(ISS "/", NULL));
    assert_string_equal(oidc_provider_get_issuer(p), ISS "/");
    oidc_provider_free(p);
}

static void
test_discovery_url(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(oidc_provider_discovery_url(ISS, &b), 0);
    assert_string_equal(buf_cstr(&b), ISS "/.well-known/openid-configuration");
    buf_reset(&b);
    assert_int_equal(oidc_provider_discovery_url(ISS "/realms/x/", &b), 0);
    assert_string_equal(buf_cstr(&b), ISS "/realms/x/.well-known/openid-configuration");
    buf_cleanup(&b);
}

static void
test_authorization_url(void **state)
{
    (void)state;
    struct oidc_authorize_request r = {
        .client_id = "proxy client",
        .redirect_uri = "https://auth.example.com/callback",
        .state = "c2VhbGVk-state_x",
        .nonce = "0123456789abcdef0123456789abcdef",
        /* RFC 7636 Appendix B: its S256 challenge is known. */
        .pkce_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    };
    const char *query =
        "client_id=proxy+client&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        "&code_challenge_method=S256&nonce=0123456789abcdef0123456789abcdef"
        "&redirect_uri=https%3A%2F%2Fauth.example.com%2Fcallback&response_mode=query"
        "&response_type=code&scope=openid+email+profile&state=c2VhbGVk-state_x";
    struct oidc_provider *p = parse_ok(ISS, doc_for(ISS, NULL));
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(oidc_provider_authorization_url(p, &r, &b), 0);
    char want[2048];
    snprintf(want, sizeof(want), "%s/auth?%s", ISS, query);
    assert_string_equal(buf_cstr(&b), want);
    oidc_provider_free(p);

    p = parse_ok(ISS,
                 "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS
                 "/auth?tenant=a\",\"token_endpoint\":\"" ISS "/t\",\"jwks_uri\":\"" ISS "/j\"}");
    buf_reset(&b);
    assert_int_equal(oidc_provider_authorization_url(p, &r, &b), 0);
    snprintf(want, sizeof(want), "%s/auth?tenant=a&%s", ISS, query);
    assert_string_equal(buf_cstr(&b), want);
    oidc_provider_free(p);

    /* Step-up (docs/step-up.md): acr_values, max_age and prompt=login in
     * their sorted places; max_age 0 is never sent as such. */
    p = parse_ok(ISS, doc_for(ISS, NULL));
    r.acr_values = "urn:x:mfa urn:x:hwk";
    r.max_age = 300;
    buf_reset(&b);
    assert_int_equal(oidc_provider_authorization_url(p, &r, &b), 0);
    assert_non_null(
        strstr(buf_cstr(&b), "/auth?acr_values=urn%3Ax%3Amfa+urn%3Ax%3Ahwk&client_id="));
    assert_non_null(strstr(buf_cstr(&b), "&code_challenge_method=S256&max_age=300&nonce="));
    assert_null(strstr(buf_cstr(&b), "prompt="));
    r.acr_values = "";
    r.max_age = 0;
    r.prompt_login = true;
    buf_reset(&b);
    assert_int_equal(oidc_provider_authorization_url(p, &r, &b), 0);
    assert_null(strstr(buf_cstr(&b), "acr_values"));
    assert_null(strstr(buf_cstr(&b), "max_age"));
    assert_non_null(strstr(buf_cstr(&b), "&nonce=0123456789abcdef0123456789abcdef&prompt=login"
                                         "&redirect_uri="));
    oidc_provider_free(p);
    buf_cleanup(&b);
}

static void
test_alg_names(void **state)
{
    (void)state;
    enum oidc_alg a;
    for (int i = 0; i < OIDC_ALG_COUNT; i++) {
        assert_true(oidc_alg_parse(slice_from_cstr(oidc_alg_str((enum oidc_alg)i)), &a));
        assert_int_equal(a, i);
    }
    assert_false(oidc_alg_parse(SLICE_LIT("none"), &a));
    assert_false(oidc_alg_parse(SLICE_LIT("HS256"), &a));
    assert_false(oidc_alg_parse(SLICE_LIT("rs256"), &a));
    assert_false(oidc_alg_parse(SLICE_LIT("EdDSA"), &a));
    assert_false(oidc_alg_parse(SLICE_LIT("RS256\0"), &a));
}

/* ---- discovery over HTTP (fault server) ---- */

enum idp_mode {
    IDP_OK,
    IDP_SLASHED_ISSUER, /* the document's issuer has a trailing '/' */
    IDP_FAIL_TWICE,     /* 503, 503, then the document */
    IDP_ALWAYS_503,
    IDP_HANG,
};

struct idp {
    enum idp_mode mode;
    char issuer[128];
    char doc[4096];
    char path[256];
};

static void
idp_handler(void *arg, const struct fault_request *req, struct fault_response *out)
{
    struct idp *idp = arg;
    snprintf(idp->path, sizeof(idp->path), "%s", req->path);
    if (idp->mode == IDP_HANG) {
        out->hang = true;
        return;
    }
    if (idp->mode == IDP_ALWAYS_503 || (idp->mode == IDP_FAIL_TWICE && req->seq <= 2)) {
        out->status = 503;
        out->body = "busy";
        return;
    }
    const char *iss = idp->issuer;
    char slashed[160];
    if (idp->mode == IDP_SLASHED_ISSUER) {
        snprintf(slashed, sizeof(slashed), "%s/", idp->issuer);
        iss = slashed;
    }
    snprintf(idp->doc, sizeof(idp->doc), "%s", doc_for(iss, NULL));
    /* The endpoints must stay under the server's own origin. */
    out->content_type = "application/json";
    out->body = idp->doc;
}

static const struct oidc_discovery_policy fast = {
    .attempts = 5,
    .timeout_ms = 2000,
    .first_backoff_ms = 10,
    .max_backoff_ms = 40,
};

struct disc {
    struct idp idp;
    struct fault_server *srv;
    struct oidc_provider *p;
    struct buf err;
    int log_fd;
    char log_path[64];
};

static int
setup(void **state)
{
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    struct disc *d = xcalloc(1, sizeof(*d));
    d->srv = fault_server_start(idp_handler, &d->idp);
    snprintf(d->idp.issuer, sizeof(d->idp.issuer), "%s", fault_server_url(d->srv));
    buf_init(&d->err, 4096);
    snprintf(d->log_path, sizeof(d->log_path), "/tmp/test_oidc_provider.XXXXXX");
    d->log_fd = mkstemp(d->log_path);
    assert_true(d->log_fd >= 0);
    log_set_fd(d->log_fd);
    *state = d;
    return 0;
}

static int
teardown(void **state)
{
    struct disc *d = *state;
    fault_server_stop(d->srv);
    oidc_provider_free(d->p);
    buf_cleanup(&d->err);
    log_set_fd(1);
    close(d->log_fd);
    unlink(d->log_path);
    xfree(d);
    return 0;
}

/* Everything logged so far (caller frees). */
static char *
logged(struct disc *d)
{
    char *text = xcalloc(1, 65536);
    ssize_t n = pread(d->log_fd, text, 65535, 0);
    assert_true(n >= 0);
    return text;
}

static unsigned
count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void
test_discover_success(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_OK;
    assert_int_equal(oidc_provider_discover(d->idp.issuer, &fast, NULL, &d->p, &d->err), 0);
    assert_string_equal(oidc_provider_get_issuer(d->p), d->idp.issuer);
    assert_string_equal(d->idp.path, "/.well-known/openid-configuration");
    assert_int_equal(fault_server_hits(d->srv), 1);
    char *log = logged(d);
    assert_int_equal(count(log, "oidc_discovery_retry"), 0);
    xfree(log);
}

static void
test_discover_slashed_issuer_no_double_slash(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_SLASHED_ISSUER;
    char configured[160];
    snprintf(configured, sizeof(configured), "%s/", d->idp.issuer);
    assert_int_equal(oidc_provider_discover(configured, &fast, NULL, &d->p, &d->err), 0);
    assert_string_equal(d->idp.path, "/.well-known/openid-configuration");
    assert_string_equal(oidc_provider_get_issuer(d->p), configured);
}

static void
test_discover_issuer_mismatch_not_retried(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_SLASHED_ISSUER;
    assert_int_equal(oidc_provider_discover(d->idp.issuer, &fast, NULL, &d->p, &d->err), -1);
    assert_null(d->p);
    char want[256];
    snprintf(want, sizeof(want), "set OIDC_ISSUER_URL=%s/ ", d->idp.issuer);
    assert_non_null(strstr(buf_cstr(&d->err), want));
    assert_non_null(strstr(buf_cstr(&d->err), "/.well-known/openid-configuration"));
    assert_int_equal(fault_server_hits(d->srv), 1);
}

static void
test_discover_retry_then_success(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_FAIL_TWICE;
    assert_int_equal(oidc_provider_discover(d->idp.issuer, &fast, NULL, &d->p, &d->err), 0);
    assert_int_equal(fault_server_hits(d->srv), 3);
    char *log = logged(d);
    assert_int_equal(count(log, "\"msg\":\"oidc_discovery_retry\""), 2);
    assert_non_null(strstr(log, "\"attempt\":1,\"backoff_ms\":10,\"error\":\"HTTP status 503\""));
    assert_non_null(strstr(log, "\"attempt\":2,\"backoff_ms\":20,"));
    xfree(log);
}

static void
test_discover_final_failure(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_ALWAYS_503;
    assert_int_equal(oidc_provider_discover(d->idp.issuer, &fast, NULL, &d->p, &d->err), -1);
    assert_int_equal(fault_server_hits(d->srv), 5);
    char want[256];
    snprintf(want, sizeof(want),
             "OIDC discovery at %s/.well-known/openid-configuration failed: "
             "HTTP status 503",
             d->idp.issuer);
    assert_string_equal(buf_cstr(&d->err), want);
    char *log = logged(d);
    /* A warning between attempts, none after the last; backoff capped. */
    assert_int_equal(count(log, "\"msg\":\"oidc_discovery_retry\""), 4);
    assert_non_null(strstr(log, "\"attempt\":4,\"backoff_ms\":40,"));
    xfree(log);
}

static void
test_discover_timeout_per_attempt(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_HANG;
    struct oidc_discovery_policy p = {
        .attempts = 2, .timeout_ms = 200, .first_backoff_ms = 10, .max_backoff_ms = 10};
    assert_int_equal(oidc_provider_discover(d->idp.issuer, &p, NULL, &d->p, &d->err), -1);
    assert_non_null(strstr(buf_cstr(&d->err), "failed: timeout"));
    assert_int_equal(fault_server_hits(d->srv), 2);
}

static void
test_discover_stop_flag(void **state)
{
    struct disc *d = *state;
    d->idp.mode = IDP_HANG;
    atomic_bool stop = true;
    uint64_t start = clock_mono_ms();
    assert_int_equal(oidc_provider_discover(d->idp.issuer, NULL, &stop, &d->p, &d->err), -1);
    assert_true(clock_mono_ms() - start < 2000);
    assert_non_null(strstr(buf_cstr(&d->err), "interrupted by a signal"));
}

static void
test_default_policy_is_spec(void **state)
{
    (void)state;
    struct oidc_discovery_policy p = oidc_provider_default_policy();
    assert_int_equal(p.attempts, 5);
    assert_int_equal(p.timeout_ms, 10000);
    assert_int_equal(p.first_backoff_ms, 1000);
    assert_int_equal(p.max_backoff_ms, 15000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good_document),
        cmocka_unit_test(test_algs_default_to_rs256),
        cmocka_unit_test(test_auth_method_choice),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_issuer_must_match_exactly),
        cmocka_unit_test(test_discovery_url),
        cmocka_unit_test(test_authorization_url),
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_default_policy_is_spec),
        cmocka_unit_test_setup_teardown(test_discover_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_slashed_issuer_no_double_slash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_discover_issuer_mismatch_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_retry_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_final_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_timeout_per_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_stop_flag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
