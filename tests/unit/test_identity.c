/* identity: the upstream identity assertion's keys, JWKS and JWS. Every
 * signature is verified here with OpenSSL against the public key read
 * back from the PEM file, independently of identity.c's own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "base/b64url.h"
#include "base/buf.h"
#include "bounds.h"
#include "identity.h"

#define NOW 1750000000

static char dir[] = "/tmp/test_identity_XXXXXX";
static char key_a[600], key_b[600], key_p384[600];

static void
write_key(const char *path, const char *curve)
{
    EVP_PKEY *pkey = EVP_EC_gen(curve);
    assert_non_null(pkey);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(pkey);
}

static int
setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(key_a, sizeof(key_a), "%s/a.pem", dir);
    snprintf(key_b, sizeof(key_b), "%s/b.pem", dir);
    snprintf(key_p384, sizeof(key_p384), "%s/p384.pem", dir);
    write_key(key_a, "P-256");
    write_key(key_b, "P-256");
    write_key(key_p384, "P-384");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(key_a);
    unlink(key_b);
    unlink(key_p384);
    rmdir(dir);
    return 0;
}

static struct identity_keys *
load(const char *first, const char *second)
{
    const char *paths[] = {first, second};
    enum identity_rc rc;
    size_t bad = 99;
    struct identity_keys *k = identity_keys_load(paths, second != NULL ? 2 : 1, &rc, &bad);
    assert_int_equal(rc, IDENTITY_OK);
    assert_non_null(k);
    return k;
}

static EVP_PKEY *
read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    return pkey;
}

/* base64url of a 32-byte coordinate of pkey. */
static void
coord(EVP_PKEY *pkey, const char *param, char out[44])
{
    BIGNUM *bn = NULL;
    uint8_t raw[32];
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, raw, 32), 32);
    BN_free(bn);
    b64url_encode(raw, 32, out);
}

/* RFC 7638 thumbprint, computed here on its own. */
static void
thumbprint(EVP_PKEY *pkey, char out[44])
{
    char x[44], y[44], json[256];
    coord(pkey, "qx", x);
    coord(pkey, "qy", y);
    int n = snprintf(json, sizeof(json),
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    uint8_t d[32];
    SHA256((const unsigned char *)json, (size_t)n, d);
    b64url_encode(d, 32, out);
}

/* Splits a compact JWS; decodes header and payload as JSON objects and
 * the signature into sig[64]. */
struct jws {
    json_t *header;
    json_t *payload;
    uint8_t sig[64];
    size_t signing_input_len;
};

static json_t *
decode_part(const char *p, size_t len)
{
    uint8_t raw[8192];
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_make(p, len), raw, sizeof(raw), &n), 0);
    json_error_t e;
    json_t *v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(v);
    return v;
}

static void
split(const char *token, struct jws *out)
{
    const char *d1 = strchr(token, '.');
    assert_non_null(d1);
    const char *d2 = strchr(d1 + 1, '.');
    assert_non_null(d2);
    assert_null(strchr(d2 + 1, '.'));
    out->header = decode_part(token, (size_t)(d1 - token));
    out->payload = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
    size_t n = 0;
    assert_int_equal(b64url_decode(slice_from_cstr(d2 + 1), out->sig, sizeof(out->sig), &n), 0);
    assert_int_equal(n, 64);
    out->signing_input_len = (size_t)(d2 - token);
}

static void
jws_cleanup(struct jws *j)
{
    json_decref(j->header);
    json_decref(j->payload);
}

/* ES256 verification with OpenSSL: raw r || s back to DER. */
static bool
verifies(EVP_PKEY *pkey, const char *token, const struct jws *j)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(j->sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(j->sig + 32, 32, NULL);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)token,
                               j->signing_input_len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

static const char *const groups[] = {"admins", "dev \"ops\""};

static struct identity_claims
claims(void)
{
    return (struct identity_claims){
        .iss = "https://auth.example.com",
        .aud = "http://mcp.internal:3000",
        .sub = "user-1",
        .email = "u1@example.com",
        .groups = groups,
        .group_count = 2,
        .scope = "mcp:read mcp:write",
        .client_id = "https://client.example/meta.json",
    };
}

static void
sign_ok(const struct identity_keys *k, const struct identity_claims *c, struct buf *out)
{
    buf_init(out, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    assert_int_equal(identity_sign(k, c, NOW, out), IDENTITY_OK);
}

/* The header and claims, exactly; the signature verifies with the key
 * from the PEM file; a flipped payload byte does not. */
static void
test_sign_claims_exact_and_verifies(void **state)
{
    (void)state;
    struct identity_keys *k = load(key_a, NULL);
    struct identity_claims c = claims();
    struct buf out;
    sign_ok(k, &c, &out);
    struct jws j;
    split(buf_cstr(&out), &j);

    EVP_PKEY *pkey = read_key(key_a);
    char kid[44];
    thumbprint(pkey, kid);
    assert_string_equal(identity_keys_signing_kid(k), kid);
    char want_header[128];
    snprintf(want_header, sizeof(want_header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
             kid);
    char *header = json_dumps(j.header, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(header, want_header);
    free(header);

    /* Exactly these claims, no more. */
    assert_int_equal(json_object_size(j.payload), 10);
    assert_string_equal(json_string_value(json_object_get(j.payload, "iss")),
                        "https://auth.example.com");
    assert_string_equal(json_string_value(json_object_get(j.payload, "aud")),
                        "http://mcp.internal:3000");
    assert_string_equal(json_string_value(json_object_get(j.payload, "sub")), "user-1");
    assert_string_equal(json_string_value(json_object_get(j.payload, "email")), "u1@example.com");
    json_t *g = json_object_get(j.payload, "groups");
    assert_int_equal(json_array_size(g), 2);
    assert_string_equal(json_string_value(json_array_get(g, 0)), "admins");
    assert_string_equal(json_string_value(json_array_get(g, 1)), "dev \"ops\"");
    assert_string_equal(json_string_value(json_object_get(j.payload, "scope")),
                        "mcp:read mcp:write");
    assert_string_equal(json_string_value(json_object_get(j.payload, "client_id")),
                        "https://client.example/meta.json");
    assert_int_equal(json_integer_value(json_object_get(j.payload, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(j.payload, "exp")), NOW + 60);
    assert_int_equal(BOUNDS_IDENTITY_ASSERTION_TTL_S, 60);
    const char *jti = json_string_value(json_object_get(j.payload, "jti"));
    assert_non_null(jti);
    assert_int_equal(strlen(jti), 22);
    assert_null(json_object_get(j.payload, "acr"));
    assert_null(json_object_get(j.payload, "auth_time"));

    assert_true(verifies(pkey, buf_cstr(&out), &j));
    /* Tamper with the payload: same length, other bytes. */
    char *bad = strdup(buf_cstr(&out));
    char *p = strchr(bad, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    assert_false(verifies(pkey, bad, &j));
    free(bad);

    jws_cleanup(&j);
    EVP_PKEY_free(pkey);
    buf_cleanup(&out);
    identity_keys_free(k);
}

/* acr and auth_time appear only when known; groups is [] when none;
 * client_id is left out when unknown; every jti is new. */
static void
test_sign_optional_claims(void **state)
{
    (void)state;
    struct identity_keys *k = load(key_a, NULL);
    struct identity_claims c = claims();
    c.acr = "urn:mfa";
    c.auth_time = NOW - 30;
    c.group_count = 0;
    c.groups = NULL;
    c.client_id = "";
    struct buf out;
    sign_ok(k, &c, &out);
    struct jws j;
    split(buf_cstr(&out), &j);
    assert_string_equal(json_string_value(json_object_get(j.payload, "acr")), "urn:mfa");
    assert_int_equal(json_integer_value(json_object_get(j.payload, "auth_time")), NOW - 30);
    assert_int_equal(json_array_size(json_object_get(j.payload, "groups")), 0);
    assert_true(json_is_array(json_object_get(j.payload, "groups")));
    assert_null(json_object_get(j.payload, "client_id"));

    struct buf out2;
    sign_ok(k, &c, &out2);
    struct jws j2;
    split(buf_cstr(&out2), &j2);
    assert_string_not_equal(json_string_value(json_object_get(j.payload, "jti")),
                            json_string_value(json_object_get(j2.payload, "jti")));
    jws_cleanup(&j);
    jws_cleanup(&j2);
    buf_cleanup(&out);
    buf_cleanup(&out2);
    identity_keys_free(k);
}

/* A missing sub, iss or aud, or an oversize claim set: an error, and out
 * keeps exactly what it held. */
static void
test_sign_errors_leave_out_unchanged(void **state)
{
    (void)state;
    struct identity_keys *k = load(key_a, NULL);
    struct buf out;
    buf_init(&out, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    assert_int_equal(buf_append_str(&out, "prefix"), 0);
    struct identity_claims c = claims();
    c.sub = "";
    assert_int_equal(identity_sign(k, &c, NOW, &out), IDENTITY_ERR_VALUE);
    assert_string_equal(buf_cstr(&out), "prefix");
    c = claims();
    c.aud = NULL;
    assert_int_equal(identity_sign(k, &c, NOW, &out), IDENTITY_ERR_VALUE);
    c = claims();
    static char big[BOUNDS_IDENTITY_ASSERTION_MAX_BYTES];
    memset(big, 'g', sizeof(big) - 1);
    const char *one[] = {big};
    c.groups = one;
    c.group_count = 1;
    assert_int_equal(identity_sign(k, &c, NOW, &out), IDENTITY_ERR_TOO_LARGE);
    assert_string_equal(buf_cstr(&out), "prefix");
    buf_cleanup(&out);
    identity_keys_free(k);
}

/* Two keys: the first signs, both are published in order, public halves
 * only. */
static void
test_jwks_shape_and_rotation(void **state)
{
    (void)state;
    struct identity_keys *k = load(key_b, key_a);
    assert_int_equal(identity_keys_count(k), 2);
    struct slice doc = identity_keys_jwks(k);
    assert_true(doc.len > 0 && doc.ptr[doc.len - 1] == '\n');
    json_error_t e;
    json_t *v = json_loadb(doc.ptr, doc.len, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), 1);
    json_t *keys = json_object_get(v, "keys");
    assert_int_equal(json_array_size(keys), 2);
    const char *paths[] = {key_b, key_a};
    for (size_t i = 0; i < 2; i++) {
        json_t *jwk = json_array_get(keys, i);
        EVP_PKEY *pkey = read_key(paths[i]);
        char kid[44], x[44], y[44];
        thumbprint(pkey, kid);
        coord(pkey, "qx", x);
        coord(pkey, "qy", y);
        assert_int_equal(json_object_size(jwk), 7);
        assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
        assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
        assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
        assert_string_equal(json_string_value(json_object_get(jwk, "kid")), kid);
        assert_string_equal(json_string_value(json_object_get(jwk, "x")), x);
        assert_string_equal(json_string_value(json_object_get(jwk, "y")), y);
        assert_null(json_object_get(jwk, "d"));
        if (i == 0) {
            assert_string_equal(identity_keys_signing_kid(k), kid);
            struct identity_claims c = claims();
            struct buf out;
            sign_ok(k, &c, &out);
            struct jws j;
            split(buf_cstr(&out), &j);
            assert_string_equal(json_string_value(json_object_get(j.header, "kid")), kid);
            assert_true(verifies(pkey, buf_cstr(&out), &j));
            jws_cleanup(&j);
            buf_cleanup(&out);
        }
        EVP_PKEY_free(pkey);
    }
    json_decref(v);
    identity_keys_free(k);
}

/* Load errors name the failing file's index and the reason. */
static void
test_load_errors(void **state)
{
    (void)state;
    enum identity_rc rc;
    size_t bad = 99;
    const char *p384[] = {key_a, key_p384};
    assert_null(identity_keys_load(p384, 2, &rc, &bad));
    assert_int_equal(rc, IDENTITY_ERR_WRONG_CURVE);
    assert_int_equal(bad, 1);
    const char *dup[] = {key_a, key_b, key_a};
    assert_null(identity_keys_load(dup, 3, &rc, &bad));
    assert_int_equal(rc, IDENTITY_ERR_DUPLICATE);
    assert_int_equal(bad, 2);
    const char *missing[] = {"/nonexistent/k.pem"};
    assert_null(identity_keys_load(missing, 1, &rc, &bad));
    assert_int_equal(rc, IDENTITY_ERR_UNREADABLE);
    assert_int_equal(bad, 0);
    assert_int_equal(identity_key_file_check("/etc/hosts"), IDENTITY_ERR_NOT_PRIVATE_KEY);
    assert_int_equal(identity_key_file_check(key_p384), IDENTITY_ERR_WRONG_CURVE);
    assert_int_equal(identity_key_file_check(key_a), IDENTITY_OK);
    assert_string_equal(identity_rc_str(IDENTITY_ERR_WRONG_CURVE), "wrong_curve");
    /* Not regular files, or too large: refused without reading (a FIFO
     * with no writer would otherwise block the start-up for ever). */
    char fifo[700];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(identity_key_file_check(fifo), IDENTITY_ERR_UNREADABLE);
    unlink(fifo);
    assert_int_equal(identity_key_file_check("/dev/zero"), IDENTITY_ERR_UNREADABLE);
    assert_int_equal(identity_key_file_check(dir), IDENTITY_ERR_UNREADABLE);
    char big[700];
    snprintf(big, sizeof(big), "%s/big.pem", dir);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    for (int i = 0; i < BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES / 16 + 1; i++) {
        fputs("# padding line.\n", f); /* 16 bytes */
    }
    FILE *k = fopen(key_a, "r");
    char line[256];
    while (fgets(line, sizeof(line), k) != NULL) {
        fputs(line, f);
    }
    fclose(k);
    fclose(f);
    assert_int_equal(identity_key_file_check(big), IDENTITY_ERR_UNREADABLE);
    unlink(big);
}

/* A generated key: one published key whose kid signs. */
static void
test_generated_key(void **state)
{
    (void)state;
    struct identity_keys *k = identity_keys_generate();
    assert_int_equal(identity_keys_count(k), 1);
    struct slice doc = identity_keys_jwks(k);
    char want[64];
    snprintf(want, sizeof(want), "\"kid\":\"%s\"", identity_keys_signing_kid(k));
    assert_non_null(memmem(doc.ptr, doc.len, want, strlen(want)));
    struct identity_claims c = claims();
    struct buf out;
    sign_ok(k, &c, &out);
    struct jws j;
    split(buf_cstr(&out), &j);
    assert_string_equal(json_string_value(json_object_get(j.header, "kid")),
                        identity_keys_signing_kid(k));
    jws_cleanup(&j);
    buf_cleanup(&out);
    identity_keys_free(k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_claims_exact_and_verifies),
        cmocka_unit_test(test_sign_optional_claims),
        cmocka_unit_test(test_sign_errors_leave_out_unchanged),
        cmocka_unit_test(test_jwks_shape_and_rotation),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_generated_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
