/* proxy/list_response: which answers are taken, the JSON body filtered at
 * its end, the SSE stream filtered per event, and the JSON-RPC error that
 * replaces a list past the cap or unreadable -- never the unfiltered list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "proxy/list_response.h"

static bool
visible(void *arg, enum proxy_list_filter_kind kind, struct slice name)
{
    (void)arg;
    (void)kind;
    return !slice_starts_with(name, SLICE_LIT("secret"));
}

static int
collect(void *arg, const char *data, size_t len)
{
    return buf_append(arg, data, len);
}

struct fixture {
    struct proxy_list_filter f;
    struct buf out;
    struct proxy_list_response *r;
};

static void
setup(struct fixture *x, size_t max)
{
    assert_int_equal(proxy_list_filter_init(&x->f, PROXY_LIST_TOOLS, SLICE_LIT("4"), visible, NULL),
                     0);
    buf_init(&x->out, 1 << 16);
    x->r = proxy_list_response_new(&x->f, max, collect, &x->out);
}

static void
teardown(struct fixture *x)
{
    proxy_list_response_free(x->r);
    buf_cleanup(&x->out);
    proxy_list_filter_cleanup(&x->f);
}

/* Feeds body in pieces of `step` bytes, then ends. */
static void
feed(struct fixture *x, const char *body, size_t step)
{
    size_t n = strlen(body);
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        assert_int_equal(proxy_list_response_body(x->r, body + i, k), 0);
    }
    assert_int_equal(proxy_list_response_end(x->r), 0);
}

#define LIST                                                                                       \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[{\"name\":\"secret_x\"},{\"name\":"      \
    "\"echo\"}],\"nextCursor\":\"p2\"}}"
#define FILTERED                                                                                   \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[{\"name\":\"echo\"}],\"nextCursor\":"    \
    "\"p2\"}}"
#define ERROR_OVERFLOW                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32603,\"message\":\"list response too "    \
    "large to filter\"}}"
#define ERROR_WITHHELD                                                                             \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32603,\"message\":\"list response could "  \
    "not be filtered\"}}"

static void
test_taken_or_not(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x, 4096);
    assert_false(proxy_list_response_begin(x.r, 401, SLICE_LIT("application/json"), SLICE_NULL));
    assert_false(proxy_list_response_begin(x.r, 500, SLICE_LIT("application/json"), SLICE_NULL));
    assert_false(proxy_list_response_begin(x.r, 200, SLICE_LIT("text/html"), SLICE_NULL));
    assert_false(proxy_list_response_begin(x.r, 200, SLICE_NULL, SLICE_NULL));
    assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("Application/JSON; charset=utf-8"),
                                          SLICE_NULL));
    teardown(&x);
    setup(&x, 4096);
    assert_true(
        proxy_list_response_begin(x.r, 200, SLICE_LIT(" text/event-stream ;x=1"), SLICE_NULL));
    teardown(&x);
}

static void
test_json_filtered(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 8; step++) {
        struct fixture x;
        setup(&x, 4096);
        assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("application/json"), SLICE_NULL));
        feed(&x, LIST, step);
        assert_string_equal(buf_cstr(&x.out), FILTERED);
        assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_FILTERED);
        assert_int_equal(proxy_list_response_hidden(x.r), 1);
        teardown(&x);
    }
}

/* Nothing to hide: the upstream's own bytes. An error answer passes. */
static void
test_json_unchanged(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"id\":4, \"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32601,\"message\":\"no\"}}",
    };
    for (size_t i = 0; i < 2; i++) {
        struct fixture x;
        setup(&x, 4096);
        assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("application/json"), SLICE_NULL));
        feed(&x, bodies[i], 3);
        assert_string_equal(buf_cstr(&x.out), bodies[i]);
        assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_UNCHANGED);
        teardown(&x);
    }
}

/* Past the cap, a result for another id, not JSON, compressed: the error
 * for the request's id, never the list. */
static void
test_json_refused(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x, 40);
    assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("application/json"), SLICE_NULL));
    feed(&x, LIST, 7);
    assert_string_equal(buf_cstr(&x.out), ERROR_OVERFLOW);
    assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_OVERFLOW);
    teardown(&x);

    static const char *const withheld[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"secret_x\"}]}}",
        "<html>",
        "",
    };
    for (size_t i = 0; i < 3; i++) {
        setup(&x, 4096);
        assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("application/json"), SLICE_NULL));
        feed(&x, withheld[i], 5);
        assert_string_equal(buf_cstr(&x.out), ERROR_WITHHELD);
        assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_WITHHELD);
        teardown(&x);
    }
    setup(&x, 4096);
    assert_true(
        proxy_list_response_begin(x.r, 200, SLICE_LIT("application/json"), SLICE_LIT("gzip")));
    feed(&x, LIST, 5);
    assert_string_equal(buf_cstr(&x.out), ERROR_WITHHELD);
    teardown(&x);
}

static void
test_sse_filtered(void **state)
{
    (void)state;
    const char *in =
        ": hi\n\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\n"
        "id: 7\r\ndata: " LIST "\r\n\r\n";
    const char *want =
        ": hi\n\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\n"
        "id: 7\r\ndata: " FILTERED "\n\n";
    for (size_t step = 1; step <= 9; step++) {
        struct fixture x;
        setup(&x, 4096);
        assert_true(
            proxy_list_response_begin(x.r, 200, SLICE_LIT("text/event-stream"), SLICE_NULL));
        feed(&x, in, step);
        assert_string_equal(buf_cstr(&x.out), want);
        assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_FILTERED);
        teardown(&x);
    }
}

/* A second result smuggled after the first, and one for another id: both
 * answers filtered, the result for another id turned into the error, and
 * nothing after it (an event, a comment, another bad event): the request
 * is answered once. */
static void
test_sse_smuggled_results(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x, 4096);
    assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("text/event-stream"), SLICE_NULL));
    feed(&x,
         "data: " LIST "\n\ndata: " LIST "\n\n"
         "data: {\"id\":\"4\",\"result\":{\"tools\":[{\"name\":\"secret_y\"}]}}\n\n"
         "data: {\"id\":99,\"result\":{\"tools\":[{\"name\":\"secret_z\"}]}}\n\n"
         "data: {\"method\":\"after\"}\n\n: ping\n\ndata: not json\n\nevent: x\n\n",
         11);
    assert_string_equal(buf_cstr(&x.out), "data: " FILTERED "\n\ndata: " FILTERED "\n\n"
                                          "data: {\"id\":\"4\",\"result\":{\"tools\":[]}}\n\n"
                                          "data: " ERROR_WITHHELD "\n\n");
    assert_null(strstr(buf_cstr(&x.out), "secret"));
    assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_WITHHELD);
    assert_int_equal(proxy_list_response_hidden(x.r), 3);
    teardown(&x);
}

/* An event past the cap: earlier events went out, then the error event,
 * then nothing. */
static void
test_sse_overflow(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x, 64);
    assert_true(proxy_list_response_begin(x.r, 200, SLICE_LIT("text/event-stream"), SLICE_NULL));
    feed(&x, "data: {\"method\":\"x\"}\n\ndata: " LIST "\n\ndata: {\"method\":\"y\"}\n\n", 4);
    assert_string_equal(buf_cstr(&x.out),
                        "data: {\"method\":\"x\"}\n\ndata: " ERROR_OVERFLOW "\n\n");
    assert_int_equal(proxy_list_response_result(x.r), PROXY_LIST_RESPONSE_OVERFLOW);
    teardown(&x);
}

static void
test_result_str(void **state)
{
    (void)state;
    assert_string_equal(proxy_list_response_result_str(PROXY_LIST_RESPONSE_UNCHANGED), "unchanged");
    assert_string_equal(proxy_list_response_result_str(PROXY_LIST_RESPONSE_FILTERED), "filtered");
    assert_string_equal(proxy_list_response_result_str(PROXY_LIST_RESPONSE_OVERFLOW), "overflow");
    assert_string_equal(proxy_list_response_result_str(PROXY_LIST_RESPONSE_WITHHELD), "withheld");
    assert_string_equal(proxy_list_response_result_str(PROXY_LIST_RESPONSE_RESULT_COUNT),
                        "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_or_not),   cmocka_unit_test(test_json_filtered),
        cmocka_unit_test(test_json_unchanged), cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_sse_filtered),   cmocka_unit_test(test_sse_smuggled_results),
        cmocka_unit_test(test_sse_overflow),   cmocka_unit_test(test_result_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
