/* Compact JWS (RFC 7515 7.1) shape, algorithm allow-list, key selection and
 * signature: the part of a signed-JWT check that does not depend on who
 * issued it. oidc/id_token.c (the IdP's id_token) and oauth/client_assertion.c
 * (an RFC 7523 client assertion) build their claim rules on it, so cjose stays
 * inside src/oidc/ and the two checks cannot drift apart.
 *
 * Nothing here reads "jku", "x5u", "jwk" or "x5c": keys come only from the
 * set the caller passes (RFC 8725 3.10). "crit" is refused (we understand
 * no extension). Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/jsonx.h"
#include "base/slice.h"
#include "oidc/provider.h"

struct json_t;
struct oidc_jwks_set;

enum oidc_jws_rc {
    OIDC_JWS_OK = 0,
    OIDC_JWS_ERR_MALFORMED,        /* shape, encoding, JSON, types, crit, JWE */
    OIDC_JWS_ERR_ALG_NOT_ALLOWED,  /* none, HS*, unknown, or outside the caller's mask */
    OIDC_JWS_ERR_UNKNOWN_KID,      /* no key with the token's kid */
    OIDC_JWS_ERR_ALG_KEY_MISMATCH, /* the kid's key cannot do the token's alg (type,
                                    * curve, or its own "alg" differs) */
    OIDC_JWS_ERR_NO_MATCHING_KEY,  /* no kid, and no key can do the alg */
    OIDC_JWS_ERR_BAD_SIGNATURE,
};

/* A parsed compact JWS. header and claims are owned (oidc_jws_cleanup). */
struct oidc_jws {
    enum oidc_alg alg;
    struct slice kid; /* points into header; SLICE_NULL when absent */
    bool has_kid;
    struct json_t *header;
    struct json_t *claims;
};

/* The bit of alg in an allow mask. */
#define OIDC_JWS_ALG_BIT(alg) (1u << (unsigned)(alg))

/* Shape (exactly three strict base64url segments, at most max_bytes in
 * all, a JSON object header of at most BOUNDS_ID_TOKEN_HEADER_MAX_BYTES and
 * a JSON object payload), header "alg" one of enum oidc_alg and inside
 * alg_mask ("none" and HS* are never an enum oidc_alg), no "crit", "kid" a
 * string when present. On any return *out may hold parts: clean it up. */
enum oidc_jws_rc oidc_jws_parse(struct slice token, size_t max_bytes, unsigned alg_mask,
                                struct oidc_jws *out) __attribute__((warn_unused_result));

/* Key selection and signature: the kid picks the keys (several may share
 * one); with no kid, every key able to do the alg is tried. A key verifies
 * only the algs of its type and curve, and only its own "alg" when it
 * names one (oidc/jwks.h alg_mask). */
enum oidc_jws_rc oidc_jws_check_signature(const struct oidc_jwks_set *keys, struct slice token,
                                          const struct oidc_jws *parts)
    __attribute__((warn_unused_result));

void oidc_jws_cleanup(struct oidc_jws *p);

/* RFC 7519 2 NumericDate member key of claims: an integer, or a real
 * floored. Returns jsonx_get's verdict (JSONX_WRONG_TYPE for anything else
 * or out of range); *out set only when FOUND. */
enum jsonx_get oidc_jws_numeric_date(const struct json_t *claims, const char *key, int64_t *out);
