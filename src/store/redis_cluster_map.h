/* Redis Cluster topology as the cluster back end learns it: the slot map
 * built from a CLUSTER SHARDS reply (Redis 7) or a CLUSTER SLOTS reply (the
 * fallback for older servers), and the MOVED / ASK redirections. Pure --
 * replies in, values out, no sockets -- so every parser of what a cluster
 * node sends is unit-tested and fuzzed (fuzz/fuzz_redis_cluster.c).
 *
 * Only primaries are kept: the proxy writes (claims), so it never reads
 * from a replica. A node's address is its announced endpoint, or its IP
 * when the endpoint is not given; an empty or nil endpoint means "the host
 * you asked" (Redis's rule for cluster-preferred-endpoint-type
 * unknown-endpoint), so the parsers take the answering node's host; "?"
 * (an endpoint Redis does not know) makes the node unusable and its slots
 * uncovered. Anything malformed -- a slot out of range, a slot owned
 * twice, a bad port, a host with bytes no host name has, a count past the
 * caps in bounds.h -- refuses the whole reply: a half-read map could route
 * a claim to the wrong primary. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "store/redis_proto.h"
#include "store/redis_slot.h"

struct store_redis_cluster_node {
    char host[BOUNDS_REDIS_CLUSTER_HOST_MAX + 1]; /* bare: no IPv6 brackets */
    unsigned port;
};

#define STORE_REDIS_CLUSTER_NO_NODE 0xffff

struct store_redis_cluster_map {
    size_t node_count; /* primaries, each listed once */
    struct store_redis_cluster_node nodes[BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX];
    /* Index into nodes, or STORE_REDIS_CLUSTER_NO_NODE. */
    uint16_t slot_node[STORE_REDIS_SLOT_COUNT];
};

/* Builds *out from a CLUSTER SHARDS reply. tls picks a node's "tls-port"
 * over its "port". answering_host is the host of the node that answered.
 * false (and *out emptied) when the reply is not a well-formed SHARDS
 * answer; error replies (an old server's "unknown subcommand") are false
 * too, so the caller can try CLUSTER SLOTS. */
bool store_redis_cluster_map_from_shards(const struct store_redis_reply *r, bool tls,
                                         const char *answering_host,
                                         struct store_redis_cluster_map *out);
/* The same from a CLUSTER SLOTS reply (its first node of each range is the
 * primary; the port given is the one for this connection's kind). */
bool store_redis_cluster_map_from_slots(const struct store_redis_reply *r,
                                        const char *answering_host,
                                        struct store_redis_cluster_map *out);

/* Every one of the 16384 slots has a primary: the readiness rule. */
bool store_redis_cluster_map_covered(const struct store_redis_cluster_map *m);
/* The primary owning slot, or NULL (borrowed). */
const struct store_redis_cluster_node *
store_redis_cluster_map_owner(const struct store_redis_cluster_map *m, unsigned slot);
/* Points slot at (host, port), adding the node when it is new (a MOVED
 * answer). false when the map already holds BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX
 * other nodes. */
bool store_redis_cluster_map_assign(struct store_redis_cluster_map *m, unsigned slot,
                                    const struct store_redis_cluster_node *node);

enum store_redis_redirect_kind {
    STORE_REDIS_REDIRECT_NONE = 0, /* not a redirection (or a malformed one) */
    STORE_REDIS_REDIRECT_MOVED,    /* the slot lives there now: update the map */
    STORE_REDIS_REDIRECT_ASK,      /* this key only, this once: ASKING first */
};

struct store_redis_redirect {
    enum store_redis_redirect_kind kind;
    unsigned slot;
    struct store_redis_cluster_node node;
};

/* Reads "-MOVED <slot> <host>:<port>" or "-ASK <slot> <host>:<port>". The
 * host is split at the LAST ':' (Redis writes IPv6 addresses bare:
 * "MOVED 1 ::1:7001"); a bracketed "[::1]:7001" is read too; an empty host
 * is answering_host. NONE for anything else, including a redirection we
 * cannot follow ("?" host, bad slot or port): the caller fails closed. */
enum store_redis_redirect_kind store_redis_cluster_map_redirect(const struct store_redis_reply *r,
                                                                const char *answering_host,
                                                                struct store_redis_redirect *out);
