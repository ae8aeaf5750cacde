/* The ids and times of the tokens POST /token mints, derived instead of
 * drawn at random, so that a retry of the same grant gets the same tokens
 * byte for byte on any replica without any token being stored
 * (docs/internals/rotation.md).
 *
 * What a grant's tokens are derived from:
 *  - authorization_code: the code's token id and family, and the code's
 *    issue time (sealed in it);
 *  - refresh_token: the rotated token's id and family, and the time its
 *    rotation was first claimed in the replay store (the claim time the
 *    store keeps and hands back to a retry).
 * The access and refresh token ids are HMAC-SHA256 outputs under a key
 * derived from the sealing key (seal_ring_derive, label "token ids v1"),
 * shaped as RFC 9562 version 8 UUIDs; iat is the issue time in seconds.
 * The tokens are then sealed with a synthetic nonce (seal.h
 * seal_seal_synthetic), so equal grants give equal bytes.
 *
 * Why ids differ whenever tokens must: every parent token id is unique (a
 * random UUID, or itself derived from a unique parent), each is rotated
 * at most once per claim time, and the HMAC input is length-prefixed, so
 * two different inputs collide only if HMAC-SHA256 truncated to 122 bits
 * does. Pure; thread-safe. */
#pragma once

#include <stdint.h>

#include "base/rand.h"

struct seal_ring;

enum oauth_token_derive_grant {
    OAUTH_TOKEN_DERIVE_CODE = 0,
    OAUTH_TOKEN_DERIVE_REFRESH,
};

struct oauth_token_derive_in {
    enum oauth_token_derive_grant grant;
    const char *parent_tid; /* the code's or the rotated refresh token's id */
    const char *family_id;
    int64_t issued_ms; /* Unix ms the tokens count as issued at (>= 0) */
};

struct oauth_token_derive_out {
    char access_tid[RAND_UUID_LEN + 1];
    char refresh_tid[RAND_UUID_LEN + 1];
    int64_t iat_s; /* issued_ms / 1000, floored */
};

void oauth_token_derive(const struct seal_ring *ring, const struct oauth_token_derive_in *in,
                        struct oauth_token_derive_out *out);
