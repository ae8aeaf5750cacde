/* Random values from the CSPRNG (OpenSSL's RAND_bytes).
 *
 * A CSPRNG that fails is a broken process, not a bad request: failure is
 * fatal, like running out of memory. Formats follow SPEC.md 2.7. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define RAND_UUID_LEN 36  /* canonical lowercase UUID text */
#define RAND_HEX32_LEN 32 /* 16 random bytes as lowercase hex */

void rand_bytes(uint8_t *out, size_t n);
/* RFC 4122 version 4, lowercase, 36 chars + NUL into out[RAND_UUID_LEN + 1]. */
void rand_uuid(char out[RAND_UUID_LEN + 1]);
/* 16 random bytes as 32 lowercase hex chars + NUL. */
void rand_hex32(char out[RAND_HEX32_LEN + 1]);

/* Random bytes a thread draws from OpenSSL at once for rand_pool_bytes:
 * one RAND_bytes call (and its getpid fork check) per ~190 request ids
 * instead of one per id. Here, not in bounds.h: base/ sits below it. */
#define RAND_POOL_BYTES 4096

/* n bytes for values that must be unpredictable and unique but are no
 * key material (request ids), from a per-thread pool of RAND_bytes output
 * refilled RAND_POOL_BYTES at a time: each byte is handed out once.
 * A forked child starts with an empty pool, so it never repeats its
 * parent's bytes (the proxy does not fork today). */
void rand_pool_bytes(uint8_t *out, size_t n);
