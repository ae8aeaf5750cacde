/* The response writer's rules that the connection tests do not pin: the
 * header edit calls (set replaces all, remove, get, limits), status
 * bounds, the pending/started/ended states, and write_buffer's move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "base/buf.h"
#include "bounds.h"
#include "http/output.h"
#include "http/request.h"
#include "http/router.h"
#include "http/status.h"
#include "http_harness.h"

static void
h_headers(struct http_request *req, void *arg)
{
    (void)arg;
    assert_false(http_output_is_started(req));
    assert_int_equal(http_output_header_add(req, "X-Multi", "1"), 0);
    assert_int_equal(http_output_header_add(req, "x-multi", "2"), 0);
    assert_string_equal(http_output_header_get(req, "X-MULTI"), "1");
    assert_int_equal(http_output_header_set(req, "X-Multi", "3"), 0);
    assert_string_equal(http_output_header_get(req, "x-multi"), "3");
    assert_int_equal(http_output_header_add(req, "X-Gone", "1"), 0);
    assert_int_equal(http_output_header_remove(req, "x-gone"), 0);
    assert_null(http_output_header_get(req, "X-Gone"));
    assert_int_equal(http_output_header_remove(req, "X-Never"), 0);
    /* Values: tab and obs-text pass, control bytes do not. */
    assert_int_equal(http_output_header_add(req, "X-Tab", "a\tb \xc3\xa9"), 0);
    assert_int_equal(http_output_header_add(req, "X-Nul", "a\x01"), -1);
    assert_int_equal(http_output_header_add(req, "X-Del", "a\x7f"), -1);
    assert_int_equal(http_output_header_add(req, "", "v"), -1);
    assert_int_equal(http_output_header_add(req, "Transfer-Encoding", "chunked"), -1);
    assert_int_equal(http_output_header_add(req, "Date", "x"), -1);
    assert_int_equal(http_output_header_add_upstream(req, "Keep-Alive", 10, "timeout=5", 9), 0);
    assert_null(http_output_header_get(req, "Keep-Alive"));
    assert_int_equal(http_output_header_add_upstream(req, "X-Up", 4, "a\nb", 3), -1);
    /* Status stays within 200..599. */
    http_output_set_status(req, 99);
    assert_int_equal(http_output_status(req), 200);
    http_output_set_status(req, 600);
    assert_int_equal(http_output_status(req), 200);
    http_output_set_status(req, 202);
    assert_int_equal(http_output_start_length(req, 4), 0);
    assert_true(http_output_is_started(req));
    /* After the head: no more edits, no second start. */
    assert_int_equal(http_output_header_add(req, "X-Late", "1"), -1);
    assert_int_equal(http_output_start(req), -1);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, "body", 4);
    assert_int_equal(http_output_write_buffer(req, b), 0);
    assert_int_equal(evbuffer_get_length(b), 0);
    evbuffer_free(b);
    assert_false(http_output_is_ended(req));
    assert_int_equal(http_output_end(req), 0);
    assert_true(http_output_is_ended(req));
    assert_int_equal(http_request_response_status(req), 202);
    assert_int_equal(http_request_response_bytes(req), 4);
}

static void
h_many(struct http_request *req, void *arg)
{
    (void)arg;
    int rc = 0;
    for (int i = 0; i < BOUNDS_RESPONSE_HEADER_COUNT_MAX + 5 && rc == 0; i++) {
        rc = http_output_header_add(req, "X-N", "v");
    }
    assert_int_equal(rc, -1); /* the cap, not unbounded growth */
    http_output_end(req);     /* ends an untouched response: empty 200 */
}

static char long_value[3000];

/* A head past the formatter's 2 KiB stack buffer, HTTP/1.0 keep-alive. */
static void
h_bytes(struct http_request *req, void *arg)
{
    (void)arg;
    memset(long_value, 'v', sizeof(long_value) - 1);
    assert_int_equal(http_output_header_add(req, "X-A", "1"), 0);
    assert_int_equal(http_output_header_add(req, "X-Long", long_value), 0);
    http_output_set_status(req, 201);
    assert_int_equal(http_output_start_length(req, 2), 0);
    assert_int_equal(http_output_write(req, "ok", 2), 0);
    assert_int_equal(http_output_end(req), 0);
}

/* Chunked, and a status whose reason is not the common one. */
static void
h_chunked(struct http_request *req, void *arg)
{
    (void)arg;
    http_output_set_status(req, 418);
    assert_int_equal(http_output_start(req), 0);
    assert_int_equal(http_output_write(req, "ok", 2), 0);
    assert_int_equal(http_output_end(req), 0);
}

static struct http_router *router;
static struct harness H;

static int
setup(void **state)
{
    (void)state;
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_GET, "/headers", h_headers, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/many", h_many, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/bytes", h_bytes, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/chunked", h_chunked, NULL, NULL);
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
get(const char *raw)
{
    struct harness_response r;
    assert_true(harness_roundtrip(&H, raw, strlen(raw), &r));
    return r;
}

static void
test_header_edits(void **state)
{
    (void)state;
    struct harness_response r = get("GET /headers HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(r.status, 202);
    assert_int_equal(harness_header_count(&r, "X-Multi"), 1);
    assert_string_equal(harness_header(&r, "X-Multi"), "3");
    assert_string_equal(harness_header(&r, "X-Tab"), "a\tb \xc3\xa9");
    assert_int_equal(harness_header_count(&r, "Keep-Alive"), 0);
    assert_int_equal(harness_header_count(&r, "Date"), 1);
    assert_memory_equal(r.body, "body", 4);
    harness_response_free(&r);
}

static void
test_header_cap(void **state)
{
    (void)state;
    struct harness_response r = get("GET /many HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Length"), "0");
    /* The five security headers came first and count toward the cap. */
    assert_int_equal(harness_header_count(&r, "X-N"), BOUNDS_RESPONSE_HEADER_COUNT_MAX - 5);
    harness_response_free(&r);
}

/* The whole response, byte for byte, as the head was formatted before it
 * was built in one piece (one evbuffer_add). */
static void
raw_exchange(const char *request, struct buf *in)
{
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, request);
    buf_init(in, 1 << 20);
    harness_wait_responses(&H, fd, in, 1, 2000);
    close(fd);
}

/* What every public response carries first (output.c). */
#define SECURITY_LINES                                                                             \
    "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"                           \
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"                                 \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"

static void
test_head_bytes(void **state)
{
    (void)state;
    struct buf in;
    raw_exchange("GET /bytes HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &in);
    struct harness_response r;
    assert_true(harness_parse(in.ptr, in.len, false, false, &r) > 0);
    char want[8192];
    const char *id = harness_header(&r, "X-Request-Id");
    assert_non_null(id); /* the harness's server is public */
    snprintf(want, sizeof(want),
             "HTTP/1.1 201 Created\r\nDate: %s\r\n" SECURITY_LINES "X-A: 1\r\nX-Long: %s\r\n%s%s%s"
             "Content-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
             harness_header(&r, "Date"), long_value, id ? "X-Request-Id: " : "", id ? id : "",
             id ? "\r\n" : "");
    assert_string_equal(buf_cstr(&in), want);
    harness_response_free(&r);
    buf_cleanup(&in);

    raw_exchange("GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n", &in);
    assert_true(harness_parse(in.ptr, in.len, false, false, &r) > 0);
    id = harness_header(&r, "X-Request-Id");
    snprintf(want, sizeof(want),
             "HTTP/1.1 418 %s\r\nDate: %s\r\n" SECURITY_LINES "%s%s%s"
             "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
             http_status_reason(418), harness_header(&r, "Date"), id ? "X-Request-Id: " : "",
             id ? id : "", id ? "\r\n" : "");
    assert_string_equal(buf_cstr(&in), want);
    harness_response_free(&r);
    buf_cleanup(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
