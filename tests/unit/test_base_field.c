/* base/field: the field syntax every header path shares (a byte refused
 * on one path is refused on all), and the accumulator both parsers use:
 * pieces join, caps hold at the exact byte, offsets survive the store
 * moving, and a cleared list starts over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/field.h"
#include "base/slice.h"

static void
test_name_is_token(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"Content-Type", true},
        {"x-a_b.c~d!#$%&'*+^`|", true},
        {"1", true},
        {"", false},
        {"Host ", false}, /* "Host : x": whitespace before the colon */
        {" Host", false},
        {"a:b", false},
        {"a\"b", false},
        {"a(b)", false},
        {"a/b", false},
        {"a@b", false},
        {"a\tb", false},
        {"caf\xc3\xa9", false},
        {"a\x7f", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (field_name_is_token(slice_from_cstr(rows[i].name)) != rows[i].ok) {
            fail_msg("row %zu (%s): expected %d", i, rows[i].name, rows[i].ok);
        }
    }
    assert_false(field_name_is_token(slice_make("a\0b", 3)));
}

static void
test_value_rules(void **state)
{
    (void)state;
    /* value, RFC 9110 5.5 (valid), line-safe (no NUL/CR/LF) */
    static const struct {
        const char *value;
        size_t len;
        bool valid;
        bool line_safe;
    } rows[] = {
        {"", 0, true, true},
        {"Bearer abc.def", 14, true, true},
        {"a\tb c", 5, true, true},
        {"obs \x80\xff text", 11, true, true},
        {"a\rb", 3, false, false},
        {"a\nb", 3, false, false},
        {"a\0b", 3, false, false},
        {"a\r\nX-Injected: 1", 16, false, false},
        {"a\x01"
         "b",
         3, false, true},
        {"a\x1f", 2, false, true},
        {"a\x7f", 2, false, true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct slice v = slice_make(rows[i].value, rows[i].len);
        if (field_value_is_valid(v) != rows[i].valid ||
            field_value_is_line_safe(v) != rows[i].line_safe) {
            fail_msg("row %zu: expected valid %d line-safe %d", i, rows[i].valid,
                     rows[i].line_safe);
        }
    }
}

static void
add(struct field_list *l, const char *name, const char *value)
{
    assert_int_equal(field_list_add_name(l, name, strlen(name)), FIELD_LIST_OK);
    if (value[0] != '\0') {
        assert_int_equal(field_list_add_value(l, value, strlen(value)), FIELD_LIST_OK);
    }
    assert_int_equal(field_list_end_value(l), FIELD_LIST_OK);
}

static void
test_pieces_join_and_values_trim(void **state)
{
    (void)state;
    struct field_list l;
    field_list_init(&l, 1024, 8, 32);
    /* "Content-Type: text/plain" in pieces, as llhttp reports a span split
     * across reads. */
    assert_int_equal(field_list_add_name(&l, "Conte", 5), FIELD_LIST_OK);
    assert_int_equal(field_list_add_name(&l, "nt-Type", 7), FIELD_LIST_OK);
    assert_int_equal(field_list_add_value(&l, " text/", 6), FIELD_LIST_OK);
    assert_int_equal(field_list_add_value(&l, "plain \t", 7), FIELD_LIST_OK);
    assert_int_equal(field_list_end_value(&l), FIELD_LIST_OK);
    add(&l, "X-Empty", "");
    add(&l, "Host", "a");
    size_t n = 0;
    const struct field *f = field_list_build(&l, &n);
    assert_int_equal(n, 3);
    assert_int_equal(field_list_count(&l), 3);
    assert_true(slice_eq_cstr(f[0].name, "Content-Type"));
    assert_true(slice_eq_cstr(f[0].value, "text/plain"));
    assert_true(slice_eq_cstr(f[1].name, "X-Empty"));
    assert_int_equal(f[1].value.len, 0);
    assert_true(slice_eq_cstr(f[2].name, "Host"));
    assert_true(slice_eq_cstr(f[2].value, "a"));
    field_list_cleanup(&l);
}

static void
test_caps_hold_at_the_exact_byte(void **state)
{
    (void)state;
    struct field_list l;
    /* Count: the third field is refused. */
    field_list_init(&l, 1024, 2, 32);
    add(&l, "a", "1");
    add(&l, "b", "2");
    assert_int_equal(field_list_add_name(&l, "c", 1), FIELD_LIST_ERR_COUNT);
    field_list_cleanup(&l);

    /* Name length: 8 bytes pass, a ninth (even in another piece) does not. */
    field_list_init(&l, 1024, 8, 8);
    assert_int_equal(field_list_add_name(&l, "abcd", 4), FIELD_LIST_OK);
    assert_int_equal(field_list_add_name(&l, "efgh", 4), FIELD_LIST_OK);
    assert_int_equal(field_list_add_name(&l, "i", 1), FIELD_LIST_ERR_NAME_LEN);
    field_list_cleanup(&l);
    field_list_init(&l, 1024, 8, 8);
    assert_int_equal(field_list_add_name(&l, "abcdefghi", 9), FIELD_LIST_ERR_NAME_LEN);
    field_list_cleanup(&l);

    /* Bytes: names and values share the store's cap. */
    field_list_init(&l, 10, 8, 8);
    assert_int_equal(field_list_add_name(&l, "abcd", 4), FIELD_LIST_OK);
    assert_int_equal(field_list_add_value(&l, "123456", 6), FIELD_LIST_OK);
    assert_int_equal(field_list_end_value(&l), FIELD_LIST_OK);
    assert_int_equal(field_list_add_name(&l, "x", 1), FIELD_LIST_ERR_BYTES);
    field_list_cleanup(&l);

    /* A value before any name. */
    field_list_init(&l, 10, 8, 8);
    assert_int_equal(field_list_add_value(&l, "v", 1), FIELD_LIST_ERR_NO_NAME);
    assert_int_equal(field_list_end_value(&l), FIELD_LIST_ERR_NO_NAME);
    field_list_cleanup(&l);
}

static void
test_offsets_survive_growth_and_owner_bytes(void **state)
{
    (void)state;
    struct field_list l;
    field_list_init(&l, 1 << 20, 200, 64);
    /* The owner's own bytes first (the request parser's target). */
    assert_int_equal(buf_append_str(&l.bytes, "/mcp?x=1"), 0);
    char name[32];
    char value[64];
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "X-Field-%d", i);
        snprintf(value, sizeof(value), "value number %d, padded to grow the store", i);
        add(&l, name, value);
    }
    size_t n = 0;
    const struct field *f = field_list_build(&l, &n);
    assert_int_equal(n, 150);
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "X-Field-%d", i);
        snprintf(value, sizeof(value), "value number %d, padded to grow the store", i);
        assert_true(slice_eq_cstr(f[i].name, name));
        assert_true(slice_eq_cstr(f[i].value, value));
    }
    assert_memory_equal(l.bytes.ptr, "/mcp?x=1", 8);
    field_list_cleanup(&l);
}

static void
test_clear_starts_over(void **state)
{
    (void)state;
    struct field_list l;
    field_list_init(&l, 1 << 20, 8, 16);
    add(&l, "a", "1");
    /* Half a field, then cleared (an interim head dropped mid-way). */
    assert_int_equal(field_list_add_name(&l, "b", 1), FIELD_LIST_OK);
    field_list_clear(&l, false);
    assert_int_equal(field_list_count(&l), 0);
    assert_int_equal(l.bytes.len, 0);
    add(&l, "c", "3");
    size_t n = 0;
    const struct field *f = field_list_build(&l, &n);
    assert_int_equal(n, 1);
    assert_true(slice_eq_cstr(f[0].name, "c"));
    assert_true(slice_eq_cstr(f[0].value, "3"));

    /* shrink: a small store is kept, a big one given back. */
    field_list_clear(&l, true);
    assert_non_null(l.bytes.ptr);
    char big[FIELD_LIST_KEEP_BYTES + 1];
    memset(big, 'v', sizeof(big));
    assert_int_equal(field_list_add_name(&l, "big", 3), FIELD_LIST_OK);
    assert_int_equal(field_list_add_value(&l, big, sizeof(big)), FIELD_LIST_OK);
    assert_true(l.bytes.alloc > FIELD_LIST_KEEP_BYTES);
    field_list_clear(&l, true);
    assert_null(l.bytes.ptr);
    assert_int_equal(l.bytes.alloc, 0);
    add(&l, "d", "4"); /* and it is still usable, with its cap */
    assert_int_equal(field_list_count(&l), 1);
    field_list_cleanup(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_is_token),
        cmocka_unit_test(test_value_rules),
        cmocka_unit_test(test_pieces_join_and_values_trim),
        cmocka_unit_test(test_caps_hold_at_the_exact_byte),
        cmocka_unit_test(test_offsets_survive_growth_and_owner_bytes),
        cmocka_unit_test(test_clear_starts_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
