#include "http/request.h"

#include <assert.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/request_int.h"
#include "http/router.h"
#include "metrics.h"
#include "worker.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
http_request_id_generate(char out[HTTP_REQUEST_ID_LEN + 1])
{
    /* Rejection sampling keeps every character equally likely: bytes of
     * 248 and up (248 = 4 * 62) are thrown away instead of biasing "0"-"7".
     * The bytes come from the thread's pool (one RAND_bytes per ~190 ids);
     * ids need 16 bytes, a few more when some are thrown away. */
    uint8_t pool[HTTP_REQUEST_ID_LEN];
    size_t used = sizeof(pool);
    size_t n = 0;
    while (n < HTTP_REQUEST_ID_LEN) {
        if (used == sizeof(pool)) {
            /* Only as many as are still needed, so none is wasted. */
            used = sizeof(pool) - (HTTP_REQUEST_ID_LEN - n);
            rand_pool_bytes(pool + used, sizeof(pool) - used);
        }
        uint8_t b = pool[used++];
        if (b < 248) {
            out[n++] = base62[b % 62];
        }
    }
    out[n] = '\0';
}

struct http_request *
http_request_new(const struct http_request_origin *o)
{
    struct http_request *req = xcalloc(1, sizeof(*req));
    req->stream = o->stream;
    req->worker = o->worker;
    req->arena = arena_new(BOUNDS_REQUEST_ARENA_MAX);
    req->is_public = o->is_public;
    req->log_skip = o->log_skip;
    req->log_skip_arg = o->log_skip_arg;
    http_request_id_generate(req->id);
    if (o->peer != NULL) {
        req->peer = *o->peer;
    }
    /* A bounded copy without snprintf, which cost ~600 instructions here
     * on every request. */
    size_t ip_len = o->client_ip != NULL ? strnlen(o->client_ip, sizeof(req->client_ip) - 1) : 0;
    memcpy(req->client_ip, o->client_ip != NULL ? o->client_ip : "", ip_len);
    req->client_ip[ip_len] = '\0';
    req->start_ns = o->start_ns;
    req->method = HTTP_METHOD_OTHER;
    req->method_name = "";
    req->content_length = -1;
    req->status = 200;
    req->body = evbuffer_new();
    if (req->body == NULL) {
        /* evbuffer_new fails only when malloc does, and ours aborts first. */
        abort();
    }
    if (req->is_public) {
        http_output_add_security_headers(req);
    }
    return req;
}

/* Percent-decodes a path already checked by the parser (every '%' starts a
 * valid escape). */
static struct slice
decode_path(struct arena *a, struct slice raw)
{
    if (slice_find_byte(raw, '%') < 0) {
        return raw;
    }
    char *out = arena_alloc(a, raw.len + 1);
    if (out == NULL) {
        return raw;
    }
    size_t o = 0;
    for (size_t i = 0; i < raw.len; i++) {
        unsigned char c = (unsigned char)raw.ptr[i];
        if (c == '%' && i + 2 < raw.len) {
            unsigned hi = (unsigned)raw.ptr[i + 1];
            unsigned lo = (unsigned)raw.ptr[i + 2];
            hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
            lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
            out[o++] = (char)((hi << 4) | lo);
            i += 2;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return slice_make(out, o);
}

static struct slice
copy_slice(struct arena *a, struct slice s, bool *failed)
{
    char *p = arena_strndup(a, s.ptr ? s.ptr : "", s.len);
    if (p == NULL) {
        *failed = true;
        return SLICE_NULL;
    }
    return slice_make(p, s.len);
}

int
http_request_set_head(struct http_request *req, const struct http_head *h)
{
    bool failed = false;
    struct arena *a = req->arena;
    req->method = h->method;
    req->method_name = arena_slicedup(a, h->method_name);
    req->path = copy_slice(a, h->path, &failed); /* its own copy: NUL-terminated */
    req->query = copy_slice(a, h->query, &failed);
    req->has_query = h->has_query;
    req->version_minor = h->version_minor;
    req->content_length = h->content_length;
    req->chunked = h->chunked;
    req->keep_alive = h->keep_alive;
    req->header_count = h->header_count;
    req->headers =
        h->header_count ? arena_alloc(a, h->header_count * sizeof(req->headers[0])) : NULL;
    if (h->header_count && req->headers == NULL) {
        failed = true;
    }
    for (size_t i = 0; !failed && i < h->header_count; i++) {
        req->headers[i].name = copy_slice(a, h->headers[i].name, &failed);
        req->headers[i].value = copy_slice(a, h->headers[i].value, &failed);
    }
    if (failed || req->method_name == NULL) {
        req->method_name = "";
        req->header_count = 0;
        return -1;
    }
    req->path_decoded = decode_path(a, req->path);
    req->has_head = true;
    if (req->is_public && req->log_skip != NULL) {
        req->log_skipped =
            req->log_skip(req->log_skip_arg, req->path_decoded.ptr, req->path_decoded.len);
    }
    return 0;
}

void
http_request_set_partial(struct http_request *req, struct slice method, struct slice path)
{
    bool failed = false;
    if (method.len > 0) {
        char *m = arena_slicedup(req->arena, method);
        req->method_name = m ? m : "";
    }
    if (path.len > 0) {
        req->path = copy_slice(req->arena, path, &failed);
        req->path_decoded = failed ? SLICE_NULL : req->path;
    }
}

static void write_access_log(struct http_request *req);

void
http_request_free(struct http_request *req)
{
    if (req == NULL) {
        return;
    }
    if (req->log_pending) {
        write_access_log(req);
    }
    if (req->body != NULL) {
        evbuffer_free(req->body);
    }
    http_ip_budget_put(&req->body_hold);
    arena_free(req->arena);
    xfree(req);
}

/* ---- accessors ---- */

struct worker *
http_request_worker(const struct http_request *req)
{
    return req->worker;
}

struct arena *
http_request_arena(const struct http_request *req)
{
    return req->arena;
}

const struct ipaddr *
http_request_peer(const struct http_request *req)
{
    return &req->peer;
}

const char *
http_request_client_ip(const struct http_request *req)
{
    return req->client_ip;
}

enum http_method
http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *
http_request_method_name(const struct http_request *req)
{
    return req->method_name;
}

struct slice
http_request_path(const struct http_request *req)
{
    return req->path;
}

struct slice
http_request_path_decoded(const struct http_request *req)
{
    return req->path_decoded;
}

struct slice
http_request_query(const struct http_request *req)
{
    return req->query;
}

bool
http_request_has_query(const struct http_request *req)
{
    return req->has_query;
}

unsigned
http_request_version_minor(const struct http_request *req)
{
    return req->version_minor;
}

bool
http_request_header_next(const struct http_request *req, const char *name, size_t *cursor,
                         struct slice *out_value)
{
    struct slice n = slice_from_cstr(name);
    for (size_t i = *cursor; i < req->header_count; i++) {
        if (slice_case_eq(req->headers[i].name, n)) {
            *out_value = req->headers[i].value;
            *cursor = i + 1;
            return true;
        }
    }
    *cursor = req->header_count;
    return false;
}

bool
http_request_header_get(const struct http_request *req, const char *name, struct slice *out_value)
{
    size_t cursor = 0;
    return http_request_header_next(req, name, &cursor, out_value);
}

size_t
http_request_header_count(const struct http_request *req, const char *name)
{
    size_t n = 0;
    size_t cursor = 0;
    struct slice v;
    while (http_request_header_next(req, name, &cursor, &v)) {
        n++;
    }
    return n;
}

size_t
http_request_headers_len(const struct http_request *req)
{
    return req->header_count;
}

struct field
http_request_header_at(const struct http_request *req, size_t i)
{
    assert(i < req->header_count);
    return req->headers[i];
}

const struct field *
http_request_headers(const struct http_request *req, size_t *out_count)
{
    *out_count = req->header_count;
    return req->headers;
}

int64_t
http_request_content_length(const struct http_request *req)
{
    return req->content_length;
}

bool
http_request_is_chunked(const struct http_request *req)
{
    return req->chunked;
}

struct evbuffer *
http_request_body(const struct http_request *req)
{
    return req->body;
}

struct slice
http_request_body_slice(struct http_request *req)
{
    size_t len = evbuffer_get_length(req->body);
    if (len == 0) {
        return slice_make("", 0);
    }
    unsigned char *p = evbuffer_pullup(req->body, -1);
    return slice_make((const char *)p, len);
}

void
http_request_set_route_state(struct http_request *req, void *state)
{
    req->route_state = state;
}

void *
http_request_get_route_state(const struct http_request *req)
{
    return req->route_state;
}

void
http_request_on_abort(struct http_request *req, http_request_abort_fn fn, void *arg)
{
    req->abort_fn = fn;
    req->abort_arg = arg;
}

void
http_request_on_finish(struct http_request *req, http_request_finish_fn fn, void *arg)
{
    assert(req->finish_count < HTTP_REQUEST_FINISH_HOOKS_MAX);
    req->finish[req->finish_count++] = (struct http_request_finish_hook){fn, arg};
}

const struct http_trace *
http_request_trace(struct http_request *req)
{
    if (!req->trace_set) {
        struct slice values[2];
        size_t n = 0;
        for (size_t i = 0; i < req->header_count; i++) {
            if (slice_case_eq_cstr(req->headers[i].name, "traceparent")) {
                values[n < 2 ? n : 1] = req->headers[i].value;
                n++;
            }
        }
        http_trace_from_fields(values, n < 2 ? n : 2, &req->trace);
        req->trace_set = true;
    }
    return &req->trace;
}

bool
http_request_is_log_skipped(const struct http_request *req)
{
    return req->log_skipped;
}

int
http_request_response_status(const struct http_request *req)
{
    return req->status_sent;
}

uint64_t
http_request_response_bytes(const struct http_request *req)
{
    return req->resp_bytes;
}

static const char *
arena_copy_or_null(struct arena *a, const char *s)
{
    return s != NULL && s[0] != '\0' ? arena_strdup(a, s) : NULL;
}

void
http_request_set_log_user(struct http_request *req, const char *sub, const char *email)
{
    req->log_sub = arena_copy_or_null(req->arena, sub);
    req->log_email = arena_copy_or_null(req->arena, email);
}

void
http_request_set_log_rpc(struct http_request *req, const char *method, const char *tool,
                         const char *id)
{
    req->log_rpc_method = arena_copy_or_null(req->arena, method);
    req->log_rpc_tool = arena_copy_or_null(req->arena, tool);
    req->log_rpc_id = arena_copy_or_null(req->arena, id);
}

static struct slice
log_path(const struct http_request *req)
{
    struct slice p = req->path_decoded;
    if (p.len > BOUNDS_LOG_PATH_MAX) {
        p.len = BOUNDS_LOG_PATH_MAX;
    }
    return p;
}

void
http_request_log_begin(struct log_line *l, const struct http_request *req, enum log_level level,
                       const char *msg)
{
    log_begin(l, level, msg);
    log_str(l, "request_id", req->id);
    log_str(l, "client_ip", req->client_ip);
    log_str(l, "method", req->method_name);
    log_slice(l, "path", log_path(req));
}

/* The status the access log and the metrics report: 499 for a client that
 * left before any status was sent (nginx's convention). */
static int
access_status(const struct http_request *req)
{
    return req->status_sent ? req->status_sent : (req->client_gone ? 499 : 0);
}

/* SPEC.md 7.2: one line per public request; the request id comes early so
 * a line cut at LOG_LINE_MAX still names its request. */
static void
write_access_log(struct http_request *req)
{
    struct log_line l;
    log_begin(&l, LOG_INFO, "request");
    log_str(&l, "request_id", req->id);
    log_str(&l, "method", req->method_name);
    log_slice(&l, "path", log_path(req));
    log_int(&l, "status", access_status(req));
    log_double(&l, "duration", (double)(req->end_ns - req->start_ns) / 1e9);
    log_int(&l, "req_bytes", req->content_length);
    log_uint(&l, "resp_bytes", req->resp_bytes);
    log_str(&l, "client_ip", req->client_ip);
    log_slice(&l, "trace_id", http_trace_id(http_request_trace(req)));
    if (req->log_sub != NULL) {
        log_str(&l, "sub", req->log_sub);
    }
    if (req->log_email != NULL) {
        log_str(&l, "email", req->log_email);
    }
    if (req->log_rpc_method != NULL) {
        log_str(&l, "rpc_method", req->log_rpc_method);
    }
    if (req->log_rpc_tool != NULL) {
        log_str(&l, "rpc_tool", req->log_rpc_tool);
    }
    if (req->log_rpc_id != NULL) {
        log_str(&l, "rpc_id", req->log_rpc_id);
    }
    if (req->aborted || req->client_gone) {
        log_bool(&l, "aborted", true);
    }
    log_end(&l);
}

void
http_request_finish(struct http_request *req)
{
    if (req->finished) {
        return;
    }
    req->finished = true;
    if (req->is_public && (req->dispatched || req->status_sent != 0)) {
        /* Everything the line says is fixed from here on (the stream is
         * gone, so status, bytes and aborted cannot change); the time it
         * took is taken now, as when the line was written here. */
        req->end_ns = clock_mono_ns();
        req->log_pending = !req->log_skipped;
        metrics_observe_request(
            metrics_shard_of(req->worker != NULL ? req->worker->id : WORKER_CONTROL_ID),
            req->route != NULL ? req->route->opts.metric_route : METRICS_ROUTE_OTHER,
            access_status(req), req->end_ns - req->start_ns);
    }
    for (size_t i = 0; i < req->finish_count; i++) {
        req->finish[i].fn(req, req->finish[i].arg);
    }
    if (req->dispatched && req->worker != NULL) {
        atomic_fetch_sub_explicit(&req->worker->requests_inflight, 1, memory_order_relaxed);
    }
}

void
http_request_client_gone(struct http_request *req)
{
    if (req->finished) {
        return;
    }
    req->client_gone = true;
    req->drain_fn = NULL;
    if (req->out_state != HTTP_OUT_ENDED) {
        req->aborted = true;
        http_request_abort_fn fn = req->abort_fn;
        req->abort_fn = NULL;
        if (fn != NULL) {
            fn(req, req->abort_arg);
        }
        req->out_state = HTTP_OUT_ENDED;
    }
    http_request_finish(req);
}
