#include "oauth/client_assertion.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "oidc/jwks.h"
#include "oidc/jws.h"

/* draft-ietf-oauth-client-id-metadata-document 4.1 forbids shared secrets,
 * so HS* can never be right; RS256 (what ChatGPT's document declares),
 * PS256 and ES256 are what RFC 7518 makes mandatory or recommended. */
#define ALLOWED_ALGS                                                                               \
    (OIDC_JWS_ALG_BIT(OIDC_ALG_RS256) | OIDC_JWS_ALG_BIT(OIDC_ALG_PS256) |                         \
     OIDC_JWS_ALG_BIT(OIDC_ALG_ES256))

static const char *const rc_names[OAUTH_CLIENT_ASSERTION_RC_COUNT] = {
    [OAUTH_CLIENT_ASSERTION_OK] = "ok",
    [OAUTH_CLIENT_ASSERTION_BAD_TYPE] = "bad_type",
    [OAUTH_CLIENT_ASSERTION_MALFORMED] = "malformed",
    [OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED] = "alg_not_allowed",
    [OAUTH_CLIENT_ASSERTION_UNKNOWN_KID] = "unknown_kid",
    [OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY] = "no_matching_key",
    [OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE] = "bad_signature",
    [OAUTH_CLIENT_ASSERTION_WRONG_ISSUER] = "wrong_issuer",
    [OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT] = "wrong_subject",
    [OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE] = "wrong_audience",
    [OAUTH_CLIENT_ASSERTION_EXPIRED] = "expired",
    [OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG] = "lifetime_too_long",
    [OAUTH_CLIENT_ASSERTION_NOT_YET_VALID] = "not_yet_valid",
    [OAUTH_CLIENT_ASSERTION_MISSING_JTI] = "missing_jti",
    [OAUTH_CLIENT_ASSERTION_CLIENT_ID_MISMATCH] = "client_id_mismatch",
    [OAUTH_CLIENT_ASSERTION_REPLAYED] = "replayed",
    [OAUTH_CLIENT_ASSERTION_NO_KEYS] = "no_keys",
    [OAUTH_CLIENT_ASSERTION_KEYS_UNAVAILABLE] = "keys_unavailable",
};

static const char *const descriptions[OAUTH_CLIENT_ASSERTION_RC_COUNT] = {
    [OAUTH_CLIENT_ASSERTION_OK] = "ok",
    [OAUTH_CLIENT_ASSERTION_BAD_TYPE] =
        ("client_assertion_type must be "
         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer with one client_assertion"),
    [OAUTH_CLIENT_ASSERTION_MALFORMED] = "client_assertion is not a well-formed compact JWS",
    [OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED] = "client_assertion alg must be RS256, PS256 or ES256",
    [OAUTH_CLIENT_ASSERTION_UNKNOWN_KID] = "client_assertion kid is not in the client's JWK Set",
    [OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY] =
        "no key in the client's JWK Set can verify the client_assertion alg",
    [OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE] = "client_assertion signature does not verify",
    [OAUTH_CLIENT_ASSERTION_WRONG_ISSUER] = "client_assertion iss must equal the client_id",
    [OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT] = "client_assertion sub must equal the client_id",
    [OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE] =
        "client_assertion aud must be the issuer or the token endpoint, and nothing else",
    [OAUTH_CLIENT_ASSERTION_EXPIRED] = "client_assertion exp is missing or past",
    [OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG] = "client_assertion lifetime exceeds 300 seconds",
    [OAUTH_CLIENT_ASSERTION_NOT_YET_VALID] = "client_assertion nbf or iat is in the future",
    [OAUTH_CLIENT_ASSERTION_MISSING_JTI] = "client_assertion jti is missing",
    [OAUTH_CLIENT_ASSERTION_CLIENT_ID_MISMATCH] =
        "client_id does not match the client_assertion iss",
    [OAUTH_CLIENT_ASSERTION_REPLAYED] = "client_assertion jti was already used",
    [OAUTH_CLIENT_ASSERTION_NO_KEYS] =
        "this client has no registered keys (jwks or jwks_uri) to verify a client_assertion",
    [OAUTH_CLIENT_ASSERTION_KEYS_UNAVAILABLE] =
        "the client's jwks_uri could not be fetched or holds no usable key",
};
_Static_assert(BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S == 300, "the description says 300 seconds");

const char *
oauth_client_assertion_rc_str(enum oauth_client_assertion_rc rc)
{
    return strtab_name(rc_names, OAUTH_CLIENT_ASSERTION_RC_COUNT, (size_t)rc, "unknown");
}

const char *
oauth_client_assertion_description(enum oauth_client_assertion_rc rc)
{
    return strtab_name(descriptions, OAUTH_CLIENT_ASSERTION_RC_COUNT, (size_t)rc,
                       "client_assertion refused");
}

static enum oauth_client_assertion_rc
rc_of_jws(enum oidc_jws_rc rc)
{
    switch (rc) {
    case OIDC_JWS_OK:
        return OAUTH_CLIENT_ASSERTION_OK;
    case OIDC_JWS_ERR_ALG_NOT_ALLOWED:
        return OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED;
    case OIDC_JWS_ERR_UNKNOWN_KID:
        return OAUTH_CLIENT_ASSERTION_UNKNOWN_KID;
    case OIDC_JWS_ERR_ALG_KEY_MISMATCH:
    case OIDC_JWS_ERR_NO_MATCHING_KEY:
        return OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY;
    case OIDC_JWS_ERR_BAD_SIGNATURE:
        return OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE;
    default:
        return OAUTH_CLIENT_ASSERTION_MALFORMED;
    }
}

/* RFC 7523 3 item 3, hardened: string comparison, no normalisation, and an
 * array may name only us (several of our own names are harmless). */
static bool
audience_is_ours(const json_t *v, const struct oauth_client_assertion_expect *e)
{
    if (!json_is_string(v)) {
        return false;
    }
    const char *s = json_string_value(v);
    return strcmp(s, e->issuer) == 0 || strcmp(s, e->token_endpoint) == 0;
}

static enum oauth_client_assertion_rc
check_audience(const json_t *claims, const struct oauth_client_assertion_expect *e)
{
    const json_t *aud;
    if (jsonx_get(claims, "aud", &aud) != JSONX_FOUND) {
        return OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE;
    }
    if (json_is_array(aud)) {
        if (json_array_size(aud) == 0) {
            return OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE;
        }
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (!audience_is_ours(v, e)) {
                return OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE;
            }
        }
        return OAUTH_CLIENT_ASSERTION_OK;
    }
    return audience_is_ours(aud, e) ? OAUTH_CLIENT_ASSERTION_OK
                                    : OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE;
}

static enum oauth_client_assertion_rc
check_times(const json_t *claims, int64_t now, int64_t *out_exp)
{
    const int64_t skew = BOUNDS_CLIENT_ASSERTION_SKEW_S;
    const int64_t life = BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S;
    int64_t exp, nbf, iat;
    enum jsonx_get g = oidc_jws_numeric_date(claims, "exp", &exp);
    if (g == JSONX_WRONG_TYPE) {
        return OAUTH_CLIENT_ASSERTION_MALFORMED;
    }
    if (g != JSONX_FOUND || now - skew >= exp) {
        return OAUTH_CLIENT_ASSERTION_EXPIRED;
    }
    if (exp - now > life + skew) {
        return OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG;
    }
    g = oidc_jws_numeric_date(claims, "nbf", &nbf);
    if (g == JSONX_WRONG_TYPE) {
        return OAUTH_CLIENT_ASSERTION_MALFORMED;
    }
    if (g == JSONX_FOUND && nbf > now + skew) {
        return OAUTH_CLIENT_ASSERTION_NOT_YET_VALID;
    }
    g = oidc_jws_numeric_date(claims, "iat", &iat);
    if (g == JSONX_WRONG_TYPE) {
        return OAUTH_CLIENT_ASSERTION_MALFORMED;
    }
    if (g == JSONX_FOUND && iat > now + skew) {
        return OAUTH_CLIENT_ASSERTION_NOT_YET_VALID;
    }
    if (g == JSONX_FOUND && exp - iat > life) {
        return OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG;
    }
    *out_exp = exp;
    return OAUTH_CLIENT_ASSERTION_OK;
}

static enum oauth_client_assertion_rc
check_claims(const json_t *claims, const struct oauth_client_assertion_expect *e,
             struct oauth_client_assertion_claims *out)
{
    struct slice v;
    if (jsonx_get_str(claims, "iss", &v) != JSONX_FOUND || !slice_eq_cstr(v, e->client_id)) {
        return OAUTH_CLIENT_ASSERTION_WRONG_ISSUER;
    }
    if (jsonx_get_str(claims, "sub", &v) != JSONX_FOUND || !slice_eq_cstr(v, e->client_id)) {
        return OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT;
    }
    enum oauth_client_assertion_rc rc = check_audience(claims, e);
    int64_t exp = 0;
    if (rc == OAUTH_CLIENT_ASSERTION_OK) {
        rc = check_times(claims, e->now_s, &exp);
    }
    if (rc != OAUTH_CLIENT_ASSERTION_OK) {
        return rc;
    }
    /* OIDC Core 9 makes jti REQUIRED; a NUL inside would cut the key. */
    if (jsonx_get_str(claims, "jti", &v) != JSONX_FOUND || v.len == 0 ||
        v.len > BOUNDS_CLIENT_ASSERTION_JTI_MAX || memchr(v.ptr, '\0', v.len) != NULL) {
        return OAUTH_CLIENT_ASSERTION_MISSING_JTI;
    }
    memcpy(out->jti, v.ptr, v.len);
    out->jti[v.len] = '\0';
    out->exp = exp;
    return OAUTH_CLIENT_ASSERTION_OK;
}

enum oauth_client_assertion_rc
oauth_client_assertion_check(const struct oidc_jwks_set *keys, struct slice assertion,
                             const struct oauth_client_assertion_expect *expect,
                             struct oauth_client_assertion_claims *out)
{
    struct oidc_jws parts = {0};
    enum oauth_client_assertion_rc rc = rc_of_jws(
        oidc_jws_parse(assertion, BOUNDS_CLIENT_ASSERTION_MAX_BYTES, ALLOWED_ALGS, &parts));
    if (rc == OAUTH_CLIENT_ASSERTION_OK) {
        /* The signature before any claim: nothing unverified decides. */
        rc = keys == NULL ? OAUTH_CLIENT_ASSERTION_NO_KEYS
                          : rc_of_jws(oidc_jws_check_signature(keys, assertion, &parts));
    }
    struct oauth_client_assertion_claims got;
    if (rc == OAUTH_CLIENT_ASSERTION_OK) {
        rc = check_claims(parts.claims, expect, &got);
    }
    if (rc == OAUTH_CLIENT_ASSERTION_OK) {
        *out = got;
    }
    oidc_jws_cleanup(&parts);
    return rc;
}

bool
oauth_client_assertion_keys_may_be_stale(enum oauth_client_assertion_rc rc)
{
    return rc == OAUTH_CLIENT_ASSERTION_UNKNOWN_KID || rc == OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY;
}

bool
oauth_client_assertion_peek_issuer(struct slice assertion, char *out, size_t cap)
{
    struct oidc_jws parts = {0};
    bool ok = false;
    struct slice iss;
    if (oidc_jws_parse(assertion, BOUNDS_CLIENT_ASSERTION_MAX_BYTES, ALLOWED_ALGS, &parts) ==
            OIDC_JWS_OK &&
        jsonx_get_str(parts.claims, "iss", &iss) == JSONX_FOUND && iss.len > 0 && iss.len < cap &&
        memchr(iss.ptr, '\0', iss.len) == NULL) {
        memcpy(out, iss.ptr, iss.len);
        out[iss.len] = '\0';
        ok = true;
    }
    oidc_jws_cleanup(&parts);
    return ok;
}

void
oauth_client_assertion_replay_id(const char *client_id, const char *jti,
                                 char out[OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN + 1])
{
    uint8_t md[32];
    unsigned len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, client_id, strlen(client_id) + 1) != 1 ||
        EVP_DigestUpdate(ctx, jti, strlen(jti)) != 1 || EVP_DigestFinal_ex(ctx, md, &len) != 1 ||
        len != sizeof(md)) {
        abort(); /* allocation only: OOM is fatal (STYLE.md 3.5) */
    }
    EVP_MD_CTX_free(ctx);
    b64url_encode(md, sizeof(md), out);
}

uint64_t
oauth_client_assertion_replay_ttl_ms(int64_t exp, int64_t now_s)
{
    int64_t left = exp + BOUNDS_CLIENT_ASSERTION_SKEW_S - now_s;
    return left > 0 ? (uint64_t)left * 1000 : 1;
}

enum oauth_client_assertion_rc
oauth_client_assertion_front(struct slice type, struct slice assertion, struct slice client_id,
                             char *client_id_out, size_t cap)
{
    if (!slice_eq_cstr(type, OAUTH_CLIENT_ASSERTION_TYPE) || assertion.len == 0) {
        return OAUTH_CLIENT_ASSERTION_BAD_TYPE;
    }
    char iss[BOUNDS_CIMD_URL_MAX_BYTES + 1];
    bool have_iss = oauth_client_assertion_peek_issuer(assertion, iss, sizeof(iss));
    if (client_id.len > 0) {
        if (have_iss && !slice_eq_cstr(client_id, iss)) {
            return OAUTH_CLIENT_ASSERTION_CLIENT_ID_MISMATCH;
        }
        client_id_out[0] = '\0'; /* the form's stands */
        return OAUTH_CLIENT_ASSERTION_OK;
    }
    if (!have_iss || strlen(iss) >= cap) {
        return OAUTH_CLIENT_ASSERTION_MALFORMED;
    }
    memcpy(client_id_out, iss, strlen(iss) + 1);
    return OAUTH_CLIENT_ASSERTION_OK;
}
