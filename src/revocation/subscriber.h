/* revocation/subscriber: keeps this process's revoked set current from
 * Redis (docs/internals/revocation.md).
 *
 * One per process, on the control loop (not one per worker: a message is
 * applied once, to the one set every worker reads). Its connection runs
 *   [AUTH] [SELECT] ZRANGEBYSCORE <prefix>revocations (now +inf WITHSCORES
 *   LIMIT ... (page by page: the resync) then SUBSCRIBE <prefix>revocations
 * and applies every message; a PING every BOUNDS_REVOCATION_PING_MS must
 * come back within the command timeout. Any failure drops the connection
 * and it comes back after a jittered backoff (100 ms to 5 s) -- resyncing
 * first, so whatever was published while it was away is read from the
 * sorted set. Every BOUNDS_REVOCATION_RESYNC_MS a second, short-lived
 * connection resyncs again (a message Redis dropped -- a client output
 * buffer limit, say -- heals within that period).
 *
 * The smallest subscriber that does the job, on net/connect + net/tls +
 * the store's RESP reader: written before store/redis_link.h (issue 14,
 * topo) existed; it should move onto the link's subscribe mode. */
#pragma once

#include <stdint.h>

struct buf;
struct event_base;
struct store_backend;
struct revocation_subscriber;

/* Starts the subscriber on base for a Redis back end (b borrowed, must
 * outlive it). NULL for any other back end: the memory store's process is
 * the whole fleet and its set is already complete. */
struct revocation_subscriber *revocation_subscriber_new(struct store_backend *b,
                                                        struct event_base *base);
/* Closes its connections; NULL is a no-op. Call with the loop stopped. */
void revocation_subscriber_free(struct revocation_subscriber *s);

/* The start-up fill: reads the whole sorted set into the process's set on
 * a private loop, blocking for at most timeout_ms. 0, or -1 with a
 * sentence appended to err. A no-op 0 for a non-Redis back end. */
int revocation_subscriber_fill(struct store_backend *b, uint64_t timeout_ms, struct buf *err);

/* Registers the gauges mcp_auth_revocation_entries and
 * mcp_auth_revocation_subscriber_connected. */
void revocation_subscriber_register_metrics(void);
