/* One Redis connection per worker store -- internal to the Redis back end
 * (redis.c builds the shared part and the vtable; handlers use store.h).
 *
 * Connection rules (SPEC.md 5.1, 5.4), all fail-closed: AUTH and SELECT
 * and a PING are pipelined ahead of any command on a new connection;
 * commands issued while disconnected fail at once (no queue); commands in
 * flight on a connection that dies fail; a command unanswered after the
 * command timeout fails and drops the connection; a dropped connection
 * comes back after a jittered backoff from 100 ms to 5 s. */
#pragma once

#include <stdbool.h>

#include "net/resolve.h"
#include "net/sockopt.h"
#include "store/redis_url.h"
#include "store/store_int.h"

struct event_base;
struct ssl_ctx_st;

/* The process-wide back end, read-only once built (by redis.c). */
struct store_redis_shared {
    struct store_backend base;
    struct store_redis_url url;
    char where[STORE_ERROR_MAX];  /* redacted URL, for messages */
    struct ssl_ctx_st *ssl_ctx;   /* rediss:// only */
    struct net_resolver_opts dns; /* its strings owned (NULL: the system files) */
    bool has_keepalive;
    struct net_keepalive keepalive; /* TCP_KEEPALIVE_*, TCP_USER_TIMEOUT */
    char sha1[41];                  /* of the refresh script */
};

/* Start-up check mode: one attempt, no reconnect; when the PONG arrives or
 * the attempt fails, the result is written here (the reason appended to
 * error, the caller's buffer) and the loop is broken. */
struct store_redis_check {
    bool done;
    bool ok;
    struct buf *error;
};

/* Opens a worker's store on base and starts connecting; check is NULL
 * except for the start-up check. Never NULL. */
struct store *store_redis_conn_open(struct store_redis_shared *be, struct event_base *base,
                                    struct store_redis_check *check);
/* Check mode: the check's deadline passed; records why and breaks the loop. */
void store_redis_conn_check_expired(struct store *s);

/* The vtable entries (store_int.h). */
void store_redis_conn_start(struct store *s, struct store_op *op, const struct store_req *req);
void store_redis_conn_detach(struct store *s, struct store_op *op);
void store_redis_conn_close(struct store *s);
bool store_redis_conn_is_connected(const struct store *s);
