/* base/rfc3339: strict parsing (offsets, fractions, leap days, refusals)
 * and UTC formatting, cross-checked against each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/rfc3339.h"
#include "fixtures.h"

static void
test_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t s;
        int32_t ns;
    } rows[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2026-05-28T20:26:40Z", FIXTURE_NOW, 0},
        {"1999-12-31T23:59:59Z", 946684799, 0},
        {"9999-12-31T23:59:59Z", 253402300799, 0},
        {"0001-01-01T00:00:00Z", -62135596800, 0},
        {"0000-01-01T00:00:00Z", -62167219200, 0},
        {"1969-12-31T23:59:59Z", -1, 0},
        /* Offsets: local time minus offset is UTC. */
        {"2026-05-28T22:26:40+02:00", FIXTURE_NOW, 0},
        {"2026-05-28T14:56:40-05:30", FIXTURE_NOW, 0},
        {"2026-05-28T20:26:40+00:00", FIXTURE_NOW, 0},
        {"2026-05-28T20:26:40-00:00", FIXTURE_NOW, 0},
        {"2026-05-29T20:25:40+23:59", FIXTURE_NOW, 0},
        {"1970-01-01T00:00:00+01:00", -3600, 0},
        {"2026-05-29T00:26:40+04:00", FIXTURE_NOW, 0}, /* crosses midnight */
        /* Fractions: 1 to 9 digits. */
        {"2026-05-28T20:26:40.5Z", FIXTURE_NOW, 500000000},
        {"2026-05-28T20:26:40.05Z", FIXTURE_NOW, 50000000},
        {"2026-05-28T20:26:40.123Z", FIXTURE_NOW, 123000000},
        {"2026-05-28T20:26:40.123456789Z", FIXTURE_NOW, 123456789},
        {"2026-05-28T20:26:40.000000001Z", FIXTURE_NOW, 1},
        {"2026-05-28T20:26:40.999999999Z", FIXTURE_NOW, 999999999},
        {"2026-05-28T22:26:40.25+02:00", FIXTURE_NOW, 250000000},
        /* Leap days. */
        {"2024-02-29T12:00:00Z", 1709208000, 0},
        {"2000-02-29T00:00:00Z", 951782400, 0},
        {"2024-03-01T00:00:00Z", 1709251200, 0},
        {"2023-03-01T00:00:00Z", 1677628800, 0},
        {"2024-12-31T00:00:00Z", 1735603200, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t s = 0;
        int32_t ns = -1;
        if (!rfc3339_parse(slice_from_cstr(rows[i].text), &s, &ns)) {
            fail_msg("refused %s", rows[i].text);
        }
        if (s != rows[i].s || ns != rows[i].ns) {
            fail_msg("%s: got %lld.%09d", rows[i].text, (long long)s, ns);
        }
    }
}

static void
test_parse_refusals(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2026-05-28",
        "2026-05-28T20:26:40",  /* no offset */
        "2026-05-28t20:26:40Z", /* lowercase t */
        "2026-05-28T20:26:40z", /* lowercase z */
        "2026-05-28 20:26:40Z", /* space separator */
        "2026-05-28T20:26Z",    /* no seconds */
        "26-05-28T20:26:40Z",
        "2026-5-28T20:26:40Z",
        "2026-05-8T20:26:40Z",
        "2026-00-28T20:26:40Z",
        "2026-13-28T20:26:40Z",
        "2026-05-00T20:26:40Z",
        "2026-05-32T20:26:40Z",
        "2026-04-31T20:26:40Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not a leap year */
        "2024-02-30T00:00:00Z",
        "2026-05-28T24:00:00Z",
        "2026-05-28T23:60:00Z",
        "2026-05-28T23:59:60Z",            /* leap seconds are not accepted */
        "2026-05-28T20:26:40.Z",           /* empty fraction */
        "2026-05-28T20:26:40.1234567890Z", /* 10 fraction digits */
        "2026-05-28T20:26:40,5Z",
        "2026-05-28T20:26:40+0200",
        "2026-05-28T20:26:40+02",
        "2026-05-28T20:26:40+2:00",
        "2026-05-28T20:26:40+24:00",
        "2026-05-28T20:26:40+02:60",
        "2026-05-28T20:26:40Z ", /* trailing space */
        " 2026-05-28T20:26:40Z",
        "2026-05-28T20:26:40ZZ",
        "2026-05-28T20:26:40+02:00Z",
        "+2026-05-28T20:26:40Z",
        "-2026-05-28T20:26:40Z",
        "20260-05-28T20:26:40Z",
        "2026-05-28T20:26:40UTC",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t s = 77;
        int32_t ns = 77;
        if (rfc3339_parse(slice_from_cstr(bad[i]), &s, &ns)) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_int_equal(s, 77);
        assert_int_equal(ns, 77);
    }
    /* A slice that stops inside the text is judged on the slice alone. */
    int64_t s;
    int32_t ns;
    assert_false(rfc3339_parse(slice_make("2026-05-28T20:26:40Z", 19), &s, &ns));
    assert_false(rfc3339_parse(slice_make("2026-05-28T20:26:40Z\0", 21), &s, &ns));
}

static void
test_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *want;
    } rows[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {(int64_t)FIXTURE_NOW * 1000 + 123, "2026-05-28T20:26:40.123Z"},
        {1709208000000, "2024-02-29T12:00:00.000Z"},
        {951868799999, "2000-02-29T23:59:59.999Z"},
        {253402300799999, "9999-12-31T23:59:59.999Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {-1000, "1969-12-31T23:59:59.000Z"},
        {-1001, "1969-12-31T23:59:58.999Z"},
        {-86400000, "1969-12-31T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[RFC3339_MS_LEN + 1 + 8];
        memset(out, 'X', sizeof(out));
        rfc3339_format_ms(rows[i].ms, out);
        assert_string_equal(out, rows[i].want);
        assert_int_equal(out[RFC3339_MS_LEN + 1], 'X'); /* nothing written past */
    }
    char s[21 + 4];
    memset(s, 'X', sizeof(s));
    rfc3339_format_s(FIXTURE_NOW, s);
    assert_string_equal(s, "2026-05-28T20:26:40Z");
    assert_int_equal(s[21], 'X');
    rfc3339_format_s(-1, s);
    assert_string_equal(s, "1969-12-31T23:59:59Z");
}

static void
test_format_then_parse_round_trips(void **state)
{
    (void)state;
    /* Every day from 1968 to 2104, at a varying time of day, so that every
     * month length and leap rule (including 2000 and 2100) is crossed. */
    const int64_t start = -2 * 365 * 86400LL;
    for (int64_t day = 0; day < 136 * 366; day++) {
        int64_t ms = (start + day * 86400) * 1000 + (day * 7919 % 86400000);
        char out[RFC3339_MS_LEN + 1];
        rfc3339_format_ms(ms, out);
        int64_t s;
        int32_t ns;
        if (!rfc3339_parse(slice_from_cstr(out), &s, &ns)) {
            fail_msg("refused own output %s", out);
        }
        int64_t back = s * 1000 + ns / 1000000;
        if (back != ms) {
            fail_msg("%s: %lld != %lld", out, (long long)back, (long long)ms);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
