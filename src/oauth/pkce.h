/* PKCE with S256 (RFC 7636), shared by both legs: the upstream leg to the
 * IdP (/consent mints a verifier, /callback sends it) and the downstream
 * leg (/token checks a client's verifier against the sealed challenge).
 *
 * Pure: no I/O, no allocation. Only S256 exists here; "plain" is refused
 * by the handlers (SPEC.md 3.3 step 12). */
#pragma once

#include <stdbool.h>

#include "base/slice.h"

/* base64url without padding of 32 bytes: both a minted verifier and an S256
 * challenge are exactly this long. */
#define OAUTH_PKCE_S256_LEN 43

/* RFC 7636 4.1 / SPEC.md 3.8 step 2: 43 to 128 characters, each unreserved
 * (ALPHA / DIGIT / "-" / "." / "_" / "~"). The same rule applies to a
 * client's code_challenge (SPEC.md 3.3 step 12). */
bool oauth_pkce_is_valid_verifier(struct slice verifier);

/* RFC 7636 4.2: out = BASE64URL(SHA-256(ASCII(verifier))), 43 chars + NUL.
 * Computes for any input; validating the verifier is the caller's step. */
void oauth_pkce_challenge_s256(struct slice verifier, char out[OAUTH_PKCE_S256_LEN + 1]);

/* Does verifier hash to challenge (S256)? The comparison is constant-time
 * (CRYPTO_memcmp) over the 43 characters, so timing says nothing about how
 * much of a guess was right. False for an invalid verifier or a challenge
 * that is not exactly 43 characters. */
bool oauth_pkce_verify(struct slice verifier, struct slice challenge);

/* RFC 7636 4.1 and SPEC.md 2.7: 32 bytes from the CSPRNG, base64url (43
 * chars + NUL). */
void oauth_pkce_new_verifier(char out[OAUTH_PKCE_S256_LEN + 1]);
