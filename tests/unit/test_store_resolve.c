/* store/resolve: a host name is resolved off the loop and answered on it,
 * never inside the call; cancel means no callback, even when the helper
 * thread finishes afterwards. Only names the hosts file answers are used,
 * so no DNS query leaves the machine. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/clock.h"
#include "store/resolve.h"

struct got {
    int calls;
    int gai_error;
    char addr[64];
    unsigned port;
};

static void
on_resolved(int gai_error, const struct sockaddr *addr, socklen_t len, void *arg)
{
    struct got *g = arg;
    g->calls++;
    g->gai_error = gai_error;
    if (gai_error == 0 && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in->sin_addr, g->addr, sizeof(g->addr));
        g->port = ntohs(in->sin_port);
    } else if (gai_error == 0 && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, g->addr, sizeof(g->addr));
        g->port = ntohs(in6->sin6_port);
    }
}

static void
run_until(struct event_base *base, const int *calls, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while ((calls == NULL || *calls == 0) && clock_mono_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static void
test_resolves_on_the_loop(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    const char *hosts[] = { "localhost", "127.0.0.1" };
    for (size_t i = 0; i < 2; i++) {
        struct got g = { 0 };
        struct store_resolve *r = store_resolve_start(base, hosts[i], 6380, on_resolved, &g);
        assert_non_null(r);
        assert_int_equal(g.calls, 0);
        run_until(base, &g.calls, 5000);
        assert_int_equal(g.calls, 1);
        assert_int_equal(g.gai_error, 0);
        assert_true(strcmp(g.addr, "127.0.0.1") == 0 || strcmp(g.addr, "::1") == 0);
        assert_int_equal(g.port, 6380);
    }
    event_base_free(base);
}

static void
test_cancel_means_no_callback(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct got g = { 0 };
    struct store_resolve *r = store_resolve_start(base, "localhost", 1, on_resolved, &g);
    assert_non_null(r);
    store_resolve_cancel(r);
    store_resolve_cancel(NULL);
    /* The thread still finishes and frees its half; nothing reaches us. */
    run_until(base, NULL, 200);
    assert_int_equal(g.calls, 0);
    event_base_free(base);
}

static void
test_overlong_host_refused(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    char host[300];
    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    struct got g = { 0 };
    assert_null(store_resolve_start(base, host, 1, on_resolved, &g));
    run_until(base, NULL, 20);
    assert_int_equal(g.calls, 0);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolves_on_the_loop),
        cmocka_unit_test(test_cancel_means_no_callback),
        cmocka_unit_test(test_overlong_host_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
