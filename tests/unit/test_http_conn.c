/* The connection layer end to end over socketpairs: keep-alive and
 * pipelining, the decisions taken between head and body (404, 405, 413,
 * 100-continue, head check, rate limit), timeouts, malformed input, client
 * close at any moment, flood cut-off, streaming framings, back-pressure,
 * abort, and drain. Under ASan every abort path is also a use-after-free
 * and leak check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <malloc.h>
#include <netinet/in.h>

#include "base/arena.h"
#include "base/ipaddr.h"
#include "bounds.h"
#include "http/ip_budget.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "http_harness.h"
#include "metrics.h"
#include "worker.h"

struct ctx {
    int calls;
    int freed;        /* requests whose arena was freed */
    int max_unfreed;  /* most finished-but-not-freed requests seen by a handler */
    size_t heap_base; /* mallinfo2().uordblks when the test started sampling */
    size_t heap_peak; /* highest growth over heap_base seen by a handler */
    int aborts;
    int finishes;
    int drains;
    int congested;
    int head_checks;
    bool deny_rate;
    struct event *timer;
    struct http_request *pending;
    size_t stream_left;
};

static struct ctx g;

static void
on_finish(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    g.finishes++;
}

static void
h_ok(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_request_on_finish(req, on_finish, NULL);
    http_reply_text(req, 200, "ok", 2);
}

static void
h_echo(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    struct slice body = http_request_body_slice(req);
    http_reply_text(req, 200, body.ptr, body.len);
}

static void
on_late(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_request *req = arg;
    event_free(g.timer);
    g.timer = NULL;
    g.pending = NULL;
    http_reply_text(req, 200, "late", 4);
}

static void
on_abort(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    g.aborts++;
    if (g.timer != NULL) {
        event_free(g.timer);
        g.timer = NULL;
    }
    g.pending = NULL;
}

static void
h_async(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_request_on_abort(req, on_abort, NULL);
    http_request_on_finish(req, on_finish, NULL);
    g.pending = req;
    g.timer = evtimer_new(http_request_worker(req)->base, on_late, req);
    struct timeval tv = {0, 50 * 1000};
    event_add(g.timer, &tv);
}

static void
h_stream(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_output_header_add(req, "Content-Type", "text/event-stream");
    assert_int_equal(http_output_start(req), 0);
    assert_int_equal(http_output_write(req, "data: a\n\n", 9), 0);
    assert_int_equal(http_output_write(req, "", 0), 0);
    assert_int_equal(http_output_write(req, "data: b\n\n", 9), 0);
    assert_int_equal(http_output_end(req), 0);
    assert_int_equal(http_output_end(req), -1);
}

static void
h_stream_abort(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_output_start(req);
    http_output_write(req, "partial", 7);
    http_output_abort(req);
    assert_int_equal(http_output_write(req, "x", 1), -1);
}

static void
h_short_length(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_output_start_length(req, 10);
    http_output_write(req, "12345", 5);
    assert_int_equal(http_output_write(req, "123456", 6), -1); /* past the length */
    http_output_end(req);                                      /* short: aborted */
}

static void big_write(struct http_request *req, void *arg);

static void
on_drained(struct http_request *req, void *arg)
{
    g.drains++;
    big_write(req, arg);
}

/* Writes g.stream_left bytes, pausing whenever the client output is above
 * the high-water mark, as the proxy does. */
static void
big_write(struct http_request *req, void *arg)
{
    static char block[16384];
    memset(block, 'x', sizeof(block));
    while (g.stream_left > 0) {
        if (http_output_is_congested(req)) {
            g.congested++;
            http_output_on_drain(req, on_drained, arg);
            return;
        }
        size_t n = g.stream_left < sizeof(block) ? g.stream_left : sizeof(block);
        assert_int_equal(http_output_write(req, block, n), 0);
        g.stream_left -= n;
    }
    http_output_end(req);
}

static void
h_big(struct http_request *req, void *arg)
{
    g.calls++;
    http_request_on_abort(req, on_abort, NULL);
    http_output_start(req);
    big_write(req, arg);
}

static void
h_204(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_output_set_status(req, 204);
    http_output_start(req);
    http_output_write(req, "ignored", 7);
    http_output_end(req);
}

static void
h_csp(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    assert_int_equal(http_output_header_set(req, "Content-Security-Policy", "default-src 'self'"),
                     0);
    assert_int_equal(http_output_header_add_upstream(req, "content-security-policy", 23, "evil", 4),
                     0);
    assert_int_equal(http_output_header_add_upstream(req, "X-Request-Id", 12, "up", 2), 0);
    assert_int_equal(http_output_header_add_upstream(req, "X-Upstream", 10, "yes", 3), 0);
    assert_int_equal(http_output_header_add(req, "X-Bad", "a\r\nInjected: 1"), -1);
    assert_int_equal(http_output_header_add(req, "Bad Name", "v"), -1);
    assert_int_equal(http_output_header_add(req, "Content-Length", "5"), -1);
    assert_int_equal(http_output_header_add(req, "Connection", "keep-alive"), -1);
    http_reply_text(req, 200, "csp", 3);
}

/* A stream that sends one event and then nothing until the test ends it
 * (g.pending): an idle SSE stream. */
static void
h_quiet(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    http_request_on_abort(req, on_abort, NULL);
    http_request_on_finish(req, on_finish, NULL);
    http_output_header_add(req, "Content-Type", "text/event-stream");
    http_output_start(req);
    http_output_write(req, "data: hello\n\n", 13);
    g.pending = req;
}

static void
on_arena_freed(void *ptr)
{
    (void)ptr;
    g.freed++;
}

/* Counts, at each call, the earlier requests on record that were answered
 * but not yet freed. */
static void
h_count(struct http_request *req, void *arg)
{
    (void)arg;
    int unfreed = g.calls - g.freed;
    if (unfreed > g.max_unfreed) {
        g.max_unfreed = unfreed;
    }
    g.calls++;
    size_t heap = mallinfo2().uordblks;
    if (g.heap_base != 0 && heap > g.heap_base && heap - g.heap_base > g.heap_peak) {
        g.heap_peak = heap - g.heap_base;
    }
    arena_on_free(http_request_arena(req), on_arena_freed, NULL);
    http_reply_text(req, 200, "k", 1);
}

/* Answers with the body's length. */
static void
h_upload(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    char n[32];
    int len = snprintf(n, sizeof(n), "%zu", evbuffer_get_length(http_request_body(req)));
    http_reply_text(req, 200, n, (size_t)len);
}

static bool
deny_check(struct http_request *req, void *arg)
{
    (void)arg;
    g.head_checks++;
    http_output_header_set(req, "WWW-Authenticate", "Bearer");
    http_reply_json(req, 401, "{}", 2);
    return false;
}

static bool
allow_check(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    g.head_checks++;
    return true;
}

static bool
rate_limiter(void *arg, enum metrics_endpoint bucket, struct http_request *req)
{
    (void)arg;
    (void)req;
    assert_int_equal(bucket, METRICS_ENDPOINT_TOKEN);
    return !g.deny_rate;
}

/* A route's own 429 (http_route_opts.rate_limited_reply), as the CORS
 * endpoints use: the plain answer plus a header of its own. */
static void
h_limited(struct http_request *req, void *arg)
{
    (void)arg;
    g.calls++;
    assert_int_equal(http_output_header_set(req, "X-Own-429", "1"), 0);
    (void)http_reply_rate_limited(req);
}

static struct http_router *router;
static struct harness H;

static int
setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_GET, "/ok", h_ok, NULL, NULL);
    struct http_route_opts small = {.body_max = 16};
    http_router_add(router, HTTP_METHODS_POST, "/echo", h_echo, NULL, &small);
    http_router_add(router, HTTP_METHODS_GET, "/async", h_async, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/stream", h_stream, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/stream-abort", h_stream_abort, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/short", h_short_length, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/big", h_big, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/204", h_204, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/csp", h_csp, NULL, NULL);
    struct http_route_opts guarded = {.body_max = 1024, .head_check = deny_check};
    http_router_add_prefix(router, HTTP_METHODS_ANY, "/mcp", h_echo, NULL, &guarded);
    struct http_route_opts checked = {.body_max = 1024, .head_check = allow_check};
    http_router_add(router, HTTP_METHODS_POST, "/checked", h_echo, NULL, &checked);
    struct http_route_opts limited = {.rate_limited = true, .bucket = METRICS_ENDPOINT_TOKEN};
    http_router_add(router, HTTP_METHODS_POST, "/token", h_echo, NULL, &limited);
    struct http_route_opts own429 = {
        .rate_limited = true, .bucket = METRICS_ENDPOINT_TOKEN, .rate_limited_reply = h_limited};
    http_router_add(router, HTTP_METHODS_POST, "/own429", h_echo, NULL, &own429);
    http_router_add(router, HTTP_METHODS_GET, "/quiet", h_quiet, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/count", h_count, NULL, NULL);
    struct http_route_opts upload = {.body_max = 4096};
    http_router_add(router, HTTP_METHODS_POST, "/upload", h_upload, NULL, &upload);
    http_router_set_rate_limiter(router, rate_limiter, NULL);
    struct harness_opts o = {
        .is_public = true, .head_timeout_ms = 150, .body_timeout_ms = 150, .idle_timeout_ms = 300};
    harness_init(&H, router, &o);
    metrics_reset();
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

/* Sends req on a new connection and collects what comes back until n
 * responses arrived or the connection closed. */
static bool
exchange(const char *req, int n, struct buf *out, int *out_fd)
{
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, req);
    bool eof = harness_wait_responses(&H, fd, out, n, 2000);
    if (out_fd != NULL) {
        *out_fd = fd;
    } else {
        close(fd);
    }
    return eof;
}

static struct harness_response parse_nth(const struct buf *out, int index, bool eof);

/* One request on a new connection of harness h, expecting status. */
static void
exchange_on(struct harness *h, const char *req, int status)
{
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd = harness_connect(h);
    harness_send_str(h, fd, req);
    bool eof = harness_wait_responses(h, fd, &out, 1, 2000);
    struct harness_response r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, status);
    harness_response_free(&r);
    close(fd);
    buf_cleanup(&out);
}

static struct harness_response
parse_nth(const struct buf *out, int index, bool eof)
{
    size_t off = 0;
    struct harness_response r = {0};
    for (int i = 0; i <= index; i++) {
        harness_response_free(&r);
        size_t used = harness_parse(out->ptr + off, out->len - off, eof, false, &r);
        if (used == 0 && !(eof && r.head != NULL)) {
            fail_msg("response %d missing in: %s", i, out->ptr ? out->ptr : "");
        }
        off += used;
    }
    return r;
}

static void
test_keep_alive_and_security_headers(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd;
    exchange("GET /ok HTTP/1.1\r\nHost: a\r\nX-Request-Id: client-chosen\r\n\r\n", 1, &out, &fd);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "ok", 2);
    assert_string_equal(harness_header(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    assert_string_equal(harness_header(&r, "Referrer-Policy"), "no-referrer");
    assert_string_equal(harness_header(&r, "Strict-Transport-Security"),
                        "max-age=63072000; includeSubDomains");
    assert_string_equal(harness_header(&r, "Content-Security-Policy"),
                        "default-src 'none'; frame-ancestors 'none'");
    const char *id = harness_header(&r, "X-Request-Id");
    assert_int_equal(strlen(id), HTTP_REQUEST_ID_LEN);
    assert_string_not_equal(id, "client-chosen");
    assert_string_equal(harness_header(&r, "Connection"), "");
    harness_response_free(&r);
    /* The same connection serves a second request. */
    buf_reset(&out);
    harness_send_str(&H, fd, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_false(harness_wait_responses(&H, fd, &out, 1, 2000));
    r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    assert_int_equal(g.calls, 2);
    assert_int_equal(g.finishes, 2);
    close(fd);
    buf_cleanup(&out);
}

static void
test_pipelined_in_order(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    /* The first answer comes 50 ms later, the second at once: order holds. */
    exchange("GET /async HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n", 2, &out,
             NULL);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "late", 4);
    harness_response_free(&r);
    r = parse_nth(&out, 1, false);
    assert_memory_equal(r.body, "ok", 2);
    harness_response_free(&r);
    assert_int_equal(g.aborts, 0);
    buf_cleanup(&out);
}

static void
test_http10(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    bool eof = exchange("GET /ok HTTP/1.0\r\n\r\n", 1, &out, NULL);
    struct harness_response r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Connection"), "close");
    harness_response_free(&r);
    buf_reset(&out);
    int fd;
    exchange("GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, &out, &fd);
    r = parse_nth(&out, 0, false);
    assert_string_equal(harness_header(&r, "Connection"), "keep-alive");
    harness_response_free(&r);
    close(fd);
    /* A stream to an HTTP/1.0 client is close-delimited. */
    buf_reset(&out);
    eof = exchange("GET /stream HTTP/1.0\r\n\r\n", 1, &out, NULL);
    assert_true(eof || harness_pump(&H, -1, NULL, 10));
    r = parse_nth(&out, 0, true);
    assert_false(r.chunked);
    assert_string_equal(harness_header(&r, "Content-Length"), "");
    assert_int_equal(r.body_len, 18);
    harness_response_free(&r);
    buf_cleanup(&out);
}

static void
test_not_found_and_method_not_allowed(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd;
    exchange("GET /nope HTTP/1.1\r\nHost: a\r\n\r\nPOST /ok HTTP/1.1\r\nHost: a\r\n\r\n"
             "HEAD /ok HTTP/1.1\r\nHost: a\r\n\r\n",
             2, &out, &fd);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 404);
    assert_string_equal(harness_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_int_equal(r.body_len, 19);
    assert_memory_equal(r.body, "404 page not found\n", 19);
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    harness_response_free(&r);
    r = parse_nth(&out, 1, false);
    assert_int_equal(r.status, 405);
    assert_string_equal(harness_header(&r, "Allow"), "GET, HEAD");
    assert_int_equal(r.body_len, 0);
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    harness_response_free(&r);
    /* HEAD is answered by the GET route, without a body but with its length. */
    size_t off = 0;
    for (int i = 0; i < 2; i++) {
        struct harness_response skip;
        off += harness_parse(out.ptr + off, out.len - off, false, false, &skip);
        harness_response_free(&skip);
    }
    harness_pump(&H, fd, &out, 20);
    struct harness_response head;
    size_t used = harness_parse(out.ptr + off, out.len - off, false, true, &head);
    assert_true(used > 0);
    assert_int_equal(head.status, 200);
    assert_string_equal(harness_header(&head, "Content-Length"), "2");
    assert_int_equal(out.len, off + used); /* nothing after the head */
    harness_response_free(&head);
    close(fd);
    buf_cleanup(&out);
}

static void
test_body_collected_and_capped(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    exchange("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
             1, &out, NULL);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "abcde", 5);
    harness_response_free(&r);

    /* Over the route's cap by Content-Length: 413 before the body, close. */
    buf_reset(&out);
    int calls = g.calls;
    bool eof =
        exchange("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n", 1, &out, NULL);
    r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 413);
    assert_string_equal(harness_header(&r, "Connection"), "close");
    assert_string_equal(harness_header(&r, "X-Content-Type-Options"), "nosniff");
    harness_response_free(&r);
    assert_int_equal(g.calls, calls);

    /* Over the cap in chunks: 413 once the cap is crossed. */
    buf_reset(&out);
    eof = exchange("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n",
                   1, &out, NULL);
    r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 413);
    harness_response_free(&r);
    assert_int_equal(g.calls, calls);
    buf_cleanup(&out);
}

static void
test_expect_continue(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd = harness_connect(&H);
    harness_send_str(&H, fd,
                     "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                     "Content-Length: 4\r\n\r\n");
    harness_pump(&H, fd, &out, 20);
    assert_non_null(out.ptr);
    assert_memory_equal(out.ptr, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    harness_send_str(&H, fd, "ping");
    harness_wait_responses(&H, fd, &out, 1, 2000);
    struct harness_response r;
    assert_true(harness_parse(out.ptr + 25, out.len - 25, false, false, &r) > 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "ping", 4);
    harness_response_free(&r);
    close(fd);

    /* Refused head: 413 and no 100. */
    buf_reset(&out);
    bool eof = exchange("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                        "Content-Length: 100\r\n\r\n",
                        1, &out, NULL);
    r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 413);
    harness_response_free(&r);
    assert_null(strstr(out.ptr, "100 Continue"));

    /* An expectation we cannot meet. */
    buf_reset(&out);
    eof = exchange("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
                   1, &out, NULL);
    r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 417);
    harness_response_free(&r);
    buf_cleanup(&out);
}

static void
test_head_check_refuses_before_body(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int calls = g.calls;
    bool eof =
        exchange("POST /mcp/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", 1, &out, NULL);
    struct harness_response r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 401);
    assert_string_equal(harness_header(&r, "WWW-Authenticate"), "Bearer");
    assert_string_equal(harness_header(&r, "Connection"), "close");
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "DENY");
    harness_response_free(&r);
    assert_int_equal(g.calls, calls);
    assert_int_equal(g.head_checks, 1);

    buf_reset(&out);
    exchange("POST /checked HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", 1, &out, NULL);
    r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "hi", 2);
    harness_response_free(&r);
    assert_int_equal(g.head_checks, 2);
    buf_cleanup(&out);
}

static void
test_rate_limit_call_site(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    g.deny_rate = true;
    exchange("POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 1, &out, NULL);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 429);
    assert_string_equal(harness_header(&r, "Retry-After"), "60");
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_string_equal(r.body, "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                                "\"rate limit exceeded\"}");
    assert_int_equal(harness_header_count(&r, "X-Own-429"), 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_rate_limited(METRICS_ENDPOINT_TOKEN), 1);

    /* A route with its own 429 answer: that one, counted the same, and
     * the handler never runs. */
    buf_reset(&out);
    int calls = g.calls;
    exchange("POST /own429 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 1, &out, NULL);
    r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 429);
    assert_string_equal(harness_header(&r, "X-Own-429"), "1");
    assert_string_equal(harness_header(&r, "Retry-After"), "60");
    harness_response_free(&r);
    assert_int_equal(g.calls, calls + 1); /* h_limited only */
    assert_int_equal(metrics_get_rate_limited(METRICS_ENDPOINT_TOKEN), 2);

    g.deny_rate = false;
    buf_reset(&out);
    exchange("POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 1, &out, NULL);
    r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    buf_cleanup(&out);
}

/* Malformed input: one error response, Connection: close, and the bytes
 * after it are never served as a request. */
static void
test_malformed_closes(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "GET /ok HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n"),
        "GET /ok HTTP/1.1\r\nHost : a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /ok HTTP/1.1\r\nHost: a\r\n\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct buf out;
        buf_init(&out, 1 << 20);
        int calls = g.calls;
        int fd = harness_connect(&H);
        harness_send_str(&H, fd, inputs[i]);
        bool eof = harness_pump(&H, fd, &out, 60);
        assert_true(eof);
        struct harness_response r = parse_nth(&out, 0, eof);
        assert_int_equal(r.status, 400);
        assert_string_equal(harness_header(&r, "Connection"), "close");
        assert_string_equal(harness_header(&r, "X-Content-Type-Options"), "nosniff");
        assert_int_equal(strlen(harness_header(&r, "X-Request-Id")), HTTP_REQUEST_ID_LEN);
        harness_response_free(&r);
        assert_int_equal(harness_count_responses(out.ptr, out.len, true), 1);
        assert_int_equal(g.calls, calls);
        close(fd);
        buf_cleanup(&out);
    }
}

static void
test_head_timeout_and_idle(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /ok HTTP/1.1\r\nHo");
    bool eof = harness_pump(&H, fd, &out, 400);
    assert_true(eof);
    struct harness_response r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 408);
    harness_response_free(&r);
    close(fd);

    /* A connection that never speaks is closed without a response. */
    buf_reset(&out);
    fd = harness_connect(&H);
    eof = harness_pump(&H, fd, &out, 400);
    assert_true(eof);
    assert_int_equal(out.len, 0);
    close(fd);

    /* Idle keep-alive: closed quietly after the idle timeout. */
    buf_reset(&out);
    exchange("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n", 1, &out, &fd);
    size_t after_first = out.len;
    eof = harness_pump(&H, fd, &out, 200);
    assert_false(eof); /* 200 ms < 300 ms idle */
    eof = harness_pump(&H, fd, &out, 300);
    assert_true(eof);
    assert_int_equal(out.len, after_first);
    close(fd);

    /* Body timeout. */
    buf_reset(&out);
    fd = harness_connect(&H);
    harness_send_str(&H, fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
    eof = harness_pump(&H, fd, &out, 400);
    assert_true(eof);
    r = parse_nth(&out, 0, eof);
    assert_int_equal(r.status, 408);
    harness_response_free(&r);
    close(fd);
    buf_cleanup(&out);
}

/* No timer runs while a response is in progress: a handler slower than
 * every read timeout still answers. */
static void
test_no_timeout_while_responding(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 16 << 20);
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    g.stream_left = 4 * 1024 * 1024; /* more than the socket holds: the handler waits */
    harness_pump(&H, -1, NULL, 500); /* longer than head, body and idle timeouts */
    /* A bound, not a timing: 4 MiB under ASan at load 20 once took 5.4 s. */
    bool eof = harness_wait_responses(&H, fd, &out, 1, 30000);
    assert_false(eof);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_true(r.chunked);
    assert_int_equal(r.body_len, 4 * 1024 * 1024);
    harness_response_free(&r);
    assert_true(g.congested > 0);
    assert_int_equal(g.drains, g.congested);
    assert_int_equal(g.aborts, 0);
    close(fd);
    buf_cleanup(&out);
}

static void
test_client_gone_before_first_byte(void **state)
{
    (void)state;
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&H, -1, NULL, 10);
    assert_non_null(g.pending);
    close(fd);
    harness_pump(&H, -1, NULL, 100);
    assert_int_equal(g.aborts, 1);
    assert_int_equal(g.finishes, 1);
    assert_null(g.timer);
}

static void
test_client_gone_mid_stream(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 16 << 20);
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    g.stream_left = 8 * 1024 * 1024;
    harness_pump(&H, -1, NULL, 20); /* the socket fills; the handler waits for a drain */
    char some[4096];
    assert_true(read(fd, some, sizeof(some)) > 0); /* the stream had started */
    assert_true(g.congested > 0);
    close(fd);
    harness_pump(&H, -1, NULL, 100);
    assert_int_equal(g.aborts, 1);
    assert_true(g.stream_left > 0);
    buf_cleanup(&out);
}

static void
test_pipelined_flood_is_cut(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&H, -1, NULL, 5);
    static char flood[BOUNDS_PIPELINE_INPUT_MAX + 8192];
    memset(flood, 'A', sizeof(flood));
    harness_send(&H, fd, flood, sizeof(flood));
    bool eof = harness_pump(&H, fd, &out, 50);
    assert_true(eof);
    assert_int_equal(g.aborts, 1);
    close(fd);
    buf_cleanup(&out);
}

static void
test_stream_framings(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    int fd;
    exchange("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n", 1, &out, &fd);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_true(r.chunked);
    assert_string_equal(harness_header(&r, "Content-Type"), "text/event-stream");
    assert_int_equal(r.body_len, 18);
    assert_memory_equal(r.body, "data: a\n\ndata: b\n\n", 18);
    harness_response_free(&r);
    /* HEAD on a stream: head only, connection reusable. */
    buf_reset(&out);
    harness_send_str(&H, fd,
                     "HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&H, fd, &out, 30);
    struct harness_response head;
    size_t used = harness_parse(out.ptr, out.len, false, true, &head);
    assert_true(used > 0);
    assert_string_equal(harness_header(&head, "Transfer-Encoding"), "");
    harness_response_free(&head);
    assert_true(harness_parse(out.ptr + used, out.len - used, false, false, &r) > 0);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    close(fd);

    /* 204: no body, no length, whatever the handler wrote. */
    buf_reset(&out);
    exchange("GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n", 2, &out,
             NULL);
    r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 204);
    assert_string_equal(harness_header(&r, "Content-Length"), "");
    assert_string_equal(harness_header(&r, "Transfer-Encoding"), "");
    harness_response_free(&r);
    r = parse_nth(&out, 1, false);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    buf_cleanup(&out);
}

static void
test_abort_truncates(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    bool eof =
        exchange("GET /stream-abort HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
                 2, &out, NULL);
    assert_true(eof);
    struct harness_response r;
    harness_parse(out.ptr, out.len, true, false, &r);
    assert_false(r.complete); /* no last chunk: the client sees the truncation */
    assert_int_equal(r.body_len, 7);
    harness_response_free(&r);
    assert_int_equal(harness_count_responses(out.ptr, out.len, true), 0);

    buf_reset(&out);
    eof = exchange("GET /short HTTP/1.1\r\nHost: a\r\n\r\n", 1, &out, NULL);
    assert_true(eof);
    harness_parse(out.ptr, out.len, false, false, &r);
    assert_false(r.complete);
    harness_response_free(&r);
    buf_cleanup(&out);
}

static void
test_header_policy(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    exchange("GET /csp HTTP/1.1\r\nHost: a\r\n\r\n", 1, &out, NULL);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_int_equal(harness_header_count(&r, "Content-Security-Policy"), 1);
    assert_string_equal(harness_header(&r, "Content-Security-Policy"), "default-src 'self'");
    assert_int_equal(harness_header_count(&r, "X-Request-Id"), 1);
    assert_string_not_equal(harness_header(&r, "X-Request-Id"), "up");
    assert_string_equal(harness_header(&r, "X-Upstream"), "yes");
    assert_int_equal(harness_header_count(&r, "Injected"), 0);
    harness_response_free(&r);
    buf_cleanup(&out);
}

static int empty_calls;

static void
on_empty(void *arg)
{
    (void)arg;
    empty_calls++;
}

static void
test_drain(void **state)
{
    (void)state;
    struct buf idle_out;
    struct buf busy_out;
    buf_init(&idle_out, 1 << 20);
    buf_init(&busy_out, 1 << 20);
    int idle;
    exchange("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n", 1, &idle_out, &idle);
    int busy = harness_connect(&H);
    harness_send_str(&H, busy, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&H, -1, NULL, 5);
    assert_non_null(g.pending);
    empty_calls = 0;
    http_server_drain(H.srv, on_empty, NULL);
    /* The idle connection closes at once; the busy one finishes first. */
    assert_true(harness_pump(&H, idle, &idle_out, 10));
    assert_int_equal(http_server_conn_count(H.srv), 1);
    assert_int_equal(empty_calls, 0);
    bool eof = harness_wait_responses(&H, busy, &busy_out, 1, 2000);
    eof = eof || harness_pump(&H, busy, &busy_out, 30);
    assert_true(eof);
    struct harness_response r = parse_nth(&busy_out, 0, true);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Connection"), "close");
    harness_response_free(&r);
    harness_pump(&H, -1, NULL, 5);
    assert_int_equal(http_server_conn_count(H.srv), 0);
    assert_int_equal(empty_calls, 1);
    assert_int_equal(g.aborts, 0);
    close(idle);
    close(busy);
    buf_cleanup(&idle_out);
    buf_cleanup(&busy_out);
}

static void
test_abort_all(void **state)
{
    (void)state;
    int busy = harness_connect(&H);
    harness_send_str(&H, busy, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&H, -1, NULL, 5);
    assert_non_null(g.pending);
    http_server_abort_all(H.srv);
    assert_int_equal(g.aborts, 1);
    assert_true(harness_pump(&H, busy, NULL, 10));
    close(busy);
}

static void
test_not_public(void **state)
{
    (void)state;
    struct harness plain;
    struct harness_opts o = {.is_public = false};
    harness_init(&plain, router, &o);
    int fd = harness_connect(&plain);
    harness_send_str(&plain, fd, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 20);
    harness_wait_responses(&plain, fd, &out, 1, 2000);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "X-Request-Id"), "");
    assert_string_equal(harness_header(&r, "X-Frame-Options"), "");
    harness_response_free(&r);
    close(fd);
    buf_cleanup(&out);
    harness_cleanup(&plain);
}

/* ---- liveness: the write-stall timeout ---- */

/* A client that stops reading: output queued and nothing drained for the
 * stall timeout closes the connection and aborts the request (the proxy
 * then releases the upstream connection and the subject slot). */
static void
test_write_stall_closes_a_client_that_stops_reading(void **state)
{
    (void)state;
    struct harness h;
    struct harness_opts o = {.is_public = true, .write_timeout_ms = 200};
    harness_init(&h, router, &o);
    int fd = harness_connect(&h);
    harness_send_str(&h, fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    g.stream_left = 64 * 1024 * 1024; /* far more than the socket holds */
    harness_pump(&h, -1, NULL, 50);
    assert_true(g.congested > 0);
    assert_int_equal(g.aborts, 0);
    /* The client never reads: within a generous bound the connection goes. */
    for (int i = 0; i < 100 && g.aborts == 0; i++) {
        harness_pump(&h, -1, NULL, 50);
    }
    assert_int_equal(g.aborts, 1);
    assert_int_equal(metrics_get_conn_dropped(METRICS_CONN_DROPPED_WRITE_STALL), 1);
    assert_int_equal(http_server_conn_count(h.srv), 0);
    close(fd);
    harness_cleanup(&h);
}

/* A slow reader that keeps draining, with gaps well under the timeout, is
 * never cut however long the whole response takes: progress restarts the
 * clock. */
static void
test_write_stall_spares_a_slow_reader(void **state)
{
    (void)state;
    struct harness h;
    struct harness_opts o = {.is_public = true, .write_timeout_ms = 400};
    harness_init(&h, router, &o);
    int fd = harness_connect(&h);
    harness_send_str(&h, fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    g.stream_left = 2 * 1024 * 1024;
    struct buf out;
    buf_init(&out, 8 << 20);
    static char chunk[32 * 1024];
    for (int i = 0; i < 400 && harness_count_responses(out.ptr, out.len, false) < 1; i++) {
        harness_pump(&h, -1, NULL, 10);
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            assert_int_equal(buf_append(&out, chunk, (size_t)n), 0);
        }
    }
    assert_int_equal(harness_count_responses(out.ptr, out.len, false), 1);
    assert_int_equal(g.aborts, 0);
    assert_int_equal(metrics_get_conn_dropped(METRICS_CONN_DROPPED_WRITE_STALL), 0);
    buf_cleanup(&out);
    close(fd);
    harness_cleanup(&h);
}

/* A quiet stream with nothing queued is never cut by the stall timeout,
 * however long it stays quiet. */
static void
test_quiet_stream_is_never_cut(void **state)
{
    (void)state;
    struct harness h;
    struct harness_opts o = {.is_public = true, .write_timeout_ms = 100};
    harness_init(&h, router, &o);
    int fd = harness_connect(&h);
    harness_send_str(&h, fd, "GET /quiet HTTP/1.1\r\nHost: a\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 20);
    bool eof = harness_pump(&h, fd, &out, 600); /* six stall timeouts of silence */
    assert_false(eof);
    assert_non_null(strstr(out.ptr, "data: hello"));
    assert_int_equal(g.aborts, 0);
    assert_non_null(g.pending);
    assert_int_equal(http_output_write(g.pending, "data: bye\n\n", 11), 0);
    assert_int_equal(http_output_end(g.pending), 0);
    g.pending = NULL;
    harness_wait_responses(&h, fd, &out, 1, 2000);
    struct harness_response r = parse_nth(&out, 0, false);
    assert_true(r.complete);
    assert_non_null(strstr(r.body, "data: bye"));
    harness_response_free(&r);
    assert_int_equal(metrics_get_conn_dropped(METRICS_CONN_DROPPED_WRITE_STALL), 0);
    buf_cleanup(&out);
    close(fd);
    harness_cleanup(&h);
}

/* ---- connection caps ---- */

static struct sockaddr_in
v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(40000)};
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static int
connect_v4(struct harness *h, const char *ip)
{
    struct sockaddr_in a = v4(ip);
    return harness_connect_from(h, (struct sockaddr *)&a, sizeof(a));
}

static int
connect_v6(struct harness *h, const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(40000)};
    assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return harness_connect_from(h, (struct sockaddr *)&a, sizeof(a));
}

/* The server closed fd (at accept, or later): EOF within a few passes. */
static bool
closed_soon(struct harness *h, int fd)
{
    return harness_pump(h, fd, NULL, 20);
}

static void
test_connection_caps(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(4, 2);
    struct ipcidr trusted;
    assert_true(ipcidr_parse(slice_from_cstr("10.9.0.0/16"), &trusted));
    struct harness h;
    struct harness_opts o = {
        .is_public = true, .conn_budget = b, .trusted_peers = &trusted, .trusted_peer_count = 1};
    harness_init(&h, router, &o);

    /* Per address: the third connection from 10.0.0.1 is closed at once. */
    int a1 = connect_v4(&h, "10.0.0.1");
    int a2 = connect_v4(&h, "10.0.0.1");
    int a3 = connect_v4(&h, "10.0.0.1");
    assert_true(closed_soon(&h, a3));
    assert_false(closed_soon(&h, a1));
    assert_int_equal(metrics_get_conn_refused(METRICS_CONN_REFUSED_IP_LIMIT), 1);
    /* IPv6 counts per /64: two addresses of one /64 share a share. */
    int v6a = connect_v6(&h, "2001:db8:1:2::1");
    int v6b = connect_v6(&h, "2001:db8:1:2:ffff::9");
    int v6c = connect_v6(&h, "2001:db8:1:2:abcd::5");
    assert_true(closed_soon(&h, v6c));
    assert_int_equal(metrics_get_conn_refused(METRICS_CONN_REFUSED_IP_LIMIT), 2);
    assert_int_equal(http_ip_budget_in_use(b), 4);

    /* The process cap (4) is reached. a1 is the longest idle: a newcomer
     * from a trusted proxy (exempt from the per-address share, not from the
     * total) closes it and takes its place. */
    harness_send_str(&h, a2, "GET /quiet HTTP/1.1\r\nHost: a\r\n\r\n");
    harness_pump(&h, -1, NULL, 5);
    assert_non_null(g.pending); /* a2 is busy now */
    int t1 = connect_v4(&h, "10.9.0.5");
    assert_true(closed_soon(&h, a1));
    assert_false(closed_soon(&h, t1));
    assert_int_equal(metrics_get(METRICS_CLIENT_CONNECTIONS_EVICTED), 1);
    assert_int_equal(http_ip_budget_in_use(b), 4);
    /* Two more newcomers evict the two idle IPv6 connections, oldest first. */
    int t2 = connect_v4(&h, "10.9.0.5");
    assert_true(closed_soon(&h, v6a));
    assert_false(closed_soon(&h, v6b));
    int t3 = connect_v4(&h, "10.9.0.5");
    assert_true(closed_soon(&h, v6b));
    assert_int_equal(metrics_get(METRICS_CLIENT_CONNECTIONS_EVICTED), 3);
    /* t1..t3 are idle too; make them busy (a request in progress), then
     * nothing is idle: the newcomer is refused, the busy ones untouched. */
    int busy[3] = {t1, t2, t3};
    for (int i = 0; i < 3; i++) {
        harness_send_str(&h, busy[i], "GET /quiet HTTP/1.1\r\nHost: a\r\n\r\n");
    }
    harness_pump(&h, -1, NULL, 10);
    int late = connect_v4(&h, "10.0.0.7");
    assert_true(closed_soon(&h, late));
    assert_int_equal(metrics_get_conn_refused(METRICS_CONN_REFUSED_PROCESS_LIMIT), 1);
    assert_int_equal(metrics_get_accept_paused(METRICS_ACCEPT_PAUSED_PROCESS_LIMIT), 1);
    for (int i = 0; i < 3; i++) {
        assert_false(closed_soon(&h, busy[i]));
    }
    assert_int_equal(g.aborts, 0);
    /* Closing gives the places back. */
    close(a1);
    close(a2);
    close(a3);
    close(v6a);
    close(v6b);
    close(v6c);
    close(late);
    for (int i = 0; i < 3; i++) {
        close(busy[i]);
    }
    harness_pump(&h, -1, NULL, 20);
    assert_int_equal(http_server_conn_count(h.srv), 0);
    assert_int_equal(http_ip_budget_in_use(b), 0);
    assert_int_equal(http_ip_budget_keys(b), 0);
    g.pending = NULL;
    harness_cleanup(&h);
    http_ip_budget_free(b);
}

/* ---- the request-body budget ---- */

/* The test's client key: the X-Key header (the production key is the
 * rate limiter's client IP). */
static void
key_from_header(void *arg, struct http_request *req, char out[HTTP_SERVER_OPTS_CLIENT_KEY_SIZE])
{
    (void)arg;
    struct slice v = SLICE_NULL;
    (void)http_request_header_get(req, "X-Key", &v);
    snprintf(out, HTTP_SERVER_OPTS_CLIENT_KEY_SIZE, "%.*s", (int)v.len, v.ptr ? v.ptr : "");
}

static struct harness_response
expect_one(struct harness *h, int fd, bool want_eof)
{
    struct buf out;
    buf_init(&out, 1 << 20);
    bool eof = harness_wait_responses(h, fd, &out, 1, 2000);
    if (want_eof && !eof) {
        eof = harness_pump(h, fd, &out, 100);
    }
    assert_true(eof == want_eof);
    struct harness_response r = parse_nth(&out, 0, eof);
    buf_cleanup(&out);
    return r;
}

static void
assert_budget_503(struct harness_response *r)
{
    assert_int_equal(r->status, 503);
    assert_string_equal(harness_header(r, "Retry-After"), "1");
    assert_string_equal(harness_header(r, "Connection"), "close");
    assert_string_equal(harness_header(r, "Content-Type"), "application/json");
    assert_string_equal(harness_header(r, "X-Frame-Options"), "DENY");
    assert_string_equal(r->body, "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                                 "\"too many request bodies in flight; retry later\"}");
}

static void
test_body_budget(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(1500, 1000);
    struct harness h;
    struct harness_opts o = {.is_public = true, .body_budget = b, .client_key = key_from_header};
    harness_init(&h, router, &o);
    static char body[4096];
    memset(body, 'b', sizeof(body));

    /* Within the share: read and answered; given back once freed. */
    int fd = harness_connect(&h);
    harness_send_str(&h, fd,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: A\r\n"
                     "Content-Length: 900\r\n\r\n");
    harness_send(&h, fd, body, 900);
    struct harness_response r = expect_one(&h, fd, false);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "900", 3);
    harness_response_free(&r);
    harness_pump(&h, -1, NULL, 5);
    assert_int_equal(http_ip_budget_in_use(b), 0);

    /* A stalled upload holds what it sent, not what it announced... */
    int stalled = harness_connect(&h);
    harness_send_str(&h, stalled,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: A\r\n"
                     "Content-Length: 4000\r\n\r\n");
    harness_send(&h, stalled, body, 700);
    harness_pump(&h, -1, NULL, 10);
    assert_int_equal(http_ip_budget_in_use(b), 700);
    assert_int_equal(http_ip_budget_key_in_use(b, slice_from_cstr("A")), 700);
    /* ... so another body under the same key passes the share mid-way:
     * 503, Retry-After, close, with part of it read. */
    fd = harness_connect(&h);
    harness_send_str(&h, fd,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: A\r\n"
                     "Content-Length: 400\r\n\r\n");
    harness_send(&h, fd, body, 400);
    r = expect_one(&h, fd, true);
    assert_budget_503(&r);
    harness_response_free(&r);
    close(fd);
    assert_int_equal(metrics_get_body_refused(METRICS_BODY_REFUSED_IP), 1);
    /* Another key still has room, up to the total. */
    fd = harness_connect(&h);
    harness_send_str(&h, fd,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: B\r\n"
                     "Content-Length: 700\r\n\r\n");
    harness_send(&h, fd, body, 700);
    r = expect_one(&h, fd, false);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    close(fd);
    /* A second stalled upload fills the total (700 + 800 = 1500): a third
     * key is refused before a body byte is read, its head alone. */
    int stalled2 = harness_connect(&h);
    harness_send_str(&h, stalled2,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: C\r\n"
                     "Content-Length: 4000\r\n\r\n");
    harness_send(&h, stalled2, body, 800);
    harness_pump(&h, -1, NULL, 10);
    assert_int_equal(http_ip_budget_in_use(b), 1500);
    int calls = g.calls;
    fd = harness_connect(&h);
    harness_send_str(&h, fd,
                     "POST /upload HTTP/1.1\r\nHost: a\r\nX-Key: D\r\n"
                     "Content-Length: 10\r\n\r\n");
    r = expect_one(&h, fd, true);
    assert_budget_503(&r);
    harness_response_free(&r);
    close(fd);
    assert_int_equal(metrics_get_body_refused(METRICS_BODY_REFUSED_PROCESS), 1);
    assert_int_equal(g.calls, calls);
    /* A request without a body needs no budget. */
    exchange_on(&h, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n", 200);
    /* The stalled clients leave: everything is given back. */
    close(stalled);
    close(stalled2);
    harness_pump(&h, -1, NULL, 20);
    assert_int_equal(http_ip_budget_in_use(b), 0);
    assert_int_equal(http_ip_budget_keys(b), 0);
    harness_cleanup(&h);
    http_ip_budget_free(b);
}

/* ---- pipelined requests ---- */

/* 58 KB of tiny pipelined requests in one write: each answered request is
 * freed before the next one is parsed, so no handler ever sees more than
 * one earlier request still allocated (before, all of them stayed until
 * the loop turned: ~1.9 MB for 58 KB). The heap measured with mallinfo2
 * (the plain build; ASan's allocator is not glibc's) stays within a few
 * requests' worth. */
static void
test_pipelined_requests_freed_at_once(void **state)
{
    (void)state;
    static const char one[] = "GET /count HTTP/1.1\r\nHost: a\r\n\r\n";
    enum { N = 58 * 1024 / (sizeof(one) - 1) };
    struct buf in;
    buf_init(&in, 1 << 20);
    for (int i = 0; i < N; i++) {
        assert_int_equal(buf_append(&in, one, sizeof(one) - 1), 0);
    }
    int fd = harness_connect(&H);
    struct buf out;
    buf_init(&out, 64 << 20);
    /* The client reads inside each pass too (harness_pump): its buffer is
     * grown to hold every response first, so its growth is never counted
     * as the server's. */
    static const char zeros[1 << 20];
    assert_int_equal(buf_append(&out, zeros, sizeof(zeros)), 0);
    buf_reset(&out);
    g.heap_base = mallinfo2().uordblks;
    harness_send(&H, fd, in.ptr, in.len);
    for (int i = 0; i < 2000 && harness_count_responses(out.ptr, out.len, false) < N; i++) {
        g.heap_base = mallinfo2().uordblks;
        harness_pump(&H, fd, &out, 2);
    }
    assert_int_equal(harness_count_responses(out.ptr, out.len, false), N);
    assert_int_equal(g.calls, N);
    assert_true(g.max_unfreed <= 1);
    harness_pump(&H, -1, NULL, 5);
    assert_int_equal(g.freed, N);
    /* Within one pass the heap grows by the queued responses (at most
     * BOUNDS_OUTPUT_HIGH_WATER before the connection waits for the client)
     * and one request, not by every request answered in the pass. */
    fprintf(stderr, "pipelined: %d requests, heap growth within a pass at most %zu bytes\n", (int)N,
            g.heap_peak);
    assert_true(g.heap_peak < BOUNDS_OUTPUT_HIGH_WATER + 64 * 1024);
    close(fd);
    buf_cleanup(&out);
    buf_cleanup(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_alive_and_security_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_collected_and_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_check_refuses_before_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_call_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_timeout_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_timeout_while_responding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_first_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_flood_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_framings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_stall_closes_a_client_that_stops_reading, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_stall_spares_a_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_stream_is_never_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests_freed_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
