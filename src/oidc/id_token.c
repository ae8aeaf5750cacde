#include "oidc/id_token.h"

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oidc/jwks.h"
#include "oidc/jws.h"
#include "oidc/provider.h"

static const char *const rc_names[OIDC_ID_TOKEN_RC_COUNT] = {
    [OIDC_ID_TOKEN_OK] = "ok",
    [OIDC_ID_TOKEN_ERR_MALFORMED] = "malformed",
    [OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED] = "alg_not_allowed",
    [OIDC_ID_TOKEN_ERR_UNKNOWN_KID] = "unknown_kid",
    [OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH] = "alg_key_mismatch",
    [OIDC_ID_TOKEN_ERR_NO_MATCHING_KEY] = "no_matching_key",
    [OIDC_ID_TOKEN_ERR_BAD_SIGNATURE] = "bad_signature",
    [OIDC_ID_TOKEN_ERR_WRONG_ISSUER] = "wrong_issuer",
    [OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE] = "wrong_audience",
    [OIDC_ID_TOKEN_ERR_AZP_MISMATCH] = "azp_mismatch",
    [OIDC_ID_TOKEN_ERR_MISSING_CLAIM] = "missing_claim",
    [OIDC_ID_TOKEN_ERR_EXPIRED] = "expired",
    [OIDC_ID_TOKEN_ERR_ISSUED_IN_FUTURE] = "issued_in_future",
    [OIDC_ID_TOKEN_ERR_NOT_YET_VALID] = "not_yet_valid",
    [OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS] = "distributed_claims",
};

const char *
oidc_id_token_rc_str(enum oidc_id_token_rc rc)
{
    return strtab_name(rc_names, OIDC_ID_TOKEN_RC_COUNT, rc, "unknown");
}

/* oidc/jws.h's verdicts in this module's words. */
static enum oidc_id_token_rc
rc_of_jws(enum oidc_jws_rc rc)
{
    switch (rc) {
    case OIDC_JWS_OK:
        return OIDC_ID_TOKEN_OK;
    case OIDC_JWS_ERR_ALG_NOT_ALLOWED:
        return OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED;
    case OIDC_JWS_ERR_UNKNOWN_KID:
        return OIDC_ID_TOKEN_ERR_UNKNOWN_KID;
    case OIDC_JWS_ERR_ALG_KEY_MISMATCH:
        return OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH;
    case OIDC_JWS_ERR_NO_MATCHING_KEY:
        return OIDC_ID_TOKEN_ERR_NO_MATCHING_KEY;
    case OIDC_JWS_ERR_BAD_SIGNATURE:
        return OIDC_ID_TOKEN_ERR_BAD_SIGNATURE;
    default:
        return OIDC_ID_TOKEN_ERR_MALFORMED;
    }
}

/* Our allow-list narrowed to what the IdP advertised. */
static unsigned
provider_alg_mask(const struct oidc_provider *provider)
{
    unsigned mask = 0;
    for (int a = 0; a < OIDC_ALG_COUNT; a++) {
        if (oidc_provider_allows_alg(provider, (enum oidc_alg)a)) {
            mask |= OIDC_JWS_ALG_BIT(a);
        }
    }
    return mask;
}

static enum oidc_id_token_rc
check_audience(const json_t *claims, const char *client_id)
{
    const json_t *aud;
    if (jsonx_get(claims, "aud", &aud) != JSONX_FOUND) {
        return OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE;
    }
    size_t count = 0;
    bool ours = false;
    if (json_is_string(aud)) {
        count = 1;
        ours = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v)) {
                return OIDC_ID_TOKEN_ERR_MALFORMED;
            }
            count++;
            ours = ours || strcmp(json_string_value(v), client_id) == 0;
        }
    } else {
        return OIDC_ID_TOKEN_ERR_MALFORMED;
    }
    if (!ours) {
        return OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE;
    }
    /* OIDC Core 3.1.3.7 steps 4-5: with several audiences azp is needed;
     * whenever present it must be us. */
    struct slice azp;
    enum jsonx_get g = jsonx_get_str(claims, "azp", &azp);
    if (g == JSONX_WRONG_TYPE || (g == JSONX_FOUND && !slice_eq_cstr(azp, client_id)) ||
        (g != JSONX_FOUND && count > 1)) {
        return OIDC_ID_TOKEN_ERR_AZP_MISMATCH;
    }
    return OIDC_ID_TOKEN_OK;
}

static enum oidc_id_token_rc
check_times(const json_t *claims)
{
    int64_t now = clock_unix_s();
    int64_t skew = BOUNDS_ID_TOKEN_SKEW_S;
    int64_t exp, iat, nbf;
    enum jsonx_get g = oidc_jws_numeric_date(claims, "exp", &exp);
    if (g == JSONX_WRONG_TYPE) {
        return OIDC_ID_TOKEN_ERR_MALFORMED;
    }
    if (g != JSONX_FOUND) {
        return OIDC_ID_TOKEN_ERR_MISSING_CLAIM;
    }
    if (now - skew >= exp) {
        return OIDC_ID_TOKEN_ERR_EXPIRED;
    }
    g = oidc_jws_numeric_date(claims, "iat", &iat);
    if (g == JSONX_WRONG_TYPE) {
        return OIDC_ID_TOKEN_ERR_MALFORMED;
    }
    if (g != JSONX_FOUND) {
        return OIDC_ID_TOKEN_ERR_MISSING_CLAIM;
    }
    if (iat > now + skew) {
        return OIDC_ID_TOKEN_ERR_ISSUED_IN_FUTURE;
    }
    g = oidc_jws_numeric_date(claims, "nbf", &nbf);
    if (g == JSONX_WRONG_TYPE) {
        return OIDC_ID_TOKEN_ERR_MALFORMED;
    }
    if (g == JSONX_FOUND && nbf > now + skew) {
        return OIDC_ID_TOKEN_ERR_NOT_YET_VALID;
    }
    return OIDC_ID_TOKEN_OK;
}

/* OIDC Core 5.6.2: each name in _claim_names points at a source in
 * _claim_sources. We never resolve them, but a marker without its source
 * is a malformed (or tampered) token, as go-oidc also decides. */
static enum oidc_id_token_rc
check_distributed(const json_t *claims)
{
    const json_t *names, *sources = NULL;
    enum jsonx_get g = jsonx_get(claims, "_claim_names", &names);
    if (g == JSONX_ABSENT || g == JSONX_NULL) {
        return OIDC_ID_TOKEN_OK;
    }
    if (!json_is_object(names) ||
        jsonx_get_object(claims, "_claim_sources", &sources) != JSONX_FOUND) {
        return OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS;
    }
    const char *k;
    const json_t *src;
    json_object_foreach((json_t *)names, k, src)
    {
        if (!json_is_string(src) || json_object_get(sources, json_string_value(src)) == NULL) {
            return OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS;
        }
    }
    return OIDC_ID_TOKEN_OK;
}

static enum oidc_id_token_rc
check_claims(const struct oidc_provider *provider, const char *client_id, const json_t *claims)
{
    struct slice iss;
    if (jsonx_get_str(claims, "iss", &iss) != JSONX_FOUND ||
        !slice_eq_cstr(iss, oidc_provider_get_issuer(provider))) {
        return OIDC_ID_TOKEN_ERR_WRONG_ISSUER; /* exact: SPEC preface fix 1 */
    }
    enum oidc_id_token_rc rc = check_audience(claims, client_id);
    if (rc == OIDC_ID_TOKEN_OK) {
        rc = check_times(claims);
    }
    if (rc == OIDC_ID_TOKEN_OK) {
        rc = check_distributed(claims);
    }
    return rc;
}

/* The whole check; *out_may_refresh tells whether newer keys could change
 * the answer (an unknown kid, or a kid-less token no key verified). */
static enum oidc_id_token_rc
check(const struct oidc_provider *provider, const char *client_id, const struct oidc_jwks_set *keys,
      struct slice token, json_t **out_claims, bool *out_may_refresh)
{
    struct oidc_jws parts = {0};
    *out_may_refresh = false;
    enum oidc_id_token_rc rc = rc_of_jws(
        oidc_jws_parse(token, BOUNDS_ID_TOKEN_MAX_BYTES, provider_alg_mask(provider), &parts));
    if (rc == OIDC_ID_TOKEN_OK) {
        rc = rc_of_jws(oidc_jws_check_signature(keys, token, &parts));
        *out_may_refresh = rc == OIDC_ID_TOKEN_ERR_UNKNOWN_KID ||
                           (!parts.has_kid && (rc == OIDC_ID_TOKEN_ERR_NO_MATCHING_KEY ||
                                               rc == OIDC_ID_TOKEN_ERR_BAD_SIGNATURE));
    }
    if (rc == OIDC_ID_TOKEN_OK) {
        rc = check_claims(provider, client_id, parts.claims);
    }
    if (rc == OIDC_ID_TOKEN_OK) {
        *out_claims = parts.claims;
        parts.claims = NULL;
    }
    oidc_jws_cleanup(&parts);
    return rc;
}

enum oidc_id_token_rc
oidc_id_token_check(const struct oidc_provider *provider, const char *client_id,
                    const struct oidc_jwks_set *keys, struct slice token,
                    struct json_t **out_claims)
{
    bool may_refresh;
    return check(provider, client_id, keys, token, out_claims, &may_refresh);
}

/* ---- asynchronous verification with one refresh ---- */

struct oidc_id_token_verify {
    const struct oidc_provider *provider;
    const char *client_id;
    char *token;
    size_t token_len;
    oidc_id_token_done_fn cb;
    void *arg;
    struct event *deliver;       /* result known at start: next loop turn */
    struct oidc_jwks_wait *wait; /* waiting for newer keys */
    enum oidc_id_token_rc rc;
    json_t *claims;
};

static void
verify_free(struct oidc_id_token_verify *v)
{
    if (v->deliver != NULL) {
        event_free(v->deliver);
    }
    json_decref(v->claims);
    xfree(v->token);
    xfree(v);
}

static void
finish(struct oidc_id_token_verify *v)
{
    json_t *claims = v->claims;
    v->claims = NULL;
    v->cb(v->arg, v->rc, claims);
    verify_free(v);
}

static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg);
}

static void
on_refreshed(void *arg, struct oidc_jwks_set *set)
{
    struct oidc_id_token_verify *v = arg;
    v->wait = NULL;
    bool may_refresh;
    /* Exactly one retry: whatever the newer keys say is final. */
    v->rc = check(v->provider, v->client_id, set, slice_make(v->token, v->token_len), &v->claims,
                  &may_refresh);
    finish(v);
}

struct oidc_id_token_verify *
oidc_id_token_verify_start(const struct oidc_provider *provider, const char *client_id,
                           struct oidc_jwks *jwks, struct event_base *base, struct slice token,
                           oidc_id_token_done_fn cb, void *arg)
{
    struct oidc_id_token_verify *v = xcalloc(1, sizeof(*v));
    v->provider = provider;
    v->client_id = client_id;
    v->token = xstrndup(token.ptr ? token.ptr : "", token.len);
    v->token_len = token.len;
    v->cb = cb;
    v->arg = arg;
    v->deliver = event_new(base, -1, 0, on_deliver, v);
    if (v->deliver == NULL) {
        verify_free(v);
        return NULL;
    }
    struct oidc_jwks_set *set = oidc_jwks_get(jwks);
    bool may_refresh;
    v->rc = check(provider, client_id, set, token, &v->claims, &may_refresh);
    uint64_t generation = oidc_jwks_set_generation(set);
    oidc_jwks_set_unref(set);
    if (may_refresh) {
        v->wait = oidc_jwks_refresh_start(jwks, base, generation, on_refreshed, v);
        if (v->wait != NULL) {
            return v;
        }
        /* Rate-limited: the first answer stands (fail closed). */
    }
    event_active(v->deliver, EV_TIMEOUT, 1);
    return v;
}

void
oidc_id_token_verify_cancel(struct oidc_id_token_verify *v)
{
    if (v == NULL) {
        return;
    }
    oidc_jwks_refresh_cancel(v->wait);
    verify_free(v);
}

bool
oidc_id_token_nonce_matches(const struct json_t *claims, struct slice expected,
                            const char **out_reason)
{
    struct slice got;
    const char *reason = NULL;
    if (jsonx_get_str(claims, "nonce", &got) != JSONX_FOUND) {
        reason = "nonce_missing";
    } else if (expected.len == 0 || got.len != expected.len ||
               CRYPTO_memcmp(got.ptr, expected.ptr, got.len) != 0) {
        reason = "nonce_mismatch";
    }
    if (out_reason != NULL) {
        *out_reason = reason;
    }
    return reason == NULL;
}
