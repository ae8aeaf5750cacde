/* The identity assertion's keys and signature (identity.h). The JOSE parts
 * are few and fixed, so they are written by hand: the protected header of
 * each key is encoded once at load, a request only builds its payload,
 * hashes and signs. */
#include "identity.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64url.h"
#include "base/rand.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"

/* P-256 field elements and ES256 signature halves (RFC 7518 3.4). */
#define COORD_LEN 32
#define SIG_LEN (2 * COORD_LEN)
/* base64url of a SHA-256 thumbprint. */
#define KID_LEN 43
/* jti: 16 random bytes, 22 base64url characters. */
#define JTI_BYTES 16
/* The JWKS document: per key well under 256 bytes. */
#define JWKS_MAX (BOUNDS_IDENTITY_KEYS_MAX * 256 + 64)

struct identity_key {
    EVP_PKEY *pkey;
    char kid[KID_LEN + 1];
    char x[KID_LEN + 1]; /* base64url of the 32-byte coordinates */
    char y[KID_LEN + 1];
    char *header_b64; /* base64url of {"alg":"ES256","kid":"…","typ":"JWT"} */
    size_t header_b64_len;
};

struct identity_keys {
    struct identity_key keys[BOUNDS_IDENTITY_KEYS_MAX];
    size_t count;
    char *jwks;
    size_t jwks_len;
};

static const char *const rc_names[IDENTITY_RC_COUNT] = {
    [IDENTITY_OK] = "ok",
    [IDENTITY_ERR_UNREADABLE] = "unreadable",
    [IDENTITY_ERR_NOT_PRIVATE_KEY] = "not_a_private_key",
    [IDENTITY_ERR_NOT_EC] = "not_an_ec_key",
    [IDENTITY_ERR_WRONG_CURVE] = "wrong_curve",
    [IDENTITY_ERR_TOO_MANY] = "too_many_keys",
    [IDENTITY_ERR_DUPLICATE] = "duplicate_key",
    [IDENTITY_ERR_VALUE] = "bad_claim",
    [IDENTITY_ERR_TOO_LARGE] = "too_large",
    [IDENTITY_ERR_SIGN] = "sign_failed",
};

static const char *const rc_reasons[IDENTITY_RC_COUNT] = {
    [IDENTITY_OK] = "is usable",
    [IDENTITY_ERR_UNREADABLE] = "cannot be read; give the path of a regular PEM file (at most "
                                "16 KiB) that this process can read",
    [IDENTITY_ERR_NOT_PRIVATE_KEY] =
        "holds no unencrypted PEM private key (a public key or a certificate is not enough); "
        "create one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
    [IDENTITY_ERR_NOT_EC] = "holds a private key that is not an EC key; ES256 needs a P-256 key "
                            "(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)",
    [IDENTITY_ERR_WRONG_CURVE] = "holds an EC key on another curve; ES256 needs P-256 "
                                 "(prime256v1)",
    [IDENTITY_ERR_TOO_MANY] = "lists more keys than the limit of 8; publish the old and the new "
                              "key only",
    [IDENTITY_ERR_DUPLICATE] = "lists the same key twice; list each key once",
    [IDENTITY_ERR_VALUE] = "has a claim that cannot be encoded",
    [IDENTITY_ERR_TOO_LARGE] = "would be larger than its cap",
    [IDENTITY_ERR_SIGN] = "could not be signed",
};

const char *
identity_rc_str(enum identity_rc rc)
{
    return strtab_name(rc_names, IDENTITY_RC_COUNT, (size_t)rc, "unknown");
}

const char *
identity_rc_reason(enum identity_rc rc)
{
    return strtab_name(rc_reasons, IDENTITY_RC_COUNT, (size_t)rc, "is not usable");
}

/* ---- loading ---- */

/* Never prompt for a passphrase on the terminal: an encrypted key is
 * simply not read (documented: give an unencrypted key, mode 0400). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static enum identity_rc
check_p256(EVP_PKEY *pkey)
{
    if (!EVP_PKEY_is_a(pkey, "EC")) {
        return IDENTITY_ERR_NOT_EC;
    }
    char group[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1 ||
        strcmp(group, SN_X9_62_prime256v1) != 0) {
        return IDENTITY_ERR_WRONG_CURVE;
    }
    return IDENTITY_OK;
}

/* The file's bytes into buf (cap BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES), or -1.
 * A regular file only, opened without blocking: a FIFO or a device named
 * by mistake (or by the configuration fuzzer) must not hang start-up. */
static int
read_file(const char *path, char *buf, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    size_t len = 0;
    int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                     st.st_size <= BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES
                 ? 0
                 : -1;
    while (rc == 0 && len < BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES) {
        ssize_t n = read(fd, buf + len, BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -1;
        } else if (n == 0) {
            break;
        } else {
            len += (size_t)n;
        }
    }
    close(fd);
    *out_len = len;
    return rc;
}

/* The P-256 private key in path, or NULL with *out_rc. */
static EVP_PKEY *
read_key(const char *path, enum identity_rc *out_rc)
{
    static_assert(BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES <= 65536, "the buffer is on the stack");
    char text[BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES];
    size_t len = 0;
    if (read_file(path, text, &len) != 0) {
        OPENSSL_cleanse(text, sizeof(text));
        *out_rc = IDENTITY_ERR_UNREADABLE;
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, sizeof(text));
    /* A failed parse leaves OpenSSL's error queue full; nothing else in
     * the thread should read it as its own. */
    ERR_clear_error();
    if (pkey == NULL) {
        *out_rc = IDENTITY_ERR_NOT_PRIVATE_KEY;
        return NULL;
    }
    enum identity_rc rc = check_p256(pkey);
    if (rc != IDENTITY_OK) {
        EVP_PKEY_free(pkey);
        *out_rc = rc;
        return NULL;
    }
    *out_rc = IDENTITY_OK;
    return pkey;
}

enum identity_rc
identity_key_file_check(const char *path)
{
    enum identity_rc rc;
    EVP_PKEY *pkey = read_key(path, &rc);
    EVP_PKEY_free(pkey);
    return rc;
}

/* base64url of a coordinate, left-padded to 32 bytes (RFC 7518 6.2.1.2). */
static int
coord_b64(EVP_PKEY *pkey, const char *param, char out[KID_LEN + 1])
{
    BIGNUM *bn = NULL;
    uint8_t raw[COORD_LEN];
    int ok = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 &&
             BN_bn2binpad(bn, raw, sizeof(raw)) == (int)sizeof(raw);
    BN_free(bn);
    if (!ok) {
        return -1;
    }
    b64url_encode(raw, sizeof(raw), out);
    return 0;
}

/* The key's public half, RFC 7638 thumbprint as kid, and its encoded
 * protected header. Takes pkey. */
static int
key_init(struct identity_key *k, EVP_PKEY *pkey)
{
    k->pkey = pkey;
    if (coord_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->x) != 0 ||
        coord_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->y) != 0) {
        return -1;
    }
    /* RFC 7638 3.2: the required members, lexicographic, no whitespace. */
    struct buf t;
    buf_init(&t, 256);
    int rc =
        buf_appendf(&t, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->x, k->y);
    if (rc == 0) {
        uint8_t digest[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)t.ptr, t.len, digest);
        b64url_encode(digest, sizeof(digest), k->kid);
        buf_reset(&t);
        rc = buf_appendf(&t, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", k->kid);
    }
    if (rc == 0) {
        struct buf h;
        buf_init(&h, 256);
        rc = b64url_encode_buf((const uint8_t *)t.ptr, t.len, &h);
        k->header_b64_len = h.len;
        k->header_b64 = buf_take(&h);
        buf_cleanup(&h);
    }
    buf_cleanup(&t);
    return rc;
}

static void
build_jwks(struct identity_keys *s)
{
    struct buf b;
    buf_init(&b, JWKS_MAX);
    int rc = buf_append_str(&b, "{\"keys\":[");
    for (size_t i = 0; rc == 0 && i < s->count; i++) {
        const struct identity_key *k = &s->keys[i];
        rc = buf_appendf(&b,
                         "%s{\"alg\":\"ES256\",\"crv\":\"P-256\",\"kid\":\"%s\",\"kty\":\"EC\","
                         "\"use\":\"sig\",\"x\":\"%s\",\"y\":\"%s\"}",
                         i > 0 ? "," : "", k->kid, k->x, k->y);
    }
    if (rc == 0) {
        rc = buf_append_str(&b, "]}\n");
    }
    /* JWKS_MAX holds BOUNDS_IDENTITY_KEYS_MAX keys of fixed-size fields. */
    if (rc != 0) {
        abort();
    }
    s->jwks_len = b.len;
    s->jwks = buf_take(&b);
    buf_cleanup(&b);
}

/* Adds pkey (taken) to s. */
static enum identity_rc
add_key(struct identity_keys *s, EVP_PKEY *pkey)
{
    if (s->count == BOUNDS_IDENTITY_KEYS_MAX) {
        EVP_PKEY_free(pkey);
        return IDENTITY_ERR_TOO_MANY;
    }
    struct identity_key *k = &s->keys[s->count++];
    if (key_init(k, pkey) != 0) {
        return IDENTITY_ERR_NOT_PRIVATE_KEY;
    }
    for (size_t i = 0; i + 1 < s->count; i++) {
        if (strcmp(s->keys[i].kid, k->kid) == 0) {
            return IDENTITY_ERR_DUPLICATE;
        }
    }
    return IDENTITY_OK;
}

struct identity_keys *
identity_keys_load(const char *const *paths, size_t n, enum identity_rc *out_rc, size_t *out_bad)
{
    struct identity_keys *s = xcalloc(1, sizeof(*s));
    enum identity_rc rc = n == 0 ? IDENTITY_ERR_UNREADABLE : IDENTITY_OK;
    size_t i = 0;
    for (; rc == IDENTITY_OK && i < n; i++) {
        EVP_PKEY *pkey = read_key(paths[i], &rc);
        if (pkey != NULL) {
            rc = add_key(s, pkey);
        }
    }
    if (rc != IDENTITY_OK) {
        identity_keys_free(s);
        *out_rc = rc;
        *out_bad = i > 0 ? i - 1 : 0;
        return NULL;
    }
    build_jwks(s);
    *out_rc = IDENTITY_OK;
    return s;
}

struct identity_keys *
identity_keys_generate(void)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (pkey == NULL) {
        abort(); /* allocation or CSPRNG failure: a broken process (base/rand.h) */
    }
    struct identity_keys *s = xcalloc(1, sizeof(*s));
    if (add_key(s, pkey) != IDENTITY_OK) {
        abort(); /* a key OpenSSL just made always has its coordinates */
    }
    build_jwks(s);
    return s;
}

void
identity_keys_free(struct identity_keys *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->count; i++) {
        EVP_PKEY_free(s->keys[i].pkey); /* OpenSSL clears the private scalar */
        xfree(s->keys[i].header_b64);
    }
    xfree(s->jwks);
    xfree(s);
}

struct slice
identity_keys_jwks(const struct identity_keys *s)
{
    return slice_make(s->jwks, s->jwks_len);
}

const char *
identity_keys_signing_kid(const struct identity_keys *s)
{
    return s->keys[0].kid;
}

size_t
identity_keys_count(const struct identity_keys *s)
{
    return s->count;
}

/* ---- signing ---- */

static int
append_string(struct buf *b, const char *key, const char *value)
{
    return buf_appendf(b, ",\"%s\":\"", key) != 0 ||
                   buf_append_json_escaped(b, slice_from_cstr(value)) != 0 ||
                   buf_append_byte(b, '"') != 0
               ? -1
               : 0;
}

static bool
is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The JWT claims set, keys in a fixed order. */
static enum identity_rc
build_payload(const struct identity_claims *c, int64_t now_s, struct buf *b)
{
    if (!is_set(c->sub) || !is_set(c->iss) || !is_set(c->aud)) {
        return IDENTITY_ERR_VALUE;
    }
    uint8_t jti_raw[JTI_BYTES];
    char jti[KID_LEN + 1];
    rand_bytes(jti_raw, sizeof(jti_raw));
    b64url_encode(jti_raw, sizeof(jti_raw), jti);
    int rc = buf_append_str(b, "{\"iss\":\"") != 0 ||
             buf_append_json_escaped(b, slice_from_cstr(c->iss)) != 0 ||
             buf_append_byte(b, '"') != 0 || append_string(b, "aud", c->aud) != 0 ||
             append_string(b, "sub", c->sub) != 0 ||
             buf_appendf(b, ",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"", (long long)now_s,
                         (long long)(now_s + BOUNDS_IDENTITY_ASSERTION_TTL_S), jti) != 0 ||
             append_string(b, "email", c->email != NULL ? c->email : "") != 0 ||
             buf_append_str(b, ",\"groups\":[") != 0;
    for (size_t i = 0; rc == 0 && i < c->group_count; i++) {
        rc = (i > 0 && buf_append_byte(b, ',') != 0) || buf_append_byte(b, '"') != 0 ||
             buf_append_json_escaped(b, slice_from_cstr(c->groups[i])) != 0 ||
             buf_append_byte(b, '"') != 0;
    }
    rc =
        rc != 0 || buf_append_byte(b, ']') != 0 ||
        append_string(b, "scope", c->scope != NULL ? c->scope : "") != 0 ||
        (is_set(c->client_id) && append_string(b, "client_id", c->client_id) != 0) ||
        (is_set(c->acr) && append_string(b, "acr", c->acr) != 0) ||
        (c->auth_time > 0 && buf_appendf(b, ",\"auth_time\":%lld", (long long)c->auth_time) != 0) ||
        buf_append_byte(b, '}') != 0;
    return rc == 0 ? IDENTITY_OK : IDENTITY_ERR_TOO_LARGE;
}

/* OpenSSL's DER ECDSA-Sig-Value -> the JWS's fixed-width r || s. */
static int
der_to_raw(const uint8_t *der, size_t der_len, uint8_t raw[SIG_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        return -1;
    }
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, raw, COORD_LEN) == COORD_LEN &&
             BN_bn2binpad(s, raw + COORD_LEN, COORD_LEN) == COORD_LEN;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

/* ES256 over the signing input (RFC 7515 5.1 step 5). */
static int
sign_es256(EVP_PKEY *pkey, const char *input, size_t len, uint8_t raw[SIG_LEN])
{
    uint8_t der[80]; /* an ECDSA P-256 DER signature is at most 72 bytes */
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestSign(md, der, &der_len, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    return der_to_raw(der, der_len, raw);
}

enum identity_rc
identity_sign(const struct identity_keys *s, const struct identity_claims *c, int64_t now_s,
              struct buf *out)
{
    const struct identity_key *k = &s->keys[0];
    struct buf payload;
    buf_init(&payload, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    enum identity_rc rc = build_payload(c, now_s, &payload);
    size_t start = out->len;
    if (rc != IDENTITY_OK) {
        goto out;
    }
    /* header "." payload, then "." signature, appended in place: the
     * signing input is the bytes already in out. */
    size_t total =
        k->header_b64_len + 1 + b64url_encoded_len(payload.len) + 1 + b64url_encoded_len(SIG_LEN);
    if (total > BOUNDS_IDENTITY_ASSERTION_MAX_BYTES ||
        buf_append(out, k->header_b64, k->header_b64_len) != 0 || buf_append_byte(out, '.') != 0 ||
        b64url_encode_buf((const uint8_t *)payload.ptr, payload.len, out) != 0) {
        rc = IDENTITY_ERR_TOO_LARGE;
        goto out;
    }
    uint8_t sig[SIG_LEN];
    if (sign_es256(k->pkey, out->ptr + start, out->len - start, sig) != 0) {
        rc = IDENTITY_ERR_SIGN;
        goto out;
    }
    if (buf_append_byte(out, '.') != 0 || b64url_encode_buf(sig, sizeof(sig), out) != 0) {
        rc = IDENTITY_ERR_TOO_LARGE;
    }
out:
    if (rc != IDENTITY_OK) {
        out->len = start;
        if (out->ptr != NULL) {
            out->ptr[start] = '\0';
        }
    }
    buf_cleanup(&payload);
    return rc;
}
