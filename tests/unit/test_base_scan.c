/* base/scan (and the inline helpers of base/slice.h, which scanners hand
 * out): numbers never overflow or pass their maximum, and a scanner that
 * fails never moves the cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/scan.h"
#include "base/slice.h"

static struct scan
scan_of(const char *s)
{
    return scan_init(slice_from_cstr(s));
}

/* Runs scan_u64 and checks that failure leaves the cursor alone. */
static bool
u64_of(const char *text, uint64_t max, uint64_t *out, size_t *consumed)
{
    struct scan s = scan_of(text);
    const char *before = s.p;
    *out = 0xdeadbeef;
    bool ok = scan_u64(&s, max, out);
    if (!ok) {
        assert_ptr_equal(s.p, before);
        assert_int_equal(*out, 0xdeadbeef);
    }
    *consumed = (size_t)(s.p - before);
    return ok;
}

static void
test_u64_limits(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t max;
        bool ok;
        uint64_t value;
        size_t consumed;
    } rows[] = {
        {"0", UINT64_MAX, true, 0, 1},
        {"18446744073709551615", UINT64_MAX, true, UINT64_MAX, 20},
        {"18446744073709551616", UINT64_MAX, false, 0, 0},
        {"99999999999999999999", UINT64_MAX, false, 0, 0},
        {"184467440737095516150", UINT64_MAX, false, 0, 0},
        {"000000000000000000000000042", UINT64_MAX, true, 42, 27},
        {"100", 100, true, 100, 3},
        {"101", 100, false, 0, 0},
        {"1000", 100, false, 0, 0},
        {"65535", 65535, true, 65535, 5},
        {"65536", 65535, false, 0, 0},
        /* A single digit larger than a small maximum. */
        {"7", 5, false, 0, 0},
        {"5", 5, true, 5, 1},
        {"9", 0, false, 0, 0},
        {"0", 0, true, 0, 1},
        {"00", 0, true, 0, 2},
        {"10", 9, false, 0, 0},
        {"9", 9, true, 9, 1},
        {"32", 32, true, 32, 2},
        {"33", 32, false, 0, 0},
        {"128", 128, true, 128, 3},
        {"129", 128, false, 0, 0},
        /* Stops at the first non-digit. */
        {"12abc", UINT64_MAX, true, 12, 2},
        {"7 ", UINT64_MAX, true, 7, 1},
        {"", UINT64_MAX, false, 0, 0},
        {"abc", UINT64_MAX, false, 0, 0},
        {"-1", UINT64_MAX, false, 0, 0},
        {"+1", UINT64_MAX, false, 0, 0},
        {" 1", UINT64_MAX, false, 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v;
        size_t consumed;
        bool ok = u64_of(rows[i].text, rows[i].max, &v, &consumed);
        if (ok != rows[i].ok) {
            fail_msg("row %zu: scan_u64(\"%s\", %llu) gave %d", i, rows[i].text,
                     (unsigned long long)rows[i].max, ok);
        }
        if (ok) {
            assert_int_equal(v, rows[i].value);
            assert_int_equal(consumed, rows[i].consumed);
            assert_true(v <= rows[i].max);
        }
    }
}

static void
test_u64_every_small_max(void **state)
{
    (void)state;
    /* Exhaustive for small maxima: value <= max is accepted, value > max is
     * not, whatever the digits. */
    char text[8];
    for (uint64_t max = 0; max < 200; max++) {
        for (uint64_t v = 0; v < 1000; v++) {
            int n = snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
            assert_true(n > 0);
            uint64_t got;
            size_t consumed;
            bool ok = u64_of(text, max, &got, &consumed);
            if (ok != (v <= max)) {
                fail_msg("scan_u64(\"%s\", %llu) gave %d", text, (unsigned long long)max, ok);
            }
            if (ok) {
                assert_int_equal(got, v);
            }
        }
    }
}

static void
test_u64_does_not_read_past_end(void **state)
{
    (void)state;
    /* The slice ends after "12"; the digits beyond belong to someone else. */
    struct scan s = scan_init(slice_make("123456", 2));
    uint64_t v;
    assert_true(scan_u64(&s, UINT64_MAX, &v));
    assert_int_equal(v, 12);
    assert_true(scan_eof(&s));
}

static void
test_digits_n(void **state)
{
    (void)state;
    struct scan s = scan_of("20260528");
    uint64_t y, m, d;
    assert_true(scan_digits_n(&s, 4, &y));
    assert_true(scan_digits_n(&s, 2, &m));
    assert_true(scan_digits_n(&s, 2, &d));
    assert_int_equal(y, 2026);
    assert_int_equal(m, 5);
    assert_int_equal(d, 28);
    assert_true(scan_eof(&s));

    static const struct {
        const char *text;
        size_t n;
    } bad[] = {
        {"202", 4},  /* too short */
        {"20a6", 4}, /* non-digit inside */
        {"-123", 4},
        {"", 1},
        {"123", 0},                   /* n = 0 is refused */
        {"12345678901234567890", 20}, /* could overflow: refused */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct scan t = scan_of(bad[i].text);
        const char *before = t.p;
        uint64_t v = 77;
        assert_false(scan_digits_n(&t, bad[i].n, &v));
        assert_ptr_equal(t.p, before);
        assert_int_equal(v, 77);
    }

    /* Exactly n digits are taken even when more follow. */
    struct scan t = scan_of("12345");
    uint64_t v;
    assert_true(scan_digits_n(&t, 4, &v));
    assert_int_equal(v, 1234);
    assert_int_equal(scan_peek(&t), '5');

    /* 19 digits is the widest that always fits. */
    t = scan_of("9999999999999999999");
    assert_true(scan_digits_n(&t, 19, &v));
    assert_int_equal(v, 9999999999999999999ull);
}

static void
test_until(void **state)
{
    (void)state;
    struct scan s = scan_of("key=value");
    struct slice out;
    assert_true(scan_until(&s, '=', &out));
    assert_true(slice_eq_cstr(out, "key"));
    /* The delimiter is not consumed. */
    assert_int_equal(scan_peek(&s), '=');
    assert_true(scan_byte(&s, '='));
    const char *before = s.p;
    out = SLICE_LIT("untouched");
    assert_false(scan_until(&s, '=', &out));
    assert_ptr_equal(s.p, before);
    assert_true(slice_eq_cstr(out, "untouched"));

    /* An empty run before the delimiter is a success. */
    s = scan_of(",x");
    assert_true(scan_until(&s, ',', &out));
    assert_int_equal(out.len, 0);
    assert_int_equal(scan_peek(&s), ',');

    /* At the end of input: nothing found. */
    s = scan_of("");
    assert_false(scan_until(&s, ',', &out));

    /* A delimiter beyond the slice's end is not found. */
    s = scan_init(slice_make("ab,cd", 2));
    assert_false(scan_until(&s, ',', &out));

    /* NUL is an ordinary byte inside a slice. */
    s = scan_init(slice_make("a\0b", 3));
    assert_true(scan_until(&s, '\0', &out));
    assert_int_equal(out.len, 1);
}

static void
test_token(void **state)
{
    (void)state;
    struct scan s = scan_of("Content-Type: text");
    struct slice t;
    assert_true(scan_token(&s, &t));
    assert_true(slice_eq_cstr(t, "Content-Type"));
    assert_int_equal(scan_peek(&s), ':');
    const char *before = s.p;
    t = SLICE_LIT("keep");
    assert_false(scan_token(&s, &t));
    assert_ptr_equal(s.p, before);
    assert_true(slice_eq_cstr(t, "keep"));

    /* Every tchar of RFC 9110 5.6.2 and nothing else. */
    const char *tchars = "!#$%&'*+-.^_`|~0123456789"
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int c = 0; c < 256; c++) {
        bool expect = c != 0 && strchr(tchars, c) != NULL;
        if (scan_is_tchar((unsigned char)c) != expect) {
            fail_msg("scan_is_tchar(0x%02x) wrong", c);
        }
    }
    /* A NUL byte ends a token. */
    s = scan_init(slice_make("ab\0cd", 5));
    assert_true(scan_token(&s, &t));
    assert_int_equal(t.len, 2);
}

static void
test_lit_byte_ows_while(void **state)
{
    (void)state;
    struct scan s = scan_of("Bearer  abc");
    assert_false(scan_lit(&s, "bearer"));
    assert_true(scan_lit_case(&s, "bearer"));
    assert_false(scan_lit(&s, " x"));
    scan_ows(&s);
    assert_int_equal(scan_peek(&s), 'a');
    assert_false(scan_byte(&s, 'b'));
    assert_true(scan_byte(&s, 'a'));
    struct slice rest = scan_rest(&s);
    assert_true(slice_eq_cstr(rest, "bc"));
    assert_int_equal(scan_left(&s), 2);
    struct slice run = scan_while(&s, scan_is_alpha);
    assert_true(slice_eq_cstr(run, "bc"));
    assert_true(scan_eof(&s));
    assert_int_equal(scan_peek(&s), -1);
    /* scan_while may match nothing. */
    run = scan_while(&s, scan_is_alpha);
    assert_int_equal(run.len, 0);
    assert_false(scan_byte(&s, 'x'));

    /* A literal longer than what is left fails without reading past it. */
    s = scan_init(slice_make("abcdef", 3));
    assert_false(scan_lit(&s, "abcd"));
    assert_false(scan_lit_case(&s, "ABCD"));
    assert_true(scan_lit_case(&s, "ABC"));
}

static void
test_character_classes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        bool digit = c >= '0' && c <= '9';
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool unreserved = digit || alpha || c == '-' || c == '.' || c == '_' || c == '~';
        assert_int_equal(scan_is_digit((unsigned char)c), digit);
        assert_int_equal(scan_is_alpha((unsigned char)c), alpha);
        assert_int_equal(scan_is_unreserved((unsigned char)c), unreserved);
    }
}

static void
test_slice_equality_is_bytewise(void **state)
{
    (void)state;
    assert_true(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abc")));
    assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abd")));
    assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("ab")));
    assert_true(slice_eq(SLICE_NULL, SLICE_LIT("")));
    assert_true(slice_case_eq_cstr(SLICE_LIT("X-Forwarded-For"), "x-forwarded-for"));
    assert_false(slice_case_eq_cstr(SLICE_LIT("X-Forwarded-For"), "x-forwarded-fo"));
    /* Slices are not C strings: bytes after an embedded NUL still count. */
    assert_false(slice_eq(slice_make("a\0b", 3), slice_make("a\0c", 3)));
    assert_false(slice_case_eq(slice_make("a\0b", 3), slice_make("A\0c", 3)));
    assert_true(slice_case_eq(slice_make("a\0b", 3), slice_make("A\0B", 3)));
    assert_false(slice_case_starts_with(slice_make("a\0bc", 4), slice_make("A\0c", 3)));
    assert_true(slice_case_starts_with(slice_make("a\0bc", 4), slice_make("A\0B", 3)));
    assert_true(slice_starts_with(SLICE_LIT("abc"), SLICE_LIT("ab")));
    assert_false(slice_starts_with(SLICE_LIT("a"), SLICE_LIT("ab")));
    /* Case folding is ASCII only. */
    assert_false(slice_case_eq_cstr(SLICE_LIT("\xc3\xa9"), "\xc3\x89"));
}

static void
test_slice_helpers(void **state)
{
    (void)state;
    assert_int_equal(slice_find_byte(SLICE_LIT("a,b"), ','), 1);
    assert_int_equal(slice_find_byte(SLICE_LIT("ab"), ','), -1);
    assert_int_equal(slice_find_byte(SLICE_NULL, ','), -1);
    struct slice s = slice_skip(SLICE_LIT("abc"), 1);
    assert_true(slice_eq_cstr(s, "bc"));
    s = slice_skip(SLICE_LIT("abc"), 9);
    assert_int_equal(s.len, 0);
    assert_true(slice_eq_cstr(slice_trim_ows(SLICE_LIT(" \t a b \t")), "a b"));
    assert_true(slice_eq_cstr(slice_trim_ows(SLICE_LIT("\na\n")), "\na\n"));
    assert_true(slice_eq_cstr(slice_trim_space(SLICE_LIT("\r\n\v\f a \t\r\n")), "a"));
    assert_int_equal(slice_trim_space(SLICE_LIT(" \t ")).len, 0);
    /* NUL is not whitespace. */
    assert_int_equal(slice_trim_space(slice_make("\0a\0", 3)).len, 3);
    assert_true(slice_is_empty(slice_from_cstr(NULL)));
}

/* Lists: every element in order, empty ones included, the separator
 * consumed, a trailing separator ending the list, nothing from "". */
static void
test_list_next(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want; /* the elements joined with '|' */
    } cases[] = {
        {"", ""},     {"a", "a|"},       {"a,b", "a|b|"},         {",a", "|a|"},
        {"a,", "a|"}, {"a,,b", "a||b|"}, {" a , b ", " a | b |"}, {",", "|"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct scan s = scan_init(slice_from_cstr(cases[i].in));
        char got[64] = "";
        size_t n = 0;
        struct slice e;
        while (scan_list_next(&s, ',', &e)) {
            assert_true(n + e.len + 1 < sizeof(got));
            memcpy(got + n, e.ptr, e.len);
            n += e.len;
            got[n++] = '|';
            got[n] = '\0';
        }
        assert_true(scan_eof(&s));
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got, cases[i].want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_limits),
        cmocka_unit_test(test_u64_every_small_max),
        cmocka_unit_test(test_u64_does_not_read_past_end),
        cmocka_unit_test(test_digits_n),
        cmocka_unit_test(test_until),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_lit_byte_ows_while),
        cmocka_unit_test(test_character_classes),
        cmocka_unit_test(test_slice_equality_is_bytewise),
        cmocka_unit_test(test_slice_helpers),
        cmocka_unit_test(test_list_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
