/* What the Redis harnesses share (fuzz_redis_reply, fuzz_redis_cluster,
 * fuzz_redis_sentinel): the bytes a server sends, fed to a fresh capped
 * reply reader (store/redis_proto.h) step bytes at a time, as a socket would
 * deliver them; each complete reply goes to on_reply and is freed after.
 * Stops at the reader's first error, as a link drops its connection. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "store/redis_proto.h"

/* The chunk size a harness's first input byte picks: 1 to 64 bytes, or the
 * reader's largest feed from 192 up. */
static inline size_t
redis_feed_step(uint8_t first)
{
    return first >= 192 ? STORE_REDIS_FEED_MAX : (size_t)first % 64 + 1;
}

static inline void
redis_feed(const uint8_t *data, size_t size, size_t step,
           void (*on_reply)(const struct store_redis_reply *))
{
    struct store_redis_reader *r = store_redis_proto_reader_new();
    bool dead = false;
    for (size_t off = 0; off < size && !dead; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (store_redis_proto_feed(r, (const char *)data + off, n) == STORE_REDIS_READ_ERROR) {
            break;
        }
        for (;;) {
            struct store_redis_reply *reply = NULL;
            enum store_redis_read rc = store_redis_proto_next(r, &reply);
            if (rc == STORE_REDIS_READ_ERROR) {
                dead = true;
                break;
            }
            if (rc == STORE_REDIS_READ_MORE) {
                break;
            }
            on_reply(reply);
            store_redis_proto_reply_free(reply);
        }
    }
    store_redis_proto_reader_free(r);
}
