/* base/scope: RFC 6749 3.3 scope-token syntax and the space-separated set
 * operations the granting rules are built on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/scope.h"

/* Every byte: %x21 / %x23-5B / %x5D-7E only. */
static void
test_token_syntax_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        bool want = c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
        assert_int_equal(scope_token_is_valid(slice_make(&one, 1)), want);
    }
    assert_false(scope_token_is_valid(SLICE_LIT("")));
    assert_true(scope_token_is_valid(SLICE_LIT("https://api.example.com/read")));
    assert_false(scope_token_is_valid(SLICE_LIT("mcp read")));
    assert_false(scope_token_is_valid(slice_make("a\0b", 3)));
}

static void
test_next_splits_on_runs(void **state)
{
    (void)state;
    struct slice rest = SLICE_LIT("  a,,b ,c  ");
    struct slice t;
    assert_true(scope_next(&rest, " ,", &t));
    assert_true(slice_eq_cstr(t, "a"));
    assert_true(scope_next(&rest, " ,", &t));
    assert_true(slice_eq_cstr(t, "b"));
    assert_true(scope_next(&rest, " ,", &t));
    assert_true(slice_eq_cstr(t, "c"));
    assert_false(scope_next(&rest, " ,", &t));
    assert_int_equal(rest.len, 0);
    /* Comma is a token byte when only space separates. */
    rest = SLICE_LIT("a,b");
    assert_true(scope_next(&rest, " ", &t));
    assert_true(slice_eq_cstr(t, "a,b"));
    rest = SLICE_LIT("");
    assert_false(scope_next(&rest, " ", &t));
}

static void
test_has_is_exact(void **state)
{
    (void)state;
    assert_true(scope_has("mcp:read mcp:write", SLICE_LIT("mcp:write")));
    assert_false(scope_has("mcp:read mcp:write", SLICE_LIT("mcp")));      /* no prefix */
    assert_false(scope_has("mcp:read mcp:write", SLICE_LIT("MCP:READ"))); /* case matters */
    assert_false(scope_has("mcp:read", SLICE_LIT("mcp:read mcp:write")));
    assert_false(scope_has("", SLICE_LIT("a")));
    assert_false(scope_has(NULL, SLICE_LIT("a")));
}

static void
test_without_offline_access(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(scope_without_offline_access("offline_access a b", &b), 0);
    assert_string_equal(buf_cstr(&b), "a b");
    buf_reset(&b);
    assert_int_equal(scope_without_offline_access("a offline_access b", &b), 0);
    assert_string_equal(buf_cstr(&b), "a b");
    buf_reset(&b);
    assert_int_equal(scope_without_offline_access("offline_access", &b), 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_reset(&b);
    assert_int_equal(scope_without_offline_access("offline_accessx", &b), 0);
    assert_string_equal(buf_cstr(&b), "offline_accessx");
    buf_cleanup(&b);
    /* At the cap: -1 and the buffer as it was. */
    buf_init(&b, 4);
    assert_int_equal(buf_append_str(&b, "xy"), 0);
    assert_int_equal(scope_without_offline_access("abc", &b), -1);
    assert_string_equal(buf_cstr(&b), "xy");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_syntax_every_byte),
        cmocka_unit_test(test_next_splits_on_runs),
        cmocka_unit_test(test_has_is_exact),
        cmocka_unit_test(test_without_offline_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
