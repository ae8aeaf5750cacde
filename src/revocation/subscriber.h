/* revocation/subscriber: keeps this process's revoked set current from
 * Redis (docs/internals/revocation.md).
 *
 * One per process, on the control loop (not one per worker: a message is
 * applied once, to the one set every worker reads). It owns two links
 * (store/redis_link.h): one in subscribe mode on the channel
 * <prefix>revocations, answering a PING every BOUNDS_REVOCATION_PING_MS
 * within the command timeout (a half-open connection shows itself), and
 * one that reads the sorted set of the same name page by page
 *   ZRANGEBYSCORE <prefix>revocations (now +inf WITHSCORES LIMIT off n
 * (the resync) every time the subscription comes up -- so whatever was
 * published while it was away is read from the set -- and every
 * BOUNDS_REVOCATION_RESYNC_MS (a message Redis dropped heals within that).
 * A lost link comes back after the link's jittered backoff.
 *
 * Redis Cluster: SUBSCRIBE on any node (a PUBLISH reaches every node of
 * the cluster), the pages from the node owning the set's slot, reached by
 * following MOVED / ASK from a seed; a lost node is replaced by the next
 * candidate (the slot's last owner, then the seeds). Where both links go
 * comes from one function in subscriber.c, subscriber_target(). */
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
