/* base/buf: the cap is exact, a failed append changes nothing, JSON
 * escaping covers every control byte, buf_take hands over and resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* Snapshot of everything an append may touch, to prove a refused append
 * left the buffer exactly as it was. */
struct snap {
    char *ptr;
    size_t len;
    size_t alloc;
    size_t max;
    char bytes[256];
};

static void
take_snap(const struct buf *b, struct snap *s)
{
    s->ptr = b->ptr;
    s->len = b->len;
    s->alloc = b->alloc;
    s->max = b->max;
    assert_true(b->len + 1 <= sizeof(s->bytes));
    memcpy(s->bytes, buf_cstr(b), b->len + 1);
}

static void
assert_unchanged(const struct buf *b, const struct snap *s)
{
    assert_ptr_equal(b->ptr, s->ptr);
    assert_int_equal(b->len, s->len);
    assert_int_equal(b->alloc, s->alloc);
    assert_int_equal(b->max, s->max);
    assert_memory_equal(buf_cstr(b), s->bytes, s->len + 1);
}

static void
test_empty_buffer_is_empty_string(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_null(b.ptr);
    assert_string_equal(buf_cstr(&b), "");
    struct slice s = buf_slice(&b);
    assert_int_equal(s.len, 0);
    assert_non_null(s.ptr);
    buf_cleanup(&b);
}

static void
test_caps_exactly_at_max(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 5);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    assert_int_equal(buf_append_str(&b, "de"), 0);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_cstr(&b), "abcde");
    /* The terminator never counts toward max, and never overflows alloc. */
    assert_true(b.alloc >= 6);
    assert_true(b.alloc <= 6);
    struct snap s;
    take_snap(&b, &s);
    assert_int_equal(buf_append_byte(&b, 'f'), -1);
    assert_unchanged(&b, &s);
    /* An empty append at the cap still succeeds. */
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_unchanged(&b, &s);
    buf_cleanup(&b);
}

static void
test_one_past_max_in_a_single_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append_str(&b, "abcde"), -1);
    assert_int_equal(b.len, 0);
    assert_null(b.ptr);
    assert_int_equal(buf_append_str(&b, "abcd"), 0);
    assert_string_equal(buf_cstr(&b), "abcd");
    buf_cleanup(&b);
}

static void
test_max_zero_holds_only_empty(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(buf_append_byte(&b, 'x'), -1);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void
test_huge_length_does_not_wrap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    struct snap s;
    take_snap(&b, &s);
    /* len + extra would wrap around SIZE_MAX; the cap check must not.
     * (volatile: the compiler would otherwise see the inline fast path's
     * memcpy with this length and refuse it at compile time.) */
    volatile size_t huge = SIZE_MAX;
    assert_int_equal(buf_append(&b, "x", huge), -1);
    assert_int_equal(buf_append(&b, "x", huge - 1), -1);
    assert_unchanged(&b, &s);
    buf_cleanup(&b);
}

static void
test_growth_keeps_contents(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100000);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(buf_append_byte(&b, (char)('a' + i % 26)), 0);
    }
    assert_int_equal(b.len, 10000);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(b.ptr[i], 'a' + i % 26);
    }
    assert_int_equal(b.ptr[10000], '\0');
    assert_true(b.alloc <= b.max + 1);
    buf_cleanup(&b);
}

static void
test_appendf_formats_and_respects_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 12);
    assert_int_equal(buf_appendf(&b, "%s=%d", "n", 42), 0);
    assert_string_equal(buf_cstr(&b), "n=42");
    struct snap s;
    take_snap(&b, &s);
    /* 4 + 9 = 13 > 12: refused whole, not cut. */
    assert_int_equal(buf_appendf(&b, "%09d", 7), -1);
    assert_unchanged(&b, &s);
    assert_int_equal(buf_appendf(&b, "%08d", 7), 0);
    assert_string_equal(buf_cstr(&b), "n=4200000007");
    assert_int_equal(b.len, 12);
    /* An empty format on a fresh buffer yields "". */
    struct buf e;
    buf_init(&e, 0);
    assert_int_equal(buf_appendf(&e, "%s", ""), 0);
    assert_string_equal(buf_cstr(&e), "");
    buf_cleanup(&e);
    buf_cleanup(&b);
}

/* The best-effort append keeps what fits and cuts the rest, where
 * buf_appendf refuses the whole piece. */
static void
test_appendf_best_cuts_at_max(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 12);
    buf_appendf_best(&b, "%s=%d", "n", 42);
    assert_string_equal(buf_cstr(&b), "n=42");
    buf_appendf_best(&b, "; %s", "too long to fit");
    assert_string_equal(buf_cstr(&b), "n=42; too lo");
    assert_int_equal(b.len, 12);
    /* Full: nothing more, and no change. */
    buf_appendf_best(&b, "x");
    assert_string_equal(buf_cstr(&b), "n=42; too lo");
    buf_cleanup(&b);
    /* A max of 0 holds only "", and an empty format appends nothing. */
    buf_init(&b, 0);
    buf_appendf_best(&b, "%s", "abc");
    buf_appendf_best(&b, "%s", "");
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
    /* Fits exactly. */
    buf_init(&b, 5);
    buf_appendf_best(&b, "%05u", 42u);
    assert_string_equal(buf_cstr(&b), "00042");
    buf_cleanup(&b);
}

static void
test_append_slice_with_nul_bytes(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_append_slice(&b, slice_make("a\0b", 3)), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "a\0b\0", 4);
    buf_cleanup(&b);
}

static void
test_reset_keeps_allocation(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    char *p = b.ptr;
    size_t alloc = b.alloc;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.ptr, p);
    assert_int_equal(b.alloc, alloc);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_string_equal(buf_cstr(&b), "x");
    buf_cleanup(&b);
    /* Cleanup leaves it reusable with the same max. */
    assert_int_equal(b.max, 64);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(buf_cstr(&b), "again");
    buf_cleanup(&b);
}

static void
test_take_hands_over_and_resets(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 32);
    assert_int_equal(buf_append_str(&b, "payload"), 0);
    char *p = buf_take(&b);
    assert_string_equal(p, "payload");
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.max, 32);
    /* The buffer is independent of what was taken. */
    assert_int_equal(buf_append_str(&b, "next"), 0);
    assert_string_equal(p, "payload");
    assert_string_equal(buf_cstr(&b), "next");
    xfree(p);
    buf_cleanup(&b);
}

static void
test_take_of_empty_is_allocated_empty_string(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    char *p = buf_take(&b);
    assert_non_null(p);
    assert_string_equal(p, "");
    xfree(p);
    /* Also after a reset of an allocated buffer. */
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    buf_reset(&b);
    p = buf_take(&b);
    assert_string_equal(p, "");
    xfree(p);
}

/* The escape of one byte, as the module documents it. */
static const char *
expected_escape(unsigned c, char tmp[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        static const char hexdig[] = "0123456789abcdef";
        tmp[0] = '\\';
        tmp[1] = 'u';
        tmp[2] = '0';
        tmp[3] = '0';
        tmp[4] = hexdig[c >> 4];
        tmp[5] = hexdig[c & 0xf];
        tmp[6] = '\0';
        return tmp;
    }
    tmp[0] = (char)c;
    tmp[1] = '\0';
    return tmp;
}

static void
test_json_escapes_every_control_byte(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 0x80; c++) {
        struct buf b;
        buf_init(&b, 64);
        char byte = (char)c;
        assert_int_equal(buf_append_json_escaped(&b, slice_make(&byte, 1)), 0);
        char tmp[8];
        assert_string_equal(buf_cstr(&b), expected_escape(c, tmp));
        /* No raw control byte survives. */
        for (size_t i = 0; i < b.len; i++) {
            assert_true((unsigned char)b.ptr[i] >= 0x20 && (unsigned char)b.ptr[i] != 0x7f);
        }
        buf_cleanup(&b);
    }
}

static void
test_json_escape_round_trips_through_jansson(void **state)
{
    (void)state;
    char all[128];
    for (int i = 0; i < 128; i++) {
        all[i] = (char)i;
    }
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_byte(&b, '"'), 0);
    assert_int_equal(buf_append_json_escaped(&b, slice_make(all, sizeof(all))), 0);
    assert_int_equal(buf_append_byte(&b, '"'), 0);
    json_error_t err;
    json_t *v = json_loadb(b.ptr, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), sizeof(all));
    assert_memory_equal(json_string_value(v), all, sizeof(all));
    json_decref(v);
    buf_cleanup(&b);
}

static void
test_json_escape_passes_utf8_through(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_json_escaped(&b, slice_from_cstr("caf\xc3\xa9 \xe2\x80\x94")), 0);
    assert_string_equal(buf_cstr(&b), "caf\xc3\xa9 \xe2\x80\x94");
    buf_cleanup(&b);
}

static void
test_json_escape_is_all_or_nothing(void **state)
{
    (void)state;
    struct buf b;
    /* "ab" + "\u0001" would need 2 + 6 bytes; cap 7 leaves room for a
     * partial escape, which must be rolled back. */
    buf_init(&b, 7);
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    struct snap s;
    take_snap(&b, &s);
    assert_int_equal(buf_append_json_escaped(&b, slice_make("x\x01", 2)), -1);
    assert_unchanged(&b, &s);
    assert_int_equal(buf_append_json_escaped(&b, slice_make("\"\\", 2)), 0);
    assert_string_equal(buf_cstr(&b), "ab\\\"\\\\");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buffer_is_empty_string),
        cmocka_unit_test(test_caps_exactly_at_max),
        cmocka_unit_test(test_one_past_max_in_a_single_append),
        cmocka_unit_test(test_max_zero_holds_only_empty),
        cmocka_unit_test(test_huge_length_does_not_wrap),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_appendf_formats_and_respects_cap),
        cmocka_unit_test(test_appendf_best_cuts_at_max),
        cmocka_unit_test(test_append_slice_with_nul_bytes),
        cmocka_unit_test(test_reset_keeps_allocation),
        cmocka_unit_test(test_take_hands_over_and_resets),
        cmocka_unit_test(test_take_of_empty_is_allocated_empty_string),
        cmocka_unit_test(test_json_escapes_every_control_byte),
        cmocka_unit_test(test_json_escape_round_trips_through_jansson),
        cmocka_unit_test(test_json_escape_passes_utf8_through),
        cmocka_unit_test(test_json_escape_is_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
