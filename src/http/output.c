#include "http/output.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/decimal.h"
#include "base/field.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/request_int.h"
#include "http/status.h"

/* SPEC.md 3.0.1 item 6: on every public response, every status. */
#define STATIC_FIELD(n, v)                                                                         \
    {                                                                                              \
        .name = n, .value = v, .name_len = sizeof(n) - 1, .value_len = sizeof(v) - 1               \
    }
static const struct http_out_header security_headers[] = {
    STATIC_FIELD("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    STATIC_FIELD("X-Content-Type-Options", "nosniff"),
    STATIC_FIELD("X-Frame-Options", "DENY"),
    STATIC_FIELD("Referrer-Policy", "no-referrer"),
    STATIC_FIELD("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
};

/* Headers this layer writes itself (framing, connection management, the
 * date, our request id): a handler or an upstream never sets them. */
static const struct slice owned_headers[] = {
    SLICE_LIT("Content-Length"),
    SLICE_LIT("Transfer-Encoding"),
    SLICE_LIT("Connection"),
    SLICE_LIT("Keep-Alive"),
    SLICE_LIT("Proxy-Connection"),
    SLICE_LIT("Upgrade"),
    SLICE_LIT("TE"),
    SLICE_LIT("Trailer"),
    SLICE_LIT("Date"),
    SLICE_LIT("X-Request-Id"),
};

static bool
name_in(struct slice name, const struct slice *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (name.len == names[i].len && slice_case_eq(name, names[i])) {
            return true;
        }
    }
    return false;
}

static bool
is_security_header(struct slice name)
{
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++) {
        if (slice_case_eq(name,
                          slice_make(security_headers[i].name, security_headers[i].name_len))) {
            return true;
        }
    }
    return false;
}

static bool
is_owned_header(struct slice name)
{
    return name_in(name, owned_headers, sizeof(owned_headers) / sizeof(owned_headers[0]));
}

/* A token (base/field.h) no longer than the parsers accept. */
static bool
valid_name(struct slice name)
{
    return name.len <= BOUNDS_HEADER_NAME_MAX && field_name_is_token(name);
}

/* The connection's output buffer (http_stream_ops.output). */
static struct evbuffer *
output_of(const struct http_request *req)
{
    return req->stream.ops->output(req->stream.conn);
}

static bool
head_editable(const struct http_request *req)
{
    return req->stream.conn != NULL && req->out_state == HTTP_OUT_PENDING;
}

/* Makes room for one more field; -1 at the cap or out of memory. */
static int
grow_headers(struct http_request *req)
{
    if (req->out_count >= BOUNDS_RESPONSE_HEADER_COUNT_MAX) {
        return -1;
    }
    if (req->out_count == req->out_cap) {
        size_t cap = req->out_cap ? req->out_cap * 2 : 16;
        struct http_out_header *grown = arena_alloc(req->arena, cap * sizeof(grown[0]));
        if (grown == NULL) {
            return -1;
        }
        if (req->out_count > 0) {
            memcpy(grown, req->out, req->out_count * sizeof(grown[0]));
        }
        req->out = grown;
        req->out_cap = cap;
    }
    return 0;
}

static int
append_header(struct http_request *req, struct slice name, struct slice value)
{
    if (grow_headers(req) != 0) {
        return -1;
    }
    char *n = arena_slicedup(req->arena, name);
    char *v = arena_slicedup(req->arena, value);
    if (n == NULL || v == NULL) {
        return -1;
    }
    req->out[req->out_count++] =
        (struct http_out_header){n, v, (uint32_t)name.len, (uint32_t)value.len};
    return 0;
}

static void
remove_headers(struct http_request *req, struct slice name)
{
    size_t o = 0;
    for (size_t i = 0; i < req->out_count; i++) {
        if (!slice_case_eq(name, slice_make(req->out[i].name, req->out[i].name_len))) {
            req->out[o++] = req->out[i];
        }
    }
    req->out_count = o;
}

void
http_output_add_security_headers(struct http_request *req)
{
    /* Static strings: stored as they are, not copied into the arena. */
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++) {
        if (grow_headers(req) == 0) {
            req->out[req->out_count++] = security_headers[i];
        }
    }
}

void
http_output_set_status(struct http_request *req, int status)
{
    if (head_editable(req) && status >= 200 && status <= 599) {
        req->status = status;
    }
}

int
http_output_status(const struct http_request *req)
{
    return req->status;
}

int
http_output_header_add(struct http_request *req, const char *name, const char *value)
{
    struct slice n = slice_from_cstr(name);
    struct slice v = slice_from_cstr(value);
    if (!head_editable(req) || !valid_name(n) || !field_value_is_valid(v) || is_owned_header(n)) {
        return -1;
    }
    return append_header(req, n, v);
}

int
http_output_header_set(struct http_request *req, const char *name, const char *value)
{
    struct slice n = slice_from_cstr(name);
    struct slice v = slice_from_cstr(value);
    if (!head_editable(req) || !valid_name(n) || !field_value_is_valid(v) || is_owned_header(n)) {
        return -1;
    }
    remove_headers(req, n);
    return append_header(req, n, v);
}

int
http_output_header_remove(struct http_request *req, const char *name)
{
    struct slice n = slice_from_cstr(name);
    if (!head_editable(req) || !valid_name(n) || is_owned_header(n)) {
        return -1;
    }
    remove_headers(req, n);
    return 0;
}

int
http_output_header_add_upstream(struct http_request *req, const char *name, size_t name_len,
                                const char *value, size_t value_len)
{
    struct slice n = slice_make(name, name_len);
    struct slice v = slice_make(value, value_len);
    if (!head_editable(req)) {
        return -1;
    }
    if (is_owned_header(n) || (req->is_public && is_security_header(n))) {
        return 0; /* ours replace theirs (SPEC preface fix 5) */
    }
    if (!valid_name(n) || !field_value_is_valid(v)) {
        return -1;
    }
    return append_header(req, n, v);
}

const char *
http_output_header_get(const struct http_request *req, const char *name)
{
    struct slice n = slice_from_cstr(name);
    for (size_t i = 0; i < req->out_count; i++) {
        if (slice_case_eq(n, slice_make(req->out[i].name, req->out[i].name_len))) {
            return req->out[i].value;
        }
    }
    return NULL;
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" (RFC 9110 5.6.7), formatted
 * once per second per thread. */
static const char *
date_line(void)
{
    static _Thread_local int64_t cached_s = -1;
    static _Thread_local char line[64];
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t now = clock_unix_s();
    if (now != cached_s) {
        time_t t = (time_t)now;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL) {
            return "";
        }
        snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_s = now;
    }
    return line;
}

static bool
bodyless_status(int status)
{
    return status == 204 || status == 304 || (status >= 100 && status < 200);
}

/* Copies n bytes at *p and moves past them. */
static void
put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

/* v in decimal at *p, which moves past it. */
static void
put_u64(char **p, uint64_t v)
{
    *p += decimal_format_u64(*p, v);
}

/* The head in one piece, added to the output at once: sized first, then
 * written, each string read once and no printf. with_length: a
 * Content-Length of len; keep: the connection stays open. */
static void
format_head(struct http_request *req, bool with_length, uint64_t len, bool keep)
{
    static const char te[] = "Transfer-Encoding: chunked\r\n";
    static const char close_line[] = "Connection: close\r\n";
    static const char keep_line[] = "Connection: keep-alive\r\n";
    const char *reason = http_status_reason(req->status);
    size_t reason_len = strlen(reason);
    const char *date = date_line();
    size_t date_len = strlen(date);
    /* "HTTP/1.1 " + a status of up to 11 characters + " " + reason + CRLF */
    size_t need = 9 + 11 + 1 + reason_len + 2 + date_len;
    for (size_t i = 0; i < req->out_count; i++) {
        need += req->out[i].name_len + 2 + req->out[i].value_len + 2;
    }
    need += sizeof("X-Request-Id: \r\n") - 1 + HTTP_REQUEST_ID_LEN;
    need += sizeof("Content-Length: \r\n") - 1 + 20;
    need += sizeof(te) - 1 + sizeof(keep_line) - 1 + 2;

    char small[2048];
    char *head = need <= sizeof(small) ? small : xmalloc(need);
    char *p = head;
    put(&p, "HTTP/1.1 ", 9);
    if (req->status < 0) {
        *p++ = '-';
        put_u64(&p, (uint64_t)(-(int64_t)req->status));
    } else {
        put_u64(&p, (uint64_t)req->status);
    }
    *p++ = ' ';
    put(&p, reason, reason_len);
    put(&p, "\r\n", 2);
    put(&p, date, date_len);
    for (size_t i = 0; i < req->out_count; i++) {
        put(&p, req->out[i].name, req->out[i].name_len);
        put(&p, ": ", 2);
        put(&p, req->out[i].value, req->out[i].value_len);
        put(&p, "\r\n", 2);
    }
    if (req->is_public) {
        put(&p, "X-Request-Id: ", 14);
        put(&p, req->id, strlen(req->id));
        put(&p, "\r\n", 2);
    }
    /* RFC 9110 8.6: never a Content-Length on 1xx/204; on 304 it would
     * describe the unsent representation, so leave it out too. */
    if (with_length) {
        put(&p, "Content-Length: ", 16);
        put_u64(&p, len);
        put(&p, "\r\n", 2);
    }
    if (req->framing == HTTP_FRAME_CHUNKED) {
        put(&p, te, sizeof(te) - 1);
    }
    if (!keep) {
        put(&p, close_line, sizeof(close_line) - 1);
    } else if (req->version_minor == 0) {
        put(&p, keep_line, sizeof(keep_line) - 1);
    }
    put(&p, "\r\n", 2);
    evbuffer_add(output_of(req), head, (size_t)(p - head));
    if (head != small) {
        xfree(head);
    }
}

/* Writes the head and picks the framing. has_length: len is the body
 * length (Content-Length); otherwise chunked or close-delimited. */
static int
send_head(struct http_request *req, bool has_length, uint64_t len)
{
    if (!head_editable(req)) {
        return -1;
    }
    bool no_body = req->method == HTTP_METHOD_HEAD || bodyless_status(req->status);
    if (no_body) {
        req->framing = HTTP_FRAME_NONE;
    } else if (has_length) {
        req->framing = HTTP_FRAME_LENGTH;
        req->remaining = len;
    } else if (req->version_minor >= 1) {
        req->framing = HTTP_FRAME_CHUNKED;
    } else {
        req->framing = HTTP_FRAME_CLOSE;
    }
    bool keep =
        req->framing != HTTP_FRAME_CLOSE && req->stream.ops->may_keep_alive(req->stream.conn, req);
    if (!keep) {
        req->stream.ops->close_after(req->stream.conn);
    }

    format_head(req, has_length && !bodyless_status(req->status), len, keep);
    req->out_state = HTTP_OUT_STREAMING;
    req->status_sent = req->status;
    return 0;
}

int
http_output_start(struct http_request *req)
{
    return send_head(req, false, 0);
}

int
http_output_start_length(struct http_request *req, uint64_t len)
{
    return send_head(req, true, len);
}

static bool
streaming(const struct http_request *req)
{
    return req->stream.conn != NULL && req->out_state == HTTP_OUT_STREAMING;
}

/* Checks and accounts len body bytes; false when they must not be sent.
 * *out_drop says they are accepted but not sent (no body allowed). */
static bool
admit(struct http_request *req, size_t len, bool *out_drop)
{
    *out_drop = false;
    if (!streaming(req) || req->broken) {
        return false;
    }
    switch (req->framing) {
    case HTTP_FRAME_NONE:
        *out_drop = true;
        return true;
    case HTTP_FRAME_LENGTH:
        if (len > req->remaining) {
            req->broken = true;
            return false;
        }
        req->remaining -= len;
        break;
    case HTTP_FRAME_CHUNKED:
        /* A zero-length chunk would be the last chunk: never send one. */
        *out_drop = len == 0;
        break;
    case HTTP_FRAME_CLOSE:
        break;
    }
    req->resp_bytes += len;
    return true;
}

int
http_output_write(struct http_request *req, const void *data, size_t len)
{
    bool drop;
    if (!admit(req, len, &drop)) {
        return -1;
    }
    if (drop) {
        return 0;
    }
    struct evbuffer *out = output_of(req);
    if (req->framing == HTTP_FRAME_CHUNKED) {
        evbuffer_add_printf(out, "%zx\r\n", len);
        evbuffer_add(out, data, len);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add(out, data, len);
    }
    return 0;
}

int
http_output_write_buffer(struct http_request *req, struct evbuffer *buf)
{
    size_t len = evbuffer_get_length(buf);
    bool drop;
    if (!admit(req, len, &drop)) {
        return -1;
    }
    if (drop) {
        evbuffer_drain(buf, len);
        return 0;
    }
    struct evbuffer *out = output_of(req);
    if (req->framing == HTTP_FRAME_CHUNKED) {
        evbuffer_add_printf(out, "%zx\r\n", len);
        evbuffer_add_buffer(out, buf);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add_buffer(out, buf);
    }
    return 0;
}

int
http_output_end(struct http_request *req)
{
    if (req->stream.conn == NULL || req->out_state == HTTP_OUT_ENDED) {
        return -1;
    }
    if (req->out_state == HTTP_OUT_PENDING && send_head(req, true, 0) != 0) {
        return -1;
    }
    if (req->broken || (req->framing == HTTP_FRAME_LENGTH && req->remaining > 0)) {
        http_output_abort(req);
        return -1;
    }
    if (req->framing == HTTP_FRAME_CHUNKED) {
        evbuffer_add(output_of(req), "0\r\n\r\n", 5);
    }
    req->out_state = HTTP_OUT_ENDED;
    req->drain_fn = NULL;
    req->stream.ops->end(req->stream.conn, req);
    return 0;
}

void
http_output_abort(struct http_request *req)
{
    if (req->stream.conn == NULL || req->out_state == HTTP_OUT_ENDED) {
        return;
    }
    req->out_state = HTTP_OUT_ENDED;
    req->aborted = true;
    req->drain_fn = NULL;
    req->stream.ops->abort(req->stream.conn, req);
}

int
http_output_send(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len)
{
    if (!head_editable(req)) {
        return -1;
    }
    http_output_set_status(req, status);
    if (content_type != NULL && http_output_header_set(req, "Content-Type", content_type) != 0) {
        return -1;
    }
    if (send_head(req, true, len) != 0) {
        return -1;
    }
    if (len > 0 && http_output_write(req, body, len) != 0) {
        return -1;
    }
    return http_output_end(req);
}

bool
http_output_is_started(const struct http_request *req)
{
    return req->out_state != HTTP_OUT_PENDING;
}

bool
http_output_is_ended(const struct http_request *req)
{
    return req->out_state == HTTP_OUT_ENDED;
}

bool
http_output_is_congested(const struct http_request *req)
{
    return req->stream.conn != NULL &&
           evbuffer_get_length(output_of(req)) > BOUNDS_OUTPUT_HIGH_WATER;
}

void
http_output_on_drain(struct http_request *req, http_output_drain_fn fn, void *arg)
{
    if (req->stream.conn == NULL || req->out_state == HTTP_OUT_ENDED) {
        return;
    }
    req->drain_fn = fn;
    req->drain_arg = arg;
    if (fn != NULL) {
        req->stream.ops->watch_drain(req->stream.conn);
    }
}
