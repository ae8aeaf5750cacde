/* The OAuth reply helper (oauth/reply.h) over the HTTP layer: the error
 * envelope's status, type, body and absent caching headers, sanitised
 * descriptions, error_code omission, the Basic challenge, the 413 and
 * not_found bodies, no-store successes, the one log line per rejection;
 * and the Go-compatible JSON string writer, table-driven. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "http/request.h"
#include "http/router.h"
#include "http_harness.h"
#include "log.h"
#include "oauth/reply.h"

/* 250 bytes: cut to 200, then the control bytes dropped. */
static char long_desc[251];

static void
h_error(struct http_request *req, void *arg)
{
    (void)arg;
    struct oauth_error err;
    oauth_error_set(&err, 503, OAUTH_ERROR_SERVER_ERROR, "replay store unavailable");
    err.error_code = "replay_store_unavailable";
    assert_int_equal(oauth_reply_error(req, &err), 0);
}

static void
h_simple(struct http_request *req, void *arg)
{
    (void)arg;
    (void)oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST, long_desc);
}

static void
h_nodesc(struct http_request *req, void *arg)
{
    (void)arg;
    struct oauth_error err;
    oauth_error_set(&err, 400, OAUTH_ERROR_INVALID_GRANT, NULL);
    err.error_code = "";
    assert_int_equal(oauth_reply_error(req, &err), 0);
    /* A second reply on an ended response is refused, not sent. */
    assert_int_equal(oauth_reply_error(req, &err), -1);
    assert_int_equal(oauth_reply_json_nostore(req, 200, "{}"), -1);
    assert_int_equal(oauth_reply_not_found(req), -1);
}

static void
h_event(struct http_request *req, void *arg)
{
    (void)arg;
    struct oauth_error err;
    oauth_error_set(&err, 400, OAUTH_ERROR_INVALID_CLIENT, "client registration expired");
    struct log_line l;
    http_request_log_begin(&l, req, LOG_WARN, "access_denied_client_registration_expired");
    log_str(&l, "internal_id", "4b1c5e0e-0000-4000-8000-000000000000");
    (void)oauth_reply_error_event(req, &err, &l);
}

static void
h_basic(struct http_request *req, void *arg)
{
    (void)arg;
    struct oauth_error err;
    oauth_error_set(&err, 401, OAUTH_ERROR_INVALID_CLIENT,
                    "this token endpoint does not authenticate clients "
                    "(token_endpoint_auth_method=none); remove the Authorization header");
    (void)oauth_reply_error_basic(req, &err, "token");
}

static void
h_nostore(struct http_request *req, void *arg)
{
    (void)arg;
    (void)oauth_reply_json_nostore(req, 201, "{\"a\":1}\n");
}

static void
h_not_found(struct http_request *req, void *arg)
{
    (void)arg;
    (void)oauth_reply_not_found(req);
}

static struct http_router *router;
static struct harness H;
static int log_pipe[2];

static int
setup(void **state)
{
    (void)state;
    memset(long_desc, 'a', 250);
    long_desc[0] = '\n';
    long_desc[1] = '\x01';
    memcpy(long_desc + 2, "\xc3\xa9\x7f", 3); /* non-ASCII and DEL: dropped */
    long_desc[199] = 'Z';                     /* the last byte kept */
    long_desc[200] = 'Y';                     /* cut */
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_GET, "/error", h_error, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/simple", h_simple, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/nodesc", h_nodesc, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/event", h_event, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/basic", h_basic, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/nostore", h_nostore, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/nf", h_not_found, NULL, NULL);
    struct http_route_opts small = {.body_max = 16, .too_large = oauth_reply_too_large};
    http_router_add(router, HTTP_METHODS_POST, "/small", h_nostore, NULL, &small);
    harness_init(&H, router, NULL);
    assert_int_equal(pipe2(log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
    log_set_fd(log_pipe[1]);
    log_set_level(LOG_DEBUG);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    log_set_fd(1);
    close(log_pipe[0]);
    close(log_pipe[1]);
    harness_cleanup(&H);
    http_router_free(router);
    return 0;
}

static char *
read_logs(void)
{
    static char text[65536];
    ssize_t n = read(log_pipe[0], text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* The one line whose msg is msg, parsed; fails unless exactly one. */
static json_t *
only_line(const char *logs, const char *msg)
{
    char needle[128];
    snprintf(needle, sizeof(needle), "\"msg\":\"%s\"", msg);
    const char *hit = strstr(logs, needle);
    assert_non_null(hit);
    assert_null(strstr(hit + 1, needle));
    const char *start = hit;
    while (start > logs && start[-1] != '\n') {
        start--;
    }
    const char *end = strchr(hit, '\n');
    json_error_t e;
    json_t *j = json_loadb(start, (size_t)(end - start), 0, &e);
    assert_non_null(j);
    return j;
}

static struct harness_response
roundtrip(const char *raw)
{
    (void)read_logs(); /* drop what earlier requests logged */
    struct harness_response r;
    assert_true(harness_roundtrip(&H, raw, strlen(raw), &r));
    return r;
}

static struct harness_response
get(const char *path)
{
    char raw[256];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
    return roundtrip(raw);
}

static void
assert_body(const struct harness_response *r, const char *want)
{
    assert_int_equal(r->body_len, strlen(want));
    assert_memory_equal(r->body, want, r->body_len);
}

static void
assert_no_caching_headers(const struct harness_response *r)
{
    assert_int_equal(harness_header_count(r, "Cache-Control"), 0);
    assert_int_equal(harness_header_count(r, "Pragma"), 0);
}

static void
test_error_envelope_and_log(void **state)
{
    (void)state;
    struct harness_response r = get("/error");
    assert_int_equal(r.status, 503);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_no_caching_headers(&r);
    assert_body(&r, "{\"error\":\"server_error\",\"error_description\":\"replay store "
                    "unavailable\",\"error_code\":\"replay_store_unavailable\"}\n");
    /* Security headers come with every reply. */
    assert_string_equal(harness_header(&r, "X-Content-Type-Options"), "nosniff");
    harness_response_free(&r);
    json_t *j = only_line(read_logs(), "oauth_error");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 503);
    assert_string_equal(json_string_value(json_object_get(j, "oauth_error")), "server_error");
    assert_string_equal(json_string_value(json_object_get(j, "description")),
                        "replay store unavailable");
    assert_string_equal(json_string_value(json_object_get(j, "error_code")),
                        "replay_store_unavailable");
    assert_non_null(json_object_get(j, "request_id"));
    json_decref(j);
}

static void
test_description_sanitised(void **state)
{
    (void)state;
    struct harness_response r = get("/simple");
    assert_int_equal(r.status, 400);
    char want[512];
    char kept[256];
    memset(kept, 'a', 195);
    kept[194] = 'Z';
    kept[195] = '\0';
    snprintf(want, sizeof(want), "{\"error\":\"invalid_request\",\"error_description\":\"%s\"}\n",
             kept);
    assert_body(&r, want);
    harness_response_free(&r);
    json_t *j = only_line(read_logs(), "oauth_error");
    assert_string_equal(json_string_value(json_object_get(j, "description")), kept);
    assert_null(json_object_get(j, "error_code"));
    json_decref(j);
}

static void
test_empty_description_and_code_omitted(void **state)
{
    (void)state;
    struct harness_response r = get("/nodesc");
    assert_int_equal(r.status, 400);
    assert_body(&r, "{\"error\":\"invalid_grant\"}\n");
    harness_response_free(&r);
}

static void
test_event_line_carries_caller_fields(void **state)
{
    (void)state;
    struct harness_response r = get("/event");
    assert_int_equal(r.status, 400);
    assert_body(
        &r,
        "{\"error\":\"invalid_client\",\"error_description\":\"client registration expired\"}\n");
    /* The 77-byte body the runbook quotes. */
    assert_int_equal(r.body_len, 77);
    harness_response_free(&r);
    const char *logs = read_logs();
    assert_null(strstr(logs, "\"msg\":\"oauth_error\"")); /* logged once, as the event */
    json_t *j = only_line(logs, "access_denied_client_registration_expired");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "internal_id")),
                        "4b1c5e0e-0000-4000-8000-000000000000");
    assert_string_equal(json_string_value(json_object_get(j, "oauth_error")), "invalid_client");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    json_decref(j);
}

static void
test_basic_challenge(void **state)
{
    (void)state;
    struct harness_response r = get("/basic");
    assert_int_equal(r.status, 401);
    static const char desc[] = "this token endpoint does not authenticate clients "
                               "(token_endpoint_auth_method=none); remove the Authorization header";
    char want[512];
    snprintf(want, sizeof(want),
             "Basic realm=\"token\", error=\"invalid_client\", error_description=\"%s\"", desc);
    assert_string_equal(harness_header(&r, "WWW-Authenticate"), want);
    snprintf(want, sizeof(want), "{\"error\":\"invalid_client\",\"error_description\":\"%s\"}\n",
             desc);
    assert_body(&r, want);
    assert_no_caching_headers(&r);
    harness_response_free(&r);

    /* Quotes and backslashes are escaped inside the quoted-strings; an
     * empty description leaves its parameter out. */
    struct oauth_error err;
    oauth_error_set(&err, 401, OAUTH_ERROR_INVALID_CLIENT, "say \"no\" \\ twice\n");
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(oauth_reply_format_basic_challenge(&err, "consent", &b), 0);
    assert_string_equal(buf_cstr(&b), "Basic realm=\"consent\", error=\"invalid_client\", "
                                      "error_description=\"say \\\"no\\\" \\\\ twice\"");
    buf_reset(&b);
    oauth_error_set(&err, 401, OAUTH_ERROR_INVALID_CLIENT, "");
    assert_int_equal(oauth_reply_format_basic_challenge(&err, "consent", &b), 0);
    assert_string_equal(buf_cstr(&b), "Basic realm=\"consent\", error=\"invalid_client\"");
    buf_cleanup(&b);
    buf_init(&b, 10);
    assert_int_equal(oauth_reply_format_basic_challenge(&err, "consent", &b), -1);
    buf_cleanup(&b);
}

static void
test_nostore_and_not_found(void **state)
{
    (void)state;
    struct harness_response r = get("/nostore");
    assert_int_equal(r.status, 201);
    assert_string_equal(harness_header(&r, "Cache-Control"), "no-store");
    assert_string_equal(harness_header(&r, "Pragma"), "no-cache");
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_body(&r, "{\"a\":1}\n");
    harness_response_free(&r);
    assert_null(strstr(read_logs(), "oauth_error"));

    r = get("/nf");
    assert_int_equal(r.status, 404);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_body(&r, "{\"error\":\"not_found\"}");
    assert_no_caching_headers(&r);
    harness_response_free(&r);
}

static void
test_too_large_before_body(void **state)
{
    (void)state;
    /* Only the head is sent: the answer must not wait for the body. */
    struct harness_response r =
        roundtrip("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\n\r\n");
    assert_int_equal(r.status, 413);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_body(&r, "{\"error\":\"invalid_request\",\"error_description\":\"request body "
                    "exceeds the 64 KiB cap\"}\n");
    assert_string_equal(harness_header(&r, "Connection"), "close");
    harness_response_free(&r);
    /* A chunked body crossing the cap gets the same answer. */
    r = roundtrip("POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "20\r\n0123456789abcdef0123456789abcdef\r\n0\r\n\r\n");
    assert_int_equal(r.status, 413);
    assert_body(&r, "{\"error\":\"invalid_request\",\"error_description\":\"request body "
                    "exceeds the 64 KiB cap\"}\n");
    harness_response_free(&r);
}

struct json_case {
    const char *in;
    size_t len;
    const char *out;
};

#define JC(in, out)                                                                                \
    {                                                                                              \
        in, sizeof(in) - 1, out                                                                    \
    }

static void
test_json_string_table(void **state)
{
    (void)state;
    static const struct json_case cases[] = {
        JC("", "\"\""),
        JC("plain https://x.example/cb?a=1", "\"plain https://x.example/cb?a=1\""),
        JC("q\"b\\s", "\"q\\\"b\\\\s\""),
        JC("<a&b>", "\"\\u003ca\\u0026b\\u003e\""),
        JC("\n\r\t\x01\x1f", "\"\\n\\r\\t\\u0001\\u001f\""),
        JC("nul\0end", "\"nul\\u0000end\""),
        JC("del\x7f", "\"del\x7f\""), /* Go leaves DEL */
        JC("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
        JC("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\""),
        JC("\xff", "\"\\ufffd\""),                                  /* invalid byte */
        JC("\xc0\xaf", "\"\\ufffd\\ufffd\""),                       /* overlong '/' */
        JC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),            /* surrogate */
        JC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* past U+10FFFF */
        JC("\xe2\x82", "\"\\ufffd\\ufffd\""),                       /* truncated */
        JC("a\xc3", "\"a\\ufffd\""),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(oauth_reply_append_json_string(&b, slice_make(cases[i].in, cases[i].len)),
                         0);
        assert_string_equal(buf_cstr(&b), cases[i].out);
        /* Always valid JSON that reads back. */
        json_error_t e;
        json_t *j = json_loadb(b.ptr, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        assert_non_null(j);
        json_decref(j);
        buf_cleanup(&b);
    }
    /* At the cap: -1. */
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(oauth_reply_append_json_string(&b, slice_from_cstr("<<<<")), -1);
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_envelope_and_log),
        cmocka_unit_test(test_description_sanitised),
        cmocka_unit_test(test_empty_description_and_code_omitted),
        cmocka_unit_test(test_event_line_carries_caller_fields),
        cmocka_unit_test(test_basic_challenge),
        cmocka_unit_test(test_nostore_and_not_found),
        cmocka_unit_test(test_too_large_before_body),
        cmocka_unit_test(test_json_string_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
