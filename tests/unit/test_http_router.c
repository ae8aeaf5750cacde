/* The route table: exact routes, the mount prefix and its carve-out,
 * 405 with the Allow set, HEAD through GET, 404, literal matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "http/router.h"

static void
h_a(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
}

static void
h_b(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
}

static void
h_head(struct http_request *req, void *arg)
{
    (void)req;
    (void)arg;
}

static int mount_tag;
static int carve_tag;

static struct http_router *
build(void)
{
    struct http_router *r = http_router_new();
    http_router_add(r, HTTP_METHODS_GET, "/healthz", h_a, NULL, NULL);
    http_router_add(r, HTTP_METHODS_POST, "/register", h_a, NULL, NULL);
    http_router_add(r, HTTP_METHODS_GET, "/authorize", h_a, NULL, NULL);
    http_router_add(r, HTTP_METHODS_POST, "/authorize", h_b, NULL, NULL);
    http_router_add(r, HTTP_METHODS_GET, "/explicit-head", h_a, NULL, NULL);
    http_router_add(r, HTTP_METHODS_BIT(HTTP_METHOD_HEAD), "/explicit-head", h_head, NULL, NULL);
    struct http_route_opts mcp = {.body_max = BOUNDS_MCP_BODY_MAX};
    http_router_add_prefix(r, HTTP_METHODS_ANY, "/mcp", h_a, &mount_tag, &mcp);
    http_router_add_prefix(r, HTTP_METHODS_ANY, "/mcp/.well-known/", h_b, &carve_tag, NULL);
    return r;
}

static const struct http_route *
match(const struct http_router *r, enum http_method m, const char *path, unsigned *allowed)
{
    return http_router_match(r, m, slice_from_cstr(path), allowed);
}

static void
test_exact(void **state)
{
    (void)state;
    struct http_router *r = build();
    unsigned allowed = 0;
    const struct http_route *rt = match(r, HTTP_METHOD_GET, "/healthz", &allowed);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_a);
    assert_int_equal(rt->opts.body_max, BOUNDS_OAUTH_BODY_MAX); /* defaulted */
    assert_false(rt->opts.rate_limited);
    /* Two methods, two handlers, one path. */
    assert_ptr_equal(match(r, HTTP_METHOD_POST, "/authorize", &allowed)->handler, h_b);
    assert_ptr_equal(match(r, HTTP_METHOD_GET, "/authorize", &allowed)->handler, h_a);
    http_router_free(r);
}

static void
test_head_through_get(void **state)
{
    (void)state;
    struct http_router *r = build();
    unsigned allowed = 0;
    const struct http_route *rt = match(r, HTTP_METHOD_HEAD, "/healthz", &allowed);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_a);
    /* A route that claims HEAD itself wins over GET's implied HEAD. */
    assert_ptr_equal(match(r, HTTP_METHOD_HEAD, "/explicit-head", &allowed)->handler, h_head);
    /* POST routes do not answer HEAD. */
    assert_null(match(r, HTTP_METHOD_HEAD, "/register", &allowed));
    assert_int_equal(allowed, HTTP_METHODS_POST);
    http_router_free(r);
}

static void
test_method_not_allowed(void **state)
{
    (void)state;
    struct http_router *r = build();
    unsigned allowed = 0;
    assert_null(match(r, HTTP_METHOD_GET, "/register", &allowed));
    assert_int_equal(allowed, HTTP_METHODS_POST);
    assert_null(match(r, HTTP_METHOD_DELETE, "/authorize", &allowed));
    struct buf b;
    buf_init(&b, 128);
    assert_int_equal(http_router_format_allow(allowed, &b), 0);
    assert_string_equal(buf_cstr(&b), "GET, HEAD, POST");
    buf_reset(&b);
    assert_null(match(r, HTTP_METHOD_OPTIONS, "/healthz", &allowed));
    assert_int_equal(http_router_format_allow(allowed, &b), 0);
    assert_string_equal(buf_cstr(&b), "GET, HEAD");
    buf_cleanup(&b);
    http_router_free(r);
}

static void
test_not_found_and_literal(void **state)
{
    (void)state;
    struct http_router *r = build();
    unsigned allowed = 99;
    assert_null(match(r, HTTP_METHOD_GET, "/nope", &allowed));
    assert_int_equal(allowed, 0);
    /* Literal: no trailing-slash or case folding, no decoding. */
    assert_null(match(r, HTTP_METHOD_GET, "/healthz/", &allowed));
    assert_int_equal(allowed, 0);
    assert_null(match(r, HTTP_METHOD_GET, "/HEALTHZ", &allowed));
    assert_null(match(r, HTTP_METHOD_GET, "/healt%68z", &allowed));
    assert_null(match(r, HTTP_METHOD_GET, "/mcpx", &allowed));
    assert_int_equal(allowed, 0);
    http_router_free(r);
}

static void
test_mount_prefix(void **state)
{
    (void)state;
    struct http_router *r = build();
    unsigned allowed = 0;
    static const char *const paths[] = {"/mcp", "/mcp/", "/mcp/x/y", "/mcp/../x",
                                        "/mcp/.well-known"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const struct http_route *rt = match(r, HTTP_METHOD_POST, paths[i], &allowed);
        assert_non_null(rt);
        assert_ptr_equal(rt->arg, &mount_tag);
        assert_int_equal(rt->opts.body_max, BOUNDS_MCP_BODY_MAX);
    }
    /* Every method, HEAD and custom ones included. */
    assert_non_null(match(r, HTTP_METHOD_OTHER, "/mcp", &allowed));
    assert_non_null(match(r, HTTP_METHOD_HEAD, "/mcp", &allowed));
    /* The carve-out (longest prefix) wins over the mount. */
    const struct http_route *rt =
        match(r, HTTP_METHOD_GET, "/mcp/.well-known/oauth-authorization-server", &allowed);
    assert_ptr_equal(rt->arg, &carve_tag);
    assert_ptr_equal(match(r, HTTP_METHOD_GET, "/mcp/.well-known/", &allowed)->arg, &carve_tag);
    http_router_free(r);
}

static void
test_exact_beats_prefix(void **state)
{
    (void)state;
    struct http_router *r = build();
    http_router_add(r, HTTP_METHODS_GET, "/mcp/special", h_b, NULL, NULL);
    unsigned allowed = 0;
    assert_ptr_equal(match(r, HTTP_METHOD_GET, "/mcp/special", &allowed)->handler, h_b);
    /* ... and its method set is the exact route's. */
    assert_null(match(r, HTTP_METHOD_POST, "/mcp/special", &allowed));
    assert_int_equal(allowed, HTTP_METHODS_GET | HTTP_METHODS_BIT(HTTP_METHOD_HEAD));
    http_router_free(r);
}

static int limiter_calls;

static bool
deny_all(void *arg, enum metrics_endpoint bucket, struct http_request *req)
{
    (void)arg;
    (void)req;
    limiter_calls++;
    return bucket != METRICS_ENDPOINT_REGISTER;
}

static void
test_rate_limit_hook(void **state)
{
    (void)state;
    struct http_router *r = http_router_new();
    struct http_route_opts reg = {.rate_limited = true, .bucket = METRICS_ENDPOINT_REGISTER};
    http_router_add(r, HTTP_METHODS_POST, "/register", h_a, NULL, &reg);
    http_router_add(r, HTTP_METHODS_GET, "/healthz", h_a, NULL, NULL);
    unsigned allowed;
    const struct http_route *limited = match(r, HTTP_METHOD_POST, "/register", &allowed);
    const struct http_route *free_rt = match(r, HTTP_METHOD_GET, "/healthz", &allowed);
    /* No limiter installed: allowed. */
    assert_true(http_router_rate_limit_allows(r, limited, NULL));
    http_router_set_rate_limiter(r, deny_all, NULL);
    assert_false(http_router_rate_limit_allows(r, limited, NULL));
    /* A route without a bucket never asks. */
    limiter_calls = 0;
    assert_true(http_router_rate_limit_allows(r, free_rt, NULL));
    assert_int_equal(limiter_calls, 0);
    http_router_free(r);
}

/* A route definition: its path placed around the mount, its options kept,
 * its preflight on the same path (not rate limited), and none without. */
static void
test_add_def(void **state)
{
    (void)state;
    static const struct http_route_def defs[] = {
        {.path = "/doc",
         .place = HTTP_ROUTE_AFTER_MOUNT,
         .methods = HTTP_METHODS_GET,
         .handler = h_a,
         .opts = {.rate_limited = true, .bucket = METRICS_ENDPOINT_DISCOVERY},
         .preflight = h_b,
         .preflight_arg = "GET, HEAD, OPTIONS"},
        {.path = "/.well-known/",
         .place = HTTP_ROUTE_BEFORE_MOUNT,
         .prefix = true,
         .methods = HTTP_METHODS_ANY,
         .handler = h_head},
        {.path = "/plain", .methods = HTTP_METHODS_POST, .handler = h_a, .opts = {.body_max = 7}},
    };
    struct http_router *r = http_router_new();
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        http_router_add_def(r, &defs[i], "/api", &mount_tag);
    }
    unsigned allowed = 0;
    const struct http_route *rt = match(r, HTTP_METHOD_GET, "/doc/api", &allowed);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_a);
    assert_ptr_equal(rt->arg, &mount_tag);
    assert_true(rt->opts.rate_limited);
    assert_int_equal(rt->opts.bucket, METRICS_ENDPOINT_DISCOVERY);
    assert_int_equal(rt->opts.body_max, BOUNDS_OAUTH_BODY_MAX);
    rt = match(r, HTTP_METHOD_OPTIONS, "/doc/api", &allowed);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_b);
    assert_string_equal(rt->arg, "GET, HEAD, OPTIONS");
    assert_false(rt->opts.rate_limited);
    assert_null(match(r, HTTP_METHOD_GET, "/doc", &allowed));
    assert_int_equal(allowed, 0);

    rt = match(r, HTTP_METHOD_DELETE, "/api/.well-known/x", &allowed);
    assert_non_null(rt);
    assert_ptr_equal(rt->handler, h_head);
    assert_null(match(r, HTTP_METHOD_GET, "/.well-known/x", &allowed));

    rt = match(r, HTTP_METHOD_POST, "/plain", &allowed);
    assert_non_null(rt);
    assert_int_equal(rt->opts.body_max, 7);
    assert_null(match(r, HTTP_METHOD_OPTIONS, "/plain", &allowed));
    assert_int_equal(allowed, HTTP_METHODS_POST);
    http_router_free(r);
}

/* The MCP mount's shape: an empty path after the mount, as a prefix. With a
 * mount it is "{mount}" and "{mount}/..."; with the empty mount it is the
 * whole origin. */
static void
test_add_def_mount_prefix(void **state)
{
    (void)state;
    static const struct http_route_def def = {
        .path = "",
        .place = HTTP_ROUTE_BEFORE_MOUNT,
        .prefix = true,
        .methods = HTTP_METHODS_ANY,
        .handler = h_a,
    };
    unsigned allowed = 0;
    struct http_router *r = http_router_new();
    http_router_add_def(r, &def, "/mcp", NULL);
    assert_non_null(match(r, HTTP_METHOD_POST, "/mcp", &allowed));
    assert_non_null(match(r, HTTP_METHOD_GET, "/mcp/x", &allowed));
    assert_null(match(r, HTTP_METHOD_GET, "/mcpx", &allowed));
    assert_null(match(r, HTTP_METHOD_GET, "/", &allowed));
    http_router_free(r);

    r = http_router_new();
    http_router_add_def(r, &def, "", NULL);
    assert_non_null(match(r, HTTP_METHOD_POST, "/", &allowed));
    assert_non_null(match(r, HTTP_METHOD_GET, "/anything/at/all", &allowed));
    http_router_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_head_through_get),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_not_found_and_literal),
        cmocka_unit_test(test_mount_prefix),
        cmocka_unit_test(test_exact_beats_prefix),
        cmocka_unit_test(test_rate_limit_hook),
        cmocka_unit_test(test_add_def),
        cmocka_unit_test(test_add_def_mount_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
