/* Reply helpers: exact content types, bodies and statuses, redirects with
 * a checked Location, and the security headers on every status the
 * helpers produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http_harness.h"

static int redirect_rc;

static void
h_json(struct http_request *req, void *arg)
{
    (void)arg;
    assert_int_equal(http_reply_json(req, 201, "{\"a\":1}\n", 8), 0);
    assert_int_equal(http_reply_json(req, 200, "{}", 2), -1); /* already answered */
}

static void
h_text(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_text(req, 200, "hello", 5);
}

static void
h_html(struct http_request *req, void *arg)
{
    (void)arg;
    http_output_header_set(req, "Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'");
    http_reply_html(req, 200, "<p>x</p>", 8);
}

static void
h_empty(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_empty(req, 200);
}

static void
h_redirect(struct http_request *req, void *arg)
{
    (void)arg;
    redirect_rc = http_reply_redirect(req, "https://client.example/cb?code=x&state=y");
}

static void
h_bad_redirect(struct http_request *req, void *arg)
{
    (void)arg;
    redirect_rc = http_reply_redirect(req, "https://x/\r\nSet-Cookie: a=b");
    if (redirect_rc != 0) {
        http_reply_error(req, 500);
    }
}

static void
h_error(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_error(req, 503);
}

static void
h_error_unknown(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_error(req, 501);
}

static void
h_error_json(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_error_json(req, 502, "bad_gateway", "upstream \"x\" failed\n");
}

static struct http_router *router;
static struct harness H;

static int
setup(void **state)
{
    (void)state;
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_GET, "/json", h_json, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/text", h_text, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/html", h_html, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/empty", h_empty, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/redirect", h_redirect, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/bad-redirect", h_bad_redirect, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/error", h_error, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/error-501", h_error_unknown, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/error-json", h_error_json, NULL, NULL);
    harness_init(&H, router, NULL);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    harness_cleanup(&H);
    http_router_free(router);
    return 0;
}

static struct harness_response
get(const char *path)
{
    struct buf req;
    buf_init(&req, 1024);
    assert_int_equal(buf_appendf(&req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path), 0);
    struct harness_response r;
    assert_true(harness_roundtrip(&H, req.ptr, req.len, &r));
    buf_cleanup(&req);
    return r;
}

static void
assert_security_headers(const struct harness_response *r)
{
    assert_string_equal(harness_header(r, "Strict-Transport-Security"),
                        "max-age=63072000; includeSubDomains");
    assert_string_equal(harness_header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(harness_header(r, "X-Frame-Options"), "DENY");
    assert_string_equal(harness_header(r, "Referrer-Policy"), "no-referrer");
    assert_int_equal(harness_header_count(r, "Content-Security-Policy"), 1);
    assert_int_equal(strlen(harness_header(r, "X-Request-Id")), HTTP_REQUEST_ID_LEN);
}

static void
test_json(void **state)
{
    (void)state;
    struct harness_response r = get("/json");
    assert_int_equal(r.status, 201);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_string_equal(harness_header(&r, "Content-Length"), "8");
    assert_memory_equal(r.body, "{\"a\":1}\n", 8);
    assert_security_headers(&r);
    harness_response_free(&r);
}

static void
test_text_html_empty(void **state)
{
    (void)state;
    struct harness_response r = get("/text");
    assert_string_equal(harness_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_memory_equal(r.body, "hello", 5);
    harness_response_free(&r);
    r = get("/html");
    assert_string_equal(harness_header(&r, "Content-Type"), "text/html; charset=utf-8");
    /* The handler's CSP replaced ours; the others stay. */
    assert_string_equal(harness_header(&r, "Content-Security-Policy"),
                        "default-src 'none'; style-src 'unsafe-inline'");
    assert_security_headers(&r);
    harness_response_free(&r);
    r = get("/empty");
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Length"), "0");
    /* Never a guessed content type. */
    assert_string_equal(harness_header(&r, "Content-Type"), "");
    harness_response_free(&r);
}

static void
test_redirect(void **state)
{
    (void)state;
    struct harness_response r = get("/redirect");
    assert_int_equal(redirect_rc, 0);
    assert_int_equal(r.status, 302);
    assert_string_equal(harness_header(&r, "Location"), "https://client.example/cb?code=x&state=y");
    assert_int_equal(r.body_len, 0);
    assert_security_headers(&r);
    harness_response_free(&r);
    r = get("/bad-redirect");
    assert_int_equal(redirect_rc, -1);
    assert_int_equal(r.status, 500);
    assert_int_equal(harness_header_count(&r, "Set-Cookie"), 0);
    assert_int_equal(harness_header_count(&r, "Location"), 0);
    harness_response_free(&r);
}

static void
test_error_and_not_found(void **state)
{
    (void)state;
    struct harness_response r = get("/error");
    assert_int_equal(r.status, 503);
    assert_memory_equal(r.body, "503 Service Unavailable\n", 24);
    assert_security_headers(&r);
    harness_response_free(&r);
    r = get("/missing");
    assert_int_equal(r.status, 404);
    assert_memory_equal(r.body, "404 page not found\n", 19);
    assert_security_headers(&r);
    harness_response_free(&r);
}

/* The status line and the text body take the reason from one table. */
static void
test_error_reason_matches_status_line(void **state)
{
    (void)state;
    struct harness_response r = get("/error-501");
    assert_int_equal(r.status, 501);
    assert_memory_equal(r.head, "HTTP/1.1 501 Not Implemented\r\n", 30);
    assert_memory_equal(r.body, "501 Not Implemented\n", 20);
    harness_response_free(&r);
}

static void
test_error_json(void **state)
{
    (void)state;
    static const char want[] =
        "{\"error\":\"bad_gateway\",\"error_description\":\"upstream \\\"x\\\" failed\\n\"}";
    struct harness_response r = get("/error-json");
    assert_int_equal(r.status, 502);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_int_equal(r.body_len, sizeof(want) - 1);
    assert_memory_equal(r.body, want, sizeof(want) - 1);
    assert_security_headers(&r);
    harness_response_free(&r);
}

static void
test_format_error_json(void **state)
{
    (void)state;
    static const char body[] =
        "{\"error\":\"temporarily_unavailable\",\"error_description\":\"rate limit exceeded\"}";
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_int_equal(
        http_reply_format_error_json(&b, "temporarily_unavailable", "rate limit exceeded"), 0);
    assert_string_equal(b.ptr + 1, body);
    buf_cleanup(&b);
    /* One byte short: -1 and the buffer as it was. */
    buf_init(&b, sizeof(body) - 1);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_int_equal(
        http_reply_format_error_json(&b, "temporarily_unavailable", "rate limit exceeded"), -1);
    assert_string_equal(b.ptr, "x");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_html_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_and_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_reason_matches_status_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_json, setup, teardown),
        cmocka_unit_test(test_format_error_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
