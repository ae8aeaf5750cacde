/* seal: the key ring and the sealed envelope (DESIGN.md "Sealed envelope",
 * SPEC.md 2; the byte layout is in docs/internals/seal.md).
 *
 *   token = base64url( version(1) | key id(4) | nonce(12) | ciphertext | tag(16) )
 *
 * AES-256-GCM; the additional data is version | key id | purpose name, so a
 * token sealed for one purpose, or whose header was altered, fails
 * authentication. The key id selects one key of the ring directly; opening
 * never tries keys in turn.
 *
 * This module knows bytes, not payloads: it does not look inside the JSON.
 * The typed layer (grants.h) is the one place that checks `typ`, `aud` and
 * expiry; handlers open tokens through it, never through seal_open.
 *
 * Pure: no I/O, no event loop. The one exception is the single warn line
 * `token_seal_rotation_threshold` that SPEC.md 2.6 asks for. Key material
 * lives only inside struct seal_ring and is wiped when the ring is freed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "bounds.h"

#define SEAL_VERSION 1
#define SEAL_KEY_LEN 32
#define SEAL_KEY_ID_LEN 4
#define SEAL_KEY_ID_HEX_LEN (2 * SEAL_KEY_ID_LEN)
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
/* version | key id | nonce */
#define SEAL_HEADER_LEN (1 + SEAL_KEY_ID_LEN + SEAL_NONCE_LEN)
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)
/* Most bytes a token of BOUNDS_SEALED_MAX_CHARS characters decodes to; a
 * seal_open work buffer of this size is always large enough. */
#define SEAL_DECODED_MAX (BOUNDS_SEALED_MAX_CHARS / 4 * 3)
/* Largest plaintext whose token still opens (SPEC.md 2.1's 16 384-char cap). */
#define SEAL_PLAINTEXT_MAX (SEAL_DECODED_MAX - SEAL_OVERHEAD)
/* SPEC.md 2.6: warn once when this many seals have been made. */
#define SEAL_COUNT_WARN_THRESHOLD (UINT64_C(1) << 28)

/* The GCM additional data per purpose. Same order as enum metrics_purpose
 * (checked at compile time in seal.c). */
enum seal_purpose {
    SEAL_PURPOSE_CLIENT = 0,
    SEAL_PURPOSE_CONSENT,
    SEAL_PURPOSE_SESSION,
    SEAL_PURPOSE_CODE,
    SEAL_PURPOSE_ACCESS,
    SEAL_PURPOSE_REFRESH,
    SEAL_PURPOSE_COUNT,
};

/* Outcomes of sealing and opening the envelope (STYLE.md 3.4). What the
 * payload inside says (its typ, audience, expiry) is the typed layer's
 * business and its own outcome (enum grants_rc, grants.h). AEAD cannot tell
 * "sealed for another purpose" from "forged": both are FORGED here, and
 * both mean "reject". */
enum seal_rc {
    SEAL_OK = 0,
    SEAL_ERR_MALFORMED,   /* not base64url, too short, unknown version (grants: a negative
                           * time given to seal) */
    SEAL_ERR_UNKNOWN_KEY, /* key id not in the ring (a retired or foreign secret) */
    SEAL_ERR_FORGED,      /* tag check failed: altered, or another purpose */
    SEAL_ERR_TOO_LARGE,   /* token over BOUNDS_SEALED_MAX_CHARS, or output over its cap */
    SEAL_RC_COUNT,
};

#define SEAL_WUR __attribute__((warn_unused_result))

const char *seal_purpose_str(enum seal_purpose purpose);
/* false when s names no purpose. */
bool seal_purpose_from_str(struct slice s, enum seal_purpose *out);
const char *seal_rc_str(enum seal_rc rc);

struct seal_ring;

/* Builds the ring from the raw secret bytes (used as-is, no decoding):
 * `primary` (TOKEN_SIGNING_SECRET) seals and opens; each of the `previous`
 * secrets (TOKEN_SIGNING_SECRETS_PREVIOUS, in order) only opens. Keys are
 * derived with HKDF-SHA256 (see seal.c). A previous secret equal to one
 * already in the ring is skipped. Returns NULL when the primary is empty,
 * a previous secret is empty, or two different secrets derive the same key
 * id (odds about 2^-32 per pair; the caller reports it as a configuration
 * error asking for a new secret). The arguments are copied; free the ring
 * with seal_ring_free. */
struct seal_ring *seal_ring_new(const char *primary, size_t primary_len, char *const *previous,
                                const size_t *previous_lens, size_t previous_count) SEAL_WUR;
/* Wipes the keys and frees; NULL is a no-op. */
void seal_ring_free(struct seal_ring *ring);
/* A number no other ring of this process has had or will have (1, 2, ...;
 * a ring built again from the same secrets gets a new one). What opened
 * under a ring may be remembered under its serial: a ring at a reused
 * address is still told apart (proxy/bearer_cache.h). */
uint64_t seal_ring_serial(const struct seal_ring *ring);
/* Distinct keys held: 1 + previous secrets not equal to an earlier one. */
size_t seal_ring_key_count(const struct seal_ring *ring);
/* Key i (0 = primary) as 8 lowercase hex chars + NUL, for the start-up log
 * and the rotation runbook. The id is an HKDF output independent of the AES
 * key, so it is safe to log. */
void seal_ring_key_id_hex(const struct seal_ring *ring, size_t i,
                          char out[SEAL_KEY_ID_HEX_LEN + 1]);

/* Seals plaintext for `purpose` with the primary key and appends the token
 * text (base64url, no padding) to out. SEAL_ERR_TOO_LARGE when plaintext
 * is over SEAL_PLAINTEXT_MAX or out's cap is reached (out unchanged). On
 * success counts the seal (mcp_auth_token_seals_total{purpose} and the
 * process total of SPEC.md 2.6). Thread-safe. */
enum seal_rc seal_seal(const struct seal_ring *ring, enum seal_purpose purpose,
                       struct slice plaintext, struct buf *out) SEAL_WUR;

/* seal_seal with a synthetic nonce: the nonce is the first 12 bytes of
 * HMAC-SHA256(K_siv, aad | plaintext), K_siv an HKDF output of the AES
 * key under its own label. The same purpose and plaintext under the same
 * primary key give the same token, byte for byte, on every replica; that
 * is what lets /token answer a retried refresh or code with the tokens it
 * already issued without storing them (oauth/token_derive.h).
 *
 * Why GCM stays safe (the SIV argument, RFC 5297 / RFC 8452's idea):
 * GCM fails only when one key and nonce encrypt two DIFFERENT messages.
 * Here the nonce is a PRF of the whole input (aad and plaintext), so
 *  - equal inputs get equal nonces, hence equal ciphertexts: an observer
 *    learns only that two tokens are equal, which they are meant to be;
 *  - different inputs share a nonce only when HMAC-SHA256 truncated to 96
 *    bits collides, the same 2^-96 per pair (birthday bound over all
 *    seals) as two random nonces: the random-nonce seals of this key are
 *    no worse off, and SEAL_COUNT_WARN_THRESHOLD counts these too.
 * Callers must still make every plaintext they mean to differ actually
 * differ (derived token ids do, oauth/token_derive.h). Same outcomes and
 * counting as seal_seal. Thread-safe. */
enum seal_rc seal_seal_synthetic(const struct seal_ring *ring, enum seal_purpose purpose,
                                 struct slice plaintext, struct buf *out) SEAL_WUR;

/* A 32-byte key for `label` derived from the primary AES key:
 * HKDF-SHA256(ikm = AES key, info = "mcp-auth-proxy seal v1 derive: " +
 * label). Independent of the AES key and of other labels; the same on
 * every replica with the same TOKEN_SIGNING_SECRET. Wipe out after use. */
void seal_ring_derive(const struct seal_ring *ring, const char *label, uint8_t out[SEAL_KEY_LEN]);

/* Opens a token sealed for `purpose`. Checks the length before decoding,
 * decodes into `work` (work_cap bytes; SEAL_DECODED_MAX always suffices,
 * b64url_decoded_max(token.len) is exact) and decrypts there in place. On
 * SEAL_OK *out_plaintext points into work (borrowed; wipe work when done if
 * the payload is sensitive). Returns TOO_LARGE (token too long, or work too
 * small), MALFORMED, UNKNOWN_KEY or FORGED; on failure work holds no
 * plaintext. Thread-safe. Handlers use grants_open_* instead. */
enum seal_rc seal_open(const struct seal_ring *ring, enum seal_purpose purpose, struct slice token,
                       uint8_t *work, size_t work_cap, struct slice *out_plaintext) SEAL_WUR;

/* Successful seals in this process so far. */
uint64_t seal_count(void);

/* The raw primitives, exposed so unit tests can run published known-answer
 * vectors through the exact code path seal_seal/seal_open use.
 *
 * AES-256-GCM, 12-byte IV, 16-byte tag. ct may equal pt (in place).
 * Returns 0, or -1 when a length exceeds what OpenSSL accepts. */
int seal_aead_encrypt(const uint8_t key[SEAL_KEY_LEN], const uint8_t iv[SEAL_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
                      uint8_t *ct, uint8_t tag[SEAL_TAG_LEN]) SEAL_WUR;
/* Returns 0 and the plaintext, or -1 on authentication failure (pt is then
 * wiped). pt may equal ct. */
int seal_aead_decrypt(const uint8_t key[SEAL_KEY_LEN], const uint8_t iv[SEAL_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                      const uint8_t tag[SEAL_TAG_LEN], uint8_t *pt) SEAL_WUR;
/* HKDF-SHA256 (RFC 5869), extract then expand. salt may be empty. ikm must
 * not be empty. Returns 0, or -1 on failure. */
int seal_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len) SEAL_WUR;

/* Tests only. A nonce source replacing rand_bytes for every later seal in
 * the process (NULL restores the CSPRNG). Exists so tests can produce
 * byte-identical tokens; nothing outside tests/ and fuzz/ calls it. Not
 * synchronised: set it before any seal runs. */
typedef void (*seal_nonce_fn)(uint8_t *out, size_t len);
void seal_test_set_nonce_fn(seal_nonce_fn fn);
/* Tests only: sets the process seal total and re-arms the once-per-process
 * threshold warning, so the 2^28 warning can be tested without 2^28 seals. */
void seal_test_set_count(uint64_t count);
