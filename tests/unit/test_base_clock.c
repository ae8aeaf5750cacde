/* base/clock: the wall clock can be pinned for tests (and unpinned), the
 * monotonic clock never goes back and ignores the pin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"
#include "fixtures.h"

static int
unpin(void **state)
{
    (void)state;
    fixture_unpin_clock();
    return 0;
}

static void
test_fixed_clock(void **state)
{
    (void)state;
    clock_set_fixed_unix(FIXTURE_NOW);
    assert_int_equal(clock_unix_s(), FIXTURE_NOW);
    assert_int_equal(clock_unix_ms(), (int64_t)FIXTURE_NOW * 1000);
    int64_t s = 0;
    int32_t ns = -1;
    clock_unix_now(&s, &ns);
    assert_int_equal(s, FIXTURE_NOW);
    assert_int_equal(ns, 0);
    /* Moving the pin moves every reading. */
    fixture_pin_clock(3600);
    assert_int_equal(clock_unix_s(), FIXTURE_NOW + 3600);
    assert_int_equal(clock_unix_ms(), ((int64_t)FIXTURE_NOW + 3600) * 1000);
    /* Pinned far in the future, as expiry tests do. */
    clock_set_fixed_unix(4102444800); /* 2100-01-01 */
    assert_int_equal(clock_unix_s(), 4102444800);
    /* Negative times are pins too (only 0 means "real clock"). */
    clock_set_fixed_unix(-5);
    assert_int_equal(clock_unix_s(), -5);
    assert_int_equal(clock_unix_ms(), -5000);
}

static void
test_unpinned_clock_is_real(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    fixture_unpin_clock();
    time_t before = time(NULL);
    int64_t s = clock_unix_s();
    int64_t ms = clock_unix_ms();
    time_t after = time(NULL);
    assert_true(s >= (int64_t)before && s <= (int64_t)after);
    assert_true(ms / 1000 >= (int64_t)before && ms / 1000 <= (int64_t)after);
    int64_t ns_s;
    int32_t ns;
    clock_unix_now(&ns_s, &ns);
    assert_true(ns >= 0 && ns < 1000000000);
}

static void
test_monotonic_ignores_pin_and_never_goes_back(void **state)
{
    (void)state;
    uint64_t a = clock_mono_ns();
    clock_set_fixed_unix(1);
    uint64_t b = clock_mono_ns();
    clock_set_fixed_unix(FIXTURE_NOW);
    uint64_t c = clock_mono_ns();
    assert_true(b >= a);
    assert_true(c >= b);
    uint64_t prev = clock_mono_ms();
    for (int i = 0; i < 100000; i++) {
        uint64_t now = clock_mono_ms();
        assert_true(now >= prev);
        prev = now;
    }
    /* ms and ns read the same clock. */
    uint64_t ns_now = clock_mono_ns();
    uint64_t ms_now = clock_mono_ms();
    assert_true(ms_now >= ns_now / 1000000);
    assert_true(ms_now - ns_now / 1000000 < 1000);
}

static void
test_timeval_from_ms(void **state)
{
    (void)state;
    static const struct {
        uint64_t ms;
        long sec;
        long usec;
    } rows[] = {
        {0, 0, 0},         {1, 0, 1000},     {999, 0, 999000},      {1000, 1, 0},
        {1500, 1, 500000}, {120000, 120, 0}, {3600001, 3600, 1000},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct timeval tv = clock_timeval_from_ms(rows[i].ms);
        assert_int_equal(tv.tv_sec, rows[i].sec);
        assert_int_equal(tv.tv_usec, rows[i].usec);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fixed_clock, unpin),
        cmocka_unit_test_teardown(test_unpinned_clock_is_real, unpin),
        cmocka_unit_test_teardown(test_monotonic_ignores_pin_and_never_goes_back, unpin),
        cmocka_unit_test(test_timeval_from_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
