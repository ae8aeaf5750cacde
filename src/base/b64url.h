/* Strict base64url (RFC 4648 section 5) without padding.
 *
 * Decoding accepts only the canonical encoding: URL alphabet, no '=', no
 * whitespace, no length that is 1 mod 4, and zero bits in the unused low
 * bits of the last character (so each byte string has exactly one valid
 * encoding and a flipped trailing bit is not silently ignored). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

/* Characters needed to encode n bytes (no padding, no terminator). */
size_t b64url_encoded_len(size_t n);
/* Upper bound of bytes that decoding `len` characters can produce. */
size_t b64url_decoded_max(size_t len);

/* Writes b64url_encoded_len(n) characters plus a NUL into out, which must
 * hold that many + 1. */
void b64url_encode(const uint8_t *data, size_t n, char *out);
/* Appends the encoding to b; -1 at the buffer's cap. */
int b64url_encode_buf(const uint8_t *data, size_t n, struct buf *b)
    __attribute__((warn_unused_result));

/* Decodes text into out (capacity out_cap). Returns 0 and sets *out_len, or
 * -1 for non-canonical input or too little room; out is then undefined. */
int b64url_decode(struct slice text, uint8_t *out, size_t out_cap, size_t *out_len)
    __attribute__((warn_unused_result));
