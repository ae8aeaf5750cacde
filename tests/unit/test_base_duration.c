/* base/duration: Go's time.ParseDuration and Duration.String, case by case.
 * Expected values are those Go's own implementation gives for the same
 * text (its documented grammar and unit table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/duration.h"

#define S DURATION_NS_PER_S
#define MS DURATION_NS_PER_MS
#define US DURATION_NS_PER_US
#define M DURATION_NS_PER_M
#define H DURATION_NS_PER_H

struct ok_case {
    const char *text;
    int64_t ns;
};

static const struct ok_case ok_cases[] = {
    /* The lone zero, with and without sign. */
    {"0", 0},
    {"+0", 0},
    {"-0", 0},
    {"0s", 0},
    {"-0s", 0},
    /* Every unit. */
    {"10ns", 10},
    {"11us", 11 * (int64_t)US},
    {"12\xc2\xb5s", 12 * (int64_t)US}, /* U+00B5 micro sign */
    {"12\xce\xbcs", 12 * (int64_t)US}, /* U+03BC greek mu */
    {"13ms", 13 * (int64_t)MS},
    {"14s", 14 * (int64_t)S},
    {"15m", 15 * (int64_t)M},
    {"16h", 16 * (int64_t)H},
    /* Signs. */
    {"5s", 5 * (int64_t)S},
    {"+5s", 5 * (int64_t)S},
    {"-5s", -5 * (int64_t)S},
    /* Decimals in every position. */
    {"5.0s", 5 * (int64_t)S},
    {"5.6s", 5 * (int64_t)S + 600 * (int64_t)MS},
    {"5.s", 5 * (int64_t)S},
    {".5s", 500 * (int64_t)MS},
    {"1.004s", 1 * (int64_t)S + 4 * (int64_t)MS},
    {"1.0040s", 1 * (int64_t)S + 4 * (int64_t)MS},
    {"100.00100s", 100 * (int64_t)S + 1 * (int64_t)MS},
    {"2.5s", 2500 * (int64_t)MS},
    {"1.5h", 90 * (int64_t)M},
    /* Sequences, in any order. */
    {"1h30m", 90 * (int64_t)M},
    {"3h30m", 210 * (int64_t)M},
    {"10.5s4m", 4 * (int64_t)M + 10500 * (int64_t)MS},
    {"-2m3.4s", -(2 * (int64_t)M + 3400 * (int64_t)MS)},
    {"1h2m3s4ms5us6ns", (int64_t)(H + 2 * M + 3 * S + 4 * MS + 5 * US + 6)},
    {"39h9m14.425s", (int64_t)(39 * H + 9 * M + 14 * S + 425 * MS)},
    /* Fractions computed as Go does (float64 scale). */
    {"0.3333333333333333333h", 20 * (int64_t)M},
    {"0.100000000000000000000h", 6 * (int64_t)M},
    {"0.830103483285477580700h", (int64_t)(49 * M + 48 * S + 372539827)},
    {"9007199254740993ns", (1LL << 53) + 1},
    /* The int64 limits, reached through several units. */
    {"9223372036854775807ns", INT64_MAX},
    {"9223372036854775.807us", INT64_MAX},
    {"9223372036854.775807ms", INT64_MAX},
    {"9223372036.854775807s", INT64_MAX},
    {"2562047h47m16.854775807s", INT64_MAX},
    {"-9223372036854775808ns", INT64_MIN},
    {"-2562047h47m16.854775808s", INT64_MIN},
    /* The config defaults and caps of SPEC.md 1.2. */
    {"120s", 120 * (int64_t)S},
    {"168h", 168 * (int64_t)H},
    {"2160h", 2160 * (int64_t)H},
};

static const char *const bad_cases[] = {
    "",
    "-",
    "+",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "3",
    "10",
    "1d",
    "7d",
    "00",
    "1.5",
    "1sm",
    "1s2",
    "1 s",
    " 1s",
    "1s ",
    "1S",
    "1H",
    "1hour",
    "1\xb5s",
    "1\xcf\xbcs",
    "--1s",
    "+-1s",
    "-+1s",
    "1e3s",
    "0x10s",
    "1_000s",
    "\x85\x85",
    "\xff"
    "ff",
    "hello \xff"
    "ff world",
    /* Overflow in every place it can happen. */
    "9223372036854775808ns",
    "9223372036854775.808us",
    "9223372036854775808000000000000ns",
    "2562048h",
    "9223372036854775807ns1ns",
    "-9223372036854775809ns",
    "-9223372036854775808ns9223372036854775808ns",
    "5124095576030431h",
};

static void
parses_go_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        int64_t got = 12345;
        bool ok = duration_parse_signed(slice_from_cstr(ok_cases[i].text), &got);
        if (!ok || got != ok_cases[i].ns) {
            fail_msg("duration_parse_signed(\"%s\"): ok=%d got=%lld want=%lld", ok_cases[i].text,
                     ok, (long long)got, (long long)ok_cases[i].ns);
        }
    }
}

static void
refuses_bad_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        int64_t got = 777;
        if (duration_parse_signed(slice_from_cstr(bad_cases[i]), &got)) {
            fail_msg("duration_parse_signed(\"%s\") accepted: %lld", bad_cases[i], (long long)got);
        }
        assert_int_equal(got, 777); /* untouched on failure */
    }
}

static void
unsigned_refuses_negative_values_only(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_true(duration_parse(slice_from_cstr("-0s"), &v));
    assert_int_equal(v, 0);
    assert_true(duration_parse(slice_from_cstr("+90s"), &v));
    assert_int_equal(v, 90 * S);
    v = 5;
    assert_false(duration_parse(slice_from_cstr("-1ns"), &v));
    assert_false(duration_parse(slice_from_cstr("-5s"), &v));
    assert_int_equal(v, 5);
    assert_true(duration_parse(slice_from_cstr("9223372036854775807ns"), &v));
    assert_int_equal(v, (uint64_t)INT64_MAX);
}

static void
slice_is_not_read_past_its_length(void **state)
{
    (void)state;
    /* "15m" is a prefix of a longer buffer: only the slice counts. */
    const char *buf = "15mXYZ";
    int64_t v = 0;
    assert_true(duration_parse_signed(slice_make(buf, 3), &v));
    assert_int_equal(v, 15 * (int64_t)M);
    assert_false(duration_parse_signed(slice_make(buf, 4), &v));
    /* "0" then a NUL inside the slice is not the lone zero. */
    assert_false(duration_parse_signed(slice_make("0\0", 2), &v));
}

struct fmt_case {
    uint64_t ns;
    const char *text;
};

static const struct fmt_case fmt_cases[] = {
    {0, "0s"},
    {1, "1ns"},
    {999, "999ns"},
    {1000, "1\xc2\xb5s"},
    {1100, "1.1\xc2\xb5s"},
    {2200 * US, "2.2ms"},
    {3300 * MS, "3.3s"},
    {4 * M + 5 * S, "4m5s"},
    {4 * M + 5001 * MS, "4m5.001s"},
    {5 * H + 6 * M + 7001 * MS, "5h6m7.001s"},
    {8 * M + 1, "8m0.000000001s"},
    {H, "1h0m0s"},
    {120 * S, "2m0s"},
    {168 * H, "168h0m0s"},
    {(uint64_t)INT64_MAX, "2562047h47m16.854775807s"},
    {UINT64_MAX, "5124095h34m33.709551615s"},
};

static void
formats_like_go(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
        char out[DURATION_TEXT_MAX];
        duration_format(fmt_cases[i].ns, out);
        assert_string_equal(out, fmt_cases[i].text);
    }
}

static void
format_then_parse_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        /* xorshift: spread values over every magnitude. */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t ns = (x >> (x % 64)) & (uint64_t)INT64_MAX;
        char out[DURATION_TEXT_MAX];
        duration_format(ns, out);
        uint64_t back = 0;
        assert_true(duration_parse(slice_from_cstr(out), &back));
        assert_int_equal(back, ns);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_go_examples),
        cmocka_unit_test(refuses_bad_text),
        cmocka_unit_test(unsigned_refuses_negative_values_only),
        cmocka_unit_test(slice_is_not_read_past_its_length),
        cmocka_unit_test(formats_like_go),
        cmocka_unit_test(format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
