/* The request context: id format, header lookup (case, repeats, order),
 * path/query views, and the one access-log line per public request with
 * its optional fields. */
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

#include "base/ipaddr.h"
#include "http/output.h"
#include "http/reply.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "http/request.h"
#include "http/router.h"
#include "http_harness.h"
#include "log.h"

static void
test_id_format(void **state)
{
    (void)state;
    char seen[200][HTTP_REQUEST_ID_LEN + 1];
    for (int i = 0; i < 200; i++) {
        http_request_id_generate(seen[i]);
        assert_int_equal(strlen(seen[i]), HTTP_REQUEST_ID_LEN);
        for (int k = 0; k < HTTP_REQUEST_ID_LEN; k++) {
            char c = seen[i][k];
            assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
        }
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seen[i], seen[j]);
        }
    }
}

struct seen {
    char accept_first[32];
    int accept_count;
    char accept_all[64];
    char path[64];
    char decoded[64];
    char query[64];
    bool has_query;
    size_t headers;
    char last_name[32];
    unsigned minor;
    char method[16];
    int64_t content_length;
    char client_ip[IPADDR_TEXT_MAX];
};

static struct seen seen;

static void
copy(char *dst, size_t cap, struct slice s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void
h_inspect(struct http_request *req, void *arg)
{
    (void)arg;
    struct slice v;
    memset(&seen, 0, sizeof(seen));
    if (http_request_header_get(req, "accept", &v)) {
        copy(seen.accept_first, sizeof(seen.accept_first), v);
    }
    seen.accept_count = (int)http_request_header_count(req, "ACCEPT");
    size_t cursor = 0;
    size_t at = 0;
    while (http_request_header_next(req, "Accept", &cursor, &v)) {
        assert_true(at + v.len + 2 <= sizeof(seen.accept_all));
        memcpy(seen.accept_all + at, v.ptr, v.len);
        at += v.len;
        seen.accept_all[at++] = '|';
        seen.accept_all[at] = '\0';
    }
    copy(seen.path, sizeof(seen.path), http_request_path(req));
    copy(seen.decoded, sizeof(seen.decoded), http_request_path_decoded(req));
    copy(seen.query, sizeof(seen.query), http_request_query(req));
    seen.has_query = http_request_has_query(req);
    seen.headers = http_request_headers_len(req);
    copy(seen.last_name, sizeof(seen.last_name),
         http_request_header_at(req, seen.headers - 1).name);
    seen.minor = http_request_version_minor(req);
    snprintf(seen.method, sizeof(seen.method), "%s", http_request_method_name(req));
    seen.content_length = http_request_content_length(req);
    snprintf(seen.client_ip, sizeof(seen.client_ip), "%s", http_request_client_ip(req));
    http_request_set_log_user(req, "user-123", "u@example.com");
    http_request_set_log_rpc(req, "tools/call", "search", "7");
    http_reply_empty(req, 200);
}

static void
h_plain(struct http_request *req, void *arg)
{
    (void)arg;
    http_request_set_log_user(req, "", NULL); /* empty fields stay out */
    http_reply_text(req, 200, "abc", 3);
}

/* 32 MiB: more than the loopback socket buffers hold, so the response
 * waits in the output buffer until the client reads. */
#define BIG_BODY (32u << 20)

static void
h_big(struct http_request *req, void *arg)
{
    (void)arg;
    char *body = xcalloc(1, BIG_BODY);
    http_reply_text(req, 200, body, BIG_BODY);
    xfree(body);
}

/* The head check hands a pointer to the handler through the request. */
static int route_state_token;
static void *route_state_seen;
static bool route_state_none_before;

static bool
c_stash(struct http_request *req, void *arg)
{
    (void)arg;
    route_state_none_before = http_request_get_route_state(req) == NULL;
    http_request_set_route_state(req, &route_state_token);
    return true;
}

static void
h_stash(struct http_request *req, void *arg)
{
    (void)arg;
    route_state_seen = http_request_get_route_state(req);
    http_reply_empty(req, 204);
}

/* The server's access-log predicate: skips "/plain" and counts its calls. */
static int skip_calls;
static char skip_seen[64];
static const int skip_arg_token = 1;
static bool skipped_in_handler;

static bool
skip_plain(const void *arg, const char *path, size_t len)
{
    assert_ptr_equal(arg, &skip_arg_token);
    assert_int_equal(path[len], '\0');
    skip_calls++;
    copy(skip_seen, sizeof(skip_seen), slice_make(path, len));
    return slice_eq_cstr(slice_make(path, len), "/plain");
}

static void
h_skipped(struct http_request *req, void *arg)
{
    (void)arg;
    skipped_in_handler = http_request_is_log_skipped(req);
    size_t n = 0;
    const struct field *all = http_request_headers(req, &n);
    assert_int_equal(n, http_request_headers_len(req));
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(all[i].name.ptr, http_request_header_at(req, i).name.ptr);
        assert_ptr_equal(all[i].value.ptr, http_request_header_at(req, i).value.ptr);
    }
    http_reply_text(req, 200, "abc", 3);
}

static struct http_router *router;
static struct harness H;
static int log_pipe[2];

static int
setup(void **state)
{
    (void)state;
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_ANY, "/inspect%2Fme", h_inspect, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/plain", h_plain, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/big", h_big, NULL, NULL);
    const struct http_route_opts stash = {.head_check = c_stash};
    http_router_add(router, HTTP_METHODS_POST, "/stash", h_stash, NULL, &stash);
    harness_init(&H, router, NULL);
    assert_int_equal(pipe2(log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
    log_set_fd(log_pipe[1]);
    return 0;
}

static int
setup_skip(void **state)
{
    (void)state;
    router = http_router_new();
    http_router_add(router, HTTP_METHODS_GET, "/plain", h_skipped, NULL, NULL);
    http_router_add(router, HTTP_METHODS_GET, "/a%2Fb", h_skipped, NULL, NULL);
    const struct harness_opts opts = {
        .is_public = true,
        .access_log_skip = skip_plain,
        .access_log_skip_arg = &skip_arg_token,
    };
    harness_init(&H, router, &opts);
    assert_int_equal(pipe2(log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
    log_set_fd(log_pipe[1]);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    log_set_fd(1);
    close(log_pipe[0]);
    close(log_pipe[1]);
    harness_cleanup(&H);
    http_router_free(router);
    return 0;
}

/* Every log line written so far. */
static char *
read_logs(void)
{
    static char text[65536];
    ssize_t n = read(log_pipe[0], text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static json_t *
only_request_line(const char *logs)
{
    const char *first = strstr(logs, "\"msg\":\"request\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\"msg\":\"request\"")); /* exactly one */
    const char *start = first;
    while (start > logs && start[-1] != '\n') {
        start--;
    }
    const char *end = strchr(first, '\n');
    json_error_t err;
    json_t *j = json_loadb(start, (size_t)(end - start), 0, &err);
    assert_non_null(j);
    return j;
}

static struct harness_response
roundtrip(const char *raw)
{
    struct harness_response r;
    assert_true(harness_roundtrip(&H, raw, strlen(raw), &r));
    return r;
}

static void
test_headers_and_views(void **state)
{
    (void)state;
    struct harness_response r =
        roundtrip("POST /inspect%2Fme?x=1&y HTTP/1.1\r\nHost: a\r\n"
                  "Accept: text/html\r\nX-Other: 1\r\naccept: application/json\r\n"
                  "Content-Length: 0\r\nLast-One: z\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(seen.accept_first, "text/html");
    assert_int_equal(seen.accept_count, 2);
    assert_string_equal(seen.accept_all, "text/html|application/json|");
    assert_string_equal(seen.path, "/inspect%2Fme");
    assert_string_equal(seen.decoded, "/inspect/me");
    assert_string_equal(seen.query, "x=1&y");
    assert_true(seen.has_query);
    assert_int_equal(seen.headers, 6);
    assert_string_equal(seen.last_name, "Last-One");
    assert_int_equal(seen.minor, 1);
    assert_string_equal(seen.method, "POST");
    assert_int_equal(seen.content_length, 0);

    json_t *j = only_request_line(read_logs());
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/inspect/me");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "req_bytes")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "resp_bytes")), 0);
    assert_true(json_is_real(json_object_get(j, "duration")));
    assert_string_equal(json_string_value(json_object_get(j, "request_id")),
                        harness_header(&r, "X-Request-Id"));
    assert_string_equal(json_string_value(json_object_get(j, "sub")), "user-123");
    assert_string_equal(json_string_value(json_object_get(j, "email")), "u@example.com");
    assert_string_equal(json_string_value(json_object_get(j, "rpc_method")), "tools/call");
    assert_string_equal(json_string_value(json_object_get(j, "rpc_tool")), "search");
    assert_string_equal(json_string_value(json_object_get(j, "rpc_id")), "7");
    assert_null(json_object_get(j, "query"));
    json_decref(j);
    harness_response_free(&r);
}

static void
test_log_line_defaults(void **state)
{
    (void)state;
    struct harness_response r = roundtrip("GET /plain?token=secret HTTP/1.1\r\nHost: a\r\n\r\n");
    const char *logs = read_logs();
    assert_null(strstr(logs, "secret")); /* the query is never logged */
    json_t *j = only_request_line(logs);
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/plain");
    assert_int_equal(json_integer_value(json_object_get(j, "req_bytes")), -1);
    assert_int_equal(json_integer_value(json_object_get(j, "resp_bytes")), 3);
    assert_null(json_object_get(j, "sub"));
    assert_null(json_object_get(j, "email"));
    assert_null(json_object_get(j, "rpc_method"));
    json_decref(j);
    harness_response_free(&r);

    /* Refusals of the connection layer get their line too. */
    r = roundtrip("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
    j = only_request_line(read_logs());
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    json_decref(j);
    harness_response_free(&r);
    r = roundtrip("GET /plain HTTP/1.1\r\nHost : a\r\n\r\n");
    j = only_request_line(read_logs());
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/plain");
    json_decref(j);
    harness_response_free(&r);
}

/* The access-log line is written once the response's bytes were handed to
 * the socket, not while they still wait in the output buffer: formatting
 * it is off the response's latency path. It still says what the response
 * was, and the duration is the one taken when the response ended. */
static void
test_log_line_after_response_written(void **state)
{
    (void)state;
    int fd = harness_connect(&H);
    harness_send_str(&H, fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    /* The server answers; the client reads nothing. */
    harness_pump(&H, -1, NULL, 50);
    assert_null(strstr(read_logs(), "\"msg\":\"request\""));
    struct buf in;
    buf_init(&in, BIG_BODY + 4096);
    harness_wait_responses(&H, fd, &in, 1, 5000);
    harness_pump(&H, -1, NULL, 10);
    json_t *j = only_request_line(read_logs());
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "resp_bytes")), BIG_BODY);
    json_decref(j);
    buf_cleanup(&in);
    close(fd);
}

static void
test_route_state(void **state)
{
    (void)state;
    route_state_seen = NULL;
    route_state_none_before = false;
    struct harness_response r =
        roundtrip("POST /stash HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(r.status, 204);
    assert_true(route_state_none_before);
    assert_ptr_equal(route_state_seen, &route_state_token);
    harness_response_free(&r);
}

/* The access log asks the server's predicate (ACCESS_LOG_SKIP_RE in the
 * wiring), once per request, with the decoded path. */
static void
test_access_log_skip_option(void **state)
{
    (void)state;
    skip_calls = 0;
    skipped_in_handler = false;
    struct harness_response r = roundtrip("GET /plain HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_int_equal(skip_calls, 1);
    assert_string_equal(skip_seen, "/plain");
    assert_true(skipped_in_handler);
    assert_null(strstr(read_logs(), "\"msg\":\"request\""));
    harness_response_free(&r);

    r = roundtrip("GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_int_equal(skip_calls, 2);
    assert_string_equal(skip_seen, "/a/b");
    assert_false(skipped_in_handler);
    json_t *j = only_request_line(read_logs());
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/a/b");
    json_decref(j);
    harness_response_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_format),
        cmocka_unit_test_setup_teardown(test_headers_and_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_line_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_line_after_response_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_log_skip_option, setup_skip, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
