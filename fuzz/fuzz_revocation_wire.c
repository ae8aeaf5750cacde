/* Fuzz target: bytes from a "Redis server" on the revocation subscriber's
 * connection (revocation/wire): through the subscriber's reader (its own
 * caps), every reply is classified as a pub/sub push and applied as a
 * resync page; every message payload is parsed. Nothing may crash, leak
 * or read out of bounds; a parsed entry always has a valid id. The first
 * byte picks the chunk size, so replies split at every offset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "revocation/set.h"
#include "revocation/wire.h"
#include "store/redis_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_entry(const struct revocation_entry *e)
{
    if (e->id.len == 0 || e->id.len > BOUNDS_REVOCATION_ID_MAX || e->at_ms < 0 ||
        e->expires_ms < 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t chunk = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    struct revocation_entry e;
    /* The raw bytes as a message payload too. */
    if (revocation_wire_parse_message(slice_make((const char *)data, size), &e)) {
        check_entry(&e);
    }
    struct revocation_set *set = revocation_set_new(64);
    struct store_redis_reader *rd = store_redis_proto_reader_new_sized(
        2 * BOUNDS_REVOCATION_RESYNC_PAGE, BOUNDS_REVOCATION_READ_PENDING_MAX);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (store_redis_proto_feed(rd, (const char *)data + off, n) == STORE_REDIS_READ_ERROR) {
            break;
        }
        struct store_redis_reply *r;
        while (store_redis_proto_next(rd, &r) == STORE_REDIS_READ_REPLY) {
            struct slice payload;
            if (revocation_wire_classify(r, SLICE_LIT("revocations"), &payload) ==
                    REVOCATION_PUSH_MESSAGE &&
                revocation_wire_parse_message(payload, &e)) {
                check_entry(&e);
                (void)revocation_set_add(set, &e, 1);
            }
            size_t members, bad;
            (void)revocation_wire_apply_page(r, set, 1, &members, &bad);
            if (bad > members) {
                abort();
            }
            store_redis_proto_reply_free(r);
        }
    }
    store_redis_proto_reader_free(rd);
    revocation_set_free(set);
    return 0;
}
