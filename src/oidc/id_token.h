/* id_token verification (SPEC.md 6.4 with preface fixes 1 and 6).
 *
 * A compact JWS is checked in this order, failing closed at the first
 * problem: size and shape (three strict base64url segments, a JSON object
 * header and payload); header "alg" in our allowlist (RS256/384/512,
 * PS256/384/512, ES256/384/512 — never "none", never HMAC; no EdDSA since
 * Debian's cjose 0.6.2 lacks it) AND advertised by the provider; no "crit";
 * key selection by "kid" (every key whose type fits the alg when the token
 * has no kid), the alg consistent with each key's type and curve; the
 * signature (cjose); then the claims: "iss" equal to the provider's issuer
 * byte for byte; "aud" (string or array) containing the client id; "azp",
 * when present or when there are several audiences, equal to the client
 * id; "exp" present and now < exp + skew; "iat" present and iat <= now +
 * skew; "nbf", when present, nbf <= now + skew; no distributed-claims
 * markers without their sources. Skew is BOUNDS_ID_TOKEN_SKEW_S (60 s) on
 * all three times, for IdP and proxy clocks that disagree a little.
 *
 * The nonce is a separate step (oidc_id_token_nonce_matches) because
 * /callback answers a nonce mismatch differently (SPEC.md 3.7 step 12).
 * cjose stays inside this module and jwks.c. Nothing here logs. */
#pragma once

#include <stdbool.h>

#include "base/slice.h"

struct event_base;
struct json_t;
struct oidc_jwks;
struct oidc_jwks_set;
struct oidc_provider;

enum oidc_id_token_rc {
    OIDC_ID_TOKEN_OK = 0,
    OIDC_ID_TOKEN_ERR_MALFORMED,        /* shape, encoding, JSON, types, crit */
    OIDC_ID_TOKEN_ERR_ALG_NOT_ALLOWED,  /* none, HS*, unknown, or not advertised */
    OIDC_ID_TOKEN_ERR_UNKNOWN_KID,      /* no key with the token's kid */
    OIDC_ID_TOKEN_ERR_ALG_KEY_MISMATCH, /* the kid's key cannot do the token's alg */
    OIDC_ID_TOKEN_ERR_NO_MATCHING_KEY,  /* no kid, and no key can do the alg */
    OIDC_ID_TOKEN_ERR_BAD_SIGNATURE,
    OIDC_ID_TOKEN_ERR_WRONG_ISSUER,   /* iss absent or not exactly the issuer */
    OIDC_ID_TOKEN_ERR_WRONG_AUDIENCE, /* aud absent or without the client id */
    OIDC_ID_TOKEN_ERR_AZP_MISMATCH,
    OIDC_ID_TOKEN_ERR_MISSING_CLAIM, /* exp or iat absent */
    OIDC_ID_TOKEN_ERR_EXPIRED,
    OIDC_ID_TOKEN_ERR_ISSUED_IN_FUTURE,
    OIDC_ID_TOKEN_ERR_NOT_YET_VALID,
    OIDC_ID_TOKEN_ERR_DISTRIBUTED_CLAIMS,
    OIDC_ID_TOKEN_RC_COUNT,
};

/* snake_case name for logs ("bad_signature", ...). */
const char *oidc_id_token_rc_str(enum oidc_id_token_rc rc);

/* Synchronous check against one key snapshot, no refresh (the fuzz target
 * and the asynchronous path use it). On OK *out_claims is the payload
 * object (caller owns it: json_decref); otherwise it is untouched. */
enum oidc_id_token_rc oidc_id_token_check(const struct oidc_provider *provider,
                                          const char *client_id, const struct oidc_jwks_set *keys,
                                          struct slice token, struct json_t **out_claims)
    __attribute__((warn_unused_result));

/* The result of oidc_id_token_verify_start, on the caller's loop. On OK the
 * callee owns claims (json_decref); otherwise claims is NULL. The verify
 * handle is already gone when this runs. */
typedef void (*oidc_id_token_done_fn)(void *arg, enum oidc_id_token_rc rc, struct json_t *claims);

struct oidc_id_token_verify;

/* Verifies token (copied) against jwks's current keys. When the token's kid
 * is unknown (or, for a token without kid, no key verifies), asks jwks for
 * one refresh and checks once more against the newer keys; when the
 * refresh is refused by its rate limit the result is the first one (fail
 * closed). cb always runs later on base, never inside this call. provider,
 * jwks and client_id are borrowed and must outlive the verification. The
 * handle is owned by the module until cb runs; cancel it with
 * oidc_id_token_verify_cancel. */
struct oidc_id_token_verify *
oidc_id_token_verify_start(const struct oidc_provider *provider, const char *client_id,
                           struct oidc_jwks *jwks, struct event_base *base, struct slice token,
                           oidc_id_token_done_fn cb, void *arg) __attribute__((warn_unused_result));
/* cb will not run. On base's thread, before cb has run. NULL is a no-op. */
void oidc_id_token_verify_cancel(struct oidc_id_token_verify *v);

/* SPEC.md 3.7 step 12: does the verified claims' "nonce" equal expected?
 * Compared in constant time. When false, *out_reason (if not NULL) is
 * "nonce_missing" (absent or not a string) or "nonce_mismatch". An empty
 * expected nonce never matches. */
bool oidc_id_token_nonce_matches(const struct json_t *claims, struct slice expected,
                                 const char **out_reason);
