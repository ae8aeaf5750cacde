/* The Redis replay-store back end (SPEC.md 5.1-5.4).
 *
 * The back end is process-wide and immutable once built: the parsed
 * REDIS_URL, the TLS context (system CAs or REDIS_CA_FILE) and the SHA-1 of
 * the refresh script. Each worker's store_new() opens one connection on its
 * own loop -- our own bufferevent, plain or OpenSSL, so redis:// and
 * rediss:// share one path; hiredis only encodes commands and parses
 * replies (store/redis_proto.h).
 *
 * Connection rules, all fail-closed: AUTH and SELECT are pipelined ahead of
 * any command on a new connection; commands issued while disconnected fail
 * at once with STORE_ERR_UNAVAILABLE (there is no queue); commands in
 * flight on a connection that dies fail the same way; a command without a
 * reply after the command timeout (500 ms, REDIS_URL read_timeout) fails
 * and drops the connection, because a Redis that accepts and never
 * answers must not wedge a worker; a connect (TCP, TLS, DNS) has 2 s
 * (dial_timeout), over every address of the host (net/connect.h). After a drop the store reconnects
 * by itself with exponential backoff from 100 ms to 5 s, jittered. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct net_keepalive;
struct net_resolver_opts;
struct store_backend;

/* Parses url, builds the TLS context and hashes the script. key_prefix
 * and ca_file ("" or NULL = system CAs) are copied. Returns NULL and
 * appends one sentence to err (STORE_ERROR_MAX bytes are enough) when the
 * URL is refused or the CA file cannot be loaded; the sentence never holds
 * the password. Does no network I/O. */
struct store_backend *store_redis_backend_new(const char *url, const char *key_prefix,
                                              const char *ca_file, struct buf *err);

/* The start-up check (SPEC.md 8.1 step 6): connects exactly as a worker
 * would (TLS, AUTH, SELECT) and sends PING, on a private loop, blocking
 * for at most timeout_ms (BOUNDS_REDIS_STARTUP_CHECK_MS). Returns 0, or -1
 * with a sentence in err that says what went wrong: "authentication
 * failed: ...", "TLS certificate verification failed: ...", "cannot
 * connect to redis://host:port/db: Connection refused", "no answer from
 * ... within 3000 ms", appended to err. */
int store_redis_backend_check(struct store_backend *b, uint64_t timeout_ms, struct buf *err);

/* Where host names come from (DNS_RESOLV_CONF, DNS_HOSTS_FILE) and the
 * keep-alive settings of every Redis socket; both copied, NULL = the
 * system files / the kernel's defaults. Call before the check and before
 * any worker opens a connection. */
void store_redis_backend_set_net(struct store_backend *b, const struct net_resolver_opts *dns,
                                 const struct net_keepalive *keepalive);

/* "rediss://host:port/db" without credentials (borrowed; for log lines). */
const char *store_redis_backend_describe(const struct store_backend *b);

/* REDIS_MIN_REPLICAS_ACK / REDIS_REPLICAS_ACK_TIMEOUT: every write (claim,
 * mark, the refresh script) is followed by WAIT n timeout_ms in the same
 * write, and counts only when n replicas acknowledged it; fewer answer
 * STORE_ERR_UNAVAILABLE (counted in mcp_auth_redis_replica_ack_short_total).
 * n = 0 (the default) sends no WAIT. Call before any worker opens a store. */
void store_redis_backend_set_replicas_ack(struct store_backend *b, unsigned n, uint64_t timeout_ms);

/* ---- Sentinel (issue 14 item 1, store/redis_sentinel.h) --------------------------------- */

/* REDIS_URL (credentials, db, TLS, timeouts of the data nodes; its host is
 * not used) and the sentinels. */
struct store_redis_sentinel_spec {
    const char *url;
    const char *sentinels; /* REDIS_SENTINELS */
    const char *master;    /* REDIS_SENTINEL_MASTER */
    const char *user;      /* REDIS_SENTINEL_USERNAME; NULL or "": none */
    const char *password;  /* REDIS_SENTINEL_PASSWORD; NULL or "": none */
};

/* The same back end, its primary found through the sentinels (each
 * worker discovers it on its own loop). Its store_backend_name() is
 * "redis-sentinel". The other store_redis_backend_* functions apply; the
 * start-up check asks the sentinels and confirms the primary with ROLE,
 * and its sentences say which sentinel said what: "no sentinel of
 * 127.0.0.1:26379,127.0.0.1:26380 knows master 'mymaster'", "sentinel
 * 127.0.0.1:26379 says 127.0.0.1:6380 is the primary of 'mymaster' but
 * 127.0.0.1:6380 answers ROLE slave", an authentication failure naming
 * REDIS_SENTINEL_USERNAME / REDIS_SENTINEL_PASSWORD. */
struct store_backend *store_redis_sentinel_backend_new(const struct store_redis_sentinel_spec *spec,
                                                       const char *key_prefix, const char *ca_file,
                                                       struct buf *err);

/* Where the primary is now, from any thread: REDIS_URL's host and port
 * for a single Redis, the primary last confirmed for Sentinel (false
 * before the first confirmation), false for any other back end or when
 * the host does not fit in cap bytes (with its NUL). */
bool store_redis_backend_primary(const struct store_backend *b, char *host, size_t cap,
                                 unsigned *port);
