/* seal: the envelope, the key ring, the AEAD and HKDF primitives, and the
 * seal counter (SPEC.md 2.1, 2.5, 2.6; DESIGN.md "Sealed envelope"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/buf.h"
#include "base/hex.h"
#include "base/xalloc.h"
#include "fixtures.h"
#include "log.h"
#include "metrics.h"
#include "seal.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static struct seal_ring *
ring_of(const char *primary, const char *previous)
{
    char *prev[1] = {(char *)previous};
    size_t lens[1] = {previous ? strlen(previous) : 0};
    struct seal_ring *r = seal_ring_new(primary, strlen(primary), prev, lens, previous ? 1 : 0);
    assert_non_null(r);
    return r;
}

/* Seals text and returns the token (caller frees). */
static char *
seal_text(const struct seal_ring *ring, enum seal_purpose p, const char *text)
{
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(seal_seal(ring, p, slice_from_cstr(text), &out), SEAL_OK);
    return buf_take(&out);
}

static enum seal_rc
open_token(const struct seal_ring *ring, enum seal_purpose p, struct slice token, char *plain_out,
           size_t plain_cap)
{
    static uint8_t work[SEAL_DECODED_MAX];
    struct slice plain = SLICE_NULL;
    enum seal_rc rc = seal_open(ring, p, token, work, sizeof(work), &plain);
    if (rc == SEAL_OK && plain_out != NULL) {
        assert_true(plain.len < plain_cap);
        memcpy(plain_out, plain.ptr, plain.len);
        plain_out[plain.len] = '\0';
    }
    return rc;
}

static size_t
unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(hex_value((unsigned char)hex[2 * i]) << 4 |
                           hex_value((unsigned char)hex[2 * i + 1]));
    }
    return n;
}

/* ---- tables ---------------------------------------------------------------- */

static void
test_purpose_table_matches_metrics(void **state)
{
    (void)state;
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        const char *name = seal_purpose_str((enum seal_purpose)p);
        assert_string_equal(name, metrics_purpose_str((enum metrics_purpose)p));
        enum seal_purpose back;
        assert_true(seal_purpose_from_str(slice_from_cstr(name), &back));
        assert_int_equal(back, p);
    }
    assert_string_equal(seal_purpose_str(SEAL_PURPOSE_CONSENT), "consent");
    assert_string_equal(seal_purpose_str(SEAL_PURPOSE_COUNT), "unknown");
    enum seal_purpose unused;
    assert_false(seal_purpose_from_str(SLICE_LIT("Access"), &unused));
}

static void
test_rc_table_complete(void **state)
{
    (void)state;
    for (int i = 0; i < SEAL_RC_COUNT; i++) {
        assert_string_not_equal(seal_rc_str((enum seal_rc)i), "unknown");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seal_rc_str((enum seal_rc)i), seal_rc_str((enum seal_rc)j));
        }
    }
    assert_string_equal(seal_rc_str(SEAL_ERR_UNKNOWN_KEY), "unknown_key");
    assert_string_equal(seal_rc_str(SEAL_RC_COUNT), "unknown");
}

/* ---- known answers ------------------------------------------------------------ */

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16
 * (AES-256, 96-bit IV, 20 bytes of additional data, 60-byte plaintext), as
 * used in NIST's GCM validation. */
static void
test_aead_known_answer(void **state)
{
    (void)state;
    uint8_t key[32], iv[12], aad[20], pt[60], ct[60], tag[16], want_ct[60], want_tag[16];
    unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key);
    unhex("cafebabefacedbaddecaf888", iv);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
          pt);
    unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
          want_ct);
    unhex("76fc6ece0f4e1768cddf8853bb2d551b", want_tag);

    assert_int_equal(seal_aead_encrypt(key, iv, aad, sizeof(aad), pt, sizeof(pt), ct, tag), 0);
    assert_memory_equal(ct, want_ct, sizeof(ct));
    assert_memory_equal(tag, want_tag, sizeof(tag));

    uint8_t back[60];
    assert_int_equal(seal_aead_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back), 0);
    assert_memory_equal(back, pt, sizeof(pt));

    /* In place, as seal_open does it. */
    uint8_t inplace[60];
    memcpy(inplace, want_ct, sizeof(inplace));
    assert_int_equal(
        seal_aead_decrypt(key, iv, aad, sizeof(aad), inplace, sizeof(inplace), tag, inplace), 0);
    assert_memory_equal(inplace, pt, sizeof(pt));

    /* A changed tag, AAD byte or ciphertext byte is refused and the output wiped. */
    tag[15] ^= 1;
    memset(back, 0xaa, sizeof(back));
    assert_int_equal(seal_aead_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back), -1);
    uint8_t zero[60] = {0};
    assert_memory_equal(back, zero, sizeof(back));
    tag[15] ^= 1;
    aad[0] ^= 1;
    assert_int_equal(seal_aead_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back), -1);
    aad[0] ^= 1;
    ct[30] ^= 0x80;
    assert_int_equal(seal_aead_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back), -1);
}

/* RFC 5869 Appendix A.1 and A.3 (HKDF-SHA256). */
static void
test_hkdf_known_answer(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    memset(ikm, 0x0b, sizeof(ikm));
    unhex("000102030405060708090a0b0c", salt);
    unhex("f0f1f2f3f4f5f6f7f8f9", info);
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
          want);
    assert_int_equal(
        seal_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info), okm, 42), 0);
    assert_memory_equal(okm, want, 42);

    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
          want);
    assert_int_equal(seal_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, 42), 0);
    assert_memory_equal(okm, want, 42);

    assert_int_equal(seal_hkdf_sha256(NULL, 0, ikm, 0, NULL, 0, okm, 42), -1);
}

/* ---- the ring ------------------------------------------------------------------ */

static void
test_ring_ids_and_dedup(void **state)
{
    (void)state;
    struct seal_ring *a = ring_of(FIXTURE_SECRET, NULL);
    struct seal_ring *b = ring_of(FIXTURE_SECRET_2, FIXTURE_SECRET);
    struct seal_ring *same = ring_of(FIXTURE_SECRET, FIXTURE_SECRET);
    assert_int_equal(seal_ring_key_count(a), 1);
    assert_int_equal(seal_ring_key_count(b), 2);
    assert_int_equal(seal_ring_key_count(same), 1); /* a repeated secret is one key */

    char ida[SEAL_KEY_ID_HEX_LEN + 1], idb0[SEAL_KEY_ID_HEX_LEN + 1], idb1[SEAL_KEY_ID_HEX_LEN + 1];
    seal_ring_key_id_hex(a, 0, ida);
    seal_ring_key_id_hex(b, 0, idb0);
    seal_ring_key_id_hex(b, 1, idb1);
    assert_int_equal(strlen(ida), SEAL_KEY_ID_HEX_LEN);
    assert_string_equal(ida, idb1); /* ids depend on the secret only */
    assert_string_not_equal(ida, idb0);
    seal_ring_free(a);
    seal_ring_free(b);
    seal_ring_free(same);
    seal_ring_free(NULL);

    assert_null(seal_ring_new("", 0, NULL, NULL, 0));
    char *prev[1] = {(char *)""};
    size_t lens[1] = {0};
    assert_null(seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), prev, lens, 1));
}

static void
test_envelope_layout(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    const char *text = "{\"typ\":\"access\"}";
    char *tok = seal_text(ring, SEAL_PURPOSE_ACCESS, text);
    uint8_t raw[SEAL_DECODED_MAX];
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_from_cstr(tok), raw, sizeof(raw), &n), 0);
    assert_int_equal(n, SEAL_OVERHEAD + strlen(text));
    assert_int_equal(raw[0], SEAL_VERSION);
    char id[SEAL_KEY_ID_HEX_LEN + 1], want[SEAL_KEY_ID_HEX_LEN + 1];
    seal_ring_key_id_hex(ring, 0, want);
    snprintf(id, sizeof(id), "%02x%02x%02x%02x", raw[1], raw[2], raw[3], raw[4]);
    assert_string_equal(id, want);
    /* The plaintext does not appear in the token. */
    assert_null(memmem(raw, n, "access", 6));
    xfree(tok);
    seal_ring_free(ring);
}

/* ---- round trips and refusals ---------------------------------------------------- */

static void
test_round_trip_every_purpose(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        char text[64], back[64];
        snprintf(text, sizeof(text), "{\"typ\":\"%s\"}", seal_purpose_str((enum seal_purpose)p));
        char *tok = seal_text(ring, (enum seal_purpose)p, text);
        assert_int_equal(
            open_token(ring, (enum seal_purpose)p, slice_from_cstr(tok), back, sizeof(back)),
            SEAL_OK);
        assert_string_equal(back, text);
        xfree(tok);
    }
    /* An empty plaintext is a valid envelope (the typed layer refuses it). */
    char *tok = seal_text(ring, SEAL_PURPOSE_CODE, "");
    char back[8];
    assert_int_equal(open_token(ring, SEAL_PURPOSE_CODE, slice_from_cstr(tok), back, sizeof(back)),
                     SEAL_OK);
    assert_string_equal(back, "");
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_purpose_matrix(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    for (int sealed = 0; sealed < SEAL_PURPOSE_COUNT; sealed++) {
        char *tok = seal_text(ring, (enum seal_purpose)sealed, "{\"x\":1}");
        for (int opened = 0; opened < SEAL_PURPOSE_COUNT; opened++) {
            enum seal_rc rc =
                open_token(ring, (enum seal_purpose)opened, slice_from_cstr(tok), NULL, 0);
            assert_int_equal(rc, sealed == opened ? SEAL_OK : SEAL_ERR_FORGED);
        }
        xfree(tok);
    }
    seal_ring_free(ring);
}

static void
test_tamper_every_character(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *tok = seal_text(ring, SEAL_PURPOSE_REFRESH, "{\"sub\":\"someone\",\"exp\":1}");
    size_t len = strlen(tok);
    char *copy = xstrdup(tok);
    for (size_t i = 0; i < len; i++) {
        /* Every other alphabet character at position i. */
        for (const char *c = alphabet; *c != '\0'; c++) {
            if (*c == tok[i]) {
                continue;
            }
            copy[i] = *c;
            assert_int_not_equal(
                open_token(ring, SEAL_PURPOSE_REFRESH, slice_make(copy, len), NULL, 0), SEAL_OK);
        }
        copy[i] = tok[i];
    }
    assert_int_equal(open_token(ring, SEAL_PURPOSE_REFRESH, slice_make(copy, len), NULL, 0),
                     SEAL_OK);
    xfree(copy);
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_tamper_every_byte(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *tok = seal_text(ring, SEAL_PURPOSE_ACCESS, "{\"sub\":\"someone\",\"exp\":1}");
    uint8_t raw[SEAL_DECODED_MAX];
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_from_cstr(tok), raw, sizeof(raw), &n), 0);
    char text[SEAL_DECODED_MAX * 2];
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            raw[i] ^= (uint8_t)(1u << bit);
            b64url_encode(raw, n, text);
            enum seal_rc rc = open_token(ring, SEAL_PURPOSE_ACCESS, slice_from_cstr(text), NULL, 0);
            /* Version byte: unknown version; key id: no such key; any
             * other byte: authentication fails. */
            enum seal_rc want = i == 0                 ? SEAL_ERR_MALFORMED
                                : i <= SEAL_KEY_ID_LEN ? SEAL_ERR_UNKNOWN_KEY
                                                       : SEAL_ERR_FORGED;
            assert_int_equal(rc, want);
            raw[i] ^= (uint8_t)(1u << bit);
        }
    }
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_truncated_every_length(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *tok = seal_text(ring, SEAL_PURPOSE_CODE, "{\"tid\":\"abc\"}");
    size_t len = strlen(tok);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_not_equal(open_token(ring, SEAL_PURPOSE_CODE, slice_make(tok, cut), NULL, 0),
                             SEAL_OK);
        /* Dropping leading characters as well. */
        assert_int_not_equal(
            open_token(ring, SEAL_PURPOSE_CODE, slice_make(tok + len - cut, cut), NULL, 0),
            SEAL_OK);
    }
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_bad_text_refused(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *tok = seal_text(ring, SEAL_PURPOSE_SESSION, "{\"a\":\"b\"}");
    size_t len = strlen(tok);
    struct buf b;
    buf_init(&b, 2 * BOUNDS_SEALED_MAX_CHARS);
    enum seal_purpose p = SEAL_PURPOSE_SESSION;

    assert_int_equal(open_token(ring, p, SLICE_LIT(""), NULL, 0), SEAL_ERR_MALFORMED);
    assert_int_equal(open_token(ring, p, SLICE_LIT("garbage"), NULL, 0), SEAL_ERR_MALFORMED);
    assert_int_equal(open_token(ring, p, SLICE_LIT("===="), NULL, 0), SEAL_ERR_MALFORMED);

    /* Padding, whitespace, the standard alphabet, NUL. */
    const char *suffixes[] = {"=", "==", " ", "\n", "\r\n"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, tok), 0);
        assert_int_equal(buf_append_str(&b, suffixes[i]), 0);
        assert_int_equal(open_token(ring, p, buf_slice(&b), NULL, 0), SEAL_ERR_MALFORMED);
    }
    buf_reset(&b);
    assert_int_equal(buf_append(&b, tok, len / 2), 0);
    assert_int_equal(buf_append_str(&b, "\n"), 0);
    assert_int_equal(buf_append_str(&b, tok + len / 2), 0);
    assert_int_equal(open_token(ring, p, buf_slice(&b), NULL, 0), SEAL_ERR_MALFORMED);
    const char std_chars[] = {'+', '/', '.', '\0', '~'};
    for (size_t i = 0; i < sizeof(std_chars); i++) {
        char *copy = xstrdup(tok);
        copy[len / 2] = std_chars[i];
        assert_int_equal(open_token(ring, p, slice_make(copy, len), NULL, 0), SEAL_ERR_MALFORMED);
        xfree(copy);
    }
    buf_cleanup(&b);
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_oversize_refused_before_decoding(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    /* 16 385 'A's decode fine (to zero bytes, version 0): TOO_LARGE shows
     * the length was judged first. The work buffer is too small to decode
     * into as well, and is never written. */
    char *big = xmalloc(BOUNDS_SEALED_MAX_CHARS + 2);
    memset(big, 'A', BOUNDS_SEALED_MAX_CHARS + 1);
    big[BOUNDS_SEALED_MAX_CHARS + 1] = '\0';
    uint8_t canary[8];
    memset(canary, 0x5a, sizeof(canary));
    struct slice plain;
    assert_int_equal(seal_open(ring, SEAL_PURPOSE_ACCESS,
                               slice_make(big, BOUNDS_SEALED_MAX_CHARS + 1), canary, sizeof(canary),
                               &plain),
                     SEAL_ERR_TOO_LARGE);
    uint8_t untouched[8];
    memset(untouched, 0x5a, sizeof(untouched));
    assert_memory_equal(canary, untouched, sizeof(canary));
    assert_int_equal(open_token(ring, SEAL_PURPOSE_ACCESS,
                                slice_make(big, BOUNDS_SEALED_MAX_CHARS + 1), NULL, 0),
                     SEAL_ERR_TOO_LARGE);
    /* At exactly the cap the text is decoded (and refused for what it is). */
    assert_int_equal(
        open_token(ring, SEAL_PURPOSE_ACCESS, slice_make(big, BOUNDS_SEALED_MAX_CHARS), NULL, 0),
        SEAL_ERR_MALFORMED);
    xfree(big);

    /* A work buffer smaller than the decoded size is refused, not overrun. */
    char *tok = seal_text(ring, SEAL_PURPOSE_ACCESS, "{}");
    uint8_t small[SEAL_OVERHEAD];
    assert_int_equal(
        seal_open(ring, SEAL_PURPOSE_ACCESS, slice_from_cstr(tok), small, sizeof(small), &plain),
        SEAL_ERR_TOO_LARGE);
    xfree(tok);
    seal_ring_free(ring);
}

static void
test_plaintext_cap(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *text = xmalloc(SEAL_PLAINTEXT_MAX + 2);
    memset(text, 'x', SEAL_PLAINTEXT_MAX + 1);
    text[SEAL_PLAINTEXT_MAX + 1] = '\0';
    struct buf out;
    buf_init(&out, 2 * BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(
        seal_seal(ring, SEAL_PURPOSE_CODE, slice_make(text, SEAL_PLAINTEXT_MAX + 1), &out),
        SEAL_ERR_TOO_LARGE);
    assert_int_equal(out.len, 0);
    /* The largest plaintext fits the 16 384-character cap and opens. */
    assert_int_equal(seal_seal(ring, SEAL_PURPOSE_CODE, slice_make(text, SEAL_PLAINTEXT_MAX), &out),
                     SEAL_OK);
    assert_true(out.len <= BOUNDS_SEALED_MAX_CHARS);
    uint8_t *work = xmalloc(SEAL_DECODED_MAX);
    struct slice plain;
    assert_int_equal(
        seal_open(ring, SEAL_PURPOSE_CODE, buf_slice(&out), work, SEAL_DECODED_MAX, &plain),
        SEAL_OK);
    assert_int_equal(plain.len, SEAL_PLAINTEXT_MAX);
    xfree(work);
    buf_cleanup(&out);

    /* An output buffer at its cap: refused, unchanged, not counted. */
    uint64_t before = seal_count();
    buf_init(&out, 10);
    assert_int_equal(buf_append_str(&out, "keep"), 0);
    assert_int_equal(seal_seal(ring, SEAL_PURPOSE_CODE, SLICE_LIT("{}"), &out), SEAL_ERR_TOO_LARGE);
    assert_string_equal(buf_cstr(&out), "keep");
    assert_int_equal(seal_count(), before);
    buf_cleanup(&out);
    xfree(text);
    seal_ring_free(ring);
}

/* ---- rotation -------------------------------------------------------------------- */

static void
test_rotation(void **state)
{
    (void)state;
    struct seal_ring *old_only = ring_of(FIXTURE_SECRET, NULL);
    struct seal_ring *rotated = ring_of(FIXTURE_SECRET_2, FIXTURE_SECRET);
    struct seal_ring *new_only = ring_of(FIXTURE_SECRET_2, NULL);

    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        enum seal_purpose purpose = (enum seal_purpose)p;
        char *old_tok = seal_text(old_only, purpose, "{\"old\":true}");
        char *new_tok = seal_text(rotated, purpose, "{\"new\":true}");
        char back[32];
        /* Sealed with a previous key: opens, purpose still enforced. */
        assert_int_equal(open_token(rotated, purpose, slice_from_cstr(old_tok), back, sizeof(back)),
                         SEAL_OK);
        assert_string_equal(back, "{\"old\":true}");
        enum seal_purpose other = (enum seal_purpose)((p + 1) % SEAL_PURPOSE_COUNT);
        assert_int_equal(open_token(rotated, other, slice_from_cstr(old_tok), NULL, 0),
                         SEAL_ERR_FORGED);
        /* New seals use the primary: the old-only ring cannot open them. */
        assert_int_equal(open_token(old_only, purpose, slice_from_cstr(new_tok), NULL, 0),
                         SEAL_ERR_UNKNOWN_KEY);
        assert_int_equal(open_token(new_only, purpose, slice_from_cstr(new_tok), NULL, 0), SEAL_OK);
        /* Once the old secret is retired its tokens name an unknown key. */
        assert_int_equal(open_token(new_only, purpose, slice_from_cstr(old_tok), NULL, 0),
                         SEAL_ERR_UNKNOWN_KEY);
        xfree(old_tok);
        xfree(new_tok);
    }
    seal_ring_free(old_only);
    seal_ring_free(rotated);
    seal_ring_free(new_only);
}

/* ---- nonces and counting ------------------------------------------------------------ */

static void
fixed_nonce(uint8_t *out, size_t len)
{
    memset(out, 0x42, len);
}

static void
test_nonce_hook(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    char *a = seal_text(ring, SEAL_PURPOSE_CLIENT, "{}");
    char *b = seal_text(ring, SEAL_PURPOSE_CLIENT, "{}");
    assert_string_not_equal(a, b); /* fresh random nonce per seal */
    xfree(a);
    xfree(b);

    seal_test_set_nonce_fn(fixed_nonce);
    a = seal_text(ring, SEAL_PURPOSE_CLIENT, "{}");
    b = seal_text(ring, SEAL_PURPOSE_CLIENT, "{}");
    seal_test_set_nonce_fn(NULL);
    assert_string_equal(a, b);
    uint8_t raw[64];
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_from_cstr(a), raw, sizeof(raw), &n), 0);
    for (size_t i = 1 + SEAL_KEY_ID_LEN; i < SEAL_HEADER_LEN; i++) {
        assert_int_equal(raw[i], 0x42);
    }
    xfree(a);
    xfree(b);
    seal_ring_free(ring);
}

static void
test_counter_and_metric_per_purpose(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    metrics_reset();
    seal_test_set_count(0);
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        for (int i = 0; i <= p; i++) {
            char *tok = seal_text(ring, (enum seal_purpose)p, "{}");
            xfree(tok);
        }
    }
    for (int p = 0; p < SEAL_PURPOSE_COUNT; p++) {
        assert_int_equal(metrics_get_seal((enum metrics_purpose)p), (uint64_t)p + 1);
    }
    assert_int_equal(seal_count(), 21); /* 1 + 2 + ... + 6 */
    /* Opening counts nothing. */
    char *tok = seal_text(ring, SEAL_PURPOSE_ACCESS, "{}");
    assert_int_equal(open_token(ring, SEAL_PURPOSE_ACCESS, slice_from_cstr(tok), NULL, 0), SEAL_OK);
    assert_int_equal(seal_count(), 22);
    assert_int_equal(metrics_get_seal(METRICS_PURPOSE_ACCESS), 6);
    xfree(tok);
    seal_ring_free(ring);
}

static size_t
count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void
test_threshold_warning_once(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    FILE *f = tmpfile();
    assert_non_null(f);
    log_set_fd(fileno(f));
    seal_test_set_count(SEAL_COUNT_WARN_THRESHOLD - 2);
    for (int i = 0; i < 4; i++) {
        char *tok = seal_text(ring, SEAL_PURPOSE_ACCESS, "{}");
        xfree(tok);
        if (i == 0) {
            /* One below the threshold: nothing yet. */
            assert_int_equal(ftell(f), 0);
        }
    }
    log_set_fd(STDOUT_FILENO);
    char text[4096] = {0};
    rewind(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_int_equal(count_substr(text, "\"msg\":\"token_seal_rotation_threshold\""), 1);
    assert_int_equal(count_substr(text, "\"level\":\"warn\""), 1);
    assert_int_equal(count_substr(text, "\"seal_count\":268435456"), 1);
    assert_int_equal(count_substr(text, "\"threshold\":268435456"), 1);
    assert_int_equal(count_substr(text, "\"hint\":\""), 1);
    assert_int_equal(seal_count(), SEAL_COUNT_WARN_THRESHOLD + 2);
    seal_test_set_count(0);
    seal_ring_free(ring);
}

/* The synthetic nonce (seal.h seal_seal_synthetic): equal inputs give equal
 * tokens; a change of one plaintext bit, of the purpose or of the key
 * gives another nonce, so GCM never sees one nonce with two messages. */
static void
decode_nonce(const char *token, uint8_t nonce[SEAL_NONCE_LEN])
{
    uint8_t raw[SEAL_DECODED_MAX];
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_from_cstr(token), raw, sizeof(raw), &n), 0);
    assert_true(n >= SEAL_OVERHEAD);
    memcpy(nonce, raw + 1 + SEAL_KEY_ID_LEN, SEAL_NONCE_LEN);
}

static char *
seal_synthetic_text(const struct seal_ring *ring, enum seal_purpose p, const char *text)
{
    struct buf out;
    buf_init(&out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(seal_seal_synthetic(ring, p, slice_from_cstr(text), &out), SEAL_OK);
    char *s = xstrdup(buf_cstr(&out));
    buf_cleanup(&out);
    return s;
}

static void
test_synthetic_nonce(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, NULL);
    struct seal_ring *other = ring_of(FIXTURE_SECRET_2, NULL);
    char text[] = "{\"tid\":\"0b8e5cc2-6a1f-8d3e-9c55-0123456789ab\",\"typ\":\"refresh\"}";
    char *a = seal_synthetic_text(ring, SEAL_PURPOSE_REFRESH, text);
    char *b = seal_synthetic_text(ring, SEAL_PURPOSE_REFRESH, text);
    assert_string_equal(a, b);
    /* It opens like any token. */
    uint8_t work[SEAL_DECODED_MAX];
    struct slice plain;
    assert_int_equal(
        seal_open(ring, SEAL_PURPOSE_REFRESH, slice_from_cstr(a), work, sizeof(work), &plain),
        SEAL_OK);
    assert_true(slice_eq_cstr(plain, text));
    uint8_t n0[SEAL_NONCE_LEN], n1[SEAL_NONCE_LEN];
    decode_nonce(a, n0);
    /* Every single-bit change of the plaintext moves the nonce. */
    for (size_t i = 0; i < strlen(text); i++) {
        for (int bit = 0; bit < 7; bit++) {
            text[i] ^= (char)(1 << bit);
            char *c = seal_synthetic_text(ring, SEAL_PURPOSE_REFRESH, text);
            decode_nonce(c, n1);
            assert_memory_not_equal(n0, n1, SEAL_NONCE_LEN);
            xfree(c);
            text[i] ^= (char)(1 << bit);
        }
    }
    /* The purpose (in the additional data) and the key are inputs too. */
    char *c = seal_synthetic_text(ring, SEAL_PURPOSE_ACCESS, text);
    decode_nonce(c, n1);
    assert_memory_not_equal(n0, n1, SEAL_NONCE_LEN);
    xfree(c);
    c = seal_synthetic_text(other, SEAL_PURPOSE_REFRESH, text);
    decode_nonce(c, n1);
    assert_memory_not_equal(n0, n1, SEAL_NONCE_LEN);
    xfree(c);
    /* Random-nonce seals of the same text still differ. */
    char *r1 = seal_text(ring, SEAL_PURPOSE_REFRESH, text);
    char *r2 = seal_text(ring, SEAL_PURPOSE_REFRESH, text);
    assert_string_not_equal(r1, r2);
    assert_string_not_equal(r1, a);
    xfree(r1);
    xfree(r2);
    xfree(a);
    xfree(b);
    seal_ring_free(ring);
    seal_ring_free(other);
}

/* seal_ring_derive: per label, per secret, and not the AES key. */
static void
test_ring_derive(void **state)
{
    (void)state;
    struct seal_ring *ring = ring_of(FIXTURE_SECRET, FIXTURE_SECRET_2);
    struct seal_ring *same = ring_of(FIXTURE_SECRET, NULL);
    struct seal_ring *other = ring_of(FIXTURE_SECRET_2, NULL);
    uint8_t k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN], k3[SEAL_KEY_LEN], k4[SEAL_KEY_LEN];
    seal_ring_derive(ring, "token ids v1", k1);
    seal_ring_derive(same, "token ids v1", k2);
    seal_ring_derive(other, "token ids v1", k3);
    seal_ring_derive(ring, "token ids v2", k4);
    assert_memory_equal(k1, k2, SEAL_KEY_LEN); /* the primary decides, not the ring's rest */
    assert_memory_not_equal(k1, k3, SEAL_KEY_LEN);
    assert_memory_not_equal(k1, k4, SEAL_KEY_LEN);
    seal_ring_free(ring);
    seal_ring_free(same);
    seal_ring_free(other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purpose_table_matches_metrics),
        cmocka_unit_test(test_rc_table_complete),
        cmocka_unit_test(test_aead_known_answer),
        cmocka_unit_test(test_hkdf_known_answer),
        cmocka_unit_test(test_ring_ids_and_dedup),
        cmocka_unit_test(test_envelope_layout),
        cmocka_unit_test(test_round_trip_every_purpose),
        cmocka_unit_test(test_purpose_matrix),
        cmocka_unit_test(test_tamper_every_character),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_text_refused),
        cmocka_unit_test(test_oversize_refused_before_decoding),
        cmocka_unit_test(test_plaintext_cap),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_nonce_hook),
        cmocka_unit_test(test_counter_and_metric_per_purpose),
        cmocka_unit_test(test_threshold_warning_once),
        cmocka_unit_test(test_synthetic_nonce),
        cmocka_unit_test(test_ring_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
