#include "base/pkce.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>

#include "base/b64url.h"
#include "base/rand.h"
#include "base/scan.h"

bool
pkce_is_valid_verifier(struct slice verifier)
{
    if (verifier.len < PKCE_VERIFIER_MIN_LEN || verifier.len > PKCE_VERIFIER_MAX_LEN) {
        return false;
    }
    for (size_t i = 0; i < verifier.len; i++) {
        if (!scan_is_unreserved((unsigned char)verifier.ptr[i])) {
            return false;
        }
    }
    return true;
}

void
pkce_challenge_s256(struct slice verifier, char out[PKCE_S256_LEN + 1])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(verifier.ptr ? verifier.ptr : ""), verifier.len, digest);
    b64url_encode(digest, sizeof(digest), out);
}

bool
pkce_verify_s256(struct slice verifier, struct slice challenge)
{
    if (!pkce_is_valid_verifier(verifier) || challenge.len != PKCE_S256_LEN) {
        return false;
    }
    char expect[PKCE_S256_LEN + 1];
    pkce_challenge_s256(verifier, expect);
    /* Constant time: a byte-by-byte early exit would tell an attacker who
     * can time /token how many leading characters matched. */
    return CRYPTO_memcmp(expect, challenge.ptr, PKCE_S256_LEN) == 0;
}

void
pkce_new_verifier(char out[PKCE_S256_LEN + 1])
{
    uint8_t raw[32];
    rand_bytes(raw, sizeof(raw));
    b64url_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
}
