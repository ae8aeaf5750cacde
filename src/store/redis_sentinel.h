/* Redis Sentinel discovery (issue 14 item 1, docs/redis.md "Sentinel"):
 * where the replay store's primary is, found through the sentinels and
 * confirmed on the data node itself.
 *
 * Discovery is per worker, on the worker's own loop: each worker's store
 * adapter (redis_conn.c) owns one client here, which steers the adapter's
 * link. That keeps every decision on the loop that uses it -- no lock or
 * cross-thread wake-up in the request path -- at the price of a few idle
 * connections per worker to one sentinel, which Sentinel serves for free.
 *
 * One pass: ask each sentinel in REDIS_SENTINELS order, starting with the
 * last one that answered, SENTINEL GET-MASTER-ADDR-BY-NAME <master>; the
 * first address named is the candidate. The adapter's link is pointed at
 * it and asked ROLE; only "master" confirms it. Until then every store
 * operation fails at once with STORE_ERR_UNAVAILABLE (503
 * replay_store_unavailable), never waits.
 *
 * A pass starts when the worker's store opens, when the confirmed link is
 * lost (connection loss, or a READONLY reply: the adapter drops the link),
 * when a sentinel pushes +switch-master for our master (the new address is
 * confirmed at once, without asking), every BOUNDS_REDIS_SENTINEL_REFRESH_MS,
 * and after a failed pass with a backoff from
 * BOUNDS_REDIS_SENTINEL_RETRY_MIN_MS to BOUNDS_REDIS_BACKOFF_MAX_MS.
 *
 * Sentinels get REDIS_SENTINEL_USERNAME / REDIS_SENTINEL_PASSWORD, REDIS_URL's
 * TLS setting and CA (REDIS_CA_FILE), and REDIS_URL's timeouts; data nodes
 * get REDIS_URL's credentials, db and TLS (its host is not used). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "store/redis_link.h"

struct buf;
struct event_base;
struct net_keepalive;
struct net_resolver_opts;
struct ssl_ctx_st;
struct store_redis_sentinel;

/* The process-wide part (opaque): the sentinels, the master name, how to
 * log in to them, and the primary last confirmed by any worker. */
struct store_redis_sentinel_conf;

/* Checks sentinels (REDIS_SENTINELS) and master; copies everything.
 * data is REDIS_URL's target: its TLS flag and timeouts apply to the
 * sentinels too. Returns NULL with a sentence in err when refused. */
struct store_redis_sentinel_conf *
store_redis_sentinel_conf_new(const char *sentinels, const char *master, const char *user,
                              const char *password, const struct store_redis_target *data,
                              struct buf *err);
void store_redis_sentinel_conf_free(struct store_redis_sentinel_conf *c);

/* The primary last confirmed: copies its host into host (cap bytes) and
 * its port; false when none was confirmed yet (or host does not fit).
 * Thread-safe. */
bool store_redis_sentinel_conf_primary(struct store_redis_sentinel_conf *c, char *host, size_t cap,
                                       unsigned *port);
/* "redis-sentinel://h:p,h:p/master" (borrowed; for log lines). */
const char *store_redis_sentinel_conf_describe(const struct store_redis_sentinel_conf *c);

/* A pass ended (check mode only): ok, or not with one sentence (never a
 * password) saying which sentinels said what. */
typedef void (*store_redis_sentinel_outcome_fn)(void *arg, bool ok, const char *sentence);

struct store_redis_sentinel_opts {
    struct store_redis_sentinel_conf *conf; /* borrowed; outlives the client */
    struct ssl_ctx_st *ssl_ctx;             /* borrowed; REDIS_URL's, when TLS */
    const struct net_resolver_opts *dns;
    const struct net_keepalive *keepalive;
    /* The start-up check: one pass, no subscription, no timers; outcome
     * is called once. Otherwise outcome may be NULL. */
    bool check;
    store_redis_sentinel_outcome_fn outcome;
    void *arg;
};

/* The client of one loop; discovery starts at _attach. Never NULL. */
struct store_redis_sentinel *store_redis_sentinel_new(struct event_base *base,
                                                      const struct store_redis_sentinel_opts *o);
/* data: the link to the primary the client steers (created with .idle
 * and with on_state = store_redis_sentinel_data_state, arg = the client).
 * Borrowed: free the client before the link. Starts the first pass on the
 * next loop turn. */
void store_redis_sentinel_attach(struct store_redis_sentinel *s, struct store_redis_link *data);
/* The data link's state callback (store_redis_link_state_fn). */
void store_redis_sentinel_data_state(void *arg, bool up, const char *reason);
/* True while the data link goes to a primary confirmed by ROLE. */
bool store_redis_sentinel_confirmed(const struct store_redis_sentinel *s);
/* Why there is no confirmed primary (borrowed; "" when there is one). */
const char *store_redis_sentinel_why(const struct store_redis_sentinel *s);
/* Stops at once; no callback runs. NULL is a no-op. Call while the loop
 * is not running this client's callbacks (store close, or after the
 * check's loop returned). */
void store_redis_sentinel_free(struct store_redis_sentinel *s);
