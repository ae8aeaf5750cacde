/* base/form: form-urlencoded decoding in query and body mode (SPEC.md
 * 3.0.6, 3.0.7), the form Content-Type check, and Go-compatible encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/form.h"
#include "base/xalloc.h"
#include "bounds.h"

/* Renders params as "name=value|name=value" (raw decoded bytes) so a row
 * can state the expected result in one string. */
static char *
render(const struct form_params *p)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < p->count; i++) {
        assert_int_equal(buf_appendf(&b, "%s%.*s=%.*s", i ? "|" : "", (int)p->items[i].name.len,
                                     p->items[i].name.ptr, (int)p->items[i].value.len,
                                     p->items[i].value.ptr),
                         0);
    }
    return buf_take(&b);
}

struct parse_row {
    const char *raw;
    const char *query; /* rendering in query mode */
    const char *form;  /* rendering in form mode, or NULL for MALFORMED */
};

static const struct parse_row parse_rows[] = {
    {"", "", ""},
    {"a=1", "a=1", "a=1"},
    {"a=1&b=x+y&c=%7E%41", "a=1|b=x y|c=~A", "a=1|b=x y|c=~A"},
    /* duplicates are kept, in order (SPEC.md 3.0.6) */
    {"r=1&x=2&r=3", "r=1|x=2|r=3", "r=1|x=2|r=3"},
    {"&&a=1&&b=2&", "a=1|b=2", "a=1|b=2"},
    {"a", "a=", "a="},
    {"a=", "a=", "a="},
    {"=v", "=v", "=v"},
    {"a=b=c", "a=b=c", "a=b=c"},
    {"%2B=%2b&p=+", "+=+|p= ", "+=+|p= "},
    {"k=%3B", "k=;", "k=;"},
    {"k=%c3%A9", "k=\xc3\xa9", "k=\xc3\xa9"},
    {"k=\xff\x01", "k=\xff\x01", "k=\xff\x01"},
    /* ';' is not a separator: the pair is dropped / the form is malformed */
    {"a=1;b=2&c=3", "c=3", NULL},
    {"a=1&c=3;", "a=1", NULL},
    /* bad percent-escapes in value or name */
    {"a=%zz&b=2", "b=2", NULL},
    {"a=%&b=2", "b=2", NULL},
    {"a=%4&b=2", "b=2", NULL},
    {"a=1&b=%4", "a=1", NULL},
    {"%g1=1&b=2", "b=2", NULL},
    /* NUL, encoded or raw, is refused like a bad escape (query.h) */
    {"a=%00&b=2", "b=2", NULL},
    {"%00=1&b=2", "b=2", NULL},
};

static void
test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
        const struct parse_row *r = &parse_rows[i];
        struct form_params p;
        assert_int_equal(
            form_parse(slice_from_cstr(r->raw), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
            FORM_OK);
        char *got = render(&p);
        assert_string_equal(got, r->query);
        xfree(got);
        form_params_cleanup(&p);

        enum form_rc rc =
            form_parse(slice_from_cstr(r->raw), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p);
        if (r->form == NULL) {
            assert_int_equal(rc, FORM_ERR_MALFORMED);
            assert_null(p.items);
            assert_int_equal(p.count, 0);
        } else {
            assert_int_equal(rc, FORM_OK);
            got = render(&p);
            assert_string_equal(got, r->form);
            xfree(got);
            form_params_cleanup(&p);
        }
    }
}

static void
test_raw_nul_byte(void **state)
{
    (void)state;
    static const char raw[] = "a=x\0y&b=2";
    struct form_params p;
    assert_int_equal(
        form_parse(slice_make(raw, sizeof(raw) - 1), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
        FORM_OK);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.items[0].name.ptr, "b");
    form_params_cleanup(&p);
    assert_int_equal(
        form_parse(slice_make(raw, sizeof(raw) - 1), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
        FORM_ERR_MALFORMED);
}

static void
test_values_are_c_strings(void **state)
{
    (void)state;
    struct form_params p;
    assert_int_equal(
        form_parse(SLICE_LIT("a=%41%42&b=c+d"), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
        FORM_OK);
    for (size_t i = 0; i < p.count; i++) {
        assert_int_equal(strlen(p.items[i].name.ptr), p.items[i].name.len);
        assert_int_equal(strlen(p.items[i].value.ptr), p.items[i].value.len);
    }
    form_params_cleanup(&p);
    form_params_cleanup(&p); /* reusable and idempotent */
    form_params_cleanup(NULL);
}

static char *
repeat_pairs(size_t n)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(buf_append_str(&b, i ? "&a" : "a"), 0);
    }
    return buf_take(&b);
}

static void
test_param_cap(void **state)
{
    (void)state;
    struct form_params p;
    char *at_cap = repeat_pairs(BOUNDS_QUERY_PARAMS_MAX);
    char *over = repeat_pairs(BOUNDS_QUERY_PARAMS_MAX + 1);
    assert_int_equal(
        form_parse(slice_from_cstr(at_cap), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p), FORM_OK);
    assert_int_equal(p.count, BOUNDS_QUERY_PARAMS_MAX);
    form_params_cleanup(&p);
    assert_int_equal(form_parse(slice_from_cstr(over), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_ERR_TOO_MANY);
    assert_int_equal(
        form_parse(slice_from_cstr(over), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
        FORM_ERR_TOO_MANY);
    assert_null(p.items);
    xfree(at_cap);
    xfree(over);
}

static void
test_get_and_repeated(void **state)
{
    (void)state;
    struct form_params p;
    assert_int_equal(form_parse(SLICE_LIT("state=&code=c1&resource=r1&resource=r2&code=c2"),
                                FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    size_t count = 99;
    assert_string_equal(form_params_get(&p, "code", &count), "c1");
    assert_int_equal(count, 2);
    /* present but empty differs from absent only by the count */
    assert_string_equal(form_params_get(&p, "state", &count), "");
    assert_int_equal(count, 1);
    assert_string_equal(form_params_get(&p, "nonce", &count), "");
    assert_int_equal(count, 0);
    assert_string_equal(form_params_get(&p, "resource", NULL), "r1");

    static const char *const singletons[] = {"state", "redirect_uri", "code"};
    assert_string_equal(form_params_find_repeated(&p, singletons, 3), "code");
    static const char *const none_repeated[] = {"state", "redirect_uri"};
    assert_null(form_params_find_repeated(&p, none_repeated, 2));
    form_params_cleanup(&p);
}

static void
test_content_type(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool form;
    } rows[] = {
        {"application/x-www-form-urlencoded", true},
        {"application/x-www-form-urlencoded; charset=UTF-8", true},
        {"APPLICATION/X-WWW-FORM-URLENCODED;charset=utf-8", true},
        {"  application/x-www-form-urlencoded  ; charset=utf-8", true},
        {"application/x-www-form-urlencoded;", true},
        {"application/json", false},
        {"multipart/form-data; boundary=x", false},
        {"application/x-www-form-urlencodedx", false},
        {"text/plain; application/x-www-form-urlencoded", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(form_is_content_type(rows[i].value), rows[i].form);
    }
}

static void
test_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(form_append_escaped(&b, SLICE_LIT("aZ09-_.~ &=/?#+%;\xc3\xa9\x01")), 0);
    assert_string_equal(buf_cstr(&b), "aZ09-_.~+%26%3D%2F%3F%23%2B%25%3B%C3%A9%01");
    buf_cleanup(&b);
}

static void
test_append_encoded_separators(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("a b"), SLICE_LIT("c&d")), 0);
    assert_string_equal(buf_cstr(&b), "a+b=c%26d");
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("e"), SLICE_LIT("")), 0);
    assert_string_equal(buf_cstr(&b), "a+b=c%26d&e=");
    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "https://idp.example.com/auth?"), 0);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("x"), SLICE_LIT("1")), 0);
    assert_string_equal(buf_cstr(&b), "https://idp.example.com/auth?x=1");
    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "https://idp.example.com/auth?tenant=t"), 0);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("x"), SLICE_LIT("1")), 0);
    assert_string_equal(buf_cstr(&b), "https://idp.example.com/auth?tenant=t&x=1");
    buf_cleanup(&b);
}

static void
test_append_at_cap_leaves_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 9);
    assert_int_equal(buf_append_str(&b, "k=v"), 0);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("x"), SLICE_LIT("a b")), 0);
    assert_string_equal(buf_cstr(&b), "k=v&x=a+b");
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("y"), SLICE_LIT("1")), -1);
    assert_string_equal(buf_cstr(&b), "k=v&x=a+b");
    assert_int_equal(form_append_escaped(&b, SLICE_LIT("z")), -1);
    assert_string_equal(buf_cstr(&b), "k=v&x=a+b");
    buf_cleanup(&b);
}

/* Whatever is encoded decodes back to the same pairs, in form mode. */
static void
test_round_trip(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"error_description", "user declined to authorize this client"},
        {"state", "a;b&c=d%e+f"},
        {"", ""},
        {"\xe2\x80\x94", "\x7f\x01 ~"},
    };
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(
            form_append_encoded(&b, slice_from_cstr(pairs[i][0]), slice_from_cstr(pairs[i][1])), 0);
    }
    struct form_params p;
    assert_int_equal(form_parse(buf_slice(&b), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    assert_int_equal(p.count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(slice_eq_cstr(p.items[i].name, pairs[i][0]));
        assert_true(slice_eq_cstr(p.items[i].value, pairs[i][1]));
    }
    form_params_cleanup(&p);
    buf_cleanup(&b);
}

static void
test_rc_names(void **state)
{
    (void)state;
    assert_string_equal(form_rc_str(FORM_OK), "ok");
    assert_string_equal(form_rc_str(FORM_ERR_MALFORMED), "malformed");
    assert_string_equal(form_rc_str(FORM_ERR_TOO_MANY), "too_many");
    assert_string_equal(form_rc_str(FORM_RC_COUNT), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_raw_nul_byte),
        cmocka_unit_test(test_values_are_c_strings),
        cmocka_unit_test(test_param_cap),
        cmocka_unit_test(test_get_and_repeated),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_append_encoded_separators),
        cmocka_unit_test(test_append_at_cap_leaves_buffer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rc_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
