/* proxy/response: the upstream response parser (framing, interim heads,
 * bodyless statuses, truncation, what strict llhttp and our head scan
 * refuse) fed whole and byte by byte, and the redirect hop decision
 * (SPEC.md 4.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "proxy/response.h"

/* What one response produced. */
struct outcome {
    enum proxy_response_event last; /* DONE or ERROR (or MORE when it wants bytes) */
    bool saw_head;
    int status;
    int64_t content_length;
    bool chunked;
    bool has_body;
    bool close_delimited;
    uint64_t keep_alive_ms;
    size_t header_count;
    char first_header[64];
    struct buf body;
    bool reusable;
    size_t leftover; /* bytes after the message, not consumed */
    char error[96];
};

static int
sink(void *arg, const char *data, size_t len)
{
    struct outcome *o = arg;
    return buf_append(&o->body, data, len) == 0 ? 0 : -1;
}

static void
on_head(struct proxy_response *p, struct outcome *o)
{
    const struct proxy_response_head *h = proxy_response_head(p);
    assert_non_null(h);
    o->saw_head = true;
    o->status = h->status;
    o->content_length = h->content_length;
    o->chunked = h->chunked;
    o->has_body = h->has_body;
    o->close_delimited = h->close_delimited;
    o->keep_alive_ms = h->keep_alive_timeout_ms;
    o->header_count = h->header_count;
    if (h->header_count > 0) {
        snprintf(o->first_header, sizeof(o->first_header), "%.*s: %.*s",
                 (int)h->headers[0].name.len, h->headers[0].name.ptr, (int)h->headers[0].value.len,
                 h->headers[0].value.ptr);
    }
    proxy_response_accept_body(p, sink, o);
}

/* Feeds data in pieces of at most step bytes (0: all at once); eof: the
 * upstream closes after the last byte. */
static struct outcome
run(const char *data, size_t len, size_t step, bool is_head, bool eof)
{
    struct outcome o = {.last = PROXY_RESPONSE_MORE};
    buf_init(&o.body, 1 << 20);
    struct proxy_response *p = proxy_response_new(is_head);
    size_t off = 0;
    bool after_head = false; /* a bodyless message completes on a feed of 0 bytes */
    while (off < len || after_head) {
        after_head = false;
        size_t n = step == 0 || len - off < step ? len - off : step;
        size_t used = 0;
        enum proxy_response_event ev = proxy_response_feed(p, data + off, n, &used);
        off += used;
        if (ev == PROXY_RESPONSE_HEAD) {
            on_head(p, &o);
            after_head = true;
            continue;
        }
        if (ev == PROXY_RESPONSE_DONE || ev == PROXY_RESPONSE_ERROR) {
            o.last = ev;
            break;
        }
        assert_int_equal(used, n); /* MORE uses everything it was given */
    }
    if (o.last == PROXY_RESPONSE_MORE && eof) {
        o.last = proxy_response_finish(p);
    }
    o.reusable = proxy_response_is_reusable(p);
    o.leftover = len - off;
    snprintf(o.error, sizeof(o.error), "%s", proxy_response_error(p));
    proxy_response_free(p);
    return o;
}

static struct outcome
run_str(const char *s, size_t step, bool is_head, bool eof)
{
    return run(s, strlen(s), step, is_head, eof);
}

static void
done(struct outcome *o)
{
    buf_cleanup(&o->body);
}

/* Every framing gives the same result whole and byte by byte. */
static void
test_framings(void **state)
{
    (void)state;
    static const size_t steps[] = {0, 1, 7};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct outcome o = run_str("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 11\r\n\r\n{\"a\":12345}",
                                   steps[i], false, false);
        assert_int_equal(o.last, PROXY_RESPONSE_DONE);
        assert_int_equal(o.status, 200);
        assert_int_equal(o.content_length, 11);
        assert_false(o.chunked);
        assert_true(o.has_body);
        assert_false(o.close_delimited);
        assert_string_equal(o.first_header, "Content-Type: application/json");
        assert_string_equal(buf_cstr(&o.body), "{\"a\":12345}");
        assert_true(o.reusable);
        done(&o);

        o = run_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
                    steps[i], false, false);
        assert_int_equal(o.last, PROXY_RESPONSE_DONE);
        assert_true(o.chunked);
        assert_int_equal(o.content_length, -1);
        assert_string_equal(buf_cstr(&o.body), "hello world");
        assert_true(o.reusable);
        done(&o);

        /* No length: the body ends with the connection, which is then spent. */
        o = run_str("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                    "data: 1\n\ndata: 2\n\n",
                    steps[i], false, true);
        assert_int_equal(o.last, PROXY_RESPONSE_DONE);
        assert_true(o.close_delimited);
        assert_string_equal(buf_cstr(&o.body), "data: 1\n\ndata: 2\n\n");
        assert_false(o.reusable);
        done(&o);
    }
}

static void
test_keep_alive(void **state)
{
    (void)state;
    struct outcome o =
        run_str("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 0, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_false(o.reusable);
    done(&o);
    o = run_str("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_false(o.reusable); /* HTTP/1.0 without keep-alive */
    done(&o);
    o = run_str("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 0,
                false, false);
    assert_true(o.reusable);
    done(&o);
    /* Node's hint: idle connections are closed after 5 s. */
    o = run_str("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n", 0, false,
                false);
    assert_int_equal(o.keep_alive_ms, 5000);
    assert_true(o.reusable);
    done(&o);
    o = run_str("HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=2\r\nContent-Length: 0\r\n\r\n", 0,
                false, false);
    assert_int_equal(o.keep_alive_ms, 2000);
    done(&o);
    /* Bytes after the message are left for the caller (who will not reuse). */
    o = run_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", 0, false,
                false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_int_equal(o.leftover, strlen("HTTP/1.1 200 OK\r\n"));
    done(&o);
}

/* HEAD, 204 and 304 carry no body whatever their Content-Length says. */
static void
test_bodyless(void **state)
{
    (void)state;
    struct outcome o = run_str("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 0, true, false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_int_equal(o.content_length, 1234);
    assert_false(o.has_body);
    assert_int_equal(o.body.len, 0);
    assert_true(o.reusable);
    done(&o);
    o = run_str("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n", 0, false,
                false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_false(o.has_body);
    assert_true(o.reusable);
    done(&o);
    o = run_str("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", 1, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_DONE);
    assert_int_equal(o.status, 204);
    assert_false(o.has_body);
    done(&o);
}

/* 1xx heads are read and dropped; the final one is reported. */
static void
test_interim(void **state)
{
    (void)state;
    static const size_t steps[] = {0, 1, 3};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct outcome o =
            run_str("HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                    "HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok",
                    steps[i], false, false);
        assert_int_equal(o.last, PROXY_RESPONSE_DONE);
        assert_int_equal(o.status, 201);
        assert_int_equal(o.header_count, 2);
        assert_string_equal(o.first_header, "X-Final: yes");
        assert_string_equal(buf_cstr(&o.body), "ok");
        done(&o);
    }
    struct outcome o = run_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: upgrade\r\n\r\n",
                               0, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_ERROR);
    assert_false(o.saw_head);
    assert_non_null(strstr(o.error, "101"));
    done(&o);
}

/* An upstream that stops early: never a clean end. */
static void
test_truncated(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        bool head_seen;
    } rows[] = {
        {"", false},
        {"HTTP/1.1 200 OK\r\nContent-Le", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct outcome o = run_str(rows[i].bytes, 0, false, true);
        if (o.last != PROXY_RESPONSE_ERROR) {
            fail_msg("row %zu: not an error", i);
        }
        assert_int_equal(o.saw_head, rows[i].head_seen);
        assert_false(o.reusable);
        assert_true(o.error[0] != '\0');
        done(&o);
    }
}

/* Malformed or refused heads, and bad chunk framing mid-body. */
static void
test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        const char *reason_part; /* NULL: any reason */
    } rows[] = {
        {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "bare LF"},
        {"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", "obs-fold"},
        {"HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n", "obs-fold"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", NULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", NULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nx", "out of range"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", "transfer coding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", NULL},
        {"HTTP/1.1 200 OK\r\nX-Bad: a\x01z\r\nContent-Length: 0\r\n\r\n", NULL},
        {"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", NULL},
        {"HTTP/1.1 099 Weird\r\nContent-Length: 0\r\n\r\n", NULL},
        {"HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n", "range"},
        {"SSH-2.0-OpenSSH_9.2\r\n", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct outcome o = run_str(rows[i].bytes, 0, false, false);
        if (o.last != PROXY_RESPONSE_ERROR) {
            fail_msg("row %zu accepted: %s", i, rows[i].bytes);
        }
        if (rows[i].reason_part != NULL && strstr(o.error, rows[i].reason_part) == NULL) {
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, o.error, rows[i].reason_part);
        }
        done(&o);
        /* Byte by byte gives an error too (the split cannot hide anything). */
        o = run_str(rows[i].bytes, 1, false, true);
        if (o.last != PROXY_RESPONSE_ERROR) {
            fail_msg("row %zu accepted byte by byte", i);
        }
        done(&o);
    }
}

static void
test_caps(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, "HTTP/1.1 200 OK\r\n"), 0);
    for (int i = 0; i <= BOUNDS_UPSTREAM_HEADER_COUNT_MAX; i++) {
        assert_int_equal(buf_appendf(&b, "X-H%d: v\r\n", i), 0);
    }
    assert_int_equal(buf_append_str(&b, "Content-Length: 0\r\n\r\n"), 0);
    struct outcome o = run(b.ptr, b.len, 0, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_ERROR);
    assert_non_null(strstr(o.error, "too many"));
    done(&o);

    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "HTTP/1.1 200 OK\r\nX-Big: "), 0);
    for (int i = 0; i < BOUNDS_UPSTREAM_HEAD_BYTES_MAX; i++) {
        assert_int_equal(buf_append_byte(&b, 'a'), 0);
    }
    assert_int_equal(buf_append_str(&b, "\r\nContent-Length: 0\r\n\r\n"), 0);
    o = run(b.ptr, b.len, 0, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_ERROR);
    assert_non_null(strstr(o.error, "too large"));
    done(&o);
    o = run(b.ptr, b.len, 4096, false, false);
    assert_int_equal(o.last, PROXY_RESPONSE_ERROR);
    done(&o);
    buf_cleanup(&b);
}

/* One parser, reset between responses (the pool's keep-alive case). */
static void
test_reset_reuse(void **state)
{
    (void)state;
    struct proxy_response *p = proxy_response_new(false);
    for (int round = 0; round < 3; round++) {
        const char *r = round == 1 ? "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
                                   : "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\na";
        size_t used = 0;
        assert_false(proxy_response_has_started(p));
        assert_int_equal(proxy_response_feed(p, r, strlen(r), &used), PROXY_RESPONSE_HEAD);
        assert_true(proxy_response_has_started(p));
        assert_int_equal(proxy_response_head(p)->status, round == 1 ? 200 : 404);
        proxy_response_accept_body(p, NULL, NULL);
        size_t more = 0;
        assert_int_equal(proxy_response_feed(p, r + used, strlen(r) - used, &more),
                         PROXY_RESPONSE_DONE);
        assert_true(proxy_response_is_reusable(p));
        proxy_response_reset(p, round == 1);
    }
    /* After reset for HEAD, a body-announcing head ends at once. */
    proxy_response_reset(p, true);
    size_t used = 0;
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    assert_int_equal(proxy_response_feed(p, r, strlen(r), &used), PROXY_RESPONSE_HEAD);
    proxy_response_accept_body(p, NULL, NULL);
    assert_int_equal(proxy_response_feed(p, "", 0, &used), PROXY_RESPONSE_DONE);
    proxy_response_free(p);
}

/* ---- hops (SPEC.md 4.3) ---- */

static enum proxy_response_hop
hop(int status, const char *location, const char *current, unsigned round_trip, char **next)
{
    struct field hs[2];
    size_t n = 0;
    hs[n++] = (struct field){SLICE_LIT("Content-Type"), SLICE_LIT("application/json")};
    if (location != NULL) {
        hs[n++] = (struct field){SLICE_LIT("Location"), slice_from_cstr(location)};
    }
    struct proxy_response_head h = {.status = status, .headers = hs, .header_count = n};
    return proxy_response_hop_decide(&h, current, round_trip, BOUNDS_UPSTREAM_HOPS_MAX, next);
}

static void
test_hops(void **state)
{
    (void)state;
    const char *cur = "http://127.0.0.1:8081/mcp?x=1";
    char *next = NULL;
    assert_int_equal(hop(307, "/mcp/other?y=2", cur, 1, &next), PROXY_HOP_FOLLOW);
    assert_string_equal(next, "http://127.0.0.1:8081/mcp/other?y=2");
    xfree(next);
    assert_int_equal(hop(308, "http://127.0.0.1:8081/z", cur, 9, &next), PROXY_HOP_FOLLOW);
    xfree(next);
    /* Relative without a leading slash resolves against the current path. */
    assert_int_equal(hop(307, "sub", "http://h:1/mcp/a", 1, &next), PROXY_HOP_FOLLOW);
    assert_string_equal(next, "http://h:1/mcp/sub");
    xfree(next);

    /* Relayed: other statuses, other origins, downgrades, no Location. */
    static const struct {
        int status;
        const char *location;
        const char *current;
    } relay[] = {
        {301, "/mcp/x", "http://127.0.0.1:8081/mcp"},
        {302, "/mcp/x", "http://127.0.0.1:8081/mcp"},
        {303, "/mcp/x", "http://127.0.0.1:8081/mcp"},
        {200, "/mcp/x", "http://127.0.0.1:8081/mcp"},
        {307, NULL, "http://127.0.0.1:8081/mcp"},
        {307, "", "http://127.0.0.1:8081/mcp"},
        {307, "http://127.0.0.1:8082/mcp", "http://127.0.0.1:8081/mcp"},
        {307, "http://localhost:8081/mcp", "http://127.0.0.1:8081/mcp"},
        {308, "http://up.example/mcp", "https://up.example/mcp"},
        {308, "https://up.example/mcp", "http://up.example/mcp"},
        {307, "http://user@127.0.0.1:8081/mcp", "http://127.0.0.1:8081/mcp"},
        {307, "javascript:alert(1)", "http://127.0.0.1:8081/mcp"},
    };
    for (size_t i = 0; i < sizeof(relay) / sizeof(relay[0]); i++) {
        if (hop(relay[i].status, relay[i].location, relay[i].current, 1, &next) !=
            PROXY_HOP_RELAY) {
            fail_msg("row %zu followed", i);
        }
        assert_null(next);
    }
    /* Default ports and host case are the same origin. */
    assert_int_equal(hop(307, "https://UP.example:443/x", "https://up.example/mcp", 1, &next),
                     PROXY_HOP_FOLLOW);
    xfree(next);

    /* The 10th round trip may not ask for an 11th. */
    assert_int_equal(hop(307, "/mcp/x", cur, BOUNDS_UPSTREAM_HOPS_MAX, &next), PROXY_HOP_EXHAUSTED);
    assert_null(next);
    /* ...but a non-followable answer on it is relayed as usual. */
    assert_int_equal(hop(307, "http://elsewhere/", cur, BOUNDS_UPSTREAM_HOPS_MAX, &next),
                     PROXY_HOP_RELAY);

    /* Two Locations: ambiguous, relayed. */
    struct field two[2] = {
        {SLICE_LIT("Location"), SLICE_LIT("/mcp/a")},
        {SLICE_LIT("location"), SLICE_LIT("/mcp/b")},
    };
    struct proxy_response_head h = {.status = 307, .headers = two, .header_count = 2};
    assert_int_equal(proxy_response_hop_decide(&h, cur, 1, 10, &next), PROXY_HOP_RELAY);
    assert_null(next);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framings),  cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_bodyless),  cmocka_unit_test(test_interim),
        cmocka_unit_test(test_truncated), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_caps),      cmocka_unit_test(test_reset_reuse),
        cmocka_unit_test(test_hops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
