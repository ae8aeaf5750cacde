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

#include "bounds.h"
#include "http/request.h"
#include "net/sockopt.h"

struct buf;
struct http_conn;
struct http_ip_budget;
struct http_request;
struct http_router;
struct ipcidr;
struct worker;

/* Bytes of a request's client key, NUL included. */
#define HTTP_SERVER_CLIENT_KEY_SIZE (BOUNDS_CLIENT_IP_KEY_MAX + 1)

/* Writes the per-address key of a request (the rate limiter's client IP:
 * a trusted forwarded-for header, else the peer; IPv6 per /64) into out,
 * NUL-terminated. Runs on the worker after the head is parsed. */
typedef void (*http_server_client_key_fn)(void *arg, struct http_request *req,
                                          char out[HTTP_SERVER_CLIENT_KEY_SIZE]);

struct http_server_opts {
    const struct http_router *router; /* borrowed; outlives the server */
    bool is_public;                   /* security headers, X-Request-Id, access log */
    /* Public requests whose decoded path this says to skip get no
     * access-log line (ACCESS_LOG_SKIP_RE); NULL: every one is logged.
     * arg is borrowed and outlives the server. */
    http_request_log_skip_fn access_log_skip;
    const void *access_log_skip_arg;
    uint64_t head_timeout_ms; /* first byte to end of head (and a fresh conn's first byte) */
    uint64_t body_timeout_ms; /* end of head to end of body */
    uint64_t idle_timeout_ms; /* keep-alive wait for the next request */
    /* Output queued and nothing drained to the kernel for this long closes
     * the connection (libevent's write timeout, armed only while output
     * waits); 0: none. Public: CLIENT_WRITE_STALL_TIMEOUT. */
    uint64_t write_timeout_ms;
    /* TCP keep-alive and TCP_USER_TIMEOUT for every accepted TCP socket
     * (TCP_KEEPALIVE_*, TCP_USER_TIMEOUT); all zero: keep-alive off. */
    struct net_keepalive keepalive;
    /* Open connections, shared by every worker's server (borrowed); NULL:
     * no caps. The key is the TCP peer (IPv6 per /64); a peer inside
     * trusted_peers (TRUSTED_PROXY_CIDRS) counts toward the total only. */
    struct http_ip_budget *conn_budget;
    const struct ipcidr *trusted_peers;
    size_t trusted_peer_count;
    /* Buffered request bodies (borrowed); NULL: not budgeted. Keyed with
     * client_key (NULL: the peer's text). */
    struct http_ip_budget *body_budget;
    http_server_client_key_fn client_key;
    void *client_key_arg;
};

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

/* ---- for http/conn.c ---- */

const struct http_server_opts *http_server_get_opts(const struct http_server *s);
struct worker *http_server_get_worker(const struct http_server *s);
/* Registers a new connection; returns the handle to pass back on close. */
void *http_server_conn_opened(struct http_server *s, struct http_conn *c);
/* Unregisters it (the connection is being destroyed). */
void http_server_conn_closed(struct http_server *s, void *handle);
/* The connection is idle (waiting for a request's first byte) or not: idle
 * ones are kept in order, longest idle first, for eviction at the cap. */
void http_server_conn_idle(struct http_server *s, void *handle, bool idle);

/* Limit events logged at most once per BOUNDS_LIMIT_LOG_INTERVAL_MS,
 * process-wide (a flood at a cap is one line every few seconds; the
 * metrics count every event). */
enum http_server_log {
    HTTP_SERVER_LOG_ACCEPT_FAILED = 0,
    HTTP_SERVER_LOG_PROCESS_LIMIT,
    HTTP_SERVER_LOG_IP_LIMIT,
    HTTP_SERVER_LOG_BODY_PROCESS,
    HTTP_SERVER_LOG_BODY_IP,
    HTTP_SERVER_LOG_COUNT,
};
/* True when this event may be logged now (and records that it was). */
bool http_server_log_due(enum http_server_log which);
