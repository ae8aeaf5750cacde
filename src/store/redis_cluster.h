/* The Redis Cluster replay-store back end (issue 14; docs/redis.md,
 * "Cluster"; docs/internals/store.md).
 *
 * Process-wide: the parsed redis+cluster:// URL (or REDIS_URL with
 * REDIS_CLUSTER=true), the TLS context, the script's SHA-1; keys carry
 * hash tags (store_key_names). Per worker: a slot map
 * (store/redis_cluster_map.h) and one link (store/redis_link.h) per
 * primary. Each operation goes to the primary owning its key's slot;
 * MOVED updates the map and resends (at most
 * BOUNDS_REDIS_CLUSTER_REDIRECTS_MAX times), ASK resends ASKING + the
 * command in one batch to the named node without touching the map. The
 * map is asked for again (CLUSTER SHARDS, CLUSTER SLOTS on servers before
 * 7) after a MOVED, when a primary's link drops, quickly while some slot
 * has no primary, and every BOUNDS_REDIS_CLUSTER_REFRESH_MS. A slot
 * without a reachable primary fails closed (STORE_ERR_UNAVAILABLE: 503
 * replay_store_unavailable), and the store counts as connected only when
 * every slot has a primary whose link is up. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct net_keepalive;
struct net_resolver_opts;
struct ssl_ctx_st;
struct store_backend;
struct store_redis_cluster_seed;
struct store_redis_target;

/* Parses url (redis+cluster://, or redis:// / rediss:// as one seed),
 * builds the TLS context and hashes the script; no network I/O. NULL and
 * one sentence in err (never the password) when refused. */
struct store_backend *store_redis_cluster_backend_new(const char *url, const char *key_prefix,
                                                      const char *ca_file, struct buf *err);
/* As store_redis_backend_set_net. */
void store_redis_cluster_backend_set_net(struct store_backend *b,
                                         const struct net_resolver_opts *dns,
                                         const struct net_keepalive *keepalive);
/* REDIS_MIN_REPLICAS_ACK and its timeout: WAIT after every write, on the
 * primary that took it (0: no WAIT). */
void store_redis_cluster_backend_set_replicas_ack(struct store_backend *b, unsigned n,
                                                  uint64_t timeout_ms);
/* The start-up check: a store on a private loop must learn a slot map
 * that covers all 16384 slots and reach every primary in it within
 * timeout_ms. 0, or -1 with a sentence appended to err. */
int store_redis_cluster_backend_check(struct store_backend *b, uint64_t timeout_ms,
                                      struct buf *err);
/* "redis+cluster://seed:port (N seeds)" without credentials (borrowed). */
const char *store_redis_cluster_backend_describe(const struct store_backend *b);

/* What another client of the same cluster needs to open its own links
 * (the revocation subscriber, revocation/subscriber.c): all borrowed from
 * the back end, valid while it lives. */
struct store_redis_cluster_access {
    const struct store_redis_target *target; /* credentials, TLS, timeouts; host = seed 0 */
    struct ssl_ctx_st *ssl_ctx;              /* NULL unless rediss+cluster:// */
    const struct net_resolver_opts *dns;
    const struct net_keepalive *keepalive; /* NULL: the kernel's defaults */
    const char *where;                     /* as _describe */
    size_t seed_count;
    const struct store_redis_cluster_seed *seeds;
};
/* Fills *out; false (and *out untouched) when b is not the cluster back end. */
bool store_redis_cluster_backend_access(const struct store_backend *b,
                                        struct store_redis_cluster_access *out);
