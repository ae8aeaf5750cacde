/* One client connection: HTTP/1.1 on a net/stream socket, with the
 * request parser (http/parser.h) in front and the response writer
 * (http/output.h) behind.
 *
 * It owns the socket, the parser, the current request and the timers:
 * head 10 s (from the first byte; a fresh connection's first byte too),
 * body 30 s, idle keep-alive 120 s, and none while a response is in
 * progress or streaming -- except the write-stall timeout, which runs only
 * while output is queued and restarts whenever some of it drains, so a
 * client that stops reading is closed and a quiet stream never is. TCP
 * keep-alive (the server's options, http/server_opts.h) finds a peer that
 * vanished while the stream was quiet. Request bodies are counted against the server's body
 * budget as they arrive; a body past it is answered 503 and the connection
 * closed. Requests on one connection are answered in order;
 * while one is in progress, reading goes on (so a client close is seen at
 * once, even before the first response byte) but pipelined bytes are only
 * buffered, up to BOUNDS_PIPELINE_INPUT_MAX, and a client that sends more
 * is cut off. Every decision that must precede the body (route, method,
 * rate limit, body cap, head check, Expect: 100-continue) is taken right
 * after the head. Malformed input gets one error response with
 * Connection: close, and nothing after it is read as a request.
 *
 * The request and its response reach the connection only through the
 * struct http_stream it installs in each request (http/request_int.h).
 *
 * A connection is destroyed at once (socket closed, events removed) and
 * freed on a later loop turn (worker_defer), so it is never freed under a
 * callback still running on it. A finished request is freed by the
 * connection as soon as the handler that ended it has returned (before the
 * next pipelined request is parsed), or on the next loop turn when it ended
 * from another callback. Everything runs on its worker's thread. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

struct http_conn;
struct http_ip_budget_hold;
struct http_request;
struct http_server_opts;
struct worker;

/* What a connection tells the one that owns it (http/server.c keeps the
 * live and idle lists with these). arg is struct http_conn_owner's. */
struct http_conn_owner_ops {
    /* Connection c opened; returns the handle passed back below. */
    void *(*opened)(void *arg, struct http_conn *c);
    /* It is being destroyed: the handle is dead after this call. */
    void (*closed)(void *arg, void *handle);
    /* It is idle (waiting for a request's first byte) or no longer. */
    void (*idle)(void *arg, void *handle, bool idle);
    /* Is the owner draining? (a connection opened while it is drains at
     * once) */
    bool (*is_draining)(const void *arg);
};

/* A connection's owner, installed by it at http_conn_new (as a request
 * gets its struct http_stream): the connection never names the server
 * that accepted it. Borrowed; outlives every connection it owns. */
struct http_conn_owner {
    const struct http_conn_owner_ops *ops;
    void *arg;                           /* the ops' first argument */
    struct worker *worker;               /* the loop and the deferred frees */
    const struct http_server_opts *opts; /* timeouts, keep-alive, body budget */
};

/* Serves fd (connected, owned from now on) for owner (borrowed). hold is
 * the connection's place under the connection caps (moved in: given back
 * when the connection is destroyed; an empty hold when uncapped). */
struct http_conn *http_conn_new(const struct http_conn_owner *owner, int fd,
                                const struct sockaddr *peer, socklen_t peer_len,
                                struct http_ip_budget_hold *hold);
/* The owner drains: an idle connection closes now (after flushing what
 * is queued); a busy one closes after its current response. */
void http_conn_drain(struct http_conn *c);
/* Forced close: the current request, if any, is aborted (its abort
 * callback runs) and the connection is destroyed now. */
void http_conn_abort(struct http_conn *c);

struct http_request;
/* The rate-limit gate's answer for req (http/router.h http_rate_gate_fn):
 * allowed runs the route's handler; refused counts the 429 and answers it
 * (the route's rate_limited_reply, else the plain 429). */
void http_conn_rate_gate_done(struct http_request *req, bool allowed);
