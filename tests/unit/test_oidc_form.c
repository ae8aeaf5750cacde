/* oidc/form: form-encoded IdP token responses; and the IdP-facing encoding
 * (base/form) checked against Go's url.QueryEscape output the IdPs saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/form.h"
#include "oidc/form.h"

static void
test_escape_matches_query_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(form_append_escaped(&b, SLICE_LIT("AZaz09-._~ +/:?#&=%\x01\xc3\xa9")), 0);
    assert_string_equal(buf_cstr(&b), "AZaz09-._~+%2B%2F%3A%3F%23%26%3D%25%01%C3%A9");
    buf_cleanup(&b);
}

static void
test_append_pairs(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("scope"), SLICE_LIT("openid email profile")),
                     0);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("redirect_uri"),
                                         SLICE_LIT("https://auth.example.com/callback")),
                     0);
    assert_string_equal(buf_cstr(&b), "scope=openid+email+profile&redirect_uri=https%3A%2F%2F"
                                      "auth.example.com%2Fcallback");
    buf_cleanup(&b);
    buf_init(&b, 8);
    assert_int_equal(form_append_encoded(&b, SLICE_LIT("k"), SLICE_LIT("value too long")), -1);
    buf_cleanup(&b);
}

static void
test_decode(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(
        oidc_form_to_json(SLICE_LIT("access_token=a%2Bb&token_type=bearer&&scope=x+y&flag"
                                    "&access_token=second&e=%C3%A9"),
                          &o),
        0);
    assert_string_equal(json_string_value(json_object_get(o, "access_token")), "a+b");
    assert_string_equal(json_string_value(json_object_get(o, "scope")), "x y");
    assert_string_equal(json_string_value(json_object_get(o, "flag")), "");
    assert_string_equal(json_string_value(json_object_get(o, "e")), "\xc3\xa9");
    assert_int_equal(json_object_size(o), 5);
    json_decref(o);
    assert_int_equal(oidc_form_to_json(SLICE_LIT(""), &o), 0);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void
test_decode_refuses(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(oidc_form_to_json(SLICE_LIT("a=%zz"), &o), -1);
    assert_int_equal(oidc_form_to_json(SLICE_LIT("a=%4"), &o), -1);
    assert_int_equal(oidc_form_to_json(SLICE_LIT("a=%"), &o), -1);
    assert_int_equal(oidc_form_to_json(SLICE_LIT("a=%00"), &o), -1);
    assert_int_equal(oidc_form_to_json(SLICE_LIT("a=%FF"), &o), -1);
    assert_int_equal(oidc_form_to_json(SLICE_LIT("%FF=1"), &o), -1);
    assert_null(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_matches_query_escape),
        cmocka_unit_test(test_append_pairs),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
