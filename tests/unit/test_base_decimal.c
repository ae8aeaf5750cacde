/* base/decimal: unsigned integers in decimal without printf, checked
 * against printf itself at the edges and across a sweep. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/decimal.h"

static void
check(uint64_t v)
{
    char want[32];
    int n = snprintf(want, sizeof(want), "%" PRIu64, v);
    char got[DECIMAL_U64_MAX + 1];
    memset(got, 'x', sizeof(got));
    size_t len = decimal_format_u64(got, v);
    assert_int_equal(len, (size_t)n);
    assert_true(len <= DECIMAL_U64_MAX);
    assert_memory_equal(got, want, len);
    assert_int_equal(got[len], 'x'); /* nothing written past the digits, no NUL */
}

static void
test_edges(void **state)
{
    (void)state;
    static const uint64_t edges[] = {0,
                                     1,
                                     9,
                                     10,
                                     99,
                                     100,
                                     200,
                                     404,
                                     999,
                                     1000,
                                     UINT32_MAX,
                                     (uint64_t)UINT32_MAX + 1,
                                     INT64_MAX,
                                     (uint64_t)INT64_MAX + 1,
                                     UINT64_MAX - 1,
                                     UINT64_MAX};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        check(edges[i]);
    }
}

static void
test_every_power_of_ten_and_neighbours(void **state)
{
    (void)state;
    uint64_t p = 1;
    for (int i = 0; i < 20; i++) {
        check(p - 1);
        check(p);
        check(p + 1);
        if (p > UINT64_MAX / 10) {
            break;
        }
        p *= 10;
    }
}

static void
test_sweep(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 100000; v++) {
        check(v);
    }
    for (uint64_t v = 1; v != 0 && v < UINT64_MAX / 3; v = v * 3 + 7) {
        check(v);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_every_power_of_ten_and_neighbours),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
