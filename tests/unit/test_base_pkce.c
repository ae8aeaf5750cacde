/* base/pkce: S256 per RFC 7636, checked against Appendix B's vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "base/pkce.h"

static void
test_rfc7636_appendix_b(void **state)
{
    (void)state;
    char out[PKCE_S256_LEN + 1];
    pkce_challenge_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER), out);
    assert_string_equal(out, FIXTURE_PKCE_CHALLENGE);
    assert_true(
        pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER), SLICE_LIT(FIXTURE_PKCE_CHALLENGE)));
}

static void
test_verify_refuses_wrong_and_empty(void **state)
{
    (void)state;
    /* Last character of the challenge changed. */
    assert_false(pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER),
                                  SLICE_LIT("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN")));
    /* First character of the verifier changed. */
    assert_false(pkce_verify_s256(SLICE_LIT("eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                                  SLICE_LIT(FIXTURE_PKCE_CHALLENGE)));
    assert_false(pkce_verify_s256(SLICE_LIT(""), SLICE_LIT(FIXTURE_PKCE_CHALLENGE)));
    assert_false(pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER), SLICE_LIT("")));
    assert_false(pkce_verify_s256(SLICE_NULL, SLICE_NULL));
    /* "plain": the verifier itself as challenge is not S256. */
    assert_false(
        pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER), SLICE_LIT(FIXTURE_PKCE_VERIFIER)));
    /* A prefix or an extension of the right challenge. */
    assert_false(pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER),
                                  SLICE_LIT("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c")));
    assert_false(
        pkce_verify_s256(SLICE_LIT(FIXTURE_PKCE_VERIFIER), SLICE_LIT(FIXTURE_PKCE_CHALLENGE "A")));
}

static void
test_verifier_length_rules(void **state)
{
    (void)state;
    char v[200];
    memset(v, 'a', sizeof(v));
    assert_false(pkce_is_valid_verifier(slice_make(v, 42)));
    assert_true(pkce_is_valid_verifier(slice_make(v, 43)));
    assert_true(pkce_is_valid_verifier(slice_make(v, 128)));
    assert_false(pkce_is_valid_verifier(slice_make(v, 129)));
    assert_false(pkce_is_valid_verifier(SLICE_NULL));
}

static void
test_verifier_charset_rules(void **state)
{
    (void)state;
    char v[44];
    memset(v, 'A', 43);
    v[43] = '\0';
    const char ok[] = "-._~09azAZ";
    for (size_t i = 0; ok[i]; i++) {
        v[10] = ok[i];
        assert_true(pkce_is_valid_verifier(slice_make(v, 43)));
    }
    const char bad[] = "+/=%! \t\r\n:@?#&\"<>\\";
    for (size_t i = 0; bad[i]; i++) {
        v[10] = bad[i];
        assert_false(pkce_is_valid_verifier(slice_make(v, 43)));
    }
    v[10] = '\0';
    assert_false(pkce_is_valid_verifier(slice_make(v, 43)));
    v[10] = (char)0xc3; /* non-ASCII */
    assert_false(pkce_is_valid_verifier(slice_make(v, 43)));
    /* A verifier with a bad character never verifies, even when its hash
     * is supplied as the challenge. */
    v[10] = '+';
    char ch[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_make(v, 43), ch);
    assert_false(pkce_verify_s256(slice_make(v, 43), slice_from_cstr(ch)));
}

static void
test_new_verifier_shape(void **state)
{
    (void)state;
    char a[PKCE_S256_LEN + 1], b[PKCE_S256_LEN + 1];
    pkce_new_verifier(a);
    pkce_new_verifier(b);
    assert_int_equal(strlen(a), 43);
    assert_true(pkce_is_valid_verifier(slice_from_cstr(a)));
    assert_string_not_equal(a, b);
    char ch[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_from_cstr(a), ch);
    assert_true(pkce_verify_s256(slice_from_cstr(a), slice_from_cstr(ch)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_appendix_b),
        cmocka_unit_test(test_verify_refuses_wrong_and_empty),
        cmocka_unit_test(test_verifier_length_rules),
        cmocka_unit_test(test_verifier_charset_rules),
        cmocka_unit_test(test_new_verifier_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
