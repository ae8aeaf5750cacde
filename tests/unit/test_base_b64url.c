/* base/b64url: RFC 4648 section 10 vectors in the URL alphabet without
 * padding (section 5), both directions; every non-canonical text refused;
 * decode capacity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/buf.h"

struct vector {
    const char *raw;
    size_t raw_len;
    const char *text;
};

/* RFC 4648 section 10 (padding removed), plus vectors whose encoding uses
 * the two characters that differ from the standard alphabet. */
static const struct vector vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xff", 2, "-_8"},
    {"\xfb\xff\xbf", 3, "-_-_"},
    {"\x00\xff\xfe\xfd", 4, "AP_-_Q"},
    {"\xfa\xfb\xfc\xfd\xfe\xff", 6, "-vv8_f7_"},
};

static void
test_encode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        char out[32];
        memset(out, 'X', sizeof(out));
        assert_int_equal(b64url_encoded_len(v->raw_len), strlen(v->text));
        b64url_encode((const uint8_t *)v->raw, v->raw_len, out);
        assert_string_equal(out, v->text);

        struct buf b;
        buf_init(&b, 64);
        assert_int_equal(buf_append_str(&b, "p:"), 0);
        assert_int_equal(b64url_encode_buf((const uint8_t *)v->raw, v->raw_len, &b), 0);
        assert_int_equal(strncmp(buf_cstr(&b), "p:", 2), 0);
        assert_string_equal(buf_cstr(&b) + 2, v->text);
        buf_cleanup(&b);
    }
}

static void
test_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        uint8_t out[32];
        size_t len = 999;
        assert_int_equal(b64url_decode(slice_from_cstr(v->text), out, sizeof(out), &len), 0);
        assert_int_equal(len, v->raw_len);
        assert_memory_equal(out, v->raw, v->raw_len);
        assert_true(b64url_decoded_max(strlen(v->text)) == v->raw_len);
    }
}

static void
test_every_byte_value_round_trips(void **state)
{
    (void)state;
    uint8_t raw[256];
    for (int i = 0; i < 256; i++) {
        raw[i] = (uint8_t)i;
    }
    /* Every length 0..256 exercises all three tail shapes. */
    for (size_t n = 0; n <= sizeof(raw); n++) {
        char text[400];
        b64url_encode(raw, n, text);
        assert_int_equal(strlen(text), b64url_encoded_len(n));
        for (size_t i = 0; text[i] != '\0'; i++) {
            assert_true(strchr("+/=", text[i]) == NULL);
        }
        uint8_t back[256];
        size_t len = 0;
        assert_int_equal(b64url_decode(slice_from_cstr(text), back, sizeof(back), &len), 0);
        assert_int_equal(len, n);
        if (n > 0) {
            assert_memory_equal(back, raw, n);
        }
    }
}

static void
test_non_canonical_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        const char *why;
    } bad[] = {
        {"Zg==", 0, "padding"},
        {"Zm8=", 0, "padding"},
        {"Zm9vYg==", 0, "padding"},
        {"=", 0, "padding only"},
        {"+_8", 0, "standard alphabet '+'"},
        {"-/8", 0, "standard alphabet '/'"},
        {"Zm9v+mFy", 0, "'+' inside"},
        {"Zm 9v", 0, "space"},
        {"Zm9v\n", 0, "newline"},
        {" Zm9v", 0, "leading space"},
        {"Zm9v\t", 0, "tab"},
        {"Zm9v\r\nYmFy", 0, "CRLF"},
        {"Z", 0, "length 1 mod 4"},
        {"Zm9vY", 0, "length 1 mod 4"},
        {"Zm9vYmFyZ", 0, "length 1 mod 4"},
        {"Zh", 0, "nonzero trailing bits (1 byte)"},
        {"Zv", 0, "nonzero trailing bits (1 byte)"},
        {"Zm9", 0, "nonzero trailing bits (2 bytes)"},
        {"Zm_", 0, "nonzero trailing bits (2 bytes)"},
        {"Zm9vYh", 0, "nonzero trailing bits after a full group"},
        {"Zm\0v", 4, "NUL byte"},
        {"Zm9v\0", 5, "trailing NUL"},
        {"Zm9v.mFy", 0, "'.'"},
        {"Zm9v\xc3\xa9", 0, "non-ASCII"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = bad[i].len ? bad[i].len : strlen(bad[i].text);
        uint8_t out[64];
        size_t len = 12345;
        if (b64url_decode(slice_make(bad[i].text, n), out, sizeof(out), &len) != -1) {
            fail_msg("accepted non-canonical text (%s): row %zu", bad[i].why, i);
        }
        assert_int_equal(len, 12345);
    }
}

static void
test_exactly_one_text_per_byte_string(void **state)
{
    (void)state;
    /* For every 2- and 3-character tail, exactly the canonical ones decode:
     * 1 byte has 4 free low bits (16 variants, 1 valid), 2 bytes have 2. */
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t ok2 = 0;
    size_t ok3 = 0;
    for (int a = 0; a < 64; a++) {
        for (int b = 0; b < 64; b++) {
            char t[3] = {alphabet[a], alphabet[b], '\0'};
            uint8_t out[4];
            size_t len;
            if (b64url_decode(slice_make(t, 2), out, sizeof(out), &len) == 0) {
                ok2++;
                char again[4];
                b64url_encode(out, len, again);
                assert_string_equal(again, t);
            }
            for (int c = 0; c < 64; c += 7) {
                char u[4] = {alphabet[a], alphabet[b], alphabet[c], '\0'};
                if (b64url_decode(slice_make(u, 3), out, sizeof(out), &len) == 0) {
                    ok3++;
                    char again[5];
                    b64url_encode(out, len, again);
                    assert_string_equal(again, u);
                }
            }
        }
    }
    assert_int_equal(ok2, 256); /* one text per byte value */
    /* c steps through 0, 7, ..., 63; of those only 0, 28 and 56 have the
     * two low bits clear. */
    assert_int_equal(ok3, 64 * 64 * 3);
}

static void
test_capacity_checks(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t len = 0;
    memset(out, 0xaa, sizeof(out));
    /* "foobar" needs 6 bytes: 5 is refused and nothing is written past 5. */
    assert_int_equal(b64url_decode(SLICE_LIT("Zm9vYmFy"), out, 5, &len), -1);
    assert_int_equal(out[5], 0xaa);
    assert_int_equal(b64url_decode(SLICE_LIT("Zm9vYmFy"), out, 6, &len), 0);
    assert_int_equal(len, 6);
    assert_int_equal(out[6], 0xaa);
    assert_int_equal(b64url_decode(SLICE_LIT("Zm9vYg"), out, 3, &len), -1);
    assert_int_equal(b64url_decode(SLICE_LIT("Zm9vYg"), out, 4, &len), 0);
    assert_int_equal(len, 4);
    /* Empty text decodes to nothing, even with no room at all. */
    assert_int_equal(b64url_decode(SLICE_LIT(""), NULL, 0, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(b64url_decode(SLICE_NULL, NULL, 0, &len), 0);

    /* The length helpers agree for every length. */
    for (size_t n = 0; n < 100; n++) {
        size_t e = b64url_encoded_len(n);
        assert_int_equal(e, (n * 4 + 2) / 3);
        assert_int_equal(b64url_decoded_max(e), n);
    }
}

static void
test_encode_buf_at_cap_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    /* "foobar" encodes to 8 characters; 2 + 8 > 8. */
    assert_int_equal(b64url_encode_buf((const uint8_t *)"foobar", 6, &b), -1);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_cstr(&b), "ab");
    assert_int_equal(b64url_encode_buf((const uint8_t *)"foo", 3, &b), 0);
    assert_string_equal(buf_cstr(&b), "abZm9v");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_every_byte_value_round_trips),
        cmocka_unit_test(test_non_canonical_refused),
        cmocka_unit_test(test_exactly_one_text_per_byte_string),
        cmocka_unit_test(test_capacity_checks),
        cmocka_unit_test(test_encode_buf_at_cap_leaves_buffer_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
