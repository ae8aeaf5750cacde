/* policy/glob: `*` (crossing '/'), `?` (one code point), case folding only
 * when asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/glob.h"

static bool
m(const char *pattern, const char *name)
{
    return policy_glob_match(slice_from_cstr(pattern), slice_from_cstr(name), false);
}

static void
test_literal_and_empty(void **state)
{
    (void)state;
    assert_true(m("read_file", "read_file"));
    assert_false(m("read_file", "read_files"));
    assert_false(m("read_file", "read_fil"));
    assert_true(m("", ""));
    assert_false(m("", "a"));
    assert_true(m("*", ""));
    assert_true(m("*", "anything/at/all"));
}

static void
test_star(void **state)
{
    (void)state;
    assert_true(m("delete_*", "delete_repo"));
    assert_true(m("delete_*", "delete_"));
    assert_false(m("delete_*", "undelete_repo"));
    assert_true(m("*_admin_*", "x_admin_y"));
    assert_true(m("*a*a*b", "aaaaaaaaaab"));
    assert_false(m("*a*a*b", "aaaaaaaaaaa"));
    /* `*` crosses '/': a resource URI is one name. */
    assert_true(m("file:///srv/*", "file:///srv/a/b/c.txt"));
    assert_false(m("file:///srv/*", "file:///srv2/a"));
    assert_true(m("**", "x"));
}

static void
test_question_is_one_code_point(void **state)
{
    (void)state;
    assert_true(m("v?", "v1"));
    assert_false(m("v?", "v"));
    assert_false(m("v?", "v12"));
    assert_true(m("caf?", "caf\xc3\xa9")); /* é is two bytes, one code point */
    assert_false(m("caf??", "caf\xc3\xa9"));
}

static void
test_case(void **state)
{
    (void)state;
    assert_false(m("Delete_*", "delete_x"));
    assert_true(policy_glob_match(SLICE_LIT("tools/call"), SLICE_LIT("TOOLS/Call"), true));
    assert_true(
        policy_glob_match(SLICE_LIT("notifications/*"), SLICE_LIT("Notifications/x"), true));
    assert_false(policy_glob_match(SLICE_LIT("tools/call"), SLICE_LIT("tools/calls"), true));
}

static void
test_nul_in_name(void **state)
{
    (void)state;
    /* A name is a slice: an embedded NUL is a byte like any other. */
    assert_false(policy_glob_match(SLICE_LIT("read"), slice_make("read\0x", 6), false));
    assert_true(policy_glob_match(SLICE_LIT("read*"), slice_make("read\0x", 6), false));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_empty),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_question_is_one_code_point),
        cmocka_unit_test(test_case),
        cmocka_unit_test(test_nul_in_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
