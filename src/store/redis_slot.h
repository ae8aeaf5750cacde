/* Redis Cluster key slots (the cluster specification, "Keys distribution
 * model"): a key's slot is CRC16-XMODEM of the key -- or of its hash tag --
 * modulo 16384. Pure, no allocation; the cluster back end routes every
 * command by it, and the key helpers' unit tests prove that the keys one
 * script touches share a slot.
 *
 * The hash tag is read exactly as Redis reads it (keyHashSlot in
 * cluster.c): the bytes between the FIRST '{' and the first '}' after it;
 * no '{', no '}' after it, or nothing between them ("{}") means the whole
 * key is hashed. So "a{b}{c}" hashes "b", "a{{b}}" hashes "{b", "a{}{b}"
 * hashes all of "a{}{b}". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

#define STORE_REDIS_SLOT_COUNT 16384

/* CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection), the
 * variant Redis uses: "123456789" gives 0x31c3. */
uint16_t store_redis_slot_crc16(const char *data, size_t len);

/* The part of key Redis hashes: its hash tag, or the whole key. Borrowed
 * from key. */
struct slice store_redis_slot_hashed(struct slice key);

/* The slot of key, 0 .. STORE_REDIS_SLOT_COUNT - 1. */
unsigned store_redis_slot_of(struct slice key);
