/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash for hash
 * tables whose keys come from clients (IP addresses, header text).
 *
 * With a secret random key an attacker cannot choose keys that collide or
 * that land in one part of a table, so per-request work and per-stripe
 * fill stay what the table's sizing assumed. Not a MAC for anything else:
 * 64 bits, no domain separation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
    uint64_t k0;
    uint64_t k1;
};

/* The key from 16 bytes, little-endian (as in the reference vectors). */
struct siphash_key siphash_key_from_bytes(const uint8_t bytes[16]);
/* A fresh key from the CSPRNG (base/rand). */
struct siphash_key siphash_key_random(void);

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);
