/* The Redis store adapter: one worker's store -- internal to the Redis
 * back end (redis.c builds the shared part and the vtable; handlers use
 * store.h). It maps store operations to command batches on a link to the
 * primary (store/redis_link.h, which holds the connection rules) and the
 * replies back to results. */
#pragma once

#include <stdbool.h>

#include "net/resolve.h"
#include "net/sockopt.h"
#include "store/redis_link.h"
#include "store/redis_url.h"
#include "store/store_int.h"

struct event_base;
struct ssl_ctx_st;
struct store_redis_sentinel_conf;

/* The process-wide back end, read-only once built (by redis.c). */
struct store_redis_shared {
    struct store_backend base;
    struct store_redis_url url;
    struct store_redis_target target; /* the url's server; strings borrowed from url */
    char where[STORE_ERROR_MAX];      /* redacted URL, for messages */
    struct ssl_ctx_st *ssl_ctx;       /* rediss:// only */
    struct store_redis_net net;       /* resolver files, keep-alive */
    char sha1[41];                    /* of the refresh script */
    /* REDIS_MIN_REPLICAS_ACK (0 = no WAIT) and its timeout. */
    unsigned min_replicas_ack;
    uint64_t replicas_ack_timeout_ms;
    /* Sentinel mode (redis_sentinel.h): the sentinels; target's host is
     * then only a placeholder until discovery. NULL: a single Redis. */
    struct store_redis_sentinel_conf *sentinel;
};

/* Opens a worker's store on base and starts connecting. Never NULL. */
struct store *store_redis_conn_open(struct store_redis_shared *be, struct event_base *base);

/* The vtable entries (store_int.h). */
void store_redis_conn_start(struct store *s, struct store_op *op, const struct store_req *req);
void store_redis_conn_detach(struct store *s, struct store_op *op);
void store_redis_conn_close(struct store *s);
bool store_redis_conn_is_connected(const struct store *s);
