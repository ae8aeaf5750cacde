/* base/hex: lowercase encoding, and the one hex-digit reader every decoder
 * in the tree uses (percent-escapes, JSON \u escapes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/hex.h"

static void
test_encode_is_lowercase_and_terminated(void **state)
{
    (void)state;
    static const uint8_t data[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(data) + 1];
    hex_encode(data, sizeof(data), out);
    assert_string_equal(out, "00017f80abff");
    hex_encode(data, 0, out);
    assert_string_equal(out, "");
}

static void
test_value_of_every_byte(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        int want = -1;
        if (c >= '0' && c <= '9') {
            want = (int)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            want = (int)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            want = (int)(c - 'A' + 10);
        }
        assert_int_equal(hex_value((unsigned char)c), want);
    }
    /* The neighbours of each range are not digits. */
    assert_int_equal(hex_value('/'), -1);
    assert_int_equal(hex_value(':'), -1);
    assert_int_equal(hex_value('`'), -1);
    assert_int_equal(hex_value('g'), -1);
    assert_int_equal(hex_value('@'), -1);
    assert_int_equal(hex_value('G'), -1);
}

static void
test_encode_then_decode_round_trips(void **state)
{
    (void)state;
    uint8_t data[256];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)i;
    }
    char text[2 * sizeof(data) + 1];
    hex_encode(data, sizeof(data), text);
    for (size_t i = 0; i < sizeof(data); i++) {
        int hi = hex_value((unsigned char)text[2 * i]);
        int lo = hex_value((unsigned char)text[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        assert_int_equal(hi * 16 + lo, data[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_is_lowercase_and_terminated),
        cmocka_unit_test(test_value_of_every_byte),
        cmocka_unit_test(test_encode_then_decode_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
