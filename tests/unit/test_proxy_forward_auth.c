/* proxy/forward_auth: the description a gateway sends (pure) and the
 * decision endpoint end to end over the HTTP harness, with real sealed
 * access tokens (FIXTURE_SECRET, clock pinned at FIXTURE_NOW), a real
 * Origin list and a real policy file. */
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
#include "fixtures.h"
#include "grants.h"
#include "http_harness.h"
#include "http/router.h"
#include "metrics.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "proxy/forward_auth.h"
#include "proxy/mount.h"
#include "seal.h"

#define MOUNT "/mcp"
#define RES FIXTURE_BASE MOUNT
#define T0 ((int64_t)FIXTURE_NOW)

/* ---- the description ---- */

static struct proxy_forward_auth_input
input(const char *method, const char *path)
{
    struct proxy_forward_auth_input in;
    memset(&in, 0, sizeof(in));
    in.own_method = slice_from_cstr(method);
    in.own_path = slice_from_cstr(path);
    return in;
}

static void
add(struct proxy_forward_auth_input *in, enum proxy_forward_auth_field f, const char *v)
{
    assert_true(in->counts[f] < PROXY_FORWARD_AUTH_FIELD_VALUES);
    in->values[f][in->counts[f]++] = slice_from_cstr(v);
}

static void
expect_target(const struct proxy_forward_auth_input *in, const char *method, const char *path)
{
    struct proxy_forward_auth_target t;
    const char *why = proxy_forward_auth_describe(in, &t);
    if (why != NULL) {
        fail_msg("refused: %s", why);
    }
    assert_true(slice_eq_cstr(t.method, method));
    assert_true(slice_eq_cstr(t.path, path));
}

static void
expect_refused(const struct proxy_forward_auth_input *in, const char *part)
{
    struct proxy_forward_auth_target t;
    const char *why = proxy_forward_auth_describe(in, &t);
    assert_non_null(why);
    if (strstr(why, part) == NULL) {
        fail_msg("reason \"%s\" lacks \"%s\"", why, part);
    }
}

static void
describe_nginx(void **state)
{
    (void)state;
    /* auth_request's subrequest is a GET to /auth; the operator's
     * proxy_set_header lines describe the client's request. */
    struct proxy_forward_auth_input in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD, "POST");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp/sub?x=1");
    expect_target(&in, "POST", "/mcp/sub");
}

static void
describe_traefik(void **state)
{
    (void)state;
    struct proxy_forward_auth_input in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_METHOD, "DELETE");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_URI, " /mcp ");
    expect_target(&in, "DELETE", "/mcp");
}

static void
describe_envoy(void **state)
{
    (void)state;
    /* ext_authz HTTP service: the original method, path_prefix + path. */
    struct proxy_forward_auth_input in = input("POST", "/auth/mcp");
    expect_target(&in, "POST", "/mcp");
    in = input("GET", "/auth/");
    expect_target(&in, "GET", "/");
    /* A URI field that agrees with the path is fine. */
    in = input("POST", "/auth/mcp");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_URI, "/mcp?session=1");
    expect_target(&in, "POST", "/mcp");
}

static void
describe_refusals(void **state)
{
    (void)state;
    struct proxy_forward_auth_input in = input("GET", "/auth");
    expect_refused(&in, "did not describe");

    /* A client behind Traefik adds X-Original-Method: GET to a POST. */
    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD, "GET");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_METHOD, "POST");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_URI, "/mcp");
    expect_refused(&in, "disagree");

    /* ... or X-Original-URI naming another path. */
    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp");
    add(&in, PROXY_FORWARD_AUTH_X_FORWARDED_URI, "/admin");
    expect_refused(&in, "disagree");

    /* Envoy's path against a URI field a client slipped in. */
    in = input("POST", "/auth/mcp");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/other");
    expect_refused(&in, "disagree");

    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp");
    expect_refused(&in, "twice");

    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD, "PO ST");
    expect_refused(&in, "method token");

    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD, "");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "/mcp");
    expect_refused(&in, "method token");

    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "https://evil.example/mcp");
    expect_refused(&in, "'/' first");

    in = input("GET", "/auth");
    add(&in, PROXY_FORWARD_AUTH_X_ORIGINAL_URI, "");
    expect_refused(&in, "'/' first");

    in = input("GET", "/authx/mcp");
    expect_refused(&in, "below it");
}

static void
body_required(void **state)
{
    (void)state;
    assert_true(proxy_forward_auth_body_required(SLICE_LIT("POST")));
    assert_true(proxy_forward_auth_body_required(SLICE_LIT("PUT")));
    assert_true(proxy_forward_auth_body_required(SLICE_LIT("PATCH")));
    assert_true(proxy_forward_auth_body_required(SLICE_LIT("OPTIONS")));
    /* Methods are case-sensitive: "get" is not GET. */
    assert_true(proxy_forward_auth_body_required(SLICE_LIT("get")));
    assert_false(proxy_forward_auth_body_required(SLICE_LIT("GET")));
    assert_false(proxy_forward_auth_body_required(SLICE_LIT("HEAD")));
    assert_false(proxy_forward_auth_body_required(SLICE_LIT("DELETE")));
}

static void
field_names(void **state)
{
    (void)state;
    assert_string_equal(proxy_forward_auth_field_name(PROXY_FORWARD_AUTH_X_ORIGINAL_URI),
                        "X-Original-URI");
    assert_string_equal(proxy_forward_auth_field_name(PROXY_FORWARD_AUTH_FIELD_COUNT), "unknown");
}

/* ---- the endpoint over the harness ---- */

static struct seal_ring *ring;
static struct proxy_mount_ctx ctx;
static struct http_router *router;
static struct harness H;
static char *good_token;

static const char *const groups[] = {"admin", "dev"};

static char *
mint(const struct grant_access *g)
{
    struct buf b;
    buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_access(ring, g, &b), SEAL_OK);
    return buf_take(&b);
}

static int
setup(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    metrics_reset();
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    memset(&ctx, 0, sizeof(ctx));
    ctx.bearer =
        (struct proxy_bearer_policy){.ring = ring, .audience = FIXTURE_BASE, .resource = RES};
    char *allowed[] = {(char *)"https://app.example"};
    proxy_cors_policy_init(&ctx.cors, FIXTURE_BASE, allowed, 1);
    ctx.mount = MOUNT;
    ctx.proxy_base_url = FIXTURE_BASE;
    ctx.challenge_scope = "mcp:read";
    router = http_router_new();
    http_router_add_def(router, &proxy_forward_auth_route, NULL, &ctx);
    struct harness_opts o = {.is_public = false};
    harness_init(&H, router, &o);
    const struct grant_access g = {.token_id = "tid-1",
                                   .aud = FIXTURE_BASE,
                                   .resource = RES,
                                   .sub = "user-1",
                                   .email = "u1@example.com",
                                   .groups = groups,
                                   .group_count = 2,
                                   .scope = "mcp:read",
                                   .client_id = "cid-1",
                                   .iat = T0 - 60,
                                   .exp = T0 + 3600};
    good_token = mint(&g);
    return ring != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    harness_cleanup(&H);
    http_router_free(router);
    proxy_cors_policy_cleanup(&ctx.cors);
    if (ctx.policy != NULL) {
        policy_holder_free(ctx.policy);
        ctx.policy = NULL;
    }
    seal_ring_free(ring);
    xfree(good_token);
    fixture_unpin_clock();
    return 0;
}

/* One decision request: head lines (each ending "\r\n") and a body. */
static void
ask(const char *target, const char *method, const char *lines, const char *body,
    struct harness_response *r)
{
    struct buf raw;
    buf_init(&raw, 1 << 16);
    size_t blen = body != NULL ? strlen(body) : 0;
    assert_int_equal(
        buf_appendf(&raw, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, target, lines), 0);
    if (blen > 0) {
        assert_int_equal(
            buf_appendf(&raw, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen),
            0);
    }
    assert_int_equal(buf_appendf(&raw, "Connection: close\r\n\r\n%s", body != NULL ? body : ""), 0);
    assert_true(harness_roundtrip(&H, raw.ptr, raw.len, r));
    buf_cleanup(&raw);
}

static char *
bearer_line(void)
{
    struct buf b;
    buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(buf_appendf(&b, "Authorization: Bearer %s\r\n", good_token), 0);
    return buf_take(&b);
}

static void
allow_with_identity(void **state)
{
    (void)state;
    char *auth = bearer_line();
    struct buf lines;
    buf_init(&lines, 1 << 15);
    assert_int_equal(buf_appendf(&lines,
                                 "%sX-Original-Method: POST\r\nX-Original-URI: /mcp\r\n"
                                 "X-User-Sub: forged\r\n",
                                 auth),
                     0);
    struct harness_response r;
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "X-User-Sub"), "user-1");
    assert_int_equal(harness_header_count(&r, "X-User-Sub"), 1);
    assert_string_equal(harness_header(&r, "X-User-Email"), "u1@example.com");
    assert_string_equal(harness_header(&r, "X-User-Groups"), "admin,dev");
    /* No identity assertion configured: none sent. */
    assert_int_equal(harness_header_count(&r, "X-MCP-Identity-Assertion"), 0);
    assert_int_equal(harness_header_count(&r, "WWW-Authenticate"), 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_ALLOW), 1);
    buf_cleanup(&lines);
    xfree(auth);
}

static void
no_token_401_challenge(void **state)
{
    (void)state;
    struct harness_response r;
    ask("/auth", "GET", "X-Original-Method: POST\r\nX-Original-URI: /mcp\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(harness_header(&r, "WWW-Authenticate"),
                        "Bearer resource_metadata=\"" FIXTURE_BASE
                        "/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:read\"");
    assert_int_equal(harness_header_count(&r, "X-User-Sub"), 0);
    harness_response_free(&r);

    ask("/auth", "GET",
        "Authorization: Bearer not-a-token\r\nX-Original-Method: POST\r\nX-Original-URI: /mcp\r\n",
        NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(harness_header(&r, "WWW-Authenticate"), "error=\"invalid_token\""));
    assert_non_null(strstr(harness_header(&r, "WWW-Authenticate"), "resource_metadata="));
    harness_response_free(&r);
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_UNAUTHORIZED), 2);
}

static void
origin_rule(void **state)
{
    (void)state;
    char *auth = bearer_line();
    struct buf lines;
    buf_init(&lines, 1 << 15);
    assert_int_equal(
        buf_appendf(&lines, "%sX-Original-URI: /mcp\r\nOrigin: https://evil.example\r\n", auth), 0);
    struct harness_response r;
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 403);
    assert_int_equal(harness_header_count(&r, "X-User-Sub"), 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_ORIGIN), 1);

    buf_reset(&lines);
    assert_int_equal(
        buf_appendf(&lines, "%sX-Original-URI: /mcp\r\nOrigin: https://app.example\r\n", auth), 0);
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    harness_response_free(&r);
    buf_cleanup(&lines);
    xfree(auth);
}

static void
path_rule(void **state)
{
    (void)state;
    char *auth = bearer_line();
    static const char *const bad[] = {"/other", "/mcpx", "/mcp/../admin", "/mcp/a%2Fb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf lines;
        buf_init(&lines, 1 << 15);
        assert_int_equal(buf_appendf(&lines, "%sX-Original-URI: %s\r\n", auth, bad[i]), 0);
        struct harness_response r;
        ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
        assert_int_equal(r.status, 403);
        assert_int_equal(harness_header_count(&r, "X-User-Sub"), 0);
        harness_response_free(&r);
        buf_cleanup(&lines);
    }
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_BAD_REQUEST), 4);
    /* Not described at all. */
    struct harness_response r;
    ask("/auth", "GET", "", NULL, &r);
    assert_int_equal(r.status, 403);
    harness_response_free(&r);
    xfree(auth);
}

static void
set_policy(void)
{
    static const char text[] = "rules:\n"
                               "  - name: no-drop\n"
                               "    match: {name: [drop_*]}\n"
                               "    effect: deny\n";
    struct buf err;
    buf_init(&err, 256);
    struct policy *p = policy_load_parse(slice_from_cstr(text), &err);
    assert_non_null(p);
    buf_cleanup(&err);
    ctx.policy = policy_holder_new(p);
}

static void
policy_needs_body(void **state)
{
    (void)state;
    set_policy();
    char *auth = bearer_line();
    struct buf lines;
    buf_init(&lines, 1 << 15);
    struct harness_response r;

    /* nginx: no body for a POST -> refused, whatever it calls. */
    assert_int_equal(
        buf_appendf(&lines, "%sX-Original-Method: POST\r\nX-Original-URI: /mcp\r\n", auth), 0);
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "request body"));
    assert_int_equal(harness_header_count(&r, "X-User-Sub"), 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_BODY_REQUIRED), 1);

    /* The SSE stream (GET) and DELETE carry no calls: allowed. */
    buf_reset(&lines);
    assert_int_equal(
        buf_appendf(&lines, "%sX-Original-Method: GET\r\nX-Original-URI: /mcp\r\n", auth), 0);
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);

    /* A client adding X-Forwarded-Method: GET to its POST. */
    buf_reset(&lines);
    assert_int_equal(buf_appendf(&lines,
                                 "%sX-Original-Method: POST\r\nX-Forwarded-Method: GET\r\n"
                                 "X-Original-URI: /mcp\r\n",
                                 auth),
                     0);
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 403);
    harness_response_free(&r);

    /* Envoy with_request_body: the calls are decided. */
    ask("/auth/mcp", "POST", auth,
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/"
        "call\",\"params\":{\"name\":\"drop_all\"}}",
        &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "-32003"));
    assert_int_equal(harness_header_count(&r, "X-User-Sub"), 0);
    harness_response_free(&r);
    assert_int_equal(metrics_get_forward_auth(METRICS_FORWARD_AUTH_POLICY), 1);

    ask("/auth/mcp", "POST", auth,
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}",
        &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "X-User-Sub"), "user-1");
    harness_response_free(&r);
    buf_cleanup(&lines);
    xfree(auth);
}

static void
no_policy_no_body_allowed(void **state)
{
    (void)state;
    /* Without a policy file nothing depends on the body (proxy mode forwards
     * every authenticated call too). */
    char *auth = bearer_line();
    struct buf lines;
    buf_init(&lines, 1 << 15);
    assert_int_equal(
        buf_appendf(&lines, "%sX-Original-Method: POST\r\nX-Original-URI: /mcp\r\n", auth), 0);
    struct harness_response r;
    ask("/auth", "GET", buf_cstr(&lines), NULL, &r);
    assert_int_equal(r.status, 200);
    harness_response_free(&r);
    buf_cleanup(&lines);
    xfree(auth);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describe_nginx),
        cmocka_unit_test(describe_traefik),
        cmocka_unit_test(describe_envoy),
        cmocka_unit_test(describe_refusals),
        cmocka_unit_test(body_required),
        cmocka_unit_test(field_names),
        cmocka_unit_test_setup_teardown(allow_with_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(no_token_401_challenge, setup, teardown),
        cmocka_unit_test_setup_teardown(origin_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(path_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_needs_body, setup, teardown),
        cmocka_unit_test_setup_teardown(no_policy_no_body_allowed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
