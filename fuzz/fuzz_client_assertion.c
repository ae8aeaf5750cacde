/* Fuzz target: an RFC 7523 client_assertion through everything /token
 * does with it before the replay store -- the form-level front (type,
 * unverified iss peek, client_id agreement), then the compact JWS split,
 * strict base64url, header and payload JSON, the RS256/PS256/ES256
 * allow-list, key selection by kid, cjose's signature check and the claim
 * rules (iss, sub, aud, exp, lifetime, nbf, iat, jti) -- against a fixed
 * client key set and expectation.
 *
 * The JWK Set below holds the public halves of the keys that signed the
 * valid-* seeds in corpus/client_assertion/ (made once with node:crypto);
 * NOW is fixed so their exp stays valid forever. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "oauth/client_assertion.h"
#include "oidc/jwks.h"

#define FUZZ_NOW 1780000000
#define FUZZ_CLIENT "https://client.example.com/oauth/client.json"

static const char jwks_json[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"k9SyO_sLtDaP9kZAglr21I-RrsYnlgEZ9ZVLGieLC0qpjd7j"
    "zvX6ltQoolUUuYgfBg8tIK4CGOuz42FfYVIQeVxcgyuLNMaxpzHr79CwxPlia2WSwXSQ2nzmVe96fnv7hSe5"
    "XyEX9e5JFEj04zAQQ8I0aQhyANEJwxOMi-TrWojeeBlUKHyxhNCBFurntwKBpvSa4DP-j1EHnrYo7w2sgbVa"
    "C2Beu7mW9WzAYIIL9UnJnJawBhl6oi6A0y_sz6k8su7TPWu9MePE0PGlV8Y5RHC-ivwbSPcalhh-keaNYCHI"
    "uM0qliKx8V7p3Qt64oikCOD0yDskP7mWWRz8oDPRoQ\",\"e\":\"AQAB\",\"kid\":\"rsa-1\"},{\"kt"
    "y\":\"EC\",\"x\":\"v-XZkb4Wezh7l7wTks-G3MZk4Obi0NFsZBxJ2nH6YA8\",\"y\":\"YLIgZzHhbwt"
    "eLKeJKimZQaOdIfHJpka42zSHNbq0smo\",\"crv\":\"P-256\",\"kid\":\"ec-1\"}]}";

static struct oidc_jwks_set *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct buf err;
    buf_init(&err, 1024);
    if (oidc_jwks_set_parse(slice_from_cstr(jwks_json), &keys, &err) != 0 ||
        oidc_jwks_set_count(keys) != 2) {
        abort();
    }
    buf_cleanup(&err);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice assertion = slice_make((const char *)data, size);
    char iss[BOUNDS_CIMD_URL_MAX_BYTES + 1];
    enum oauth_client_assertion_rc front = oauth_client_assertion_front(
        SLICE_LIT(OAUTH_CLIENT_ASSERTION_TYPE), assertion, SLICE_LIT(""), iss, sizeof(iss));
    if (front == OAUTH_CLIENT_ASSERTION_OK && strlen(iss) >= sizeof(iss)) {
        abort();
    }
    const struct oauth_client_assertion_expect expect = {
        .client_id = FUZZ_CLIENT,
        .issuer = "https://auth.example.com",
        .token_endpoint = "https://auth.example.com/token",
        .now_s = FUZZ_NOW,
    };
    struct oauth_client_assertion_claims claims;
    memset(&claims, 0xA5, sizeof(claims));
    enum oauth_client_assertion_rc rc =
        oauth_client_assertion_check(keys, assertion, &expect, &claims);
    if (rc >= OAUTH_CLIENT_ASSERTION_RC_COUNT || oauth_client_assertion_rc_str(rc) == NULL) {
        abort();
    }
    if (rc == OAUTH_CLIENT_ASSERTION_OK) {
        /* A verified assertion names this client and carries a usable jti
         * and an exp inside the lifetime cap. */
        size_t n = strnlen(claims.jti, sizeof(claims.jti));
        if (front != OAUTH_CLIENT_ASSERTION_OK || strcmp(iss, FUZZ_CLIENT) != 0 || n == 0 ||
            n > BOUNDS_CLIENT_ASSERTION_JTI_MAX ||
            claims.exp <= FUZZ_NOW - BOUNDS_CLIENT_ASSERTION_SKEW_S ||
            claims.exp > FUZZ_NOW + BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S +
                             BOUNDS_CLIENT_ASSERTION_SKEW_S) {
            abort();
        }
        char id[OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN + 1];
        oauth_client_assertion_replay_id(FUZZ_CLIENT, claims.jti, id);
        if (strlen(id) != OAUTH_CLIENT_ASSERTION_REPLAY_ID_LEN) {
            abort();
        }
    }
    return 0;
}
