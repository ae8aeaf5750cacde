/* http/limit_log: each limit event is logged at most once per
 * BOUNDS_LIMIT_LOG_INTERVAL_MS (10 s), process-wide -- the first one at
 * once, the rest of the interval quiet, events independent of each other,
 * and one winner when every worker thread hits the same cap at once. The
 * state is process-wide, so each test takes its own event. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/limit_log.h"

static void
test_first_due_then_quiet(void **state)
{
    (void)state;
    assert_true(http_limit_log_due(HTTP_LIMIT_LOG_ACCEPT_FAILED));
    /* Well inside the interval (the calls take microseconds). */
    for (int i = 0; i < 100; i++) {
        assert_false(http_limit_log_due(HTTP_LIMIT_LOG_ACCEPT_FAILED));
    }
}

static void
test_events_independent(void **state)
{
    (void)state;
    assert_true(http_limit_log_due(HTTP_LIMIT_LOG_PROCESS_LIMIT));
    assert_false(http_limit_log_due(HTTP_LIMIT_LOG_PROCESS_LIMIT));
    /* Another cap's flood does not silence this one, nor the reverse. */
    assert_true(http_limit_log_due(HTTP_LIMIT_LOG_IP_LIMIT));
    assert_true(http_limit_log_due(HTTP_LIMIT_LOG_BODY_PROCESS));
    assert_false(http_limit_log_due(HTTP_LIMIT_LOG_IP_LIMIT));
    assert_false(http_limit_log_due(HTTP_LIMIT_LOG_PROCESS_LIMIT));
}

enum { RACE_THREADS = 4, RACE_CALLS = 1000 };

static atomic_int race_go;
static atomic_int race_wins;

static void *
race(void *arg)
{
    (void)arg;
    while (atomic_load(&race_go) == 0) {
    }
    for (int i = 0; i < RACE_CALLS; i++) {
        if (http_limit_log_due(HTTP_LIMIT_LOG_BODY_IP)) {
            atomic_fetch_add(&race_wins, 1);
        }
    }
    return NULL;
}

/* Workers share the caps, so they share the throttle: all hitting it at
 * once still log one line. */
static void
test_one_winner_across_threads(void **state)
{
    (void)state;
    pthread_t t[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, race, NULL), 0);
    }
    atomic_store(&race_go, 1);
    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    assert_int_equal(atomic_load(&race_wins), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_due_then_quiet),
        cmocka_unit_test(test_events_independent),
        cmocka_unit_test(test_one_winner_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
