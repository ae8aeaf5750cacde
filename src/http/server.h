/* One HTTP listener on one worker: the listening socket (SO_REUSEPORT, so
 * every worker binds its own and the kernel spreads connections), accept,
 * the set of live connections, and graceful drain.
 *
 * The public listener and the metrics listener are both http_servers; they
 * differ only in their options (router, timeouts, whether responses carry
 * the security headers, X-Request-Id and an access-log line). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct buf;
struct http_conn;
struct http_router;
struct worker;

struct http_server_opts {
    const struct http_router *router; /* borrowed; outlives the server */
    bool is_public;                   /* security headers, X-Request-Id, access log */
    uint64_t head_timeout_ms;  /* first byte to end of head (and a fresh conn's first byte) */
    uint64_t body_timeout_ms;  /* end of head to end of body */
    uint64_t idle_timeout_ms;  /* keep-alive wait for the next request */
    uint64_t write_timeout_ms; /* 0: none (public: streams live as long as both ends want) */
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
