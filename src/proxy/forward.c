#include "proxy/forward.h"

#include <assert.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/decimal.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/trace.h"
#include "log.h"
#include "metrics.h"
#include "proxy/headers.h"
#include "proxy/path.h"
#include "proxy/pool.h"
#include "proxy/response.h"
#include "proxy/upstream.h"
#include "worker.h"

/* The upstream request head: every kept inbound field, the injected ones,
 * the request line and Host. The inbound part is capped by the request
 * parser; groups and the upstream Authorization come from a sealed token
 * and the configuration. */
#define FORWARD_HEAD_MAX                                                                           \
    (BOUNDS_HEADER_BYTES_MAX + BOUNDS_URL_MAX + BOUNDS_SEALED_MAX_CHARS + 8192 +                   \
     BOUNDS_IDENTITY_ASSERTION_MAX_BYTES)

enum fwd_state {
    F_WAIT_HEAD = 0, /* request sent (or queued), no final head yet */
    F_BODY,          /* head relayed, body streaming */
    F_OVER,          /* response ended, failed, or the client left */
};

struct fwd {
    struct http_request *req;
    struct proxy_pool *pool;
    struct proxy_forward_opts opts;
    enum fwd_state state;
    bool is_head;
    bool idempotent;
    bool retried;
    bool reused;
    bool paused;
    bool upstream_eof;    /* the upstream closed (or failed): no more bytes */
    bool upstream_failed; /* ...by an error, not a clean close */
    unsigned round_trip;  /* 1 for the first request */
    struct buf fields;    /* header block after Host, ends in CRLF (no blank line) */
    char *target;         /* path[?query] of this round trip (heap) */
    struct proxy_upstream *u;
    struct proxy_response *resp;
    struct event *timer;
    uint64_t sent_ns; /* this round trip's request written (upstream TTFB) */
    unsigned shard;   /* metrics shard of the request's worker */
    bool streaming;   /* counted in mcp_auth_streams_open */
    const struct proxy_forward_filter *filter; /* NULL: none */
    bool filtering;                            /* the filter took this body */
};

static void process(struct fwd *f);
static void start_round_trip(struct fwd *f, bool fresh);

/* ---- ending ---- */

/* Lets go of the upstream side: the connection (back to the pool only when
 * reusable), the timer, the parser. Idempotent. */
static void
detach(struct fwd *f, bool reusable, uint64_t keep_alive_hint_ms)
{
    f->state = F_OVER;
    if (f->streaming) {
        f->streaming = false;
        metrics_stream_close(f->shard);
    }
    if (f->timer != NULL) {
        event_free(f->timer);
        f->timer = NULL;
    }
    if (f->u != NULL) {
        if (reusable) {
            proxy_pool_release(f->pool, f->u, true, keep_alive_hint_ms);
        } else {
            proxy_upstream_close(f->u);
        }
        f->u = NULL;
    }
    proxy_response_free(f->resp);
    f->resp = NULL;
    buf_cleanup(&f->fields);
    xfree(f->target);
    f->target = NULL;
}

static void
free_fwd(void *arg)
{
    struct fwd *f = arg;
    detach(f, false, 0);
    xfree(f);
}

static void
on_client_gone(struct http_request *req, void *arg)
{
    (void)req;
    /* The client left (at any moment, also before the first response byte
     * while a long tool call runs): the upstream connection goes at once,
     * and with it the upstream's work. */
    detach(arg, false, 0);
}

static void
on_finish(struct http_request *req, void *arg)
{
    (void)req;
    detach(arg, false, 0);
}

static void
log_proxy_error(struct fwd *f, const char *phase, const char *error)
{
    struct log_line l;
    http_request_log_begin(&l, f->req, LOG_ERROR, "proxy_error");
    log_str(&l, "phase", phase);
    log_str(&l, "error", error);
    log_str(&l, "upstream", proxy_pool_origin(f->pool));
    log_uint(&l, "round_trip", f->round_trip);
    log_end(&l);
}

/* Fails the forward: a JSON error reply (code and description) while
 * nothing was sent, else a visibly truncated response. */
static void
fail(struct fwd *f, int status, const char *code, const char *description, const char *phase,
     const char *error)
{
    if (f->state == F_OVER) {
        return;
    }
    log_proxy_error(f, phase, error);
    bool started = http_output_is_started(f->req);
    detach(f, false, 0);
    if (started) {
        http_output_abort(f->req);
    } else {
        http_reply_error_json(f->req, status, code, description);
    }
}

static void
fail_gateway(struct fwd *f, const char *phase, const char *error)
{
    fail(f, 502, PROXY_FORWARD_ERROR_BAD_GATEWAY, PROXY_FORWARD_DESCRIPTION_FAILED, phase, error);
}

/* ---- the request ---- */

/* The header block sent on every round trip (SPEC.md 4.2: re-sanitised,
 * identity and upstream Authorization re-applied on each hop). */
static int
build_fields(struct fwd *f, const struct proxy_headers_identity *id)
{
    const struct proxy_headers_upstream *up = proxy_pool_headers(f->pool);
    if (up == NULL) {
        return -1;
    }
    size_t n = 0;
    const struct field *in = http_request_headers(f->req, &n);
    const struct http_trace *trace = http_request_trace(f->req);
    struct proxy_headers_identity with = *id;
    with.traceparent = trace->traceparent;
    with.traceparent_incoming = trace->incoming;
    return proxy_headers_request_format(up, in, n, &with, &f->fields) == PROXY_HEADERS_OK ? 0 : -1;
}

/* Content-Length of the body already read: whenever the client framed a
 * body (even an empty one), and 0 for the methods that carry one. */
static bool
sends_length(const struct http_request *req)
{
    if (http_request_content_length(req) >= 0 || http_request_is_chunked(req)) {
        return true;
    }
    enum http_method m = http_request_method(req);
    return m == HTTP_METHOD_POST || m == HTTP_METHOD_PUT || m == HTTP_METHOD_PATCH;
}

/* The request line, the header block and the body in one contiguous piece
 * of one buffer: sized first, then written in place, no printf. */
static void
write_request(struct fwd *f)
{
    struct http_request *req = f->req;
    struct evbuffer *body = http_request_body(req);
    size_t body_len = evbuffer_get_length(body);
    const char *method = http_request_method_name(req);
    const char *host = proxy_pool_host_header(f->pool);
    size_t method_len = strlen(method);
    size_t target_len = strlen(f->target);
    size_t host_len = strlen(host);
    bool length = sends_length(req);
    size_t need = method_len + 1 + target_len + sizeof(" HTTP/1.1\r\nHost: \r\n") - 1 + host_len +
                  f->fields.len + (length ? sizeof("Content-Length: \r\n") - 1 + 20 : 0) + 2 +
                  body_len;
    struct evbuffer *out = evbuffer_new();
    struct evbuffer_iovec v;
    if (out == NULL || evbuffer_reserve_space(out, (ev_ssize_t)need, &v, 1) != 1) {
        abort(); /* allocation only */
    }
    char *start = v.iov_base;
    char *p = start;
#define PUT(s, n) (memcpy(p, (s), (n)), p += (n))
    PUT(method, method_len);
    *p++ = ' ';
    PUT(f->target, target_len);
    PUT(" HTTP/1.1\r\nHost: ", 17);
    PUT(host, host_len);
    PUT("\r\n", 2);
    if (f->fields.len > 0) {
        PUT(f->fields.ptr, f->fields.len);
    }
    if (length) {
        PUT("Content-Length: ", 16);
        p += decimal_format_u64(p, body_len);
        PUT("\r\n", 2);
    }
    PUT("\r\n", 2);
#undef PUT
    /* The body stays in the request for a redirect's replay: copied. */
    if (body_len > 0 && evbuffer_copyout(body, p, body_len) != (ev_ssize_t)body_len) {
        abort(); /* a buffer of known length copies whole */
    }
    p += body_len;
    v.iov_len = (size_t)(p - start);
    evbuffer_commit_space(out, &v, 1);
    proxy_upstream_write_buffer(f->u, out);
    evbuffer_free(out);
}

static void
on_header_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fwd *f = arg;
    fail(f, 504, "gateway_timeout", "upstream did not send response headers in time",
         "response_head", "no response head within UPSTREAM_RESPONSE_HEADER_TIMEOUT");
}

static void
on_upstream(struct proxy_upstream *u, enum proxy_upstream_event ev, void *arg)
{
    struct fwd *f = arg;
    (void)u;
    if (ev != PROXY_UPSTREAM_READABLE) {
        f->upstream_eof = true;
        f->upstream_failed = ev != PROXY_UPSTREAM_CLOSED;
        if (f->state == F_WAIT_HEAD && f->reused && !f->retried && f->idempotent &&
            !proxy_response_has_started(f->resp) &&
            evbuffer_get_length(proxy_upstream_input(f->u)) == 0) {
            /* The upstream closed the kept-alive connection as we reused
             * it: once more on a new connection (idempotent methods only). */
            f->retried = true;
            proxy_upstream_close(f->u);
            f->u = NULL;
            start_round_trip(f, true);
            return;
        }
    }
    /* Whatever arrived before a close or an error is still relayed. */
    process(f);
}

static void
start_round_trip(struct fwd *f, bool fresh)
{
    const char *reason = NULL;
    f->upstream_eof = false;
    f->upstream_failed = false;
    f->paused = false;
    f->u = proxy_pool_acquire(f->pool, fresh, on_upstream, f, &f->reused, &reason);
    if (f->u == NULL) {
        fail_gateway(f, "connect", reason != NULL ? reason : "cannot connect");
        return;
    }
    proxy_response_reset(f->resp, f->is_head);
    f->state = F_WAIT_HEAD;
    write_request(f);
    f->sent_ns = clock_mono_ns();
    uint64_t ms = f->opts.header_timeout_ms;
    struct timeval tv = clock_timeval_from_ms(ms);
    event_add(f->timer, &tv);
}

/* ---- the response ---- */

static int
on_body_bytes(void *arg, const char *data, size_t len)
{
    struct fwd *f = arg;
    if (f->filtering) {
        return f->filter->body(f->filter->arg, data, len);
    }
    return http_output_write(f->req, data, len);
}

static void
relay_head(struct fwd *f, const struct proxy_response_head *h)
{
    struct http_request *req = f->req;
    http_output_set_status(req, h->status);
    bool keep[BOUNDS_UPSTREAM_HEADER_COUNT_MAX];
    proxy_headers_response_filter(h->headers, h->header_count, f->opts.rate_limit_enabled, keep);
    for (size_t i = 0; i < h->header_count; i++) {
        const struct field *x = &h->headers[i];
        if (keep[i] && http_output_header_add_upstream(req, x->name.ptr, x->name.len, x->value.ptr,
                                                       x->value.len) != 0) {
            /* The parser already refused what the output refuses; a field
             * dropped here is logged, the response still goes out whole. */
            struct log_line l;
            http_request_log_begin(&l, req, LOG_WARN, "proxy_response_header_dropped");
            log_sample(&l, "name", x->name);
            log_end(&l);
        }
    }
    f->filtering = f->filter != NULL && h->has_body && f->filter->begin(f->filter->arg, h);
    /* A known length is relayed (for HEAD too; http/output leaves it off
     * 204/304) unless a filter changes the body; otherwise chunked, or
     * close-delimited to an HTTP/1.0 client. A response without a body
     * gets no framing either way. */
    if (h->content_length >= 0 && !f->filtering) {
        (void)http_output_start_length(req, (uint64_t)h->content_length);
    } else {
        (void)http_output_start(req);
    }
    if (h->has_body && h->content_length < 0 && !f->is_head) {
        /* A body of unknown length: an SSE stream or a chunked answer. */
        f->streaming = true;
        metrics_stream_open(f->shard);
    }
}

/* Returns true when the body may be read now. */
static bool
on_head(struct fwd *f)
{
    event_del(f->timer); /* no timer once the response started */
    metrics_observe_upstream_ttfb(f->shard, clock_mono_ns() - f->sent_ns);
    const struct proxy_response_head *h = proxy_response_head(f->resp);
    char *current = NULL;
    size_t olen = strlen(proxy_pool_origin(f->pool));
    current = xmalloc(olen + strlen(f->target) + 1);
    memcpy(current, proxy_pool_origin(f->pool), olen);
    memcpy(current + olen, f->target, strlen(f->target) + 1);
    char *next = NULL;
    enum proxy_response_hop hop =
        proxy_response_hop_decide(h, current, f->round_trip, f->opts.max_round_trips, &next);
    xfree(current);
    if (hop == PROXY_HOP_EXHAUSTED) {
        fail(f, 502, PROXY_FORWARD_ERROR_BAD_GATEWAY, "too many upstream redirects", "redirect",
             "too many upstream redirects");
        return false;
    }
    struct url nu;
    if (hop == PROXY_HOP_FOLLOW) {
        bool ok = url_parse(next, &nu) == URL_OK;
        xfree(next);
        if (!ok) {
            fail_gateway(f, "redirect", "unusable redirect target");
            return false;
        }
        /* Same origin is not enough: the route forwards only the mount, so
         * a redirect to "/__evil/requests" on the upstream's own host is
         * not followed (it is relayed, and the client's next request meets
         * the mount's path check). */
        if (proxy_path_check(slice_from_cstr(nu.path[0] != '\0' ? nu.path : "/"),
                             slice_from_cstr(proxy_pool_mount(f->pool))) != NULL) {
            url_cleanup(&nu);
            hop = PROXY_HOP_RELAY;
        }
    }
    if (hop == PROXY_HOP_FOLLOW) {
        /* The rest of the redirect's body is not worth reading: this
         * connection is closed, the next round trip takes another. */
        proxy_upstream_close(f->u);
        f->u = NULL;
        xfree(f->target);
        struct buf t;
        buf_init(&t, BOUNDS_URL_MAX + 2);
        int rc = buf_append_str(&t, nu.path[0] != '\0' ? nu.path : "/");
        if (rc == 0 && nu.has_query) {
            rc = buf_append_byte(&t, '?') != 0 ||
                 (nu.query != NULL && buf_append_str(&t, nu.query) != 0);
        }
        url_cleanup(&nu);
        f->target = rc == 0 ? buf_take(&t) : NULL;
        buf_cleanup(&t);
        if (f->target == NULL) {
            fail_gateway(f, "redirect", "redirect target too long");
            return false;
        }
        f->round_trip++;
        start_round_trip(f, false);
        return false;
    }
    relay_head(f, h);
    f->state = F_BODY;
    proxy_response_accept_body(f->resp, on_body_bytes, f);
    /* No retry and no redirect once a body is relayed: the request head
     * is not sent again, and a stream may run for hours. */
    buf_cleanup(&f->fields);
    return true;
}

static void
on_done(struct fwd *f)
{
    const struct proxy_response_head *h = proxy_response_head(f->resp);
    bool reusable = proxy_response_is_reusable(f->resp) && !f->upstream_eof &&
                    evbuffer_get_length(proxy_upstream_input(f->u)) == 0 &&
                    proxy_upstream_is_flushed(f->u);
    uint64_t hint = h != NULL ? h->keep_alive_timeout_ms : 0;
    struct http_request *req = f->req;
    bool filter_failed = f->filtering && f->filter->end(f->filter->arg) != 0;
    detach(f, reusable, hint);
    if (filter_failed) {
        http_output_abort(req);
        return;
    }
    http_output_end(req);
}

static void
on_drain(struct http_request *req, void *arg)
{
    (void)req;
    struct fwd *f = arg;
    if (f->state != F_BODY || f->u == NULL) {
        return;
    }
    f->paused = false;
    proxy_upstream_resume(f->u);
    process(f);
}

/* Feeds what the upstream sent to the parser, relaying as it goes, until
 * the input is used up, the client's output backs up, or the response is
 * over. */
static void
process(struct fwd *f)
{
    bool after_head = false;
    while (f->state == F_WAIT_HEAD || f->state == F_BODY) {
        if (f->paused) {
            return;
        }
        struct evbuffer *in = proxy_upstream_input(f->u);
        struct evbuffer_iovec v = {0};
        int chunks = evbuffer_peek(in, -1, NULL, &v, 1);
        size_t len = chunks > 0 ? v.iov_len : 0;
        if (len == 0 && !after_head) {
            if (!f->upstream_eof) {
                return; /* wait for more */
            }
            /* A clean close may end a close-delimited body; an error never
             * ends anything cleanly. */
            if (!f->upstream_failed && proxy_response_finish(f->resp) == PROXY_RESPONSE_DONE) {
                on_done(f);
                return;
            }
            const char *why =
                f->upstream_failed ? proxy_upstream_error(f->u) : proxy_response_error(f->resp);
            fail_gateway(f, f->state == F_WAIT_HEAD ? "response_head" : "response_body",
                         why[0] != '\0' ? why : "upstream connection failed");
            return;
        }
        after_head = false;
        size_t used = 0;
        enum proxy_response_event ev =
            proxy_response_feed(f->resp, len > 0 ? (const char *)v.iov_base : "", len, &used);
        assert(f->state != F_OVER); /* the sink never ends the forward */
        evbuffer_drain(in, used);
        switch (ev) {
        case PROXY_RESPONSE_MORE:
            break;
        case PROXY_RESPONSE_HEAD:
            if (!on_head(f)) {
                return;
            }
            after_head = true; /* a bodyless message completes on an empty feed */
            break;
        case PROXY_RESPONSE_DONE:
            on_done(f);
            return;
        case PROXY_RESPONSE_ERROR:
            fail_gateway(f, f->state == F_WAIT_HEAD ? "response_head" : "response_body",
                         proxy_response_error(f->resp));
            return;
        }
        if (f->state == F_BODY && http_output_is_congested(f->req)) {
            /* Back-pressure: stop reading the upstream until the client
             * has taken most of what waits for it. */
            f->paused = true;
            proxy_upstream_pause(f->u);
            http_output_on_drain(f->req, on_drain, f);
            return;
        }
    }
}

/* ---- start ---- */

static bool
is_idempotent(enum http_method m)
{
    /* RFC 9110 9.2.2. */
    return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_OPTIONS ||
           m == HTTP_METHOD_TRACE || m == HTTP_METHOD_PUT || m == HTTP_METHOD_DELETE;
}

void
proxy_forward_start(struct http_request *req, struct proxy_pool *pool,
                    const struct proxy_headers_identity *id, const struct proxy_forward_opts *opts)
{
    proxy_forward_start_filtered(req, pool, id, opts, NULL);
}

void
proxy_forward_start_filtered(struct http_request *req, struct proxy_pool *pool,
                             const struct proxy_headers_identity *id,
                             const struct proxy_forward_opts *opts,
                             const struct proxy_forward_filter *filter)
{
    struct fwd *f = xcalloc(1, sizeof(*f));
    f->filter = filter;
    arena_on_free(http_request_arena(req), free_fwd, f);
    f->req = req;
    f->pool = pool;
    f->opts = *opts;
    if (f->opts.max_round_trips == 0) {
        f->opts.max_round_trips = BOUNDS_UPSTREAM_HOPS_MAX;
    }
    f->is_head = http_request_method(req) == HTTP_METHOD_HEAD;
    f->idempotent = is_idempotent(http_request_method(req));
    f->round_trip = 1;
    f->state = F_WAIT_HEAD;
    buf_init(&f->fields, FORWARD_HEAD_MAX);
    /* A typical upstream head (the kept fields, X-User-*, X-Forwarded-*,
     * traceparent) is well under 1 KiB: one allocation instead of five
     * doublings from 64 bytes. */
    buf_reserve(&f->fields, 1024);
    f->resp = proxy_response_new(f->is_head);
    f->timer = evtimer_new(http_request_worker(req)->base, on_header_timeout, f);
    f->shard = metrics_shard_of(http_request_worker(req)->id);
    if (f->timer == NULL) {
        abort(); /* allocation only */
    }
    http_request_on_abort(req, on_client_gone, f);
    http_request_on_finish(req, on_finish, f);

    struct slice path = http_request_path(req);
    struct slice query = http_request_query(req);
    struct buf t;
    buf_init(&t, BOUNDS_URL_MAX + 2);
    int rc = buf_append_slice(&t, path);
    if (rc == 0 && http_request_has_query(req)) {
        rc = buf_append_byte(&t, '?') != 0 || buf_append_slice(&t, query) != 0;
    }
    f->target = rc == 0 ? buf_take(&t) : NULL;
    buf_cleanup(&t);
    if (f->target == NULL || build_fields(f, id) != 0) {
        fail_gateway(f, "request", "cannot build the upstream request head");
        return;
    }
    start_round_trip(f, false);
}
