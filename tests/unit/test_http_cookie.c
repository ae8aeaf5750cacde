/* http/cookie: the Cookie header walk (RFC 6265 4.2.1, 5.4) -- one row per
 * rule of what counts as a pair and what is stepped over, the separators
 * browsers and tools send, several Cookie lines, and the pair cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "http/cookie.h"

/* The walk of one line written as "name=value|!|..." where '!' marks a
 * skipped pair, into out. */
static void
walk(const char *line, char *out, size_t cap)
{
    struct slice cursor = slice_from_cstr(line);
    size_t n = 0;
    out[0] = '\0';
    for (int guard = 0; guard < 1000; guard++) {
        struct slice name = {0}, value = {0};
        enum http_cookie_rc rc = http_cookie_next(&cursor, &name, &value);
        if (rc == HTTP_COOKIE_END) {
            assert_int_equal(cursor.len, 0);
            return;
        }
        int w = rc == HTTP_COOKIE_PAIR
                    ? snprintf(out + n, cap - n, "%s%.*s=%.*s", n ? "|" : "", (int)name.len,
                               name.ptr, (int)value.len, value.ptr)
                    : snprintf(out + n, cap - n, "%s!", n ? "|" : "");
        assert_true(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
    fail_msg("the walk of %s did not end", line);
}

static void
test_walk_table(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *want;
    } rows[] = {
        {"", ""},
        {"   ", ""},
        {"a=1", "a=1"},
        {"a=1; b=2", "a=1|b=2"},
        /* Browsers send "; "; tools send ";" or ";  " or a tab. */
        {"a=1;b=2;\tc=3;   d=4", "a=1|b=2|c=3|d=4"},
        /* Leading and trailing OWS of the line and of each pair. */
        {"  a=1 ; b=2  ", "a=1|b=2"},
        {"a=", "a="},
        {"a=\"\"", "a="},
        {"a=\"quoted\"", "a=quoted"},
        /* '=' is a cookie-octet: the value runs to the ';'. */
        {"a=b=c==", "a=b=c=="},
        {"__Host-mcp_consent_E9Melhoa=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
         "__Host-mcp_consent_E9Melhoa=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
        /* Stepped over, not fatal to the rest of the line. */
        {"novalue; a=1", "!|a=1"},
        {"=nameless; a=1", "!|a=1"},
        {"a b=1; c=2", "!|c=2"},
        {"a=1 2; c=2", "!|c=2"},
        {"a=\"unterminated; c=2", "!|c=2"},
        {"a=\"; c=2", "!|c=2"},
        {"a=x\"y; c=2", "!|c=2"},
        {"a=back\\slash; c=2", "!|c=2"},
        {"a=com,ma; c=2", "!|c=2"},
        {"a=\x01; c=2", "!|c=2"},
        {"a=\xc3\xa9; c=2", "!|c=2"},
        {"a(b)=1; c=2", "!|c=2"},
        {";;a=1;;", "!|!|a=1|!"},
        {";", "!"},
        {"a=1;", "a=1"},
    };
    char got[1024];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        walk(rows[i].line, got, sizeof(got));
        if (strcmp(got, rows[i].want) != 0) {
            fail_msg("row %zu: \"%s\" gave \"%s\", want \"%s\"", i, rows[i].line, got,
                     rows[i].want);
        }
    }
}

/* Outputs are only written for a pair. */
static void
test_outputs_untouched(void **state)
{
    (void)state;
    struct slice cursor = slice_from_cstr("bad pair");
    struct slice name = slice_from_cstr("keep"), value = slice_from_cstr("keep");
    assert_int_equal(http_cookie_next(&cursor, &name, &value), HTTP_COOKIE_SKIPPED);
    assert_true(slice_eq_cstr(name, "keep") && slice_eq_cstr(value, "keep"));
    assert_int_equal(http_cookie_next(&cursor, &name, &value), HTTP_COOKIE_END);
    struct slice empty = {0};
    assert_int_equal(http_cookie_next(&empty, &name, &value), HTTP_COOKIE_END);
}

/* Over several lines, in order, exact and case-sensitive names, at most
 * max_values reported. */
static void
test_find(void **state)
{
    (void)state;
    const struct slice lines[] = {
        slice_from_cstr("x=1; id=first; ID=upper"),
        slice_from_cstr("id_x=no; bad pair; id=\"second\""),
        slice_from_cstr(""),
        slice_from_cstr("id=third;id=fourth"),
    };
    struct slice v[8];
    bool truncated = true;
    size_t n = http_cookie_find(lines, 4, slice_from_cstr("id"), v, 8, &truncated);
    assert_int_equal(n, 4);
    assert_false(truncated);
    assert_true(slice_eq_cstr(v[0], "first"));
    assert_true(slice_eq_cstr(v[1], "second"));
    assert_true(slice_eq_cstr(v[2], "third"));
    assert_true(slice_eq_cstr(v[3], "fourth"));
    assert_int_equal(http_cookie_find(lines, 4, slice_from_cstr("id"), v, 2, NULL), 2);
    assert_true(slice_eq_cstr(v[1], "second"));
    assert_int_equal(http_cookie_find(lines, 4, slice_from_cstr("nope"), v, 8, NULL), 0);
    assert_int_equal(http_cookie_find(lines, 0, slice_from_cstr("id"), v, 8, NULL), 0);
    assert_int_equal(http_cookie_find(lines, 4, slice_from_cstr("ID"), v, 8, NULL), 1);
    assert_true(slice_eq_cstr(v[0], "upper"));
}

/* At most BOUNDS_COOKIE_PAIRS_MAX pairs, well-formed or not, over all
 * lines: a cookie past the cap is not seen and the walk says so. */
static void
test_pair_cap(void **state)
{
    (void)state;
    struct buf a, b;
    buf_init(&a, 64 * 1024);
    buf_init(&b, 64 * 1024);
    for (int i = 0; i < BOUNDS_COOKIE_PAIRS_MAX - 1; i++) {
        assert_int_equal(buf_appendf(&a, i % 2 ? "c%d=v; " : "bad%d; ", i), 0);
    }
    assert_int_equal(buf_append_str(&b, "want=yes; after=no"), 0);
    struct slice lines[] = {buf_slice(&a), buf_slice(&b)};
    struct slice v[2];
    bool truncated = false;
    /* The wanted pair is number BOUNDS_COOKIE_PAIRS_MAX: seen. */
    assert_int_equal(http_cookie_find(lines, 2, slice_from_cstr("want"), v, 2, &truncated), 1);
    assert_true(truncated); /* "after" is one too many */
    assert_true(slice_eq_cstr(v[0], "yes"));
    /* One more pair in front of it: not seen. */
    assert_int_equal(buf_append_str(&a, "one=more; "), 0);
    lines[0] = buf_slice(&a);
    assert_int_equal(http_cookie_find(lines, 2, slice_from_cstr("want"), v, 2, &truncated), 0);
    assert_true(truncated);
    buf_cleanup(&a);
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_table),
        cmocka_unit_test(test_outputs_untouched),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_pair_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
