#include "oidc/jws.h"

#include <cjose/jws.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "base/b64url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oidc/jwks.h"

void
oidc_jws_cleanup(struct oidc_jws *p)
{
    json_decref(p->header);
    json_decref(p->claims);
    memset(p, 0, sizeof(*p));
}

/* Decodes one segment strictly and parses it as a JSON object. */
static json_t *
decode_json_segment(struct slice seg, size_t max)
{
    if (seg.len == 0 || seg.len > b64url_encoded_len(max)) {
        return NULL;
    }
    size_t cap = b64url_decoded_max(seg.len) + 1;
    uint8_t *raw = xmalloc(cap);
    size_t n = 0;
    json_t *v = NULL;
    if (b64url_decode(seg, raw, cap, &n) == 0 &&
        jsonx_parse(slice_make((const char *)raw, n), max, &v) == JSONX_OK && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    xfree(raw);
    return v;
}

static bool
is_b64url_segment(struct slice seg)
{
    if (seg.len == 0) {
        return false;
    }
    size_t cap = b64url_decoded_max(seg.len) + 1;
    uint8_t *raw = xmalloc(cap);
    size_t n = 0;
    bool ok = b64url_decode(seg, raw, cap, &n) == 0 && n > 0;
    xfree(raw);
    return ok;
}

/* BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature),
 * e.g. eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOi4uLn0.c2ln */
enum oidc_jws_rc
oidc_jws_parse(struct slice token, size_t max_bytes, unsigned alg_mask, struct oidc_jws *out)
{
    if (token.len == 0 || token.len > max_bytes) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    long d1 = slice_find_byte(token, '.');
    long d2 = d1 < 0 ? -1 : slice_find_byte(slice_skip(token, (size_t)d1 + 1), '.');
    if (d1 < 0 || d2 < 0) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    struct slice hseg = slice_make(token.ptr, (size_t)d1);
    struct slice pseg = slice_make(token.ptr + d1 + 1, (size_t)d2);
    struct slice sseg = slice_skip(token, (size_t)d1 + 1 + (size_t)d2 + 1);
    if (slice_find_byte(sseg, '.') >= 0) {
        return OIDC_JWS_ERR_MALFORMED; /* JWE (five parts) or junk */
    }
    out->header = decode_json_segment(hseg, BOUNDS_ID_TOKEN_HEADER_MAX_BYTES);
    if (out->header == NULL) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    struct slice alg;
    if (jsonx_get_str(out->header, "alg", &alg) != JSONX_FOUND) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    /* The allow-list first: "none", HS256 and friends never reach a key
     * (RFC 8725 3.1, 3.2). */
    if (!oidc_alg_parse(alg, &out->alg) || (alg_mask & OIDC_JWS_ALG_BIT(out->alg)) == 0) {
        return OIDC_JWS_ERR_ALG_NOT_ALLOWED;
    }
    /* RFC 7515 4.1.11: we understand no extension, so any crit refuses. */
    const json_t *ignored;
    if (jsonx_get(out->header, "crit", &ignored) != JSONX_ABSENT) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    enum jsonx_get g = jsonx_get_str(out->header, "kid", &out->kid);
    if (g == JSONX_WRONG_TYPE || g == JSONX_NULL) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    out->has_kid = g == JSONX_FOUND;
    out->claims = decode_json_segment(pseg, max_bytes);
    if (out->claims == NULL || !is_b64url_segment(sseg)) {
        return OIDC_JWS_ERR_MALFORMED;
    }
    return OIDC_JWS_OK;
}

static bool
verify_with(const struct oidc_jwk *key, struct slice token)
{
    cjose_err cerr;
    /* A fresh import per key: cjose keeps per-verification state in the
     * JWS object. The text was already checked strictly above. */
    cjose_jws_t *jws = cjose_jws_import(token.ptr, token.len, &cerr);
    if (jws == NULL) {
        return false;
    }
    bool ok = cjose_jws_verify(jws, key->jwk, &cerr);
    cjose_jws_release(jws);
    return ok;
}

/* OIDC Core 10.1: the kid picks the key; with no kid, every key able to do
 * the alg is tried. */
enum oidc_jws_rc
oidc_jws_check_signature(const struct oidc_jwks_set *keys, struct slice token,
                         const struct oidc_jws *parts)
{
    unsigned bit = OIDC_JWS_ALG_BIT(parts->alg);
    size_t named = 0, usable = 0;
    for (size_t i = 0; i < oidc_jwks_set_count(keys); i++) {
        const struct oidc_jwk *k = oidc_jwks_set_key(keys, i);
        if (parts->has_kid) {
            if (k->kid == NULL || !slice_eq_cstr(parts->kid, k->kid)) {
                continue;
            }
            named++;
        }
        if ((k->alg_mask & bit) == 0) {
            continue; /* never an RSA alg with an EC key, or ES256 with P-384 */
        }
        usable++;
        if (verify_with(k, token)) {
            return OIDC_JWS_OK;
        }
    }
    if (parts->has_kid && named == 0) {
        return OIDC_JWS_ERR_UNKNOWN_KID;
    }
    if (usable == 0) {
        return parts->has_kid ? OIDC_JWS_ERR_ALG_KEY_MISMATCH : OIDC_JWS_ERR_NO_MATCHING_KEY;
    }
    return OIDC_JWS_ERR_BAD_SIGNATURE;
}

enum jsonx_get
oidc_jws_numeric_date(const json_t *claims, const char *key, int64_t *out)
{
    const json_t *v;
    enum jsonx_get g = jsonx_get(claims, key, &v);
    if (g != JSONX_FOUND) {
        return g;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return JSONX_FOUND;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Well inside int64 either way; anything beyond is nonsense. */
        if (!isfinite(d) || d < -9.0e15 || d > 9.0e15) {
            return JSONX_WRONG_TYPE;
        }
        *out = (int64_t)floor(d);
        return JSONX_FOUND;
    }
    return JSONX_WRONG_TYPE;
}
