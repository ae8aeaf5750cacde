/* Fuzz target: bytes from a "cluster node" through the capped reply reader
 * into the slot-map builders (CLUSTER SHARDS, plain and TLS, and CLUSTER
 * SLOTS) and the MOVED / ASK parser (store/redis_cluster_map), and the
 * same bytes as a key through the slot function (store/redis_slot). The
 * first byte picks the chunk size. Nothing may crash, leak or read out of
 * bounds; a map that is accepted only points slots at nodes it holds, with
 * hosts of allowed bytes and ports in range; a map that is refused is
 * empty; a redirection names a slot and a node we could dial. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_cluster_map.h"
#include "redis_feed.h"
#include "store/redis_proto.h"
#include "store/redis_slot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_node(const struct store_redis_cluster_node *n)
{
    size_t len = strnlen(n->host, sizeof(n->host));
    if (len == 0 || len == sizeof(n->host) || n->port == 0 || n->port > 65535 ||
        strspn(n->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:_%") !=
            len) {
        abort();
    }
}

/* A refused map: no node, every slot unowned. Compared whole with memcmp
 * because a slot-by-slot walk of three maps per reply made this target run
 * a few hundred inputs a second, too slow for a 10-million-input run. */
static uint16_t empty_slots[STORE_REDIS_SLOT_COUNT];

static void
check_map(bool ok, const struct store_redis_cluster_map *m)
{
    if (m->node_count > BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX || (!ok && m->node_count != 0)) {
        abort();
    }
    if (!ok) {
        if (memcmp(m->slot_node, empty_slots, sizeof(empty_slots)) != 0) {
            abort();
        }
        return;
    }
    for (size_t i = 0; i < m->node_count; i++) {
        check_node(&m->nodes[i]);
    }
    for (unsigned s = 0; s < STORE_REDIS_SLOT_COUNT; s++) {
        uint16_t idx = m->slot_node[s];
        if (idx != STORE_REDIS_CLUSTER_NO_NODE && (!ok || idx >= m->node_count)) {
            abort();
        }
    }
}

static struct store_redis_cluster_map map;

/* Replies of one input that go through the builders. A node answers one
 * reply per command, and a builder's cost is the whole slot table (a
 * refused map is compared whole): an input of thousands of tiny replies
 * took half a second, and the corpus drifted to such inputs until the
 * target ran a few hundred inputs a second. Later replies are still read. */
#define CHECKED_REPLIES_MAX 16
static unsigned checked_replies;

static void
check(const struct store_redis_reply *r)
{
    if (checked_replies++ >= CHECKED_REPLIES_MAX) {
        return;
    }
    check_map(store_redis_cluster_map_from_shards(r, false, "10.0.0.1", &map), &map);
    check_map(store_redis_cluster_map_from_shards(r, true, NULL, &map), &map);
    check_map(store_redis_cluster_map_from_slots(r, "node.example", &map), &map);
    struct store_redis_redirect rd;
    enum store_redis_redirect_kind k = store_redis_cluster_map_redirect(r, "10.0.0.1", &rd);
    if (k != rd.kind) {
        abort();
    }
    if (k != STORE_REDIS_REDIRECT_NONE) {
        if (r->type != STORE_REDIS_ERROR || rd.slot >= STORE_REDIS_SLOT_COUNT) {
            abort();
        }
        check_node(&rd.node);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (empty_slots[0] != STORE_REDIS_CLUSTER_NO_NODE) {
        memset(empty_slots, 0xff, sizeof(empty_slots));
    }
    size_t step = redis_feed_step(data[0]);
    data++;
    size--;

    struct slice key = slice_make((const char *)data, size);
    struct slice h = store_redis_slot_hashed(key);
    if (store_redis_slot_of(key) >= STORE_REDIS_SLOT_COUNT || h.ptr < key.ptr ||
        h.ptr + h.len > key.ptr + key.len || (h.len == 0 && key.len != 0)) {
        abort();
    }

    checked_replies = 0;
    redis_feed(data, size, step, check);
    return 0;
}
