#include "http/conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/ipaddr.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/client_ip.h"
#include "http/ip_budget.h"
#include "http/limit_log.h"
#include "http/parser.h"
#include "http/reply.h"
#include "http/request_int.h"
#include "http/router.h"
#include "http/server_opts.h"
#include "log.h"
#include "metrics.h"
#include "net/sockopt.h"
#include "net/stream.h"
#include "worker.h"

/* The connection's life, one state at a time:
 *
 *   READ_HEAD --head--> (route, checks) --> READ_BODY --body--> RESPOND
 *       ^                     |refused                             |
 *       |                     v                                    v
 *       +------- keep-alive --------------------------------- response ended
 *                                                                  | close
 *                                                                  v
 *                                           CLOSING: flush, shut down, linger
 *
 * READ_HEAD is "idle" until the first byte of a request arrives. */
enum conn_state {
    CONN_READ_HEAD = 0,
    CONN_READ_BODY,
    CONN_RESPOND,
    CONN_CLOSING,
};

struct http_conn {
    const struct http_conn_owner *owner; /* borrowed; outlives the connection */
    void *owner_handle;
    struct worker *worker;
    const struct http_server_opts *opts;
    struct net_stream *s; /* the socket and its two buffers */
    int fd;
    struct http_parser *parser;
    struct http_request *req;        /* the request being read or answered */
    struct http_request *done;       /* finished, freed once off every stack (release_done) */
    struct http_ip_budget_hold hold; /* this connection's place under the connection caps */
    enum http_ip_budget_rc body_rc;  /* why the body budget refused the current body */
    struct event *timer;
    struct event *resume_ev; /* "continue from the loop" */
    enum conn_state state;
    struct ipaddr peer;
    char client_ip[IPADDR_TEXT_MAX];
    uint64_t msg_start_ns;
    uint64_t requests; /* requests answered on this connection */
    bool close_after;  /* no keep-alive after the current response */
    bool linger;       /* unread request bytes may follow: linger before closing */
    bool lingering;    /* write side shut, dropping input until EOF or timeout */
    size_t linger_bytes;
    bool peer_eof; /* the client shut its write side */
    bool draining;
    bool destroyed;
    bool in_advance;
    bool advance_again;
};

static void advance(struct http_conn *c);
static void free_done(struct http_conn *c);
static const struct http_stream_ops stream_ops;

static void
free_conn(void *arg)
{
    struct http_conn *c = arg;
    if (c->timer != NULL) {
        event_free(c->timer);
    }
    if (c->resume_ev != NULL) {
        event_free(c->resume_ev);
    }
    http_parser_free(c->parser);
    xfree(c);
}

static void
free_request(void *arg)
{
    http_request_free(arg);
}

/* Tells the owner whether this connection is idle (waiting for a
 * request's first byte): idle ones are the first closed at its cap. */
static void
set_idle(struct http_conn *c, bool idle)
{
    c->owner->ops->idle(c->owner->arg, c->owner_handle, idle);
}

/* Destroy now, free later (STYLE.md 3.5): the socket closes and no event
 * fires any more, but the struct stays readable until the loop turns, so
 * every frame above us on the stack can still look at c->destroyed. */
static void
destroy(struct http_conn *c)
{
    if (c->destroyed) {
        return;
    }
    c->destroyed = true;
    struct http_request *req = c->req;
    if (req != NULL) {
        c->req = NULL;
        req->stream.conn = NULL;
        http_request_client_gone(req);
        worker_defer(c->worker, free_request, req);
    }
    if (c->done != NULL) {
        worker_defer(c->worker, free_request, c->done);
        c->done = NULL;
    }
    http_ip_budget_put(&c->hold);
    net_stream_free(c->s); /* closes the socket; no callback after this */
    c->s = NULL;
    event_del(c->timer);
    event_del(c->resume_ev);
    atomic_fetch_sub_explicit(&c->worker->connections, 1, memory_order_relaxed);
    c->owner->ops->closed(c->owner->arg, c->owner_handle);
    worker_defer(c->worker, free_conn, c);
}

static void
arm_timer(struct http_conn *c, uint64_t ms)
{
    if (ms == 0) {
        event_del(c->timer);
        return;
    }
    struct timeval tv = clock_timeval_from_ms(ms);
    event_add(c->timer, &tv);
}

/* Continue from the loop, not from the caller's stack. */
static void
schedule(struct http_conn *c)
{
    if (c->destroyed) {
        return;
    }
    if (c->in_advance) {
        c->advance_again = true;
    } else {
        event_active(c->resume_ev, EV_TIMEOUT, 0);
    }
}

static struct http_request *
new_request(struct http_conn *c)
{
    assert(c->req == NULL);
    /* A pipelined request: the one before it is freed now, its bytes
     * written or not, so a burst holds one request at a time. */
    free_done(c);
    c->body_rc = HTTP_IP_BUDGET_OK;
    const struct http_request_origin o = {
        .worker = c->worker,
        .stream = {.ops = &stream_ops, .conn = c},
        .is_public = c->opts->is_public,
        .log_skip = c->opts->access_log_skip,
        .log_skip_arg = c->opts->access_log_skip_arg,
        .peer = &c->peer,
        .client_ip = c->client_ip,
        .start_ns = c->msg_start_ns ? c->msg_start_ns : clock_mono_ns(),
    };
    c->req = http_request_new(&o);
    return c->req;
}

/* ---- closing ---- */

static void
finish_close(struct http_conn *c)
{
    if (!c->linger || c->peer_eof) {
        destroy(c);
        return;
    }
    /* Lingering close: our FIN goes out now, and whatever the client is
     * still sending (a refused body) is read and dropped for a moment, so
     * the kernel does not answer it with a reset that would destroy the
     * response before the client has read it. */
    c->lingering = true;
    shutdown(c->fd, SHUT_WR);
    struct evbuffer *in = net_stream_input(c->s);
    evbuffer_drain(in, evbuffer_get_length(in));
    arm_timer(c, BOUNDS_LINGER_MS);
}

/* Flush what is queued, then close. */
static void
start_closing(struct http_conn *c)
{
    c->state = CONN_CLOSING;
    set_idle(c, false);
    arm_timer(c, c->opts->write_timeout_ms);
    if (evbuffer_get_length(net_stream_input(c->s)) > 0) {
        c->linger = true;
    }
    if (evbuffer_get_length(net_stream_output(c->s)) == 0) {
        finish_close(c);
    }
}

/* ---- replies from the connection layer itself ---- */

/* The request is answered without its body: if one may follow, this
 * connection cannot be reused (its bytes would be read as a request). */
static void
refuse_body(struct http_conn *c, const struct http_head *h)
{
    if (h != NULL && (h->content_length > 0 || h->chunked)) {
        c->close_after = true;
        c->linger = true;
    }
}

/* Answers the current request with status and closes afterwards. */
static void
reply_error_and_close(struct http_conn *c, int status)
{
    struct http_request *req = c->req;
    if (req == NULL) {
        req = new_request(c);
        http_request_set_partial(req, http_parser_partial_method(c->parser),
                                 http_parser_partial_path(c->parser));
    }
    c->close_after = true;
    c->state = CONN_RESPOND;
    arm_timer(c, 0);
    if (!http_output_is_started(req)) {
        http_reply_error(req, status);
    } else {
        http_output_abort(req);
    }
}

/* The body budget refused this request's body (before its first byte, or
 * with some of it read): 503 with Retry-After, then close, since the rest
 * of the body cannot be told from a next request. */
static void
refuse_over_budget(struct http_conn *c, struct http_request *req)
{
    bool per_ip = c->body_rc == HTTP_IP_BUDGET_OVER_KEY;
    metrics_inc_body_refused(per_ip ? METRICS_BODY_REFUSED_IP : METRICS_BODY_REFUSED_PROCESS);
    if (http_limit_log_due(per_ip ? HTTP_LIMIT_LOG_BODY_IP : HTTP_LIMIT_LOG_BODY_PROCESS)) {
        struct http_ip_budget *b = c->opts->body_budget;
        struct log_line l;
        http_request_log_begin(&l, req, LOG_WARN, "request_body_budget_exceeded");
        log_str(&l, "scope", per_ip ? "ip" : "process");
        log_uint(&l, "buffered", http_ip_budget_in_use(b));
        log_uint(&l, "cap", per_ip ? http_ip_budget_key_cap(b) : http_ip_budget_total_cap(b));
        log_end(&l);
    }
    c->close_after = true;
    c->linger = true;
    c->state = CONN_RESPOND;
    arm_timer(c, 0);
    if (!http_output_is_started(req)) {
        http_reply_body_budget(req);
    } else {
        http_output_abort(req);
    }
}

static void
on_parse_error(struct http_conn *c)
{
    int status = http_parser_error_status(c->parser);
    c->linger = true;
    if (c->body_rc != HTTP_IP_BUDGET_OK && c->req != NULL) {
        refuse_over_budget(c, c->req);
        return;
    }
    if (status == 413 && c->req != NULL && c->req->route != NULL &&
        c->req->route->opts.too_large != NULL && !http_output_is_started(c->req)) {
        c->close_after = true;
        c->state = CONN_RESPOND;
        arm_timer(c, 0);
        c->req->route->opts.too_large(c->req, c->req->route->arg);
        if (c->req != NULL && !http_output_is_ended(c->req)) {
            http_output_abort(c->req); /* too_large must end synchronously */
        }
        return;
    }
    reply_error_and_close(c, status ? status : 400);
}

/* Body bytes are counted against the budget as they arrive, so what a
 * client can make us hold is what it has actually sent (announcing a
 * length reserves nothing). */
static int
on_body_bytes(void *arg, const char *data, size_t len)
{
    struct http_request *req = arg;
    struct http_conn *c = req->stream.conn;
    struct http_ip_budget *b = c->opts->body_budget;
    if (b != NULL) {
        enum http_ip_budget_rc rc =
            http_ip_budget_take(b, slice_from_cstr(req->client_key), len, &req->body_hold);
        if (rc != HTTP_IP_BUDGET_OK) {
            c->body_rc = rc;
            return -1; /* a parse error, answered by refuse_over_budget */
        }
    }
    return evbuffer_add(req->body, data, len) == 0 ? 0 : -1;
}

/* Before the first body byte: the key the body counts under, and whether
 * the budget has room at all (if not, the request is refused without
 * reading a byte). False after refusing. */
static bool
body_budget_admits(struct http_conn *c, struct http_request *req)
{
    struct http_ip_budget *b = c->opts->body_budget;
    if (b == NULL) {
        return true;
    }
    char key[HTTP_SERVER_OPTS_CLIENT_KEY_SIZE];
    if (c->opts->client_key != NULL) {
        c->opts->client_key(c->opts->client_key_arg, req, key);
    } else {
        snprintf(key, sizeof(key), "%s", c->client_ip);
    }
    req->client_key = arena_strdup(http_request_arena(req), key);
    if (req->client_key == NULL) {
        req->client_key = ""; /* arena full: counted in the total only */
    }
    struct slice k = slice_from_cstr(req->client_key);
    if (http_ip_budget_fits(b, k, 1)) {
        return true;
    }
    c->body_rc =
        http_ip_budget_fits(b, SLICE_NULL, 1) ? HTTP_IP_BUDGET_OVER_KEY : HTTP_IP_BUDGET_OVER_TOTAL;
    refuse_over_budget(c, req);
    return false;
}

/* Everything decided between the head and the first body byte. Returns
 * false when the request was answered here (refused). */
static bool
accept_head(struct http_conn *c, struct http_request *req, const struct http_head *h)
{
    const struct http_router *router = c->opts->router;
    unsigned allowed = 0;
    const struct http_route *rt = http_router_match(router, h->method, h->path, &allowed);
    req->route = rt;
    if (rt == NULL) {
        refuse_body(c, h);
        if (allowed != 0) {
            http_reply_method_not_allowed(req, allowed);
        } else {
            http_reply_not_found(req);
        }
        return false;
    }
    if (h->expect_other) {
        /* RFC 9110 10.1.1: an expectation we cannot meet. */
        refuse_body(c, h);
        c->close_after = true;
        http_reply_error(req, 417);
        return false;
    }
    if (!http_router_rate_limit_allows(router, rt, req)) {
        refuse_body(c, h);
        metrics_inc_rate_limited(rt->opts.bucket);
        if (rt->opts.rate_limited_reply != NULL) {
            rt->opts.rate_limited_reply(req, rt->arg);
            assert(http_output_is_ended(req)); /* it must end synchronously */
        } else {
            http_reply_rate_limited(req);
        }
        return false;
    }
    if (h->content_length > 0 && (uint64_t)h->content_length > rt->opts.body_max) {
        /* 413 before a single body byte is read (DESIGN.md "The HTTP layer"). */
        refuse_body(c, h);
        c->close_after = true;
        if (rt->opts.too_large != NULL) {
            rt->opts.too_large(req, rt->arg);
            assert(http_output_is_ended(req)); /* too_large must end synchronously */
        } else {
            http_reply_error(req, 413);
        }
        return false;
    }
    if (rt->opts.head_check != NULL) {
        bool pass = rt->opts.head_check(req, rt->arg);
        /* A check replies exactly when it refuses; anything else is a bug. */
        assert(pass != http_output_is_started(req));
        if (!pass) {
            refuse_body(c, h);
            return false;
        }
    }
    return true;
}

static void
dispatch(struct http_conn *c)
{
    struct http_request *req = c->req;
    c->state = CONN_RESPOND;
    arm_timer(c, 0);
    req->dispatched = true;
    atomic_fetch_add_explicit(&c->worker->requests_inflight, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->worker->requests_total, 1, memory_order_relaxed);
    if (http_router_gated(c->opts->router, req->route)) {
        http_router_gate_start(c->opts->router, req->route, req);
    } else {
        req->route->handler(req, req->route->arg);
    }
    /* A handler that is not done yet must be able to hear that the client
     * left; one that registered nothing would leak its work. */
    assert(c->destroyed || c->req != req || req->out_state == HTTP_OUT_ENDED ||
           req->abort_fn != NULL);
}

void
http_conn_rate_gate_done(struct http_request *req, bool allowed)
{
    const struct http_route *rt = req->route;
    if (allowed) {
        rt->handler(req, rt->arg);
        return;
    }
    metrics_inc_rate_limited(rt->opts.bucket);
    if (rt->opts.rate_limited_reply != NULL) {
        rt->opts.rate_limited_reply(req, rt->arg);
        assert(http_output_is_ended(req)); /* it must end synchronously */
    } else {
        http_reply_rate_limited(req);
    }
}

static void
on_head(struct http_conn *c)
{
    const struct http_head *h = http_parser_head(c->parser);
    struct http_request *req = new_request(c);
    if (http_request_set_head(req, h) != 0) {
        reply_error_and_close(c, 431);
        return;
    }
    bool has_body = h->content_length > 0 || h->chunked;
    if (!has_body) {
        /* Complete the message now, so that even a refusal below leaves
         * the connection reusable. */
        size_t used = 0;
        http_parser_accept_body(c->parser, 0, NULL, NULL);
        if (http_parser_feed(c->parser, NULL, 0, &used) != HTTP_PARSE_DONE) {
            on_parse_error(c);
            return;
        }
    }
    c->state = CONN_RESPOND; /* a refusal below answers at once */
    arm_timer(c, 0);
    if (!accept_head(c, req, h)) {
        if (c->req == req && !http_output_is_ended(req)) {
            /* The head check answered with a stream of its own (allowed,
             * if unusual): it is now a dispatched request. */
            req->dispatched = true;
            atomic_fetch_add_explicit(&c->worker->requests_inflight, 1, memory_order_relaxed);
        }
        return;
    }
    if (!has_body) {
        dispatch(c);
        return;
    }
    if (!body_budget_admits(c, req)) {
        return;
    }
    if (h->expect_continue) {
        /* RFC 9110 10.1.1: only now that the route took the head. */
        evbuffer_add(net_stream_output(c->s), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    http_parser_accept_body(c->parser, req->route->opts.body_max, on_body_bytes, req);
    c->state = CONN_READ_BODY;
    arm_timer(c, c->opts->body_timeout_ms);
}

/* Feeds the parser from the input buffer until it needs more bytes or an
 * event moved the connection out of the reading states. */
static void
read_requests(struct http_conn *c)
{
    struct evbuffer *in = net_stream_input(c->s);
    while (!c->destroyed && (c->state == CONN_READ_HEAD || c->state == CONN_READ_BODY)) {
        bool was_in_message = http_parser_in_message(c->parser);
        struct evbuffer_iovec v = {0};
        int chunks = evbuffer_peek(in, -1, NULL, &v, 1);
        const char *data = chunks > 0 ? v.iov_base : NULL;
        size_t len = chunks > 0 ? v.iov_len : 0;
        if (c->state == CONN_READ_HEAD && !was_in_message && len == 0) {
            return; /* idle: the timer was armed when the state was entered */
        }
        size_t used = 0;
        enum http_parse_event ev = http_parser_feed(c->parser, data, len, &used);
        evbuffer_drain(in, used);
        if (!was_in_message && http_parser_in_message(c->parser)) {
            c->msg_start_ns = clock_mono_ns();
            arm_timer(c, c->opts->head_timeout_ms);
            set_idle(c, false);
        }
        switch (ev) {
        case HTTP_PARSE_MORE:
            if (len == 0 || evbuffer_get_length(in) == 0) {
                return;
            }
            break;
        case HTTP_PARSE_HEAD:
            on_head(c);
            break;
        case HTTP_PARSE_DONE:
            dispatch(c);
            break;
        case HTTP_PARSE_ERROR:
            on_parse_error(c);
            return;
        }
    }
}

/* The current response is over: next request, or close. */
static void
after_response(struct http_conn *c)
{
    if (c->close_after || c->draining || c->peer_eof) {
        start_closing(c);
        return;
    }
    if (evbuffer_get_length(net_stream_output(c->s)) > BOUNDS_OUTPUT_HIGH_WATER) {
        /* A pipelining client that does not read its responses gets no
         * more of them until it does; on_written resumes us at LOW. */
        return;
    }
    http_parser_next(c->parser);
    c->state = CONN_READ_HEAD;
    c->msg_start_ns = 0;
    c->requests++;
    arm_timer(c, c->opts->idle_timeout_ms);
    set_idle(c, true);
    c->advance_again = true;
}

static void
step(struct http_conn *c)
{
    switch (c->state) {
    case CONN_READ_HEAD:
    case CONN_READ_BODY:
        read_requests(c);
        break;
    case CONN_RESPOND:
        if (c->req == NULL) {
            after_response(c);
        }
        break;
    case CONN_CLOSING:
        break;
    }
}

/* Frees the finished request now. Safe here and only here: advance() runs
 * at the top of a loop callback of this connection (on_readable, on_written,
 * on_resume), never under a handler or producer, so a request that ended
 * during an earlier step -- its handler has returned -- or in another
 * callback before this one is referenced from no stack. Freeing it before
 * the next pipelined request is parsed keeps a burst of small pipelined
 * requests at one request's memory instead of all of them until the loop
 * turns. */
static void
free_done(struct http_conn *c)
{
    struct http_request *req = c->done;
    if (req != NULL) {
        c->done = NULL;
        http_request_free(req);
    }
}

/* Freeing writes the request's access-log line: not before its response's
 * bytes went to the socket (the write callback comes back here), so the
 * line is formatted off the response's latency path. */
static void
release_done(struct http_conn *c)
{
    if (c->done != NULL && evbuffer_get_length(net_stream_output(c->s)) == 0) {
        free_done(c);
    }
}

static void
advance(struct http_conn *c)
{
    if (c->destroyed) {
        return;
    }
    if (c->in_advance) {
        c->advance_again = true;
        return;
    }
    c->in_advance = true;
    do {
        c->advance_again = false;
        release_done(c);
        step(c);
    } while (c->advance_again && !c->destroyed);
    if (!c->destroyed) {
        release_done(c);
    }
    c->in_advance = false;
}

/* ---- libevent callbacks ---- */

/* Calls the current request's drain callback if the output has drained. */
static void
maybe_drain(struct http_conn *c)
{
    struct http_request *req = c->req;
    if (req == NULL || req->drain_fn == NULL ||
        evbuffer_get_length(net_stream_output(c->s)) > BOUNDS_OUTPUT_LOW_WATER) {
        return;
    }
    http_output_drain_fn fn = req->drain_fn;
    req->drain_fn = NULL;
    fn(req, req->drain_arg);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_conn *c = arg;
    maybe_drain(c);
    advance(c);
}

static void
on_readable(void *arg)
{
    struct http_conn *c = arg;
    struct evbuffer *in = net_stream_input(c->s);
    if (c->lingering || c->state == CONN_CLOSING) {
        size_t n = evbuffer_get_length(in);
        c->linger_bytes += n;
        evbuffer_drain(in, n);
        if (c->linger_bytes > BOUNDS_LINGER_BYTES_MAX) {
            destroy(c);
        }
        return;
    }
    if (c->state == CONN_RESPOND) {
        /* Pipelined bytes wait for the current response; past the cap the
         * client is flooding, and a flood is not buffered. */
        if (evbuffer_get_length(in) > BOUNDS_PIPELINE_INPUT_MAX) {
            destroy(c);
        }
        return;
    }
    advance(c);
}

/* A write made progress and at most LOW bytes wait. */
static void
on_written(void *arg)
{
    struct http_conn *c = arg;
    if (!c->in_advance) {
        release_done(c);
    }
    if (c->state == CONN_CLOSING) {
        if (!c->lingering && evbuffer_get_length(net_stream_output(c->s)) == 0) {
            finish_close(c);
        }
        return;
    }
    maybe_drain(c);
    if (!c->destroyed && c->state == CONN_RESPOND && c->req == NULL) {
        advance(c);
    }
}

/* Counts the connections closed because the client stopped taking part:
 * the write-stall timeout (net/stream's write timeout, armed only while
 * output waits for the socket), and ETIMEDOUT from the kernel (keep-alive
 * probes or TCP_USER_TIMEOUT went unanswered). */
static void
count_dropped(struct http_conn *c, enum net_stream_event what, int err)
{
    if (!c->opts->is_public) {
        return;
    }
    enum metrics_conn_dropped why;
    if (what == NET_STREAM_WRITE_TIMEOUT) {
        why = METRICS_CONN_DROPPED_WRITE_STALL;
    } else if (what == NET_STREAM_ERROR && err == ETIMEDOUT) {
        why = METRICS_CONN_DROPPED_PEER_TIMEOUT;
    } else {
        return;
    }
    metrics_inc_conn_dropped(why);
    if (log_enabled(LOG_DEBUG)) {
        struct log_line l;
        log_begin(&l, LOG_DEBUG, "client_connection_dropped");
        log_str(&l, "client_ip", c->client_ip);
        log_str(&l, "reason",
                why == METRICS_CONN_DROPPED_WRITE_STALL ? "write_stall" : "peer_timeout");
        log_end(&l);
    }
}

static void
on_stream_event(void *arg, enum net_stream_event what, int err)
{
    struct http_conn *c = arg;
    count_dropped(c, what, err);
    if (what == NET_STREAM_EOF && !c->lingering) {
        /* The client shut its write side. With no request in progress the
         * queued output is still delivered; a request in progress (or a
         * partial one) is abandoned, as the client can send no more. */
        c->peer_eof = true;
        bool idle = c->req == NULL && !http_parser_in_message(c->parser);
        if (idle && (c->state == CONN_READ_HEAD || c->state == CONN_RESPOND)) {
            start_closing(c);
            return;
        }
        if (c->state == CONN_CLOSING) {
            return; /* still flushing; finish_close sees peer_eof */
        }
    }
    destroy(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_conn *c = arg;
    switch (c->state) {
    case CONN_READ_HEAD:
        if (!http_parser_in_message(c->parser)) {
            destroy(c); /* idle keep-alive, or a connection that never spoke */
            return;
        }
        reply_error_and_close(c, 408);
        return;
    case CONN_READ_BODY:
        c->linger = true;
        reply_error_and_close(c, 408);
        return;
    case CONN_RESPOND:
    case CONN_CLOSING:
        destroy(c); /* write timeout (metrics listener) or linger over */
        return;
    }
}

static const struct net_stream_ops stream_io_ops = {
    .readable = on_readable,
    .written = on_written,
    .event = on_stream_event,
};

/* ---- public ---- */

static void
set_peer(struct http_conn *c, const struct sockaddr *sa, socklen_t len)
{
    struct client_ip_peer p = client_ip_peer_from_sockaddr(sa, len);
    c->peer = p.addr;
    if (p.addr.family != 0) {
        ipaddr_format(&c->peer, c->client_ip);
    } else {
        /* "unix" for a Unix-domain peer, else empty. */
        snprintf(c->client_ip, sizeof(c->client_ip), "%.*s", (int)p.text.len,
                 p.text.ptr != NULL ? p.text.ptr : "");
    }
}

struct http_conn *
http_conn_new(const struct http_conn_owner *owner, int fd, const struct sockaddr *peer,
              socklen_t peer_len, struct http_ip_budget_hold *hold)
{
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->owner = owner;
    c->worker = owner->worker;
    c->opts = owner->opts;
    c->fd = fd;
    c->hold = *hold;
    *hold = (struct http_ip_budget_hold){0};
    set_peer(c, peer, peer_len);
    if (peer != NULL && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6)) {
        /* Responses leave in one or few writes; do not let Nagle hold a
         * stream's small chunks back. Keep-alive probes find a client that
         * vanished without a FIN while its stream was quiet, and
         * TCP_USER_TIMEOUT one that stopped acknowledging what we sent:
         * either way the socket errors out and the request is aborted,
         * which releases its upstream connection and subject slot. A
         * refused option (not TCP after all) changes nothing else. */
        (void)net_sockopt_nodelay(fd);
        (void)net_sockopt_keepalive(fd, &c->opts->keepalive);
    }
    evutil_make_socket_nonblocking(fd);
    struct event_base *base = c->worker->base;
    /* Drain callbacks (on_written) fire once the output is down to LOW. */
    c->s = net_stream_new(base, fd, &stream_io_ops, c, BOUNDS_OUTPUT_LOW_WATER);
    net_stream_set_write_timeout(c->s, c->opts->write_timeout_ms);
    c->timer = evtimer_new(base, on_timer, c);
    c->resume_ev = event_new(base, -1, 0, on_resume, c);
    c->parser = http_parser_new();
    if (c->timer == NULL || c->resume_ev == NULL) {
        /* libevent fails here only when allocation does (ours aborts). */
        abort();
    }
    c->state = CONN_READ_HEAD;
    arm_timer(c, c->opts->head_timeout_ms);
    atomic_fetch_add_explicit(&c->worker->connections, 1, memory_order_relaxed);
    c->owner_handle = owner->ops->opened(owner->arg, c);
    set_idle(c, true); /* until its first byte */
    if (owner->ops->is_draining(owner->arg)) {
        http_conn_drain(c);
    }
    return c;
}

void
http_conn_drain(struct http_conn *c)
{
    if (c->destroyed) {
        return;
    }
    c->draining = true;
    c->close_after = true;
    if (c->state == CONN_READ_HEAD && !http_parser_in_message(c->parser)) {
        start_closing(c); /* idle keep-alive: close now (after the queued output) */
    }
}

void
http_conn_abort(struct http_conn *c)
{
    destroy(c);
}

/* ---- the stream a request writes its response into ---- */

static struct evbuffer *
stream_output(void *conn)
{
    struct http_conn *c = conn;
    return net_stream_output(c->s);
}

static bool
stream_may_keep_alive(const void *conn, const struct http_request *req)
{
    const struct http_conn *c = conn;
    return req->keep_alive && !c->close_after && !c->draining && !c->peer_eof &&
           !http_parser_in_body(c->parser);
}

static void
stream_close_after(void *conn)
{
    struct http_conn *c = conn;
    c->close_after = true;
}

/* The current response ended (clean) or was aborted (!clean): the request
 * finishes now and the connection moves on (next request, or close) from
 * the loop, never from inside this call. */
static void
response_done(struct http_conn *c, struct http_request *req, bool clean)
{
    assert(c->req == req);
    if (!clean) {
        c->close_after = true;
    }
    c->req = NULL;
    req->stream.conn = NULL;
    http_request_finish(req);
    /* Freed by release_done once off the stack; a request still waiting
     * there (one cannot finish before the next starts, but stay safe) goes
     * the deferred way. */
    if (c->done != NULL) {
        worker_defer(c->worker, free_request, c->done);
    }
    c->done = req;
    if (c->state == CONN_READ_BODY || http_parser_in_body(c->parser)) {
        /* Answered before its body was read: the rest of the body is
         * still coming and cannot be told from a next request. */
        c->close_after = true;
        c->linger = true;
        c->state = CONN_RESPOND;
    }
    schedule(c);
}

static void
stream_end(void *conn, struct http_request *req)
{
    response_done(conn, req, true);
}

static void
stream_abort(void *conn, struct http_request *req)
{
    response_done(conn, req, false);
}

static void
stream_watch_drain(void *conn)
{
    struct http_conn *c = conn;
    if (c->destroyed) {
        return;
    }
    if (evbuffer_get_length(net_stream_output(c->s)) <= BOUNDS_OUTPUT_LOW_WATER) {
        event_active(c->resume_ev, EV_TIMEOUT, 0); /* already drained: tell it next turn */
    }
    /* else on_written calls it once the output is down to LOW */
}

static const struct http_stream_ops stream_ops = {
    .output = stream_output,
    .may_keep_alive = stream_may_keep_alive,
    .close_after = stream_close_after,
    .end = stream_end,
    .abort = stream_abort,
    .watch_drain = stream_watch_drain,
};
