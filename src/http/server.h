/* One HTTP listener on one worker: the listening socket (SO_REUSEPORT, so
 * every worker binds its own and the kernel spreads connections), accept,
 * the set of live connections, the connection caps, and graceful drain.
 *
 * The public listener and the metrics listener are both http_servers; they
 * differ only in their options (router, timeouts, whether responses carry
 * the security headers, X-Request-Id and an access-log line, caps).
 *
 * Connection caps (conn_budget: MAX_CLIENT_CONNECTIONS, _PER_IP). A new
 * connection over its address's share is closed at once: that source
 * should reuse the connections it has. At the process cap the server closes
 * the oldest idle connection of its own (idle keep-alive, or never spoke)
 * and admits the newcomer; with nothing idle the newcomer is closed and
 * accepting pauses for BOUNDS_ACCEPT_PAUSE_MS, so the loop does not spin on
 * accept-and-close while arrivals wait in the kernel's backlog. Why idle
 * ones go first: a client must be ready for its idle connection to close at
 * any moment (RFC 9112 9.5) and simply reconnects, while a busy connection
 * carries work in progress. The same pause follows accept() failing for
 * lack of descriptors (EMFILE, ENFILE). Each event is counted
 * (mcp_auth_client_connections_refused_total, _evicted_total,
 * mcp_auth_accept_paused_total) and logged at most once per
 * BOUNDS_LIMIT_LOG_INTERVAL_MS. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/server_opts.h"

struct buf;
struct worker;

struct http_server;

/* A server on worker w with no listening socket yet. opts is copied. */
struct http_server *http_server_new(struct worker *w, const struct http_server_opts *opts);
/* Closes the listener, drops every connection (their requests are aborted),
 * and frees the server once the worker runs its deferred frees. NULL is a
 * no-op. */
void http_server_free(struct http_server *s);

/* Creates a listening TCP socket on host:port. host "" is the wildcard
 * (IPv6 dual-stack, IPv4 when the kernel has no IPv6); an IP literal
 * (brackets optional for IPv6) or a name resolved once. reuse_port sets
 * SO_REUSEPORT. Returns the non-blocking fd, or -1 with a one-line reason
 * ("bind 127.0.0.1:9090: Address already in use") appended to err. */
int http_server_bind(const char *host, uint16_t port, bool reuse_port, struct buf *err)
    __attribute__((warn_unused_result));
/* Accepts on fd (owned from now on) with this worker's loop. 0 or -1. */
int http_server_listen_fd(struct http_server *s, int fd) __attribute__((warn_unused_result));
/* The bound port (after http_server_listen_fd), 0 when not listening. */
uint16_t http_server_port(const struct http_server *s);

/* Serves an already-connected socket (owned from now on): what accept does,
 * and what tests use with a socketpair. */
void http_server_adopt(struct http_server *s, int fd, const struct sockaddr *peer,
                       socklen_t peer_len);

/* Graceful drain (SPEC.md 8.3): stop accepting, close idle keep-alive
 * connections now, let in-flight requests and streams finish (each then
 * closes its connection). on_empty(arg) runs from the loop once no
 * connection is left (at once, deferred, when there is none). */
void http_server_drain(struct http_server *s, void (*on_empty)(void *arg), void *arg);
/* Forced end (drain deadline): every connection is closed now and its
 * request's abort callback runs. */
void http_server_abort_all(struct http_server *s);
bool http_server_is_draining(const struct http_server *s);
size_t http_server_conn_count(const struct http_server *s);
