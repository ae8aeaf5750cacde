/* store/readiness: the 250 ms / 1 s cache split, single flight on one loop
 * and across loops on two threads, the waiter timeout when a probe is
 * lost, cancel, and answers that never arrive inside the call. Uses the
 * memory store (always ready) and a Redis store pointed at a loopback port
 * where nothing listens (never ready); the clock is a fake. Redis-backed
 * single flight is counted with the server's own statistics in
 * test_store_redis.c. */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "base/clock.h"
#include "bounds.h"
#include "store/memory.h"
#include "store/readiness.h"
#include "store/redis.h"
#include "store/store.h"
#include "loop.h"

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
    return fake_now;
}

struct answer {
    int calls;
    enum store_rc rc;
    char error[STORE_ERROR_MAX];
};

static void
on_answer(enum store_rc rc, const char *error, void *arg)
{
    struct answer *a = arg;
    a->calls++;
    a->rc = rc;
    snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
}

static enum store_rc
check(struct store_readiness *r, struct store *s, struct event_base *base)
{
    struct answer a = {0};
    store_readiness_check(r, s, on_answer, &a);
    assert_int_equal(a.calls, 0); /* never inside the call */
    loop_run_until_called(base, &a.calls, 2000);
    assert_int_equal(a.calls, 1);
    return a.rc;
}

static void
test_ok_cached_250_ms(void **state)
{
    (void)state;
    fake_now = 10000;
    struct event_base *base = event_base_new();
    struct store_backend *b = store_memory_backend_new("");
    struct store *s = store_new(b, base);
    struct store_readiness *r = store_readiness_new(fake_clock);
    assert_int_equal(check(r, s, base), STORE_OK);
    assert_int_equal(store_readiness_probes(r), 1);
    fake_now += BOUNDS_READYZ_CACHE_OK_MS - 1;
    assert_int_equal(check(r, s, base), STORE_OK);
    assert_int_equal(store_readiness_probes(r), 1);
    fake_now += 1;
    assert_int_equal(check(r, s, base), STORE_OK);
    assert_int_equal(store_readiness_probes(r), 2);
    store_free(s);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base);
}

static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void
test_failure_cached_1_s(void **state)
{
    (void)state;
    fake_now = 50000;
    struct event_base *base = event_base_new();
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", closed_port());
    struct buf err;
    buf_init(&err, STORE_ERROR_MAX - 1);
    struct store_backend *b = store_redis_backend_new(url, "", NULL, &err);
    buf_cleanup(&err);
    assert_non_null(b);
    struct store *s = store_new(b, base);
    struct store_readiness *r = store_readiness_new(fake_clock);

    struct answer a = {0};
    store_readiness_check(r, s, on_answer, &a);
    loop_run_until_called(base, &a.calls, 2000);
    assert_int_equal(a.rc, STORE_ERR_UNAVAILABLE);
    assert_non_null(strstr(a.error, "not connected"));
    assert_int_equal(store_readiness_probes(r), 1);
    /* A failure is kept for 1 s: the split of SPEC.md 5.5. */
    fake_now += BOUNDS_READYZ_CACHE_OK_MS + 1;
    assert_int_equal(check(r, s, base), STORE_ERR_UNAVAILABLE);
    fake_now = 50000 + BOUNDS_READYZ_CACHE_FAIL_MS - 1;
    assert_int_equal(check(r, s, base), STORE_ERR_UNAVAILABLE);
    assert_int_equal(store_readiness_probes(r), 1);
    fake_now += 1;
    assert_int_equal(check(r, s, base), STORE_ERR_UNAVAILABLE);
    assert_int_equal(store_readiness_probes(r), 2);
    store_free(s);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base);
}

static void
test_single_flight_on_one_loop(void **state)
{
    (void)state;
    fake_now = 90000;
    struct event_base *base = event_base_new();
    struct store_backend *b = store_memory_backend_new("");
    struct store *s = store_new(b, base);
    struct store_readiness *r = store_readiness_new(fake_clock);
    struct answer a[5];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 5; i++) {
        store_readiness_check(r, s, on_answer, &a[i]);
    }
    assert_int_equal(store_readiness_probes(r), 1);
    loop_run_until_called(base, &a[4].calls, 2000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].rc, STORE_OK);
    }
    assert_int_equal(store_readiness_probes(r), 1);
    store_free(s);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base);
}

struct other_loop {
    struct event_base *base;
    struct answer answer;
};

static void *
run_other_loop(void *arg)
{
    struct other_loop *o = arg;
    loop_run_until_called(o->base, &o->answer.calls, 3000);
    return NULL;
}

static void
test_single_flight_across_loops(void **state)
{
    (void)state;
    fake_now = 130000;
    struct store_backend *b = store_memory_backend_new("");
    struct event_base *base_a = event_base_new();
    struct store *store_a = store_new(b, base_a);
    struct other_loop o = {.base = event_base_new()};
    struct store *store_b = store_new(b, o.base);
    struct store_readiness *r = store_readiness_new(fake_clock);

    /* A starts the probe; B, on another worker, joins it. */
    struct answer a = {0};
    store_readiness_check(r, store_a, on_answer, &a);
    store_readiness_check(r, store_b, on_answer, &o.answer);
    assert_int_equal(store_readiness_probes(r), 1);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, run_other_loop, &o), 0);
    loop_run_until_called(base_a, &a.calls, 2000);
    pthread_join(tid, NULL);
    assert_int_equal(a.rc, STORE_OK);
    assert_int_equal(o.answer.calls, 1);
    assert_int_equal(o.answer.rc, STORE_OK);
    assert_int_equal(store_readiness_probes(r), 1);

    store_free(store_a);
    store_free(store_b);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base_a);
    event_base_free(o.base);
}

static void
test_lost_probe_times_out_then_is_replaced(void **state)
{
    (void)state;
    fake_now = 170000;
    struct event_base *base = event_base_new();
    struct store_backend *b = store_memory_backend_new("");
    struct store *doomed = store_new(b, base);
    struct store *s = store_new(b, base);
    struct store_readiness *r = store_readiness_new(fake_clock);

    /* The probe's store goes away before answering (worker shutdown). */
    struct answer first = {0};
    struct store_readiness_wait *w = store_readiness_check(r, doomed, on_answer, &first);
    store_readiness_cancel(w);
    store_free(doomed);
    /* A caller that joins the lost probe is told "unavailable" after 1 s. */
    struct answer joined = {0};
    uint64_t t0 = clock_mono_ms();
    store_readiness_check(r, s, on_answer, &joined);
    assert_int_equal(store_readiness_probes(r), 1);
    loop_run_until_called(base, &joined.calls, 3000);
    assert_int_equal(joined.rc, STORE_ERR_UNAVAILABLE);
    assert_string_equal(joined.error, "readiness probe timed out");
    assert_true(clock_mono_ms() - t0 >= BOUNDS_READYZ_PROBE_TIMEOUT_MS - 50);
    assert_int_equal(first.calls, 0);
    /* Once the lost probe is older than the timeout, a new one starts. */
    fake_now += BOUNDS_READYZ_PROBE_TIMEOUT_MS + 1;
    assert_int_equal(check(r, s, base), STORE_OK);
    assert_int_equal(store_readiness_probes(r), 2);
    store_free(s);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base);
}

static void
test_cancel_means_no_callback(void **state)
{
    (void)state;
    fake_now = 210000;
    struct event_base *base = event_base_new();
    struct store_backend *b = store_memory_backend_new("");
    struct store *s = store_new(b, base);
    struct store_readiness *r = store_readiness_new(fake_clock);
    struct answer a = {0}, kept = {0};
    struct store_readiness_wait *w = store_readiness_check(r, s, on_answer, &a);
    store_readiness_check(r, s, on_answer, &kept);
    store_readiness_cancel(w);
    store_readiness_cancel(NULL);
    loop_run_until_called(base, &kept.calls, 2000);
    assert_int_equal(a.calls, 0);
    assert_int_equal(kept.rc, STORE_OK);
    /* A cached answer can be cancelled too. */
    w = store_readiness_check(r, s, on_answer, &a);
    store_readiness_cancel(w);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(a.calls, 0);
    store_free(s);
    store_backend_free(b);
    store_readiness_free(r);
    event_base_free(base);
}

int
main(void)
{
    /* Waiters on another thread's loop are woken with event_active(). */
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_cached_250_ms),
        cmocka_unit_test(test_failure_cached_1_s),
        cmocka_unit_test(test_single_flight_on_one_loop),
        cmocka_unit_test(test_single_flight_across_loops),
        cmocka_unit_test(test_lost_probe_times_out_then_is_replaced),
        cmocka_unit_test(test_cancel_means_no_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
