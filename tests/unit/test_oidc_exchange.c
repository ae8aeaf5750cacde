/* oidc/exchange: the token request we send and how each answer is judged.
 *
 * The token endpoint is the loopback fault server: the cases are exact
 * request bytes (Basic credentials, form body) and failure answers
 * (errors, missing tokens, slow or oversize responses) that a real IdP
 * cannot be made to produce on demand. A real code exchange against a
 * real OpenID provider is part of the end-to-end login tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fault_server.h"
#include "oidc/exchange.h"
#include "oidc/provider.h"
#include "loop.h"

struct idp {
    const char *content_type;
    const char *body;
    int status;
    unsigned delay_ms;
    size_t filler;
};

static void
token_handler(void *arg, const struct fault_request *req, struct fault_response *out)
{
    struct idp *idp = arg;
    if (strcmp(req->path, "/token") != 0 || strcmp(req->method, "POST") != 0) {
        out->status = 404;
        return;
    }
    out->status = idp->status ? idp->status : 200;
    out->content_type = idp->content_type ? idp->content_type : "application/json";
    out->body = idp->body;
    out->delay_ms = idp->delay_ms;
    out->filler_bytes = idp->filler;
}

struct env {
    struct idp idp;
    struct fault_server *srv;
    struct event_base *base;
    struct fetch *f;
    struct oidc_provider *basic;
    struct oidc_provider *post;
};

static struct oidc_provider *
provider_for(const char *origin, const char *methods)
{
    char doc[2048];
    snprintf(doc, sizeof(doc),
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
             "\"token_endpoint_auth_methods_supported\":%s}",
             origin, origin, origin, origin, methods);
    struct oidc_provider *p = NULL;
    struct buf err;
    buf_init(&err, 1024);
    assert_int_equal(oidc_provider_parse(origin, slice_from_cstr(doc), &p, &err), 0);
    buf_cleanup(&err);
    return p;
}

static int
setup(void **state)
{
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    struct env *e = xcalloc(1, sizeof(*e));
    e->srv = fault_server_start(token_handler, &e->idp);
    e->base = event_base_new();
    e->f = fetch_new(e->base);
    e->basic =
        provider_for(fault_server_url(e->srv), "[\"client_secret_post\",\"client_secret_basic\"]");
    e->post = provider_for(fault_server_url(e->srv), "[\"client_secret_post\"]");
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    fetch_free(e->f);
    event_base_free(e->base);
    fault_server_stop(e->srv);
    oidc_provider_free(e->basic);
    oidc_provider_free(e->post);
    xfree(e);
    return 0;
}

struct outcome {
    bool done;
    enum oidc_exchange_rc rc;
    enum fetch_rc fetch_rc;
    long status;
    char id_token[4096];
    char idp_error[64];
};

static void
on_done(void *arg, const struct oidc_exchange_result *r)
{
    struct outcome *o = arg;
    o->done = true;
    o->rc = r->rc;
    o->fetch_rc = r->fetch_rc;
    o->status = r->status;
    if (r->id_token != NULL) {
        snprintf(o->id_token, sizeof(o->id_token), "%.*s", (int)r->id_token_len, r->id_token);
    }
    if (r->idp_error != NULL) {
        snprintf(o->idp_error, sizeof(o->idp_error), "%s", r->idp_error);
    }
}

static const struct oidc_exchange_request request = {
    .client_id = "proxy:client",
    .client_secret = "s&cret+/=",
    .code = "the code",
    .redirect_uri = "https://auth.example.com/callback",
    .code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
};

static void
exchange(struct env *e, const struct oidc_provider *p, const struct oidc_exchange_request *req,
         struct outcome *o)
{
    struct oidc_exchange *x = oidc_exchange_start(e->f, p, req, on_done, o);
    assert_non_null(x);
    loop_run_until(e->base, &o->done, 10000);
    assert_true(o->done);
}

#define GOOD_JSON "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}"

static void
test_basic_auth_request(void **state)
{
    struct env *e = *state;
    e->idp.body = GOOD_JSON;
    struct outcome o = {0};
    exchange(e, e->basic, &request, &o);
    assert_int_equal(o.rc, OIDC_EXCHANGE_OK);
    assert_string_equal(o.id_token, "a.b.c");
    char *head = fault_server_last_head(e->srv);
    char *body = fault_server_last_body(e->srv);
    /* base64("proxy%3Aclient:s%26cret%2B%2F%3D") */
    assert_non_null(
        strstr(head, "\r\nAuthorization: Basic cHJveHklM0FjbGllbnQ6cyUyNmNyZXQlMkIlMkYlM0Q=\r\n"));
    assert_non_null(strstr(head, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_string_equal(body, "grant_type=authorization_code&code=the+code"
                              "&redirect_uri=https%3A%2F%2Fauth.example.com%2Fcallback"
                              "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    xfree(head);
    xfree(body);
}

static void
test_post_auth_request(void **state)
{
    struct env *e = *state;
    e->idp.body = GOOD_JSON;
    struct outcome o = {0};
    exchange(e, e->post, &request, &o);
    assert_int_equal(o.rc, OIDC_EXCHANGE_OK);
    char *head = fault_server_last_head(e->srv);
    char *body = fault_server_last_body(e->srv);
    assert_null(strstr(head, "Authorization:"));
    assert_non_null(strstr(body, "&client_id=proxy%3Aclient&client_secret=s%26cret%2B%2F%3D"));
    xfree(head);
    xfree(body);
}

static void
test_form_encoded_response(void **state)
{
    struct env *e = *state;
    e->idp.content_type = "text/plain; charset=utf-8";
    e->idp.body = "access_token=at&id_token=x.y.z&token_type=bearer";
    struct outcome o = {0};
    exchange(e, e->basic, &request, &o);
    assert_int_equal(o.rc, OIDC_EXCHANGE_OK);
    assert_string_equal(o.id_token, "x.y.z");
    e->idp.content_type = "application/x-www-form-urlencoded";
    e->idp.body = "access_token=at";
    struct outcome o2 = {0};
    exchange(e, e->basic, &request, &o2);
    assert_int_equal(o2.rc, OIDC_EXCHANGE_ERR_NO_ID_TOKEN);
}

static void
test_failures_are_judged(void **state)
{
    struct env *e = *state;
    static const struct {
        int status;
        const char *body;
        enum oidc_exchange_rc want;
        const char *idp_error;
    } cases[] = {
        {400, "{\"error\":\"invalid_grant\"}", OIDC_EXCHANGE_ERR_HTTP_STATUS, "invalid_grant"},
        {401, "{\"error\":\"invalid_client\"}", OIDC_EXCHANGE_ERR_HTTP_STATUS, "invalid_client"},
        {500, "oops", OIDC_EXCHANGE_ERR_HTTP_STATUS, NULL},
        {302, "", OIDC_EXCHANGE_ERR_HTTP_STATUS, NULL},
        {200, "{\"error\":\"access_denied\",\"access_token\":\"x\",\"id_token\":\"a\"}",
         OIDC_EXCHANGE_ERR_IDP_ERROR, "access_denied"},
        {200, "not json", OIDC_EXCHANGE_ERR_MALFORMED, NULL},
        {200, "[]", OIDC_EXCHANGE_ERR_MALFORMED, NULL},
        {200, "{\"access_token\":\"\",\"id_token\":\"a\"}", OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN,
         NULL},
        {200, "{\"access_token\":5,\"id_token\":\"a\"}", OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN, NULL},
        {200, "{\"id_token\":\"a\"}", OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN, NULL},
        {200, "{\"access_token\":\"x\"}", OIDC_EXCHANGE_ERR_NO_ID_TOKEN, NULL},
        {200, "{\"access_token\":\"x\",\"id_token\":{\"a\":1}}", OIDC_EXCHANGE_ERR_NO_ID_TOKEN,
         NULL},
        {200, "{\"access_token\":\"x\",\"id_token\":null}", OIDC_EXCHANGE_ERR_NO_ID_TOKEN, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e->idp.status = cases[i].status;
        e->idp.body = cases[i].body;
        struct outcome o = {0};
        unsigned before = fault_server_hits(e->srv);
        exchange(e, e->basic, &request, &o);
        assert_int_equal(o.rc, cases[i].want);
        assert_int_equal(o.status, cases[i].status);
        assert_string_equal(o.idp_error, cases[i].idp_error ? cases[i].idp_error : "");
        /* One request per exchange: never a retry with the other method. */
        assert_int_equal(fault_server_hits(e->srv), before + 1);
    }
}

static void
test_timeout_and_size_cap(void **state)
{
    struct env *e = *state;
    e->idp.body = GOOD_JSON;
    e->idp.delay_ms = 2000;
    struct oidc_exchange_request quick = request;
    quick.timeout_ms = 200;
    struct outcome o = {0};
    exchange(e, e->basic, &quick, &o);
    assert_int_equal(o.rc, OIDC_EXCHANGE_ERR_TRANSPORT);
    assert_int_equal(o.fetch_rc, FETCH_ERR_TIMEOUT);
    e->idp.delay_ms = 0;
    e->idp.filler = BOUNDS_FETCH_RESPONSE_MAX + 1;
    struct outcome o2 = {0};
    exchange(e, e->basic, &request, &o2);
    assert_int_equal(o2.rc, OIDC_EXCHANGE_ERR_TRANSPORT);
    assert_int_equal(o2.fetch_rc, FETCH_ERR_TOO_LARGE);
}

static void
test_cancel(void **state)
{
    struct env *e = *state;
    e->idp.body = GOOD_JSON;
    e->idp.delay_ms = 300;
    struct outcome o = {0};
    struct oidc_exchange *x = oidc_exchange_start(e->f, e->basic, &request, on_done, &o);
    assert_non_null(x);
    oidc_exchange_cancel(x);
    loop_run_for(e->base, 600);
    assert_false(o.done);
    assert_int_equal(fetch_pending(e->f), 0);
}

static void
test_rc_names(void **state)
{
    (void)state;
    for (int i = 0; i < OIDC_EXCHANGE_RC_COUNT; i++) {
        assert_string_not_equal(oidc_exchange_rc_str((enum oidc_exchange_rc)i), "unknown");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_auth_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_auth_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_encoded_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_are_judged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test(test_rc_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
