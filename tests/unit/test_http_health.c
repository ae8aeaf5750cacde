/* http/health: /readyz answers 503 from the first moment of a drain, else
 * hands the request to the readiness hook the wiring installed (the replay
 * store's probe), else 200; /metrics and /healthz answer as documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/health.h"
#include "http/reply.h"
#include "http/router.h"
#include "http_harness.h"

static int hook_calls;
static void *hook_arg_seen;
static int hook_token;

static void
ready_hook(struct http_request *req, void *arg)
{
    hook_calls++;
    hook_arg_seen = arg;
    static const char body[] = "{\"status\":\"from-hook\"}";
    http_reply_text(req, 503, body, sizeof(body) - 1);
}

static struct http_router *router;
static struct harness H;
static atomic_bool draining;
static struct http_health health;

static void
start(http_health_ready_fn ready)
{
    atomic_init(&draining, false);
    health = (struct http_health){.ready = ready, .ready_arg = &hook_token, .draining = &draining};
    router = http_router_new();
    http_health_add_metrics_routes(router, &health);
    http_router_add(router, HTTP_METHODS_GET, "/healthz", http_health_healthz, NULL, NULL);
    const struct harness_opts opts = {.is_public = false};
    harness_init(&H, router, &opts);
    hook_calls = 0;
    hook_arg_seen = NULL;
}

static int
teardown(void **state)
{
    (void)state;
    harness_cleanup(&H);
    http_router_free(router);
    return 0;
}

static struct harness_response
get(const char *path)
{
    char req[128];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
    struct harness_response r;
    assert_true(harness_roundtrip(&H, req, strlen(req), &r));
    return r;
}

static void
test_readyz_without_hook(void **state)
{
    (void)state;
    start(NULL);
    struct harness_response r = get("/readyz");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 15);
    assert_memory_equal(r.body, "{\"status\":\"ok\"}", 15);
    harness_response_free(&r);
    atomic_store(&draining, true);
    r = get("/readyz");
    assert_int_equal(r.status, 503);
    assert_memory_equal(r.body, "{\"status\":\"shutting_down\"}", 26);
    harness_response_free(&r);
}

static void
test_readyz_asks_the_hook(void **state)
{
    (void)state;
    start(ready_hook);
    struct harness_response r = get("/readyz");
    assert_int_equal(r.status, 503);
    assert_memory_equal(r.body, "{\"status\":\"from-hook\"}", 22);
    assert_int_equal(hook_calls, 1);
    assert_ptr_equal(hook_arg_seen, &hook_token);
    harness_response_free(&r);
    /* Draining wins: the hook is not asked. */
    atomic_store(&draining, true);
    r = get("/readyz");
    assert_memory_equal(r.body, "{\"status\":\"shutting_down\"}", 26);
    assert_int_equal(hook_calls, 1);
    harness_response_free(&r);
}

static void
test_healthz_and_metrics(void **state)
{
    (void)state;
    start(NULL);
    struct harness_response r = get("/healthz");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    harness_response_free(&r);
    r = get("/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_header(&r, "Content-Type"), "text/plain; version=0.0.4");
    assert_non_null(strstr(r.body, "mcp_auth_"));
    harness_response_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_readyz_without_hook, teardown),
        cmocka_unit_test_teardown(test_readyz_asks_the_hook, teardown),
        cmocka_unit_test_teardown(test_healthz_and_metrics, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
