/* Test support: keys, signed compact JWS and hand-assembled ones, for the
 * tests of every JWS consumer (id_token, client_assertion, the callback).
 * Failures abort the test through cmocka's asserts. */
#pragma once

#include <stddef.h>

#include <cjose/cjose.h>
#include <jansson.h>

/* A fresh key with its kid set (caller releases: cjose_jwk_release). */
cjose_jwk_t *jws_mint_rsa_key(const char *kid);
cjose_jwk_t *jws_mint_ec_key(cjose_jwk_ec_curve crv, const char *kid);

/* Signs claims (stolen) with key under alg. kid NULL: no kid header.
 * extra_header (stolen, may be NULL) is the header to add alg and kid to.
 * Returns the compact serialization (caller frees). */
char *jws_mint_sign(cjose_jwk_t *key, const char *alg, const char *kid, json_t *extra_header,
                    json_t *claims);

/* b64url(header_json).b64url(payload_json).sig_b64, for tokens no signer
 * would produce (caller frees). */
char *jws_mint_assemble(const char *header_json, const char *payload_json, const char *sig_b64);

/* The algorithm-confusion forgery: header {"alg":"HS256","kid":kid}, the
 * claims (stolen), "signed" by HMAC-SHA256 keyed with the public JWK JSON
 * of key -- what a verifier that let the token pick HS256 would accept
 * (caller frees). */
char *jws_mint_hs256_confused(cjose_jwk_t *key, const char *kid, json_t *claims);

/* {"keys":[the public halves of keys]}, each with "alg" set when alg is not
 * NULL (caller frees). */
char *jws_mint_public_jwks(cjose_jwk_t *const *keys, size_t n, const char *alg);
