/* Test support: see jws_mint.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/b64url.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "jws_mint.h"

cjose_jwk_t *
jws_mint_rsa_key(const char *kid)
{
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
    assert_non_null(k);
    assert_true(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
    return k;
}

cjose_jwk_t *
jws_mint_ec_key(cjose_jwk_ec_curve crv, const char *kid)
{
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_EC_random(crv, &err);
    assert_non_null(k);
    assert_true(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
    return k;
}

char *
jws_mint_sign(cjose_jwk_t *key, const char *alg, const char *kid, json_t *extra_header,
              json_t *claims)
{
    json_t *hdr = extra_header != NULL ? extra_header : json_object();
    json_object_set_new(hdr, "alg", json_string(alg));
    if (kid != NULL) {
        json_object_set_new(hdr, "kid", json_string(kid));
    }
    char *payload = json_dumps(claims, JSON_COMPACT);
    cjose_err err;
    cjose_jws_t *jws =
        cjose_jws_sign(key, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &err);
    assert_non_null(jws);
    const char *ser = NULL;
    assert_true(cjose_jws_export(jws, &ser, &err));
    char *copy = xstrdup(ser);
    cjose_jws_release(jws);
    free(payload);
    json_decref(hdr);
    json_decref(claims);
    return copy;
}

char *
jws_mint_assemble(const char *header_json, const char *payload_json, const char *sig_b64)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(b64url_encode_buf((const uint8_t *)header_json, strlen(header_json), &b), 0);
    assert_int_equal(buf_append_byte(&b, '.'), 0);
    assert_int_equal(b64url_encode_buf((const uint8_t *)payload_json, strlen(payload_json), &b), 0);
    assert_int_equal(buf_append_byte(&b, '.'), 0);
    assert_int_equal(buf_append_str(&b, sig_b64), 0);
    return buf_take(&b);
}

char *
jws_mint_public_jwks(cjose_jwk_t *const *keys, size_t n, const char *alg)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        cjose_err err;
        char *pub = cjose_jwk_to_json(keys[i], false, &err);
        assert_non_null(pub);
        json_t *o = json_loads(pub, 0, NULL);
        assert_non_null(o);
        if (alg != NULL) {
            json_object_set_new(o, "alg", json_string(alg));
        }
        json_array_append_new(arr, o);
        free(pub);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

char *
jws_mint_hs256_confused(cjose_jwk_t *key, const char *kid, json_t *claims)
{
    cjose_err err;
    char *pub = cjose_jwk_to_json(key, false, &err);
    assert_non_null(pub);
    json_t *hdr = json_pack("{s:s,s:s}", "alg", "HS256", "kid", kid);
    char *header = json_dumps(hdr, JSON_COMPACT);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(hdr);
    json_decref(claims);
    /* The signing input of RFC 7515 5.1: the token up to its last '.'. */
    char *unsigned_token = jws_mint_assemble(header, payload, "");
    uint8_t mac[32];
    unsigned mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), pub, (int)strlen(pub), (const uint8_t *)unsigned_token,
                         strlen(unsigned_token) - 1, mac, &mac_len));
    char sig[64];
    b64url_encode(mac, mac_len, sig);
    char *token = jws_mint_assemble(header, payload, sig);
    free(unsigned_token);
    free(payload);
    free(header);
    free(pub);
    return token;
}
