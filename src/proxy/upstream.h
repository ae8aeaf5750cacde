/* proxy/upstream: one connection to the upstream MCP server, on the
 * worker's loop (DESIGN.md "The forward").
 *
 * Owns a libevent bufferevent (plain, or OpenSSL with SNI and certificate
 * verification, net/tls.h) and gets there by itself through net/connect.h:
 * the pool's resolver (cached, shared lookups), every address raced
 * RFC 8305 style, then TLS, all within BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS.
 * Bytes written before the connection is up wait in a buffer. It knows
 * nothing of HTTP: the owner (a forward, or the pool while idle) reads the
 * input and parses it (proxy/response.h).
 *
 * Events reach the owner through one callback, never from inside a call
 * the owner makes. proxy_upstream_close() closes the socket (and every
 * attempt still racing, and the lookup) at once and frees the struct on a
 * later loop turn (worker_defer), so the owner may close it from inside
 * its callback; afterwards the callback never runs. Used on its worker's
 * thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct net_keepalive;
struct net_resolver;
struct ssl_ctx_st;
struct worker;
union net_sockaddr;

/* Where the upstream is and how to reach it; borrowed for the
 * connection's life (the pool owns it). */
struct proxy_upstream_target {
    const char *host; /* bare host for DNS, SNI and the certificate check
                       * (no IPv6 brackets), e.g. "mcp.internal", "::1" */
    unsigned port;
    struct ssl_ctx_st *ssl_ctx;            /* non-NULL: https (verification on) */
    struct net_resolver *resolver;         /* the pool's */
    const struct net_keepalive *keepalive; /* TCP_KEEPALIVE_* for every socket */
    union net_sockaddr *last_good;         /* the address that last connected (tried
                                            * first; updated on connect); may be NULL */
};

enum proxy_upstream_event {
    PROXY_UPSTREAM_READABLE = 0, /* bytes wait in proxy_upstream_input() */
    PROXY_UPSTREAM_CLOSED,       /* the upstream closed its side (EOF), input drained or not */
    PROXY_UPSTREAM_FAILED,       /* could not connect (DNS, refused, timeout, TLS), or a
                                  * socket error: proxy_upstream_error() says which */
    PROXY_UPSTREAM_EVENT_COUNT,
};

struct proxy_upstream;

typedef void (*proxy_upstream_fn)(struct proxy_upstream *u, enum proxy_upstream_event ev,
                                  void *arg);

/* Starts connecting to t on w's loop; fn(u, ev, arg) hears the outcome
 * (a failure to resolve or connect arrives as FAILED). Never NULL today;
 * *out_reason (static) is kept for callers that handle a refusal. */
struct proxy_upstream *proxy_upstream_connect(struct worker *w,
                                              const struct proxy_upstream_target *t,
                                              proxy_upstream_fn fn, void *arg,
                                              const char **out_reason);
/* Hands the connection to another owner (the pool, a forward). */
void proxy_upstream_set_callback(struct proxy_upstream *u, proxy_upstream_fn fn, void *arg);
/* Closes now, frees later; fn is never called again. NULL is a no-op. */
void proxy_upstream_close(struct proxy_upstream *u);

/* Moves all of buf to the upstream's queue (buf is left empty); sent once
 * connected. */
void proxy_upstream_write_buffer(struct proxy_upstream *u, struct evbuffer *buf);
/* Bytes received and not yet drained by the owner. Borrowed. */
struct evbuffer *proxy_upstream_input(struct proxy_upstream *u);
/* Nothing queued for the upstream any more (the whole request left). */
bool proxy_upstream_is_flushed(const struct proxy_upstream *u);
/* Open, with nothing unread: no bytes in the input buffer, none pending
 * inside TLS, and none (nor a FIN) waiting in the kernel. Checked before
 * an idle connection is reused, so late bytes of an earlier response are
 * never read as the next request's. */
bool proxy_upstream_is_quiet(const struct proxy_upstream *u);

/* Back-pressure: stop / restart reading from the upstream socket. */
void proxy_upstream_pause(struct proxy_upstream *u);
void proxy_upstream_resume(struct proxy_upstream *u);

/* After FAILED: why, as a short sentence ("cannot connect to h:80: ::1
 * connection refused; 127.0.0.1 timed out", "TLS certificate verification
 * failed for h:443: ...", "cannot resolve h: no such host").
 * Borrowed, valid until the connection is freed. "" otherwise. */
const char *proxy_upstream_error(const struct proxy_upstream *u);
