/* Redis Cluster key slots (see redis_slot.h). */
#include "store/redis_slot.h"

#include <string.h>

uint16_t
store_redis_slot_crc16(const char *data, size_t len)
{
    /* Bit by bit: keys are short (under BOUNDS_STORE_KEY_MAX plus the
     * prefix), and eight shifts per byte read more plainly than a table. */
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)(unsigned char)data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

struct slice
store_redis_slot_hashed(struct slice key)
{
    const char *open = key.len > 0 ? memchr(key.ptr, '{', key.len) : NULL;
    if (open == NULL) {
        return key;
    }
    size_t start = (size_t)(open - key.ptr) + 1;
    const char *close = memchr(key.ptr + start, '}', key.len - start);
    if (close == NULL || close == key.ptr + start) {
        return key; /* no closing brace, or an empty tag: the whole key */
    }
    return slice_make(key.ptr + start, (size_t)(close - (key.ptr + start)));
}

unsigned
store_redis_slot_of(struct slice key)
{
    struct slice h = store_redis_slot_hashed(key);
    return store_redis_slot_crc16(h.ptr, h.len) & (STORE_REDIS_SLOT_COUNT - 1);
}
