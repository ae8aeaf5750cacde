/* PKCE with S256 (RFC 7636): the verifier rule, the S256 transform, its
 * constant-time check and a fresh verifier. Vocabulary for both legs of the
 * proxy's flow -- toward the IdP (a minted verifier) and toward the client
 * (a client's verifier checked against the sealed challenge) -- and for the
 * browser binding, which uses the same transform (oauth/binding.h).
 *
 * Pure: no I/O, no allocation. Only S256 exists here; "plain" is refused
 * by the callers (SPEC.md 3.3 step 12). */
#pragma once

#include <stdbool.h>

#include "base/slice.h"

/* RFC 7636 4.1: a verifier (and, SPEC.md 3.3 step 12, a client's
 * code_challenge) is 43 to 128 characters. Fixed by the RFC, not tunable. */
#define PKCE_VERIFIER_MIN_LEN 43
#define PKCE_VERIFIER_MAX_LEN 128

/* base64url without padding of 32 bytes: both a minted verifier and an S256
 * challenge are exactly this long. */
#define PKCE_S256_LEN 43

/* RFC 7636 4.1 / SPEC.md 3.8 step 2: PKCE_VERIFIER_MIN_LEN to
 * PKCE_VERIFIER_MAX_LEN characters, each unreserved (ALPHA / DIGIT / "-" /
 * "." / "_" / "~"). */
bool pkce_is_valid_verifier(struct slice verifier);

/* RFC 7636 4.2: out = BASE64URL(SHA-256(ASCII(verifier))), 43 chars + NUL.
 * Computes for any input; validating the verifier is the caller's step. */
void pkce_challenge_s256(struct slice verifier, char out[PKCE_S256_LEN + 1]);

/* Does verifier hash to challenge (S256)? The comparison is constant-time
 * (CRYPTO_memcmp) over the 43 characters, so timing says nothing about how
 * much of a guess was right. False for an invalid verifier or a challenge
 * that is not exactly 43 characters. */
bool pkce_verify_s256(struct slice verifier, struct slice challenge);

/* RFC 7636 4.1 and SPEC.md 2.7: 32 bytes from the CSPRNG, base64url (43
 * chars + NUL). */
void pkce_new_verifier(char out[PKCE_S256_LEN + 1]);
