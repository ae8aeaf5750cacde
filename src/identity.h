/* identity: the signed identity assertion the proxy sends to the upstream
 * (UPSTREAM_IDENTITY_ASSERTION, docs/identity-assertion.md): the ES256 key
 * set, its public JWKS document, and the per-request JWS.
 *
 * The key set is an ordered list of P-256 private keys, read once from PEM
 * files (UPSTREAM_IDENTITY_KEY_FILE) or generated at start-up; the first
 * signs, all are published, so an operator rotates by publishing a new key
 * before signing with it. Each kid is the key's RFC 7638 thumbprint, so
 * replicas sharing a file publish the same kid with no extra setting.
 *
 * Immutable after load: shared read-only by every worker. Key material
 * stays inside identity.c and is never formatted into a log or an error.
 * OpenSSL 3 EVP directly, not cjose: the compact serialisation is three
 * base64url parts we write straight into one buffer, with none of cjose's
 * per-call JSON objects and copies, and cjose stays inside oidc/. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

/* The request header that carries the assertion upstream. Not
 * Authorization: that one is UPSTREAM_AUTHORIZATION_HEADER's (the
 * upstream's own static credential), and the two must coexist. */
#define IDENTITY_ASSERTION_HEADER "X-MCP-Identity-Assertion"

enum identity_rc {
    IDENTITY_OK = 0,
    IDENTITY_ERR_UNREADABLE,      /* the file cannot be opened or read */
    IDENTITY_ERR_NOT_PRIVATE_KEY, /* no unencrypted PEM private key in it */
    IDENTITY_ERR_NOT_EC,          /* a private key, but not an EC one */
    IDENTITY_ERR_WRONG_CURVE,     /* an EC key on another curve than P-256 */
    IDENTITY_ERR_TOO_MANY,        /* more keys than BOUNDS_IDENTITY_KEYS_MAX */
    IDENTITY_ERR_DUPLICATE,       /* the same key listed twice */
    IDENTITY_ERR_VALUE,           /* a claim is not valid UTF-8 JSON text material */
    IDENTITY_ERR_TOO_LARGE,       /* the assertion would pass its cap */
    IDENTITY_ERR_SIGN,            /* OpenSSL refused to sign */
    IDENTITY_RC_COUNT,
};

/* A short constant name ("unreadable", "wrong_curve"...) for logs. */
const char *identity_rc_str(enum identity_rc rc);
/* One sentence saying what is wrong with a key file and how to fix it,
 * for --check-config and start-up errors. */
const char *identity_rc_reason(enum identity_rc rc);

struct identity_keys;

/* Reads one PEM file and checks that it holds a P-256 private key, then
 * forgets the key. The start-up check of each listed file. */
enum identity_rc identity_key_file_check(const char *path) __attribute__((warn_unused_result));

/* Loads the listed files in order (the first signs). NULL with *out_rc and
 * *out_bad (the index of the failing file) on error. */
struct identity_keys *identity_keys_load(const char *const *paths, size_t n,
                                         enum identity_rc *out_rc, size_t *out_bad)
    __attribute__((warn_unused_result));
/* One fresh P-256 key, for a process without UPSTREAM_IDENTITY_KEY_FILE.
 * Never NULL (a CSPRNG or allocation failure is fatal). */
struct identity_keys *identity_keys_generate(void);
/* Wipes and frees; NULL is a no-op. */
void identity_keys_free(struct identity_keys *k);

/* The JWKS document (RFC 7517 5): {"keys":[...]} with every key's public
 * half, kty/crv/x/y/kid/alg/use, newline-terminated. Borrowed from k. */
struct slice identity_keys_jwks(const struct identity_keys *k);
/* The kid of the signing key (43 base64url characters). Borrowed. */
const char *identity_keys_signing_kid(const struct identity_keys *k);
/* Number of keys in the set. */
size_t identity_keys_count(const struct identity_keys *k);

/* What the assertion says; everything borrowed. Strings are NUL-terminated
 * UTF-8; NULL or "" for an optional one leaves its claim out. */
struct identity_claims {
    const char *iss;           /* PROXY_BASE_URL */
    const char *aud;           /* the upstream origin, scheme://host[:port] */
    const char *sub;           /* required */
    const char *email;         /* always written ("" when unknown) */
    const char *const *groups; /* written as an array, [] when none */
    size_t group_count;
    const char *scope;     /* the token's granted scope, space-joined */
    const char *client_id; /* the OAuth client the token was issued to */
    const char *acr;       /* optional: written when non-empty */
    int64_t auth_time;     /* optional: written when > 0 (Unix s) */
};

/* Appends one compact JWS (header.payload.signature, ES256, typ JWT, the
 * signing key's kid) to out: the claims above plus jti (16 random bytes,
 * base64url), iat = now_s and exp = now_s + BOUNDS_IDENTITY_ASSERTION_TTL_S.
 * On error out is unchanged. */
enum identity_rc identity_sign(const struct identity_keys *k, const struct identity_claims *c,
                               int64_t now_s, struct buf *out) __attribute__((warn_unused_result));
