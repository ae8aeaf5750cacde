/* base/jsonx: strict parsing (duplicates, trailing data, NUL, size cap) and
 * typed getters that tell absent, null and wrong type apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/jsonx.h"

static enum jsonx_rc
parse_n(const char *text, size_t len, json_t **out)
{
    *out = NULL;
    return jsonx_parse(slice_make(text, len), 1 << 20, out);
}

static enum jsonx_rc
parse(const char *text, json_t **out)
{
    return parse_n(text, strlen(text), out);
}

static void
test_accepts_values(void **state)
{
    (void)state;
    static const char *ok[] = {
        "{}",
        "[]",
        "null",
        "true",
        "0",
        "-1.5e3",
        "\"s\"",
        " {\"a\":1} ",
        "{\"a\":1}\n",
        "\t\r\n[1,2]\r\n",
        "{\"a\":{\"a\":1}}",
        "{\"\\u00e9\":\"caf\\u00e9\"}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *v;
        if (parse(ok[i], &v) != JSONX_OK) {
            fail_msg("refused %s", ok[i]);
        }
        assert_non_null(v);
        json_decref(v);
    }
}

static void
test_refuses_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        const char *why;
    } bad[] = {
        {"{\"a\":1,\"a\":2}", 0, "duplicate key"},
        {"{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", 0, "nested duplicate key"},
        {"{\"a\":1,\"\\u0061\":2}", 0, "duplicate key spelled with an escape"},
        {"{} x", 0, "trailing data"},
        {"{}{}", 0, "two values"},
        {"1 2", 0, "two scalars"},
        {"{},", 0, "trailing comma"},
        {"{\"a\":\"b\0c\"}", 11, "raw NUL inside a string"},
        {"{}\0", 3, "NUL after the value"},
        {"\0{}", 3, "NUL before the value"},
        {"\"\\u0000\"", 0, "escaped NUL in a string"},
        {"{\"a\\u0000b\":1}", 0, "escaped NUL in a key"},
        {"", 0, "empty"},
        {"   ", 0, "whitespace only"},
        {"{\"a\":}", 0, "missing value"},
        {"{'a':1}", 0, "single quotes"},
        {"[1,]", 0, "trailing comma in array"},
        {"\"\x01\"", 0, "raw control byte in a string"},
        {"\"\xff\"", 0, "invalid UTF-8"},
        {"99999999999999999999", 0, "integer too large"},
        {"NaN", 0, "NaN"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v;
        size_t n = bad[i].len ? bad[i].len : strlen(bad[i].text);
        enum jsonx_rc rc = parse_n(bad[i].text, n, &v);
        if (rc != JSONX_MALFORMED) {
            fail_msg("row %zu (%s): rc %d", i, bad[i].why, rc);
        }
        assert_null(v);
    }
}

static void
test_size_cap(void **state)
{
    (void)state;
    const char *text = "{\"k\":\"0123456789\"}"; /* 18 bytes */
    json_t *v = NULL;
    assert_int_equal(jsonx_parse(slice_from_cstr(text), 18, &v), JSONX_OK);
    json_decref(v);
    v = NULL;
    assert_int_equal(jsonx_parse(slice_from_cstr(text), 17, &v), JSONX_TOO_LARGE);
    assert_null(v);
    /* The cap is checked before any parsing: malformed and too large says
     * too large. */
    assert_int_equal(jsonx_parse(SLICE_LIT("{{{{"), 3, &v), JSONX_TOO_LARGE);
    /* An empty slice with a NULL pointer is malformed, not a crash. */
    assert_int_equal(jsonx_parse(SLICE_NULL, 10, &v), JSONX_MALFORMED);
}

static void
test_deep_nesting_is_refused_not_crashing(void **state)
{
    (void)state;
    enum { DEPTH = 100000 };
    static char text[2 * DEPTH];
    memset(text, '[', DEPTH);
    memset(text + DEPTH, ']', DEPTH);
    json_t *v = NULL;
    assert_int_equal(parse_n(text, sizeof(text), &v), JSONX_MALFORMED);
}

static const char *doc =
    "{\"s\":\"str\",\"e\":\"\",\"i\":42,\"neg\":-7,\"big\":9223372036854775807,"
    "\"f\":1.5,\"x\":1e3,\"t\":true,\"fa\":false,\"n\":null,"
    "\"a\":[1,2],\"o\":{\"k\":1},\"u\":\"caf\\u00e9\"}";

static void
test_get_str(void **state)
{
    (void)state;
    json_t *v;
    assert_int_equal(parse(doc, &v), JSONX_OK);
    struct slice s = SLICE_LIT("untouched");
    assert_int_equal(jsonx_get_str(v, "s", &s), JSONX_FOUND);
    assert_true(slice_eq_cstr(s, "str"));
    assert_int_equal(s.ptr[s.len], '\0');
    assert_int_equal(jsonx_get_str(v, "e", &s), JSONX_FOUND);
    assert_int_equal(s.len, 0);
    assert_int_equal(jsonx_get_str(v, "u", &s), JSONX_FOUND);
    assert_true(slice_eq_cstr(s, "caf\xc3\xa9"));
    s = SLICE_LIT("untouched");
    assert_int_equal(jsonx_get_str(v, "missing", &s), JSONX_ABSENT);
    assert_int_equal(jsonx_get_str(v, "n", &s), JSONX_NULL);
    assert_int_equal(jsonx_get_str(v, "i", &s), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_str(v, "t", &s), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_str(v, "a", &s), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_str(v, "o", &s), JSONX_WRONG_TYPE);
    /* Failed lookups leave the output alone. */
    assert_true(slice_eq_cstr(s, "untouched"));
    /* Keys are case-sensitive. */
    assert_int_equal(jsonx_get_str(v, "S", &s), JSONX_ABSENT);
    json_decref(v);
}

static void
test_get_int(void **state)
{
    (void)state;
    json_t *v;
    assert_int_equal(parse(doc, &v), JSONX_OK);
    int64_t n = 5;
    assert_int_equal(jsonx_get_int(v, "i", &n), JSONX_FOUND);
    assert_int_equal(n, 42);
    assert_int_equal(jsonx_get_int(v, "neg", &n), JSONX_FOUND);
    assert_int_equal(n, -7);
    assert_int_equal(jsonx_get_int(v, "big", &n), JSONX_FOUND);
    assert_true(n == INT64_MAX);
    n = 5;
    assert_int_equal(jsonx_get_int(v, "f", &n), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_int(v, "x", &n), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_int(v, "s", &n), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_int(v, "t", &n), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_int(v, "n", &n), JSONX_NULL);
    assert_int_equal(jsonx_get_int(v, "missing", &n), JSONX_ABSENT);
    assert_int_equal(n, 5);
    json_decref(v);
}

static void
test_get_bool_array_object_any(void **state)
{
    (void)state;
    json_t *v;
    assert_int_equal(parse(doc, &v), JSONX_OK);
    bool b = false;
    assert_int_equal(jsonx_get_bool(v, "t", &b), JSONX_FOUND);
    assert_true(b);
    assert_int_equal(jsonx_get_bool(v, "fa", &b), JSONX_FOUND);
    assert_false(b);
    assert_int_equal(jsonx_get_bool(v, "i", &b), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_bool(v, "s", &b), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_bool(v, "n", &b), JSONX_NULL);
    assert_int_equal(jsonx_get_bool(v, "missing", &b), JSONX_ABSENT);

    const json_t *j = NULL;
    assert_int_equal(jsonx_get_array(v, "a", &j), JSONX_FOUND);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(jsonx_get_array(v, "o", &j), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_array(v, "n", &j), JSONX_NULL);
    assert_int_equal(jsonx_get_array(v, "missing", &j), JSONX_ABSENT);
    assert_int_equal(jsonx_get_object(v, "o", &j), JSONX_FOUND);
    assert_true(json_is_object(j));
    int64_t k;
    assert_int_equal(jsonx_get_int(j, "k", &k), JSONX_FOUND);
    assert_int_equal(k, 1);
    assert_int_equal(jsonx_get_object(v, "a", &j), JSONX_WRONG_TYPE);
    assert_int_equal(jsonx_get_object(v, "n", &j), JSONX_NULL);
    assert_int_equal(jsonx_get_object(v, "missing", &j), JSONX_ABSENT);
    assert_int_equal(jsonx_get(v, "f", &j), JSONX_FOUND);
    assert_true(json_is_real(j));
    assert_int_equal(jsonx_get(v, "n", &j), JSONX_NULL);
    assert_int_equal(jsonx_get(v, "missing", &j), JSONX_ABSENT);
    json_decref(v);
}

static void
test_getters_on_non_objects(void **state)
{
    (void)state;
    struct slice s;
    int64_t n;
    /* NULL and non-objects: every getter says absent. */
    assert_int_equal(jsonx_get_str(NULL, "a", &s), JSONX_ABSENT);
    json_t *arr;
    assert_int_equal(parse("[{\"a\":1}]", &arr), JSONX_OK);
    assert_int_equal(jsonx_get_int(arr, "a", &n), JSONX_ABSENT);
    json_decref(arr);
    json_t *null;
    assert_int_equal(parse("null", &null), JSONX_OK);
    assert_true(json_is_null(null));
    assert_int_equal(jsonx_get_int(null, "a", &n), JSONX_ABSENT);
    json_decref(null);
}

static void
test_dump(void **state)
{
    (void)state;
    json_t *v;
    assert_int_equal(parse("{ \"b\" : 1 , \"a\" : [ true , null ] , \"c\":\"\\u0001\\\"\" }", &v),
                     JSONX_OK);
    struct buf b;
    buf_init(&b, 256);
    assert_int_equal(jsonx_dump(v, false, &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"b\":1,\"a\":[true,null],\"c\":\"\\u0001\\\"\"}");
    buf_reset(&b);
    assert_int_equal(jsonx_dump(v, true, &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"a\":[true,null],\"b\":1,\"c\":\"\\u0001\\\"\"}");
    buf_cleanup(&b);

    /* At the cap: refused, and what was there before is intact. */
    struct buf small;
    buf_init(&small, 20);
    assert_int_equal(buf_append_str(&small, "pre:"), 0);
    assert_int_equal(jsonx_dump(v, false, &small), -1);
    assert_int_equal(small.len, 4);
    assert_string_equal(buf_cstr(&small), "pre:");
    buf_cleanup(&small);
    json_decref(v);

    /* Scalars dump too. */
    json_t *s;
    assert_int_equal(parse("\"x\"", &s), JSONX_OK);
    buf_init(&b, 16);
    assert_int_equal(jsonx_dump(s, false, &b), 0);
    assert_string_equal(buf_cstr(&b), "\"x\"");
    buf_cleanup(&b);
    json_decref(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_values),
        cmocka_unit_test(test_refuses_malformed),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_deep_nesting_is_refused_not_crashing),
        cmocka_unit_test(test_get_str),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_bool_array_object_any),
        cmocka_unit_test(test_getters_on_non_objects),
        cmocka_unit_test(test_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
