/* proxy/sse_filter: event framing (CRLF, LF, CR, multi-line data, comments,
 * BOM, fields), judged events replaced or dropped, every other byte
 * relayed as it came -- whatever the chunk boundaries: each case is fed
 * whole, split at every byte offset, and one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "proxy/sse_filter.h"

/* "SECRET" -> "clean"; "a\nb" -> "x\ny"; "DROP" -> dropped; else pass. */
static enum proxy_sse_verdict
judge(void *arg, struct slice data, struct buf *out)
{
    (void)arg;
    if (slice_eq_cstr(data, "SECRET")) {
        return buf_append_str(out, "clean") == 0 ? PROXY_SSE_REPLACE : PROXY_SSE_DROP;
    }
    if (slice_eq_cstr(data, "a\nb")) {
        return buf_append_str(out, "x\ny") == 0 ? PROXY_SSE_REPLACE : PROXY_SSE_DROP;
    }
    if (slice_eq_cstr(data, "DROP")) {
        return PROXY_SSE_DROP;
    }
    return PROXY_SSE_PASS;
}

static int
collect(void *arg, const char *data, size_t len)
{
    return buf_append(arg, data, len);
}

/* Feeds in (n bytes) in pieces: cut at `cut` (0 = whole), or one byte at
 * a time when cut == SIZE_MAX. Returns the last rc; out gets the output. */
static enum proxy_sse_filter_rc
run(const char *in, size_t n, size_t cut, size_t max, struct buf *out)
{
    struct proxy_sse_filter *p = proxy_sse_filter_new(max, judge, collect, out);
    enum proxy_sse_filter_rc rc = PROXY_SSE_FILTER_OK;
    if (cut == SIZE_MAX) {
        for (size_t i = 0; i < n && rc == PROXY_SSE_FILTER_OK; i++) {
            rc = proxy_sse_filter_feed(p, in + i, 1);
        }
    } else {
        rc = proxy_sse_filter_feed(p, in, cut);
        if (rc == PROXY_SSE_FILTER_OK) {
            rc = proxy_sse_filter_feed(p, in + cut, n - cut);
        }
    }
    if (rc == PROXY_SSE_FILTER_OK) {
        rc = proxy_sse_filter_finish(p);
    }
    proxy_sse_filter_free(p);
    return rc;
}

/* The same output whatever the split. */
static void
check(const char *in, const char *want)
{
    size_t n = strlen(in);
    for (size_t cut = 0; cut <= n + 1; cut++) {
        size_t c = cut == n + 1 ? SIZE_MAX : cut;
        struct buf out;
        buf_init(&out, 1 << 16);
        assert_int_equal(run(in, n, c, 1 << 12, &out), PROXY_SSE_FILTER_OK);
        if (out.len != strlen(want) || (out.len > 0 && memcmp(out.ptr, want, out.len) != 0)) {
            print_error("cut %zu: got [%s] want [%s]\n", cut, buf_cstr(&out), want);
            fail();
        }
        buf_cleanup(&out);
    }
}

static void
test_passes_byte_for_byte(void **state)
{
    (void)state;
    check("event: message\nid: 1\ndata: hello\n\n", "event: message\nid: 1\ndata: hello\n\n");
    check("id: 1\r\ndata: {}\r\n\r\n", "id: 1\r\ndata: {}\r\n\r\n");
    check("data: x\r\rdata: y\r\n\r\n", "data: x\r\rdata: y\r\n\r\n");
    check("retry: 10\n\n\n\nid: 2\n\n", "retry: 10\n\n\n\nid: 2\n\n");
    check("data\n\n", "data\n\n");
    check("data:  SECRET\n\n", "data:  SECRET\n\n"); /* value " SECRET": one space only goes */
    check("Data: SECRET\n\n", "Data: SECRET\n\n");   /* field names are case-sensitive */
    check("", "");
}

static void
test_replaced_keeping_other_lines(void **state)
{
    (void)state;
    check("event: message\nid: 9\ndata: SECRET\n\n", "event: message\nid: 9\ndata: clean\n\n");
    check("id: 1\r\ndata: SECRET\r\n\r\ndata: x\r\n\r\n",
          "id: 1\r\ndata: clean\n\ndata: x\r\n\r\n");
    check("data: SECRET\r\rdata: x\r\r", "data: clean\n\ndata: x\r\r");
    check("data:SECRET\n\n", "data: clean\n\n");
    check("data: SECRET\n: inner comment\nid: 5\n\n", "data: clean\n: inner comment\nid: 5\n\n");
    check("id: 3\ndata: a\nevent: e\ndata: b\n\n", "id: 3\ndata: x\ndata: y\nevent: e\n\n");
}

/* Two results in one stream: both judged (no second answer slips by). */
static void
test_every_event_judged(void **state)
{
    (void)state;
    check("data: SECRET\n\ndata: SECRET\n\n", "data: clean\n\ndata: clean\n\n");
    check("data: DROP\n\ndata: ok\n\n", "data: ok\n\n");
    check("data: DROP\r\n\r\n: ping\r\n", ": ping\r\n");
}

static void
test_comments_between_events_pass(void **state)
{
    (void)state;
    check(": ping\n\ndata: SECRET\n\n: bye\n", ": ping\n\ndata: clean\n\n: bye\n");
    check("data: ok\n\n: keep-alive\r\n: again\r", "data: ok\n\n: keep-alive\r\n: again\r");
}

/* A BOM at the start is not part of the field name (a client strips it). */
static void
test_bom(void **state)
{
    (void)state;
    check("\xEF\xBB\xBF"
          "data: SECRET\n\n",
          "\xEF\xBB\xBF"
          "data: clean\n\n");
    check("\xEF\xBB\xBF\n\ndata: ok\n\n", "\xEF\xBB\xBF\n\ndata: ok\n\n");
}

/* A pending event when the stream ends is judged too. */
static void
test_pending_event_at_end(void **state)
{
    (void)state;
    check("data: SECRET", "data: clean\n\n");
    check("id: 1\ndata: SECRET\n", "id: 1\ndata: clean\n\n");
    check("data: ok", "data: ok");
}

/* An event past the cap: TOO_LARGE whatever the split; events before it
 * were relayed, nothing of it was. */
static void
test_cap(void **state)
{
    (void)state;
    const char *in = "data: ok\n\ndata: 0123456789012345678901234567890123456789\n\n";
    size_t n = strlen(in);
    for (size_t cut = 0; cut <= n + 1; cut++) {
        struct buf out;
        buf_init(&out, 1 << 12);
        assert_int_equal(run(in, n, cut == n + 1 ? SIZE_MAX : cut, 32, &out),
                         PROXY_SSE_FILTER_TOO_LARGE);
        assert_true(out.len <= strlen("data: ok\n\n"));
        assert_memory_equal(out.ptr != NULL ? out.ptr : "", "data: ok\n\n", out.len);
        buf_cleanup(&out);
    }
    /* Exactly at the cap is fine. */
    struct buf out;
    buf_init(&out, 1 << 12);
    assert_int_equal(run("data: 12345678\n\n", 16, 0, 16, &out), PROXY_SSE_FILTER_OK);
    buf_cleanup(&out);
}

static int
refuse(void *arg, const char *data, size_t len)
{
    (void)arg;
    (void)data;
    (void)len;
    return -1;
}

static void
test_emit_failure_sticky(void **state)
{
    (void)state;
    struct proxy_sse_filter *p = proxy_sse_filter_new(64, judge, refuse, NULL);
    assert_int_equal(proxy_sse_filter_feed(p, "data: x\n\n", 9), PROXY_SSE_FILTER_EMIT_FAILED);
    assert_int_equal(proxy_sse_filter_feed(p, "data: y\n\n", 9), PROXY_SSE_FILTER_EMIT_FAILED);
    assert_int_equal(proxy_sse_filter_finish(p), PROXY_SSE_FILTER_EMIT_FAILED);
    proxy_sse_filter_free(p);
    proxy_sse_filter_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes_byte_for_byte),
        cmocka_unit_test(test_replaced_keeping_other_lines),
        cmocka_unit_test(test_every_event_judged),
        cmocka_unit_test(test_comments_between_events_pass),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_pending_event_at_end),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_emit_failure_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
