/* proxy/pool: one worker's side of the upstream (DESIGN.md "The forward").
 *
 * Built once per worker from the configuration: where the upstream is
 * (UPSTREAM_MCP_URL's origin; redirects are only followed on that origin
 * and under its path, so it is the only one), the resolver for its name
 * (net/resolve.h: one lookup per TTL, shared by every connection being
 * made, so a refill of the pool resolves once), the address that last
 * connected (tried first), the TCP keep-alive settings, the TLS client
 * context for an https upstream (net/tls.h), the Host header, what the
 * upstream is told about the proxy (proxy/headers.h), and the idle
 * keep-alive connections.
 *
 * Idle connections: at most BOUNDS_UPSTREAM_POOL_IDLE_MAX, newest reused
 * first; each is dropped after BOUNDS_UPSTREAM_IDLE_MS idle, or sooner
 * when the upstream announced a shorter Keep-Alive timeout (less a second,
 * so we never race its close), and at once when the upstream closes it or
 * sends anything unasked. A connection comes back only when the forward
 * says its response ended cleanly and nothing of it is left unread; a
 * connection that failed is never reused; and one is handed out again
 * only when nothing at all waits to be read on it (proxy_upstream_is_quiet).
 *
 * Owned by its worker (its WORKER_SLOT_UPSTREAM_POOL, worker.h), used on
 * that worker's thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/resolve.h"
#include "net/sockopt.h"
#include "proxy/upstream.h"

struct proxy_headers_upstream;
struct worker;

struct proxy_pool;

/* Where the upstream is and how to reach it: filled once by the wiring
 * from the configuration and shared by every worker's pool. The strings
 * are read during proxy_pool_new only (copied as needed). */
struct proxy_pool_opts {
    const char *upstream_origin;        /* scheme://host[:port] of UPSTREAM_MCP_URL */
    const char *mount;                  /* its path ("/mcp"; "" = the whole origin) */
    const char *proxy_base_url;         /* PROXY_BASE_URL: X-Forwarded-Proto/-Host */
    const char *upstream_authorization; /* UPSTREAM_AUTHORIZATION_HEADER; NULL or "" = none */
    struct net_resolver_opts dns;       /* DNS_RESOLV_CONF, DNS_HOSTS_FILE */
    struct net_keepalive keepalive;     /* TCP_KEEPALIVE_*, TCP_USER_TIMEOUT */
};

/* The pool of worker w, on its loop, from o. Never NULL: a configuration
 * that passed config_load always yields a pool; if the system CA store
 * cannot be loaded an error is logged and every https connection then
 * fails verification (fail closed). */
struct proxy_pool *proxy_pool_new(struct worker *w, const struct proxy_pool_opts *o);
/* Closes every idle connection and frees the resolver. Connections a
 * forward still holds must be gone (the worker's requests have finished),
 * and the loop must not be running (net_resolver_free runs one pass of it).
 * NULL is a no-op. */
void proxy_pool_free(struct proxy_pool *p);
/* Builds w's pool (proxy_pool_new) into its WORKER_SLOT_UPSTREAM_POOL,
 * freed with the worker's slots (worker.h). */
void proxy_pool_attach_worker(struct worker *w, const struct proxy_pool_opts *o);
/* w's pool, or NULL when none is attached (the control loop). Borrowed. */
struct proxy_pool *proxy_pool_of_worker(const struct worker *w);

/* A connection for one request, handed to fn/arg: the newest idle one, or
 * a new one (connecting; writes wait until it is up) when there is none or
 * fresh is set. *out_reused says which. NULL, with *out_reason (static),
 * when not even a new attempt could start. */
struct proxy_upstream *proxy_pool_acquire(struct proxy_pool *p, bool fresh, proxy_upstream_fn fn,
                                          void *arg, bool *out_reused, const char **out_reason);
/* Gives u back after a response. reusable: the response ended cleanly, the
 * whole request was sent and nothing unread is left; otherwise (or when
 * the pool is full) u is closed. keep_alive_hint_ms: the response's
 * Keep-Alive timeout, 0 when none. */
void proxy_pool_release(struct proxy_pool *p, struct proxy_upstream *u, bool reusable,
                        uint64_t keep_alive_hint_ms);

/* "http://127.0.0.1:8081" -- scheme://host[:port] of UPSTREAM_MCP_URL. */
const char *proxy_pool_origin(const struct proxy_pool *p);
/* The mount path ("/mcp"; "" for the whole origin): upstream redirects
 * are followed only to paths under it. */
const char *proxy_pool_mount(const struct proxy_pool *p);
/* The Host header value: host[:port] as configured. */
const char *proxy_pool_host_header(const struct proxy_pool *p);
/* What every upstream request is told (X-Forwarded-*, Authorization);
 * NULL when the pool could not set it up (requests must then fail). */
const struct proxy_headers_upstream *proxy_pool_headers(const struct proxy_pool *p);
/* Idle connections right now (tests). */
size_t proxy_pool_idle_count(const struct proxy_pool *p);
