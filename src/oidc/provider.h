/* The OpenID provider's metadata (SPEC.md 6.1) and the authorization URL
 * that sends a user to it (6.2).
 *
 * Discovery runs once at start-up, blocking, with retries; the resulting
 * struct oidc_provider is read-only afterwards and shared by every worker
 * without locks or reference counts (it lives until the process ends).
 * Issuers are compared exactly as configured (SPEC preface fix 1): no
 * trailing-slash stripping anywhere. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

/* id_token signing algorithms we verify (SPEC.md 6.1's list). EdDSA is not
 * here: cjose 0.6.2 in Debian 12 has no OKP keys or EdDSA signatures. */
enum oidc_alg {
    OIDC_ALG_RS256 = 0,
    OIDC_ALG_RS384,
    OIDC_ALG_RS512,
    OIDC_ALG_PS256,
    OIDC_ALG_PS384,
    OIDC_ALG_PS512,
    OIDC_ALG_ES256,
    OIDC_ALG_ES384,
    OIDC_ALG_ES512,
    OIDC_ALG_COUNT,
};

/* The JOSE name ("RS256"). */
const char *oidc_alg_str(enum oidc_alg alg);
/* Exact, case-sensitive JOSE name → alg; false for anything else ("none",
 * "HS256", "rs256", "EdDSA"). */
bool oidc_alg_parse(struct slice name, enum oidc_alg *out);

/* How we authenticate at the token endpoint (SPEC preface fix 6): chosen
 * once from token_endpoint_auth_methods_supported, never by trying both. */
enum oidc_auth_method {
    OIDC_AUTH_CLIENT_SECRET_BASIC = 0,
    OIDC_AUTH_CLIENT_SECRET_POST,
    OIDC_AUTH_METHOD_COUNT,
};

const char *oidc_auth_method_str(enum oidc_auth_method m);

struct oidc_provider;

/* Builds a provider from a discovery document (pure; discovery and tests
 * use it). Checks, in order: a JSON object; "issuer" equal to
 * configured_issuer byte for byte; authorization_endpoint, token_endpoint
 * and jwks_uri present as absolute http(s) URLs (https when the issuer is
 * https); id_token_signing_alg_values_supported, when present, an array of
 * strings, filtered to enum oidc_alg (none of ours listed, or absent: RS256
 * only, as OIDC Discovery 1.0 section 3 defaults);
 * token_endpoint_auth_methods_supported, when present, an array of strings:
 * client_secret_basic if listed, else client_secret_post if listed, else
 * basic (OIDC Core 9's default).
 * On success *out is owned by the caller (oidc_provider_free). On failure
 * returns -1 and appends one sentence to err; when the two issuers differ
 * only by a trailing '/', the sentence names the value to configure. */
int oidc_provider_parse(const char *configured_issuer, struct slice document,
                        struct oidc_provider **out, struct buf *err)
    __attribute__((warn_unused_result));
void oidc_provider_free(struct oidc_provider *p);

/* "<issuer>/.well-known/openid-configuration" without a doubled '/' when
 * the issuer ends with '/'. -1 at the buffer's cap. */
int oidc_provider_discovery_url(const char *issuer, struct buf *out)
    __attribute__((warn_unused_result));

struct oidc_discovery_policy {
    unsigned attempts;         /* >= 1 */
    uint64_t timeout_ms;       /* per attempt */
    uint64_t first_backoff_ms; /* sleep after the first failure; doubles */
    uint64_t max_backoff_ms;   /* cap on one sleep */
};

/* SPEC.md 6.1: 5 attempts, 10 s each, sleeping 1, 2, 4, 8 s (cap 15 s). */
struct oidc_discovery_policy oidc_provider_default_policy(void);

/* Start-up discovery: GET the discovery URL (fetch_blocking) and parse it,
 * retrying per policy (NULL = the default) after transport failures,
 * non-200 answers and unparseable documents. An issuer mismatch is a
 * configuration error and is not retried. Between attempts logs warn
 * oidc_discovery_retry (attempt, backoff_ms, error). stop (may be NULL) is
 * the start-up "SIGTERM/SIGINT received" flag set by main's signal handler:
 * it is polled every 100 ms during requests and sleeps, and aborts
 * discovery at once. On success *out is the provider (caller owns it). On
 * failure returns -1 and err holds one sentence naming the discovery URL
 * and the last error; the caller logs oidc_discovery_failed and exits 1. */
int oidc_provider_discover(const char *issuer, const struct oidc_discovery_policy *policy,
                           const atomic_bool *stop, struct oidc_provider **out, struct buf *err)
    __attribute__((warn_unused_result));

/* Borrowed strings, valid while the provider lives. */
const char *oidc_provider_get_issuer(const struct oidc_provider *p);
const char *oidc_provider_get_authorization_endpoint(const struct oidc_provider *p);
const char *oidc_provider_get_token_endpoint(const struct oidc_provider *p);
const char *oidc_provider_get_jwks_uri(const struct oidc_provider *p);
enum oidc_auth_method oidc_provider_get_auth_method(const struct oidc_provider *p);
/* Did discovery advertise alg (after filtering to our allowlist)? */
bool oidc_provider_allows_alg(const struct oidc_provider *p, enum oidc_alg alg);

/* The parameters of one authorization request (SPEC.md 6.2). */
struct oidc_authorize_request {
    const char *client_id;     /* OIDC_CLIENT_ID */
    const char *redirect_uri;  /* <base>/callback */
    const char *state;         /* the sealed session */
    const char *nonce;         /* 32 hex chars, also sealed in the session */
    const char *pkce_verifier; /* upstream verifier; S256 of it is sent */
    /* Step-up (docs/step-up.md); zeroed = none of them sent. */
    const char *acr_values; /* space-joined; NULL or "" = not sent */
    int64_t max_age;        /* > 0: sent as max_age */
    bool prompt_login;      /* prompt=login: a fresh login (max_age 0) */
};

/* Appends the authorization URL: the discovered endpoint, then '&' if it
 * already contains '?' else '?', then the form-encoded parameters with keys
 * sorted: acr_values (when set), client_id, code_challenge,
 * code_challenge_method=S256, max_age (when > 0), nonce, prompt=login (when
 * asked), redirect_uri, response_mode=query, response_type=code,
 * scope=openid+email+profile, state. -1 at the buffer's cap. */
int oidc_provider_authorization_url(const struct oidc_provider *p,
                                    const struct oidc_authorize_request *r, struct buf *out)
    __attribute__((warn_unused_result));
