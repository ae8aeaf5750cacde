/* http/llhttp_exec: the SSE4.2 build of llhttp parses exactly as the
 * baseline build -- the same callbacks with the same bytes, the same
 * errno at the same position -- on header values of every length around
 * its 16-byte steps with a bad byte at every place, on a real request with
 * a bearer token split at every byte, and on responses. Skipped where the
 * build or the CPU has no SSE4.2 (then only the baseline ever runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "http/llhttp_exec.h"
#include "llhttp_diff.h"

static void
expect_agree(const char *data, size_t len, llhttp_type_t type, size_t split, llhttp_errno_t *err)
{
    char why[160];
    if (!llhttp_diff_agree(data, len, type, split, err, why, sizeof(why))) {
        fail_msg("%s on %s of %zu bytes split at %zu: %.*s", why,
                 type == HTTP_REQUEST ? "a request" : "a response", len, split, (int)len, data);
    }
}

/* The bytes a header value may hold or must be refused for, around the
 * edges of llhttp's SSE ranges (HTAB, SP..~, obs-text 0x80-0xff; not
 * CR, LF, NUL, other controls, DEL). */
static const unsigned char probe_bytes[] = {0x00, 0x01, '\t', 0x0b, '\r', '\n', 0x1f,
                                            ' ',  '~',  0x7f, 0x80, 0xfe, 0xff, 'a'};

static void
test_value_bytes_at_every_place(void **state)
{
    (void)state;
    if (!llhttp_diff_available()) {
        skip();
    }
    size_t refused = 0;
    for (int type = 0; type < 2; type++) {
        const char *start =
            type == 0 ? "GET / HTTP/1.1\r\nHost: a\r\nX-V: " : "HTTP/1.1 200 OK\r\nX-V: ";
        const char *end = type == 0 ? "\r\n\r\n" : "\r\nContent-Length: 2\r\n\r\nok";
        for (size_t vlen = 0; vlen <= 48; vlen++) {
            for (size_t bi = 0; bi < sizeof(probe_bytes); bi++) {
                for (size_t at = 0; at <= vlen; at++) {
                    struct buf b;
                    buf_init(&b, 4096);
                    assert_int_equal(buf_append_str(&b, start), 0);
                    for (size_t i = 0; i < vlen; i++) {
                        char c = i == at ? (char)probe_bytes[bi] : (char)('A' + i % 26);
                        assert_int_equal(buf_append_byte(&b, c), 0);
                    }
                    assert_int_equal(buf_append_str(&b, end), 0);
                    llhttp_errno_t err;
                    llhttp_type_t t = type == 0 ? HTTP_REQUEST : HTTP_RESPONSE;
                    expect_agree(b.ptr, b.len, t, b.len, &err);
                    expect_agree(b.ptr, b.len, t, strlen(start) + vlen / 2, &err);
                    refused += err != HPE_OK;
                    buf_cleanup(&b);
                }
            }
        }
    }
    /* The probe bytes include refused ones: the test saw errors, not only
     * clean parses. */
    assert_true(refused > 1000);
}

/* The proxy's common request, split at every byte. */
static void
test_bearer_request_every_split(void **state)
{
    (void)state;
    if (!llhttp_diff_available()) {
        skip();
    }
    struct buf b;
    buf_init(&b, 8192);
    assert_int_equal(buf_append_str(&b, "POST /mcp HTTP/1.1\r\nHost: proxy.example\r\n"
                                        "Content-Type: application/json\r\n"
                                        "Accept: application/json, text/event-stream\r\n"
                                        "Authorization: Bearer "),
                     0);
    for (int i = 0; i < 380; i++) {
        assert_int_equal(buf_append_byte(&b, "AbCdEfGh0123456789-_"[i % 20]), 0);
    }
    const char *rest = "\r\nMcp-Protocol-Version: 2025-11-25\r\nContent-Length: 17\r\n\r\n"
                       "{\"jsonrpc\":\"2.0\"}";
    assert_int_equal(buf_append_str(&b, rest), 0);
    for (size_t split = 0; split <= b.len; split++) {
        llhttp_errno_t err;
        expect_agree(b.ptr, b.len, HTTP_REQUEST, split, &err);
        assert_int_equal(err, HPE_OK);
    }
    buf_cleanup(&b);
}

/* Chunked and SSE-like responses, and a response smuggling attempt. */
static void
test_responses(void **state)
{
    (void)state;
    if (!llhttp_diff_available()) {
        skip();
    }
    static const char *const cases[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1a\r\ndata: {\"jsonrpc\":\"2.0\"}\n\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: a b c d e f g h i j "
        "k\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Long: 0123456789abcdef0123456789abcdef\x7f\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i]);
        for (size_t split = 0; split <= len; split++) {
            llhttp_errno_t err;
            expect_agree(cases[i], len, HTTP_RESPONSE, split, &err);
        }
    }
}

/* The dispatcher answers as llhttp_execute does. */
static void
test_dispatch_same_result(void **state)
{
    (void)state;
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    const char req[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n";
    llhttp_t a;
    llhttp_t b;
    llhttp_init(&a, HTTP_REQUEST, &s);
    llhttp_init(&b, HTTP_REQUEST, &s);
    llhttp_errno_t ea = llhttp_execute(&a, req, sizeof(req) - 1);
    llhttp_errno_t eb = (llhttp_errno_t)http_llhttp_execute(&b, req, sizeof(req) - 1);
    assert_int_equal(ea, eb);
    assert_int_not_equal(ea, HPE_OK);
    assert_ptr_equal(llhttp_get_error_pos(&a), llhttp_get_error_pos(&b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_bytes_at_every_place),
        cmocka_unit_test(test_bearer_request_every_split),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_dispatch_same_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
