/* RFC 7523 client authentication (private_key_jwt) for clients registered
 * by a Client ID Metadata Document, the pure half: which request carries
 * an assertion, and whether an assertion holds against a key set. No I/O,
 * no logging: oauth/token.c finds the keys (the document's inline "jwks",
 * or its "jwks_uri" through oauth/cimd.h), claims the jti in the replay
 * store, and logs and meters the verdict given here.
 *
 * The checks, in order, failing closed at the first (docs/cimd.md):
 *   compact JWS of at most BOUNDS_CLIENT_ASSERTION_MAX_BYTES; header "alg"
 *   RS256, PS256 or ES256 (never none, HS*, or anything else); a key with
 *   the header's "kid" (without a kid, any key able to do the alg) whose
 *   type, curve and own "alg" (when it names one) fit; "jku", "x5u",
 *   "jwk" and "x5c" headers ignored; the signature (oidc/jws.h, cjose);
 *   then "iss" and "sub" equal to the client_id byte for byte; "aud" the
 *   AS issuer or the token endpoint URL, a string or an array of strings
 *   each of which is one of those two (an array holding anything else is
 *   refused: the 2025 audience-injection attack); "exp" present, now <
 *   exp + skew, and exp - now <= BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S +
 *   skew; "nbf", when present, <= now + skew; "iat", when present, <= now
 *   + skew and exp - iat <= the lifetime cap; "jti" a non-empty string of
 *   at most BOUNDS_CLIENT_ASSERTION_JTI_MAX bytes. Skew is
 *   BOUNDS_CLIENT_ASSERTION_SKEW_S. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "bounds.h"

struct oidc_jwks_set;

#define OAUTH_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Every outcome of client authentication by assertion, checks here and the
 * steps around them alike; the label of mcp_auth_client_assertion_total. */
enum oauth_client_assertion_rc {
    OAUTH_CLIENT_ASSERTION_OK = 0,
    OAUTH_CLIENT_ASSERTION_BAD_TYPE,  /* client_assertion_type missing or another value */
    OAUTH_CLIENT_ASSERTION_MALFORMED, /* not a compact JWS, bad JSON, crit, claim types */
    OAUTH_CLIENT_ASSERTION_ALG_NOT_ALLOWED,
    OAUTH_CLIENT_ASSERTION_UNKNOWN_KID,
    OAUTH_CLIENT_ASSERTION_NO_MATCHING_KEY, /* no key of the alg's type (or its own alg differs) */
    OAUTH_CLIENT_ASSERTION_BAD_SIGNATURE,
    OAUTH_CLIENT_ASSERTION_WRONG_ISSUER,
    OAUTH_CLIENT_ASSERTION_WRONG_SUBJECT,
    OAUTH_CLIENT_ASSERTION_WRONG_AUDIENCE,
    OAUTH_CLIENT_ASSERTION_EXPIRED, /* exp absent or past */
    OAUTH_CLIENT_ASSERTION_LIFETIME_TOO_LONG,
    OAUTH_CLIENT_ASSERTION_NOT_YET_VALID, /* nbf or iat in the future */
    OAUTH_CLIENT_ASSERTION_MISSING_JTI,
    OAUTH_CLIENT_ASSERTION_CLIENT_ID_MISMATCH, /* the form's client_id is not iss */
    OAUTH_CLIENT_ASSERTION_REPLAYED,           /* the jti was used before (the store says) */
    OAUTH_CLIENT_ASSERTION_NO_KEYS,          /* a sealed (DCR) client, or a document without keys */
    OAUTH_CLIENT_ASSERTION_KEYS_UNAVAILABLE, /* jwks_uri could not be fetched or parsed */
    OAUTH_CLIENT_ASSERTION_RC_COUNT,
};

/* snake_case label ("bad_signature"). Static. */
const char *oauth_client_assertion_rc_str(enum oauth_client_assertion_rc rc);
/* The error_description sent with 401 invalid_client. Static. */
const char *oauth_client_assertion_description(enum oauth_client_assertion_rc rc);

/* The form's client authentication fields, before any lookup: type is
 * client_assertion_type, assertion client_assertion, client_id the form's
 * client_id ("" for each one absent). OK when the request carries a
 * well-typed assertion: client_id_out (capacity cap, > 0) is then "" when
 * the form has a client_id (resolve that one), else, since RFC 7521 4.2
 * makes it optional, the assertion's unverified "iss" to resolve (verified
 * like everything else later). BAD_TYPE
 * for a type other than OAUTH_CLIENT_ASSERTION_TYPE or one without the
 * other; MALFORMED when no "iss" can be read and the form has no
 * client_id; CLIENT_ID_MISMATCH when the form's client_id is not the
 * assertion's "iss" (RFC 7521 4.2). Call only when type or assertion is
 * non-empty. */
enum oauth_client_assertion_rc oauth_client_assertion_front(struct slice type,
                                                            struct slice assertion,
                                                            struct slice client_id,
                                                            char *client_id_out, size_t cap);

/* What the assertion must name. All borrowed. */
struct oauth_client_assertion_expect {
    const char *client_id;      /* iss and sub */
    const char *issuer;         /* the AS metadata issuer */
    const char *token_endpoint; /* the token endpoint URL */
    int64_t now_s;
};

/* What a good assertion said, for the replay claim. */
struct oauth_client_assertion_claims {
    char jti[BOUNDS_CLIENT_ASSERTION_JTI_MAX + 1];
    int64_t exp;
};

/* Every check above against keys. OK fills *out; otherwise *out is
 * untouched. */
enum oauth_client_assertion_rc
oauth_client_assertion_check(const struct oidc_jwks_set *keys, struct slice assertion,
                             const struct oauth_client_assertion_expect *expect,
                             struct oauth_client_assertion_claims *out)
    __attribute__((warn_unused_result));

/* Whether fresher keys could change rc: an unknown kid, or an assertion
 * without kid that no key verified. */
bool oauth_client_assertion_keys_may_be_stale(enum oauth_client_assertion_rc rc);

/* The assertion's "iss", unverified, copied to out (capacity cap, NUL
 * included) when it is a string that fits: the client_id to look up when
 * the form has none (RFC 7521 4.2 makes client_id optional). false when
 * there is none; the full check decides everything later. */
bool oauth_client_assertion_peek_issuer(struct slice assertion, char *out, size_t cap);

/* The replay store id of (client_id, jti): base64url of
 * SHA-256(client_id || 0x00 || jti), 43 characters and a NUL, so any jti
 * and any client_id URL fit a store key and one client cannot spend
 * another's jti. */
#define OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN 43
void oauth_client_assertion_replay_id(const char *client_id, const char *jti,
                                      char out[OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN + 1]);

/* How long the jti is remembered: until exp + skew, in ms (at least 1). */
uint64_t oauth_client_assertion_replay_ttl_ms(int64_t exp, int64_t now_s);
