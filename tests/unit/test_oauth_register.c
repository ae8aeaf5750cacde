/* POST /register (SPEC.md 3.2) through the real route table over the HTTP
 * layer: the 201 body key by key, the sealed client_id opening to what was
 * registered, the TTL (7 days, 0 = never), the headers (no-store, CORS),
 * the counter and the client_registered line; rejections keep their status
 * and code and count nothing; 413 before the body; a missing key ring
 * fails closed. The body rules themselves are test_oauth_register_rules's. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/clock.h"
#include "config.h"
#include "fixtures.h"
#include "grants.h"
#include "http/router.h"
#include "http_harness.h"
#include "log.h"
#include "metrics.h"
#include "seal.h"
#include "wiring/app.h"
#include "wiring/routes.h"

#define WEEK_S (7 * 24 * 3600)

static struct config cfg;
static struct app *app;
static struct seal_ring *ring;
static struct http_router *router;
static struct harness H;
static int log_pipe[2];

static int
setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.proxy_base_url = FIXTURE_BASE;
    cfg.mount = "/mcp";
    cfg.mcp_resource_name = "";
    cfg.client_registration_ttl_s = WEEK_S;
    cfg.dcr_enabled = true;
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    assert_non_null(ring);
    app = app_new(&cfg);
    app->oauth.seal = ring;
    router = http_router_new();
    routes_build(router, app);
    harness_init(&H, router, NULL);
    assert_int_equal(pipe2(log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
    log_set_fd(log_pipe[1]);
    fixture_pin_clock(0);
    metrics_reset();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    fixture_unpin_clock();
    log_set_fd(1);
    close(log_pipe[0]);
    close(log_pipe[1]);
    harness_cleanup(&H);
    http_router_free(router);
    app->oauth.seal = NULL;
    app_free(app);
    seal_ring_free(ring);
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
send_raw(const char *raw, size_t len)
{
    (void)read_logs();
    struct harness_response r;
    assert_true(harness_roundtrip(&H, raw, len, &r));
    return r;
}

/* POST /register with body (and any extra header lines). */
static struct harness_response
post(const char *body, size_t body_len, const char *extra_headers)
{
    struct buf raw;
    buf_init(&raw, 1 << 21);
    assert_int_equal(
        buf_appendf(&raw, "POST /register HTTP/1.1\r\nHost: a\r\n%sContent-Length: %zu\r\n\r\n",
                    extra_headers, body_len),
        0);
    assert_int_equal(buf_append(&raw, body, body_len), 0);
    struct harness_response r = send_raw(raw.ptr, raw.len);
    buf_cleanup(&raw);
    return r;
}

static struct harness_response
post_str(const char *body)
{
    return post(body, strlen(body), "");
}

/* j is exactly the array of strings want[0..n). */
static void
assert_strings(const json_t *j, size_t n, const char *const *want)
{
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(json_string_value(json_array_get(j, i)), want[i]);
    }
}

/* The 201 body: keys exactly in SPEC.md 3.2's order, with application_type
 * (SEP-837, not in SPEC.md) before the method. */
static json_t *
parse_success(const struct harness_response *r, bool with_name)
{
    assert_int_equal(r->status, 201);
    assert_string_equal(harness_header(r, "Content-Type"), "application/json");
    assert_string_equal(harness_header(r, "Cache-Control"), "no-store");
    assert_string_equal(harness_header(r, "Pragma"), "no-cache");
    assert_string_equal(harness_header(r, "Access-Control-Allow-Origin"), "*");
    assert_true(r->body_len > 0);
    assert_int_equal(r->body[r->body_len - 1], '\n');
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(j);
    /* SPEC.md 3.2's keys in order, then the echoed metadata the client
     * sent (RFC 7591 3.2.1), each at most once and in this order. */
    static const char *const keys[] = {"client_id",
                                       "client_id_issued_at",
                                       "client_id_expires_at",
                                       "redirect_uris",
                                       "client_name",
                                       "application_type",
                                       "token_endpoint_auth_method",
                                       "grant_types",
                                       "response_types",
                                       "scope"};
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        (void)v;
        if (!with_name && k == 4) {
            k++;
        }
        while (k > 7 && k < 10 && strcmp(key, keys[k]) != 0) {
            k++; /* an echoed key the client did not send */
        }
        assert_true(k < 10);
        assert_string_equal(key, keys[k]);
        k++;
    }
    assert_true(k >= 7);
    assert_string_equal(json_string_value(json_object_get(j, "token_endpoint_auth_method")),
                        "none");
    return j;
}

static void
test_success(void **state)
{
    (void)state;
    static const char body[] =
        "{\"redirect_uris\":[\"https://app.example.com/cb?a=1&b=2\",\"http://127.0.0.1:5173/cb\"],"
        "\"client_name\":\"My <App>\",\"grant_types\":[\"authorization_code\"],\"scope\":\"x\"}";
    /* Authorization is ignored and the Content-Type is not checked. */
    struct harness_response r = post(
        body, strlen(body), "Authorization: Basic Zm9vOmJhcg==\r\nContent-Type: text/plain\r\n");
    json_t *j = parse_success(&r, true);
    assert_int_equal(json_integer_value(json_object_get(j, "client_id_issued_at")), FIXTURE_NOW);
    assert_int_equal(json_integer_value(json_object_get(j, "client_id_expires_at")),
                     FIXTURE_NOW + WEEK_S);
    const json_t *uris = json_object_get(j, "redirect_uris");
    assert_int_equal(json_array_size(uris), 2);
    assert_string_equal(json_string_value(json_array_get(uris, 0)),
                        "https://app.example.com/cb?a=1&b=2");
    assert_string_equal(json_string_value(json_array_get(uris, 1)), "http://127.0.0.1:5173/cb");
    assert_string_equal(json_string_value(json_object_get(j, "client_name")), "My <App>");
    /* No application_type, and a loopback URI: a native app. */
    assert_string_equal(json_string_value(json_object_get(j, "application_type")), "native");
    /* The accepted metadata it sent is echoed (RFC 7591 3.2.1). */
    assert_strings(json_object_get(j, "grant_types"), 1, (const char *[]){"authorization_code"});
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "x");
    assert_null(json_object_get(j, "response_types"));
    /* Escaped as Go's encoder writes it. */
    assert_non_null(memmem(r.body, r.body_len, "\"My \\u003cApp\\u003e\"", 20));

    /* The client_id opens to the registration, bound to this base. */
    const char *client_id = json_string_value(json_object_get(j, "client_id"));
    struct grant_client g = {0};
    enum seal_rc src;
    assert_int_equal(
        grants_open_client(ring, slice_from_cstr(client_id), FIXTURE_BASE, FIXTURE_NOW, &g, &src),
        GRANTS_OK);
    assert_int_equal(strlen(g.id), 36);
    assert_int_equal(g.id[14], '4'); /* UUID version 4 */
    assert_int_equal(g.redirect_uri_count, 2);
    assert_string_equal(g.redirect_uris[0], "https://app.example.com/cb?a=1&b=2");
    assert_string_equal(g.redirect_uris[1], "http://127.0.0.1:5173/cb");
    assert_string_equal(g.client_name, "My <App>");
    assert_string_equal(g.application_type, "native");
    assert_string_equal(g.aud, FIXTURE_BASE);
    assert_int_equal(g.exp, FIXTURE_NOW + WEEK_S);
    char id[40];
    snprintf(id, sizeof(id), "%s", g.id);
    grants_cleanup_client(&g);
    assert_int_equal(grants_open_client(ring, slice_from_cstr(client_id), FIXTURE_OTHER_BASE,
                                        FIXTURE_NOW, &g, &src),
                     GRANTS_ERR_AUDIENCE);
    grants_cleanup_client(&g);
    assert_int_equal(grants_open_client(ring, slice_from_cstr(client_id), FIXTURE_BASE,
                                        FIXTURE_NOW + WEEK_S + 1, &g, &src),
                     GRANTS_ERR_EXPIRED);
    grants_cleanup_client(&g);

    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), 1);
    json_t *line = only_line(read_logs(), "client_registered");
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(line, "internal_id")), id);
    assert_string_equal(json_string_value(json_object_get(line, "client_name")), "My <App>");
    assert_string_equal(json_string_value(json_object_get(line, "application_type")), "native");
    assert_null(json_object_get(line, "application_type_coerced"));
    /* The sealed client_id is never logged. */
    char *dumped = json_dumps(line, 0);
    assert_non_null(dumped);
    assert_null(strstr(dumped, client_id));
    free(dumped);
    json_decref(line);
    json_decref(j);
    harness_response_free(&r);
}

static void
test_never_expires_and_no_name(void **state)
{
    (void)state;
    cfg.client_registration_ttl_s = 0;
    struct harness_response r =
        post_str("{\"redirect_uris\":[\"https://app.example.com/cb\"],"
                 "\"client_name\":\"\",\"token_endpoint_auth_method\":\"none\"}");
    cfg.client_registration_ttl_s = WEEK_S;
    json_t *j = parse_success(&r, false);
    assert_int_equal(json_integer_value(json_object_get(j, "client_id_expires_at")), 0);
    assert_null(json_object_get(j, "client_name"));
    const char *client_id = json_string_value(json_object_get(j, "client_id"));
    struct grant_client g = {0};
    enum seal_rc src;
    /* Years later it still opens. */
    assert_int_equal(grants_open_client(ring, slice_from_cstr(client_id), FIXTURE_BASE,
                                        FIXTURE_NOW + 10 * 365 * 24 * 3600LL, &g, &src),
                     GRANTS_OK);
    assert_int_equal(g.exp, 0);
    assert_string_equal(g.client_name, "");
    assert_string_equal(g.application_type, "web"); /* https only, none declared */
    assert_string_equal(json_string_value(json_object_get(j, "application_type")), "web");
    grants_cleanup_client(&g);
    json_decref(j);
    harness_response_free(&r);
}

/* Cursor's three redirect URIs, declared "web" (research 0.3): stored and
 * answered as "native", logged as coerced. */
static void
test_web_with_private_use_stored_native(void **state)
{
    (void)state;
    struct harness_response r =
        post_str("{\"redirect_uris\":[\"cursor://anysphere.cursor-mcp/oauth/callback\","
                 "\"https://www.cursor.com/agents/mcp/oauth/callback\","
                 "\"http://localhost:8787/callback\"],\"application_type\":\"web\","
                 "\"client_name\":\"Cursor\",\"token_endpoint_auth_method\":\"none\"}");
    json_t *j = parse_success(&r, true);
    assert_string_equal(json_string_value(json_object_get(j, "application_type")), "native");
    const json_t *uris = json_object_get(j, "redirect_uris");
    assert_int_equal(json_array_size(uris), 3);
    assert_string_equal(json_string_value(json_array_get(uris, 0)),
                        "cursor://anysphere.cursor-mcp/oauth/callback");
    const char *client_id = json_string_value(json_object_get(j, "client_id"));
    struct grant_client g = {0};
    assert_int_equal(
        grants_open_client(ring, slice_from_cstr(client_id), FIXTURE_BASE, FIXTURE_NOW, &g, NULL),
        GRANTS_OK);
    assert_string_equal(g.application_type, "native");
    grants_cleanup_client(&g);
    json_t *line = only_line(read_logs(), "client_registered");
    assert_string_equal(json_string_value(json_object_get(line, "application_type")), "native");
    assert_true(json_is_true(json_object_get(line, "application_type_coerced")));
    json_decref(line);
    json_decref(j);
    harness_response_free(&r);
}

struct rejection {
    const char *body;
    int status;
    const char *want;
};

/* What real clients send (research: the SDK's example client asks for
 * client_secret_post; MCP Inspector 2.x sends scope ""; VS Code lists a
 * device_code grant): a secret method is registered as "none" (RFC 7591
 * 3.2.1 lets the server replace it; no secret is issued), and the accepted
 * metadata is echoed, unsupported grants left out. */
static void
test_secret_method_replaced_and_metadata_echoed(void **state)
{
    (void)state;
    static const char *const methods[] = {"client_secret_post", "client_secret_basic"};
    for (size_t i = 0; i < 2; i++) {
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"redirect_uris\":[\"http://localhost:6274/oauth/callback\"],"
                 "\"client_name\":\"MCP Inspector\",\"token_endpoint_auth_method\":\"%s\","
                 "\"grant_types\":[\"authorization_code\",\"refresh_token\","
                 "\"urn:ietf:params:oauth:grant-type:device_code\"],"
                 "\"response_types\":[\"code\"],\"scope\":\"\"}",
                 methods[i]);
        struct harness_response r = post_str(body);
        json_t *j = parse_success(&r, true);
        assert_string_equal(json_string_value(json_object_get(j, "token_endpoint_auth_method")),
                            "none");
        assert_null(json_object_get(j, "client_secret"));
        assert_null(json_object_get(j, "client_secret_expires_at"));
        assert_strings(json_object_get(j, "grant_types"), 2,
                       (const char *[]){"authorization_code", "refresh_token"});
        assert_strings(json_object_get(j, "response_types"), 1, (const char *[]){"code"});
        assert_true(json_is_string(json_object_get(j, "scope")));
        assert_string_equal(json_string_value(json_object_get(j, "scope")), "");
        json_decref(j);
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), 2);
}

static void
test_rejections(void **state)
{
    (void)state;
    static const struct rejection rows[] = {
        {"", 400, "{\"error\":\"invalid_request\",\"error_description\":\"invalid JSON body\"}\n"},
        {"{\"redirect_uris\":[\"https://a.example/cb\"]}{}", 400,
         "{\"error\":\"invalid_request\",\"error_description\":\"invalid JSON body\"}\n"},
        {"{\"redirect_uris\":[]}", 400,
         "{\"error\":\"invalid_redirect_uri\",\"error_description\":\"redirect_uris is required "
         "and must not be empty\"}\n"},
        {"{\"redirect_uris\":[\"http://evil.example/cb\"]}", 400,
         "{\"error\":\"invalid_redirect_uri\",\"error_description\":\"redirect_uri must use HTTPS "
         "for non-loopback addresses\"}\n"},
        {"{\"redirect_uris\":[\"cursor://anysphere.cursor-mcp/cb\",\"JavaScript:alert(1)\"]}", 400,
         "{\"error\":\"invalid_redirect_uri\",\"error_description\":\"redirect_uri scheme is not "
         "allowed\"}\n"},
        {"{\"redirect_uris\":[\"https://a.example/cb\"],\"application_type\":\"desktop\"}", 400,
         "{\"error\":\"invalid_client_metadata\",\"error_description\":\"application_type must be "
         "\\\"native\\\" or \\\"web\\\"\"}\n"},
        {"{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":\"a,b\"}", 400,
         "{\"error\":\"invalid_client_metadata\",\"error_description\":\"client_name must not "
         "contain control bytes or commas\"}\n"},
        {"{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":"
         "\"private_key_jwt\"}",
         400,
         "{\"error\":\"invalid_client_metadata\",\"error_description\":\"unsupported "
         "token_endpoint_auth_method; only \\\"none\\\" is supported\"}\n"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct harness_response r = post_str(rows[i].body);
        assert_int_equal(r.status, rows[i].status);
        assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
        assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
        assert_int_equal(harness_header_count(&r, "Cache-Control"), 0);
        assert_int_equal(r.body_len, strlen(rows[i].want));
        assert_memory_equal(r.body, rows[i].want, r.body_len);
        harness_response_free(&r);
    }
    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), 0);
}

static void
test_too_large_before_body(void **state)
{
    (void)state;
    static const char head[] =
        "POST /register HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\n\r\n";
    struct harness_response r = send_raw(head, sizeof(head) - 1);
    assert_int_equal(r.status, 413);
    assert_string_equal(harness_header(&r, "Content-Type"), "application/json");
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "*");
    static const char want[] = "{\"error\":\"invalid_request\",\"error_description\":\"request "
                               "body exceeds the 64 KiB cap\"}\n";
    assert_int_equal(r.body_len, sizeof(want) - 1);
    assert_memory_equal(r.body, want, r.body_len);
    harness_response_free(&r);

    /* Exactly the cap (BOUNDS_OAUTH_BODY_MAX) is read and judged on its
     * content. */
    size_t n = BOUNDS_OAUTH_BODY_MAX;
    char *big = calloc(1, n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{\"redirect_uris\":[\"https://a.example/cb\"]}", 42);
    r = post(big, n, "");
    free(big);
    assert_int_equal(r.status, 201);
    harness_response_free(&r);
}

static void
test_no_key_ring_fails_closed(void **state)
{
    (void)state;
    app->oauth.seal = NULL;
    struct harness_response r = post_str("{\"redirect_uris\":[\"https://a.example/cb\"]}");
    app->oauth.seal = ring;
    assert_int_equal(r.status, 500);
    static const char want[] =
        "{\"error\":\"server_error\",\"error_description\":\"failed to register client\"}\n";
    assert_int_equal(r.body_len, sizeof(want) - 1);
    assert_memory_equal(r.body, want, r.body_len);
    harness_response_free(&r);
    json_t *line = only_line(read_logs(), "client_seal_failed");
    assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
    json_decref(line);
    assert_int_equal(metrics_get(METRICS_CLIENTS_REGISTERED), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_expires_and_no_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_method_replaced_and_metadata_echoed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_web_with_private_use_stored_native, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_before_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_key_ring_fails_closed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
