/* fetch: libcurl multi-socket on a libevent loop.
 *
 * The peer is the loopback fault server (support/fault_server.h): these
 * cases are about curl's behaviour on timeouts, oversize bodies, redirects
 * and cancellation, which a real IdP cannot be made to produce on demand.
 * Ordinary success against a real OpenID provider is covered end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fault_server.h"
#include "fetch.h"
#include "loop.h"

struct outcome {
    bool called;
    unsigned calls;
    enum fetch_rc rc;
    long status;
    char *content_type;
    char *body;
    size_t body_len;
};

static void
on_done(void *arg, struct fetch_response *resp)
{
    struct outcome *o = arg;
    o->called = true;
    o->calls++;
    o->rc = resp->rc;
    o->status = resp->status;
    o->body_len = resp->body.len;
    o->body = buf_take(&resp->body);
    o->content_type = resp->content_type;
    resp->content_type = NULL;
}

static void
outcome_cleanup(struct outcome *o)
{
    xfree(o->body);
    xfree(o->content_type);
    memset(o, 0, sizeof(*o));
}

/* The fault server's behaviour, chosen by path. */
static void
handler(void *arg, const struct fault_request *req, struct fault_response *out)
{
    (void)arg;
    if (strcmp(req->path, "/ok") == 0) {
        out->content_type = "application/json; charset=utf-8";
        out->body = "{\"hello\":\"world\"}";
    } else if (strcmp(req->path, "/echo") == 0) {
        out->content_type = "text/plain";
        out->body = "echoed";
    } else if (strcmp(req->path, "/slow") == 0) {
        out->delay_ms = 3000;
        out->body = "late";
    } else if (strcmp(req->path, "/big") == 0) {
        out->filler_bytes = BOUNDS_FETCH_RESPONSE_MAX + 1;
    } else if (strcmp(req->path, "/big-unannounced") == 0) {
        out->filler_bytes = BOUNDS_FETCH_RESPONSE_MAX + 1;
        out->no_content_length = true;
    } else if (strcmp(req->path, "/exactly-cap") == 0) {
        out->filler_bytes = BOUNDS_FETCH_RESPONSE_MAX;
    } else if (strcmp(req->path, "/unavailable") == 0) {
        out->status = 503;
        out->content_type = "application/json";
        out->body = "{\"error\":\"temporarily_unavailable\"}";
    } else if (strcmp(req->path, "/redirect") == 0) {
        out->status = 302;
        out->extra_headers = "Location: /ok\r\n";
    } else if (strcmp(req->path, "/cached") == 0) {
        out->content_type = "application/json";
        out->body = "{}";
        out->extra_headers =
            "Cache-Control: public, max-age=60\r\nExpires: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    } else if (strcmp(req->path, "/hang") == 0) {
        out->hang = true;
    } else {
        out->status = 404;
    }
}

struct env {
    struct event_base *base;
    struct fetch *f;
    struct fault_server *srv;
    char url[256];
};

static int
setup(void **state)
{
    /* Loopback only: a proxy from the environment must not intercept. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    struct env *e = xcalloc(1, sizeof(*e));
    e->base = event_base_new();
    e->f = fetch_new(e->base);
    e->srv = fault_server_start(handler, NULL);
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
    xfree(e);
    return 0;
}

static const char *
url(struct env *e, const char *path)
{
    snprintf(e->url, sizeof(e->url), "%s%s", fault_server_url(e->srv), path);
    return e->url;
}

static void
get(struct env *e, const char *path, uint64_t timeout_ms, struct outcome *o)
{
    struct fetch_options opt = {
        .method = FETCH_GET,
        .url = url(e, path),
        .timeout_ms = timeout_ms,
    };
    struct fetch_request *req = fetch_start(e->f, &opt, on_done, o);
    assert_non_null(req);
    loop_run_until(e->base, &o->called, 10000);
    assert_true(o->called);
    assert_int_equal(fetch_pending(e->f), 0);
}

static void
test_get_success(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/ok", 5000, &o);
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.content_type, "application/json; charset=utf-8");
    assert_string_equal(o.body, "{\"hello\":\"world\"}");
    assert_int_equal(o.calls, 1);
    outcome_cleanup(&o);
}

static void
test_post_sends_body_and_headers(void **state)
{
    struct env *e = *state;
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Authorization: Basic YTpi", NULL};
    const char *body = "grant_type=authorization_code&code=abc";
    struct fetch_options opt = {
        .method = FETCH_POST,
        .url = url(e, "/echo"),
        .headers = headers,
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = 5000,
    };
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 10000);
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.status, 200);
    char *head = fault_server_last_head(e->srv);
    char *got = fault_server_last_body(e->srv);
    assert_non_null(strstr(head, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(head, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(head, "\r\nAuthorization: Basic YTpi\r\n"));
    assert_non_null(strstr(head, "\r\nUser-Agent: mcp-auth-proxy/"));
    assert_string_equal(got, body);
    xfree(head);
    xfree(got);
    outcome_cleanup(&o);
}

static void
test_timeout(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    uint64_t start = clock_mono_ms();
    get(e, "/slow", 200, &o);
    uint64_t took = clock_mono_ms() - start;
    assert_int_equal(o.rc, FETCH_ERR_TIMEOUT);
    assert_int_equal(o.status, 0);
    assert_true(took < 2500);
    assert_string_equal(fetch_rc_str(o.rc), "timeout");
    outcome_cleanup(&o);
}

static void
test_size_cap_announced(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/big", 5000, &o);
    assert_int_equal(o.rc, FETCH_ERR_TOO_LARGE);
    assert_int_equal(o.body_len, 0);
    outcome_cleanup(&o);
}

static void
test_size_cap_unannounced(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/big-unannounced", 5000, &o);
    assert_int_equal(o.rc, FETCH_ERR_TOO_LARGE);
    outcome_cleanup(&o);
}

static void
test_size_cap_exact_fits(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/exactly-cap", 5000, &o);
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.body_len, BOUNDS_FETCH_RESPONSE_MAX);
    outcome_cleanup(&o);
}

static void
test_custom_cap(void **state)
{
    struct env *e = *state;
    struct fetch_options opt = {
        .method = FETCH_GET,
        .url = url(e, "/ok"),
        .timeout_ms = 5000,
        .max_response_bytes = 5,
    };
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 10000);
    assert_int_equal(o.rc, FETCH_ERR_TOO_LARGE);
    outcome_cleanup(&o);
}

static void
test_non_2xx_is_a_response(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/unavailable", 5000, &o);
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.status, 503);
    assert_string_equal(o.body, "{\"error\":\"temporarily_unavailable\"}");
    outcome_cleanup(&o);
}

static void
test_redirect_not_followed(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    get(e, "/redirect", 5000, &o);
    assert_int_equal(o.rc, FETCH_OK);
    assert_int_equal(o.status, 302);
    assert_int_equal(fault_server_hits(e->srv), 1);
    outcome_cleanup(&o);
}

static void
test_cancel_never_calls_back(void **state)
{
    struct env *e = *state;
    struct outcome o = {0};
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/hang"), .timeout_ms = 300};
    struct fetch_request *req = fetch_start(e->f, &opt, on_done, &o);
    assert_non_null(req);
    /* Let the request reach the server, then cancel it. */
    uint64_t end = clock_mono_ms() + 5000;
    while (fault_server_hits(e->srv) == 0 && clock_mono_ms() < end) {
        loop_run_for(e->base, 10);
    }
    assert_int_equal(fault_server_hits(e->srv), 1);
    fetch_cancel(req);
    assert_int_equal(fetch_pending(e->f), 0);
    /* Past the request's own timeout: still no callback. */
    loop_run_for(e->base, 600);
    assert_false(o.called);
}

static void
test_free_cancels_everything(void **state)
{
    struct env *e = *state;
    struct outcome a = {0}, b = {0};
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/hang"), .timeout_ms = 300};
    assert_non_null(fetch_start(e->f, &opt, on_done, &a));
    assert_non_null(fetch_start(e->f, &opt, on_done, &b));
    loop_run_for(e->base, 50);
    assert_int_equal(fetch_pending(e->f), 2);
    fetch_free(e->f);
    e->f = fetch_new(e->base);
    loop_run_for(e->base, 500);
    assert_false(a.called);
    assert_false(b.called);
}

static void
test_connect_refused(void **state)
{
    struct env *e = *state;
    /* A port that was just listening and is now closed refuses. */
    struct fault_server *dead = fault_server_start(handler, NULL);
    char dead_url[128];
    snprintf(dead_url, sizeof(dead_url), "%s/ok", fault_server_url(dead));
    fault_server_stop(dead);
    struct fetch_options opt = {.method = FETCH_GET, .url = dead_url, .timeout_ms = 2000};
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 5000);
    assert_int_equal(o.rc, FETCH_ERR_CONNECT);
    outcome_cleanup(&o);
}

static void
test_other_schemes_refused(void **state)
{
    struct env *e = *state;
    struct fetch_options opt = {
        .method = FETCH_GET, .url = "file:///etc/passwd", .timeout_ms = 2000};
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 5000);
    assert_int_equal(o.rc, FETCH_ERR_BAD_URL);
    outcome_cleanup(&o);
}

/* check_addr (client metadata documents): what it sees, what it says. */
struct addr_check {
    bool allow;
    unsigned calls;
    int family;
};

static bool
check_addr(void *arg, const struct sockaddr *addr)
{
    struct addr_check *c = arg;
    c->calls++;
    c->family = addr->sa_family;
    return c->allow;
}

/* A refused address is never connected to: the server sees nothing and
 * the request ends FETCH_ERR_ADDRESS ("address_refused"). */
static void
test_check_addr_refuses(void **state)
{
    struct env *e = *state;
    struct addr_check c = {.allow = false};
    struct fetch_options opt = {.method = FETCH_GET,
                                .url = url(e, "/ok"),
                                .timeout_ms = 5000,
                                .check_addr = check_addr,
                                .check_arg = &c};
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 10000);
    assert_int_equal(o.rc, FETCH_ERR_ADDRESS);
    assert_string_equal(fetch_rc_str(o.rc), "address_refused");
    assert_true(c.calls >= 1);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(fault_server_hits(e->srv), 0);
    outcome_cleanup(&o);
}

/* An allowed address is fetched; a checked request never rides a pooled
 * connection, so the check runs again for the second one even though an
 * unchecked request just left a reusable connection to the same server. */
static void
test_check_addr_allows_each_connection(void **state)
{
    struct env *e = *state;
    struct outcome plain = {0};
    get(e, "/ok", 5000, &plain); /* leaves a keep-alive connection in curl's pool */
    outcome_cleanup(&plain);
    struct addr_check c = {.allow = true};
    for (unsigned i = 1; i <= 2; i++) {
        struct fetch_options opt = {.method = FETCH_GET,
                                    .url = url(e, "/ok"),
                                    .timeout_ms = 5000,
                                    .check_addr = check_addr,
                                    .check_arg = &c};
        struct outcome o = {0};
        assert_non_null(fetch_start(e->f, &opt, on_done, &o));
        loop_run_until(e->base, &o.called, 10000);
        assert_int_equal(o.rc, FETCH_OK);
        assert_int_equal(o.status, 200);
        assert_int_equal(c.calls, i);
        outcome_cleanup(&o);
    }
}

/* https_only refuses an http URL before any connection. */
static void
test_https_only(void **state)
{
    struct env *e = *state;
    struct addr_check c = {.allow = true};
    struct fetch_options opt = {.method = FETCH_GET,
                                .url = url(e, "/ok"),
                                .timeout_ms = 5000,
                                .https_only = true,
                                .check_addr = check_addr,
                                .check_arg = &c};
    struct outcome o = {0};
    assert_non_null(fetch_start(e->f, &opt, on_done, &o));
    loop_run_until(e->base, &o.called, 10000);
    assert_int_equal(o.rc, FETCH_ERR_BAD_URL);
    assert_int_equal(c.calls, 0);
    assert_int_equal(fault_server_hits(e->srv), 0);
    outcome_cleanup(&o);
}

static void
on_done_headers(void *arg, struct fetch_response *resp)
{
    char **out = arg;
    out[0] = resp->cache_control;
    out[1] = resp->expires;
    resp->cache_control = NULL;
    resp->expires = NULL;
}

/* Cache-Control and Expires come back for the CIMD cache. */
static void
test_cache_headers(void **state)
{
    struct env *e = *state;
    char *got[2] = {NULL, NULL};
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/cached"), .timeout_ms = 5000};
    assert_non_null(fetch_start(e->f, &opt, on_done_headers, got));
    for (int i = 0; i < 100 && fetch_pending(e->f) > 0; i++) {
        event_base_loop(e->base, EVLOOP_ONCE);
    }
    assert_string_equal(got[0], "public, max-age=60");
    assert_string_equal(got[1], "Sun, 06 Nov 1994 08:49:37 GMT");
    xfree(got[0]);
    xfree(got[1]);
    got[0] = got[1] = NULL;
    opt.url = url(e, "/ok");
    assert_non_null(fetch_start(e->f, &opt, on_done_headers, got));
    for (int i = 0; i < 100 && fetch_pending(e->f) > 0; i++) {
        event_base_loop(e->base, EVLOOP_ONCE);
    }
    assert_null(got[0]);
    assert_null(got[1]);
}

/* A callback may start the next request on the same fetch. */
struct chain {
    struct fetch *f;
    const char *next_url;
    struct outcome second;
    bool first_done;
};

static void
on_first(void *arg, struct fetch_response *resp)
{
    struct chain *c = arg;
    assert_int_equal(resp->rc, FETCH_OK);
    c->first_done = true;
    struct fetch_options opt = {.method = FETCH_GET, .url = c->next_url, .timeout_ms = 5000};
    assert_non_null(fetch_start(c->f, &opt, on_done, &c->second));
}

static void
test_callback_may_start_another(void **state)
{
    struct env *e = *state;
    char next[256];
    snprintf(next, sizeof(next), "%s/unavailable", fault_server_url(e->srv));
    struct chain c = {.f = e->f, .next_url = next};
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/ok"), .timeout_ms = 5000};
    assert_non_null(fetch_start(e->f, &opt, on_first, &c));
    loop_run_until(e->base, &c.second.called, 10000);
    assert_true(c.first_done);
    assert_int_equal(c.second.status, 503);
    outcome_cleanup(&c.second);
}

static void
test_blocking_success(void **state)
{
    struct env *e = *state;
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/ok"), .timeout_ms = 5000};
    struct fetch_response r;
    assert_int_equal(fetch_blocking(&opt, NULL, &r), FETCH_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_cstr(&r.body), "{\"hello\":\"world\"}");
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    fetch_response_cleanup(&r);
}

static void
test_blocking_stop_flag(void **state)
{
    struct env *e = *state;
    struct fetch_options opt = {.method = FETCH_GET, .url = url(e, "/hang"), .timeout_ms = 10000};
    atomic_bool stop = true;
    struct fetch_response r;
    uint64_t start = clock_mono_ms();
    assert_int_equal(fetch_blocking(&opt, &stop, &r), FETCH_ERR_STOPPED);
    assert_true(clock_mono_ms() - start < 2000);
    assert_string_equal(fetch_rc_str(r.rc), "stopped");
    fetch_response_cleanup(&r);
}

static void
test_rc_names_complete(void **state)
{
    (void)state;
    for (int i = 0; i < FETCH_RC_COUNT; i++) {
        assert_string_not_equal(fetch_rc_str((enum fetch_rc)i), "unknown");
    }
    assert_string_equal(fetch_rc_str(FETCH_RC_COUNT), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_sends_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_unannounced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_exact_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_2xx_is_a_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_never_calls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_cancels_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_schemes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_addr_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_addr_allows_each_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_may_start_another, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_stop_flag, setup, teardown),
        cmocka_unit_test(test_rc_names_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
