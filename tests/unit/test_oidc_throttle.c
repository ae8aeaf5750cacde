/* oidc/throttle: the outbound IdP exchange bucket (SPEC.md 6.7), driven
 * through oidc_throttle_take_at so time is the test's, not the machine's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/clock.h"
#include "oidc/throttle.h"

/* A time after the bucket's creation, so the first take sees no gap
 * (creation stamps clock_mono_ms()). */
static uint64_t
start_ms(void)
{
    return clock_mono_ms() + 1;
}

static void
test_starts_full_and_empties(void **state)
{
    (void)state;
    struct oidc_throttle *t = oidc_throttle_new(0.001, 3);
    uint64_t now = start_ms();
    assert_true(oidc_throttle_take_at(t, now));
    assert_true(oidc_throttle_take_at(t, now));
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now));
    /* A refusal takes nothing: still empty, still refused. */
    assert_false(oidc_throttle_take_at(t, now + 10));
    oidc_throttle_free(t);
}

static void
test_refills_at_rate_with_fractions(void **state)
{
    (void)state;
    /* 2 per second: one token every 500 ms, accumulated across takes. */
    struct oidc_throttle *t = oidc_throttle_new(2.0, 1);
    uint64_t now = start_ms();
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now + 250));
    assert_false(oidc_throttle_take_at(t, now + 499));
    assert_true(oidc_throttle_take_at(t, now + 500));
    assert_false(oidc_throttle_take_at(t, now + 500));
    /* Half a token at +750 is kept, the other half arrives by +1000. */
    assert_false(oidc_throttle_take_at(t, now + 750));
    assert_true(oidc_throttle_take_at(t, now + 1000));
    oidc_throttle_free(t);
}

static void
test_refill_capped_at_burst(void **state)
{
    (void)state;
    struct oidc_throttle *t = oidc_throttle_new(10.0, 2);
    uint64_t now = start_ms();
    assert_true(oidc_throttle_take_at(t, now));
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now));
    /* An hour idle refills to the burst, not to 36 000. */
    now += 3600 * 1000;
    assert_true(oidc_throttle_take_at(t, now));
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now));
    oidc_throttle_free(t);
}

static void
test_time_going_back_refills_nothing(void **state)
{
    (void)state;
    struct oidc_throttle *t = oidc_throttle_new(1.0, 1);
    uint64_t now = start_ms() + 10000;
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now - 5000));
    /* ...and the earlier time did not reset the refill point. */
    assert_false(oidc_throttle_take_at(t, now + 999));
    assert_true(oidc_throttle_take_at(t, now + 1000));
    oidc_throttle_free(t);
}

static void
test_off_and_null_always_allow(void **state)
{
    (void)state;
    assert_true(oidc_throttle_take(NULL));
    assert_true(oidc_throttle_take_at(NULL, 1));
    const double offs[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        struct oidc_throttle *t = oidc_throttle_new(offs[i], 1);
        for (int n = 0; n < 1000; n++) {
            assert_true(oidc_throttle_take(t));
        }
        oidc_throttle_free(t);
    }
    oidc_throttle_free(NULL);
}

static void
test_burst_zero_means_one(void **state)
{
    (void)state;
    struct oidc_throttle *t = oidc_throttle_new(0.001, 0);
    uint64_t now = start_ms();
    assert_true(oidc_throttle_take_at(t, now));
    assert_false(oidc_throttle_take_at(t, now));
    oidc_throttle_free(t);
}

/* Many threads on one bucket that does not refill in the test's time:
 * exactly `burst` takes succeed, whatever the interleaving. */
#define THREADS 8
#define TAKES 500

static void *
take_many(void *arg)
{
    struct oidc_throttle *t = arg;
    uintptr_t ok = 0;
    for (int i = 0; i < TAKES; i++) {
        ok += oidc_throttle_take(t) ? 1 : 0;
    }
    return (void *)ok;
}

static void
test_thread_safe_exact_count(void **state)
{
    (void)state;
    struct oidc_throttle *t = oidc_throttle_new(1e-9, 1000);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, take_many, t), 0);
    }
    uintptr_t total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        total += (uintptr_t)ret;
    }
    assert_int_equal(total, 1000);
    oidc_throttle_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_full_and_empties),
        cmocka_unit_test(test_refills_at_rate_with_fractions),
        cmocka_unit_test(test_refill_capped_at_burst),
        cmocka_unit_test(test_time_going_back_refills_nothing),
        cmocka_unit_test(test_off_and_null_always_allow),
        cmocka_unit_test(test_burst_zero_means_one),
        cmocka_unit_test(test_thread_safe_exact_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
