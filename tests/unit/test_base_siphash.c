/* base/siphash: the SipHash paper's test vector (Appendix A), every length
 * 0..63 of the reference message against OpenSSL's independent SipHash, and
 * key sensitivity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/siphash.h"

static struct siphash_key
reference_key(void)
{
    uint8_t k[16];
    for (int i = 0; i < 16; i++) {
        k[i] = (uint8_t)i;
    }
    return siphash_key_from_bytes(k);
}

static void
test_paper_vector(void **state)
{
    (void)state;
    /* Key 00..0f, message 00..0e (15 bytes): a129ca6149be45e5. */
    struct siphash_key key = reference_key();
    uint8_t msg[15];
    for (int i = 0; i < 15; i++) {
        msg[i] = (uint8_t)i;
    }
    assert_true(siphash24(&key, msg, sizeof(msg)) == 0xa129ca6149be45e5ull);
    /* The empty message of the reference implementation's vector table. */
    assert_true(siphash24(&key, "", 0) == 0x726fdb47dd0e0e31ull);
}

/* OpenSSL's SipHash (EVP_MAC "SIPHASH", 8-byte output, 2-4 rounds). */
static uint64_t
openssl_siphash(const uint8_t key[16], const uint8_t *msg, size_t len)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    assert_non_null(mac);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    assert_non_null(ctx);
    unsigned int size = 8;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_SIZE, &size),
        OSSL_PARAM_construct_end(),
    };
    assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
    assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
    uint8_t out[8];
    size_t out_len = 0;
    assert_int_equal(EVP_MAC_final(ctx, out, &out_len, sizeof(out)), 1);
    assert_int_equal(out_len, 8);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | out[i];
    }
    return v;
}

static void
test_matches_openssl_for_every_tail_length(void **state)
{
    (void)state;
    uint8_t keys[2][16];
    for (int i = 0; i < 16; i++) {
        keys[0][i] = (uint8_t)i;
        keys[1][i] = (uint8_t)(0xf0 ^ (i * 37));
    }
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 131 + 7);
    }
    for (int k = 0; k < 2; k++) {
        struct siphash_key key = siphash_key_from_bytes(keys[k]);
        for (size_t len = 0; len <= sizeof(msg); len++) {
            uint64_t ours = siphash24(&key, msg, len);
            uint64_t theirs = openssl_siphash(keys[k], msg, len);
            if (ours != theirs) {
                fail_msg("key %d, length %zu: %016llx != %016llx", k, len, (unsigned long long)ours,
                         (unsigned long long)theirs);
            }
        }
    }
}

static void
test_random_keys_differ(void **state)
{
    (void)state;
    struct siphash_key a = siphash_key_random();
    struct siphash_key b = siphash_key_random();
    assert_false(a.k0 == b.k0 && a.k1 == b.k1);
    const char *msg = "203.0.113.7";
    assert_true(siphash24(&a, msg, strlen(msg)) != siphash24(&b, msg, strlen(msg)));
    /* Deterministic for one key. */
    assert_true(siphash24(&a, msg, strlen(msg)) == siphash24(&a, msg, strlen(msg)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_vector),
        cmocka_unit_test(test_matches_openssl_for_every_tail_length),
        cmocka_unit_test(test_random_keys_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
