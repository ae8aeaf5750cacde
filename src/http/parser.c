#include "http/parser.h"

#include <assert.h>
#include <llhttp.h>
#include <string.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/field.h"
#include "base/head_scan.h"
#include "base/ipaddr.h"
#include "base/scan.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/llhttp_exec.h"

/* Where the parser is in the message. */
enum parser_state {
    P_HEAD = 0,  /* reading the head */
    P_HEAD_DONE, /* head reported, waiting for http_parser_accept_body() */
    P_BODY,      /* reading the body (and chunked trailers) */
    P_DONE,      /* message reported, waiting for http_parser_next() */
    P_ERROR,     /* sticky */
};

struct http_parser {
    llhttp_t ll;
    enum parser_state state;
    /* Header fields, with the URL's bytes at the start of their store:
     * one cap, the head cap, covers both. */
    struct field_list fields;
    uint32_t url_len;
    bool url_done;
    struct slice method_name;
    /* Bytes of the head consumed so far, and the raw-byte scan state that
     * catches what llhttp lets through (bare LF, obs-fold). */
    size_t head_bytes;
    unsigned char scan_prev;
    /* Captured in on_headers_complete, while llhttp's getters are valid. */
    uint8_t ll_method;
    uint8_t http_major;
    uint8_t http_minor;
    uint16_t ll_flags;
    uint64_t ll_content_length;
    bool keep_alive;
    /* Body. */
    uint64_t body_max;
    uint64_t body_bytes;
    http_parser_body_fn body_fn;
    void *body_arg;
    size_t trailer_bytes;
    size_t ext_bytes;
    /* Transfer-Encoding over all its lines, as one list (RFC 9110 5.3). */
    size_t te_lines;
    size_t te_codings;
    bool te_last_chunked;
    bool te_empty_element;
    struct http_head head;
    int error_status;
    const char *error_reason;
};

static const char *const method_names[HTTP_METHOD_COUNT] = {
    [HTTP_METHOD_GET] = "GET",         [HTTP_METHOD_HEAD] = "HEAD",
    [HTTP_METHOD_POST] = "POST",       [HTTP_METHOD_PUT] = "PUT",
    [HTTP_METHOD_DELETE] = "DELETE",   [HTTP_METHOD_PATCH] = "PATCH",
    [HTTP_METHOD_OPTIONS] = "OPTIONS", [HTTP_METHOD_TRACE] = "TRACE",
    [HTTP_METHOD_CONNECT] = "CONNECT", [HTTP_METHOD_OTHER] = "OTHER",
};

const char *
http_method_str(enum http_method m)
{
    return strtab_name(method_names, HTTP_METHOD_COUNT, (size_t)m, "OTHER");
}

static enum http_method
method_from_llhttp(uint8_t m)
{
    switch (m) {
    case HTTP_GET:
        return HTTP_METHOD_GET;
    case HTTP_HEAD:
        return HTTP_METHOD_HEAD;
    case HTTP_POST:
        return HTTP_METHOD_POST;
    case HTTP_PUT:
        return HTTP_METHOD_PUT;
    case HTTP_DELETE:
        return HTTP_METHOD_DELETE;
    case HTTP_PATCH:
        return HTTP_METHOD_PATCH;
    case HTTP_OPTIONS:
        return HTTP_METHOD_OPTIONS;
    case HTTP_TRACE:
        return HTTP_METHOD_TRACE;
    case HTTP_CONNECT:
        return HTTP_METHOD_CONNECT;
    default:
        return HTTP_METHOD_OTHER;
    }
}

/* Records the first error and tells llhttp to stop (HPE_USER). */
static int
fail(struct http_parser *p, int status, const char *reason)
{
    if (p->error_status == 0) {
        p->error_status = status;
        p->error_reason = reason;
    }
    llhttp_set_error_reason(&p->ll, reason);
    return HPE_USER;
}

static struct http_parser *
parser_of(llhttp_t *ll)
{
    return ll->data;
}

static int
on_url(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parser *p = parser_of(ll);
    p->url_len += (uint32_t)(len > BOUNDS_URL_MAX ? BOUNDS_URL_MAX + 1 : len);
    if (p->url_len > BOUNDS_URL_MAX) {
        return fail(p, 414, "request target too long");
    }
    if (buf_append(&p->fields.bytes, at, len) != 0) {
        return fail(p, 431, "request head too large");
    }
    return 0;
}

static int
on_url_complete(llhttp_t *ll)
{
    struct http_parser *p = parser_of(ll);
    p->url_done = true;
    p->method_name = slice_from_cstr(llhttp_method_name((llhttp_method_t)ll->method));
    return 0;
}

/* The field layer's refusals, in this parser's words and statuses. */
static int
fail_field(struct http_parser *p, enum field_list_rc rc)
{
    switch (rc) {
    case FIELD_LIST_OK:
        return 0;
    case FIELD_LIST_ERR_COUNT:
        return fail(p, 431, "too many header fields");
    case FIELD_LIST_ERR_NAME_LEN:
        return fail(p, 431, "header name too long");
    case FIELD_LIST_ERR_NO_NAME:
        return fail(p, 400, "header value without a name");
    case FIELD_LIST_ERR_BYTES:
    case FIELD_LIST_RC_COUNT:
        break;
    }
    return fail(p, 431, "request head too large");
}

static int
on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parser *p = parser_of(ll);
    if (p->state == P_BODY) {
        /* Chunked trailers: parsed, counted, dropped. */
        p->trailer_bytes += len;
        return p->trailer_bytes > BOUNDS_HEADER_BYTES_MAX ? fail(p, 431, "trailers too large") : 0;
    }
    return fail_field(p, field_list_add_name(&p->fields, at, len));
}

static int
on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parser *p = parser_of(ll);
    if (p->state == P_BODY) {
        p->trailer_bytes += len;
        return p->trailer_bytes > BOUNDS_HEADER_BYTES_MAX ? fail(p, 431, "trailers too large") : 0;
    }
    return fail_field(p, field_list_add_value(&p->fields, at, len));
}

static int
on_header_value_complete(llhttp_t *ll)
{
    struct http_parser *p = parser_of(ll);
    if (p->state == P_BODY) {
        return 0;
    }
    return fail_field(p, field_list_end_value(&p->fields));
}

static int
on_headers_complete(llhttp_t *ll)
{
    struct http_parser *p = parser_of(ll);
    p->ll_method = ll->method;
    p->http_major = ll->http_major;
    p->http_minor = ll->http_minor;
    p->ll_flags = ll->flags;
    p->ll_content_length = ll->content_length;
    p->keep_alive = llhttp_should_keep_alive(ll) != 0;
    /* Stop here: the caller routes the head and picks the body cap before
     * a single body byte is parsed. */
    return HPE_PAUSED;
}

static int
on_body(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parser *p = parser_of(ll);
    if (len > p->body_max - p->body_bytes) {
        return fail(p, 413, "request body too large");
    }
    p->body_bytes += len;
    if (p->body_fn != NULL && p->body_fn(p->body_arg, at, len) != 0) {
        return fail(p, 500, "request body could not be stored");
    }
    return 0;
}

static int
on_chunk_extension(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parser *p = parser_of(ll);
    (void)at;
    p->ext_bytes += len;
    return p->ext_bytes > BOUNDS_CHUNK_EXT_BYTES_MAX ? fail(p, 400, "chunk extensions too long")
                                                     : 0;
}

static int
on_message_complete(llhttp_t *ll)
{
    (void)ll;
    /* Pipelined requests wait until this one is answered. */
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_message_complete = on_message_complete,
};

struct http_parser *
http_parser_new(void)
{
    struct http_parser *p = xcalloc(1, sizeof(*p));
    llhttp_init(&p->ll, HTTP_REQUEST, &settings);
    p->ll.data = p;
    field_list_init(&p->fields, BOUNDS_HEADER_BYTES_MAX, BOUNDS_HEADER_COUNT_MAX,
                    BOUNDS_HEADER_NAME_MAX);
    p->head.content_length = -1;
    return p;
}

void
http_parser_free(struct http_parser *p)
{
    if (p == NULL) {
        return;
    }
    field_list_cleanup(&p->fields);
    xfree(p);
}

static enum http_parse_event
set_error(struct http_parser *p, int status, const char *reason)
{
    if (p->error_status == 0) {
        p->error_status = status;
        p->error_reason = reason;
    }
    p->state = P_ERROR;
    return HTTP_PARSE_ERROR;
}

/* The obs-fold and bare-LF check (base/head_scan.h), with this parser's
 * wording. */
static const char *
scan_head(struct http_parser *p, const char *data, size_t n)
{
    switch (head_scan_feed(&p->scan_prev, data, n)) {
    case HEAD_SCAN_OBS_FOLD:
        return "obs-fold header line";
    case HEAD_SCAN_BARE_LF:
        return "bare LF in request head";
    default:
        return NULL;
    }
}

static bool
is_hex(unsigned char c)
{
    return scan_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Request-target (RFC 9112 3.2): origin-form "/path?query", absolute-form
 * "http://host/path?query" (accepted, reduced to its path), asterisk-form
 * "*" for OPTIONS. Bytes are visible ASCII only; '#' never belongs to a
 * target; a '%' in the path must start a valid escape. */
static const char *
parse_target(struct http_head *h)
{
    struct slice t = h->target;
    if (t.len == 0) {
        return "empty request target";
    }
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            return "invalid byte in request target";
        }
    }
    struct slice rest = t;
    if (t.len == 1 && t.ptr[0] == '*') {
        if (h->method != HTTP_METHOD_OPTIONS) {
            return "asterisk-form target outside OPTIONS";
        }
        h->path = t;
        return NULL;
    }
    if (t.ptr[0] != '/') {
        struct scan s = scan_init(t);
        if (!scan_lit_case(&s, "http://") && !scan_lit_case(&s, "https://")) {
            return "request target is not a path";
        }
        struct slice auth = scan_rest(&s);
        size_t alen = 0;
        while (alen < auth.len && auth.ptr[alen] != '/' && auth.ptr[alen] != '?') {
            alen++;
        }
        if (alen == 0) {
            return "absolute-form target without a host";
        }
        /* RFC 9110 4.2.4: userinfo in an http(s) URI is treated as an error. */
        if (memchr(auth.ptr, '@', alen) != NULL) {
            return "userinfo in the request target";
        }
        rest = slice_skip(auth, alen);
    }
    long q = slice_find_byte(rest, '?');
    h->path = q < 0 ? rest : slice_make(rest.ptr, (size_t)q);
    h->has_query = q >= 0;
    h->query = q < 0 ? SLICE_NULL : slice_skip(rest, (size_t)q + 1);
    if (h->path.len == 0) {
        h->path = SLICE_LIT("/"); /* "http://host" and "http://host?x" mean "/" */
    }
    for (size_t i = 0; i < h->path.len; i++) {
        if (h->path.ptr[i] == '%' &&
            (i + 2 >= h->path.len || !is_hex((unsigned char)h->path.ptr[i + 1]) ||
             !is_hex((unsigned char)h->path.ptr[i + 2]))) {
            return "invalid percent-escape in path";
        }
    }
    return NULL;
}

/* Bytes of a reg-name or IPv4 address besides percent-escapes (RFC 3986
 * 3.2.2): unreserved and sub-delims. A table: this runs on every request. */
static const bool host_byte[256] = {
    ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['0' ... '9'] = true, ['-'] = true, ['.'] = true,
    ['_'] = true,         ['~'] = true,         ['!'] = true,         ['$'] = true, ['&'] = true,
    ['\''] = true,        ['('] = true,         [')'] = true,         ['*'] = true, ['+'] = true,
    [','] = true,         [';'] = true,         ['='] = true,
};

/* Host = uri-host [ ":" port ] (RFC 9112 3.2, RFC 9110 7.2, RFC 3986
 * 3.2.2): an empty value, a reg-name or IPv4 address (unreserved,
 * sub-delims, percent-escapes), or "[IPv6]"; then ":" and at most five
 * digits. Userinfo ("user@host") and anything else is refused, so no
 * later reader (a log, an upstream, a redirect built from it) can take a
 * different authority out of it than we did. */
static bool
is_valid_host(struct slice v)
{
    size_t i = 0;
    if (v.len > 0 && v.ptr[0] == '[') {
        long close = slice_find_byte(v, ']');
        struct ipaddr a;
        if (close < 2 || !ipaddr_parse(slice_make(v.ptr + 1, (size_t)close - 1), &a) ||
            a.family != AF_INET6) {
            return false;
        }
        i = (size_t)close + 1;
    } else {
        while (i < v.len && v.ptr[i] != ':') {
            unsigned char c = (unsigned char)v.ptr[i];
            if (c == '%') {
                if (i + 2 >= v.len || !is_hex((unsigned char)v.ptr[i + 1]) ||
                    !is_hex((unsigned char)v.ptr[i + 2])) {
                    return false;
                }
                i += 3;
                continue;
            }
            if (!host_byte[c]) {
                return false;
            }
            i++;
        }
    }
    if (i == v.len) {
        return true;
    }
    if (v.ptr[i] != ':' || v.len - i - 1 > 5) {
        return false;
    }
    for (i++; i < v.len; i++) {
        if (!scan_is_digit((unsigned char)v.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* Adds one Transfer-Encoding line to the running list: the count, whether
 * the last coding is exactly "chunked", and whether an empty element was
 * seen (finish_head decides). RFC 9110 5.6.1 lets a recipient skip empty
 * list elements, but an intermediary in front of us that reads ",chunked"
 * as "not chunked" would frame the body differently than we do (a
 * desync), so we refuse them, as nginx refuses anything but "chunked". */
static void
add_transfer_codings(struct http_parser *p, struct slice value)
{
    size_t start = 0;
    while (start <= value.len) {
        size_t end = start;
        while (end < value.len && value.ptr[end] != ',') {
            end++;
        }
        struct slice coding = slice_trim_ows(slice_make(value.ptr + start, end - start));
        if (coding.len > 0) {
            p->te_codings++;
            p->te_last_chunked = slice_case_eq_cstr(coding, "chunked");
        } else {
            p->te_empty_element = true;
        }
        start = end + 1;
    }
}

/* Builds the header slices and applies the header rules llhttp leaves to
 * us. Returns NULL or the reason for a 400. */
static const char *
build_headers(struct http_parser *p, size_t *out_hosts)
{
    size_t n = 0;
    const struct field *fields = field_list_build(&p->fields, &n);
    p->head.headers = fields;
    p->head.header_count = n;
    size_t hosts = 0;
    for (size_t i = 0; i < n; i++) {
        const struct field *h = &fields[i];
        if (!field_name_is_token(h->name)) {
            /* "Host : x" (RFC 9112 5.1: no whitespace before the colon). */
            return "invalid header name";
        }
        if (!field_value_is_line_safe(h->value)) {
            return "control byte in header value";
        }
        if (slice_case_eq_cstr(h->name, "host")) {
            hosts++;
            if (!is_valid_host(h->value)) {
                return "invalid Host header";
            }
        } else if (slice_case_eq_cstr(h->name, "transfer-encoding")) {
            p->te_lines++;
            add_transfer_codings(p, h->value);
        } else if (slice_case_eq_cstr(h->name, "expect")) {
            if (p->http_minor >= 1 && slice_case_eq_cstr(h->value, "100-continue")) {
                p->head.expect_continue = true;
            } else if (p->http_minor >= 1) {
                p->head.expect_other = true;
            }
        }
    }
    *out_hosts = hosts;
    return NULL;
}

static enum http_parse_event
finish_head(struct http_parser *p)
{
    struct http_head *h = &p->head;
    if (p->http_major != 1 || p->http_minor > 1) {
        return set_error(p, 505, "unsupported HTTP version");
    }
    h->version_minor = p->http_minor;
    h->method = method_from_llhttp(p->ll_method);
    h->method_name = slice_from_cstr(llhttp_method_name((llhttp_method_t)p->ll_method));
    h->target = slice_make(p->fields.bytes.ptr, p->url_len);
    const char *reason = parse_target(h);
    if (reason != NULL) {
        return set_error(p, 400, reason);
    }
    size_t hosts = 0;
    reason = build_headers(p, &hosts);
    if (reason != NULL) {
        return set_error(p, 400, reason);
    }
    /* RFC 9112 3.2: exactly one Host on HTTP/1.1. */
    if (h->version_minor == 1 && hosts != 1) {
        return set_error(p, 400, hosts == 0 ? "missing Host header" : "repeated Host header");
    }
    /* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing cannot
     * be trusted. */
    /* A Transfer-Encoding line, even an empty one, claims chunked framing
     * to whoever reads it: it must then be exactly that. */
    bool has_te = (p->ll_flags & F_TRANSFER_ENCODING) != 0 || p->te_lines > 0;
    if (h->version_minor == 0 && has_te) {
        return set_error(p, 400, "Transfer-Encoding on HTTP/1.0");
    }
    if (has_te && p->te_empty_element) {
        return set_error(p, 400, "empty element in Transfer-Encoding");
    }
    /* RFC 9112 6.3: chunked not last (or absent) leaves the body length
     * unknown: 400. llhttp refuses "chunked, gzip" and a second chunked
     * itself; this also covers "gzip" alone and "identity". */
    if (has_te && (!p->te_last_chunked || (p->ll_flags & F_CHUNKED) == 0)) {
        return set_error(p, 400, "Transfer-Encoding without chunked as the final coding");
    }
    /* RFC 9112 6.1: any other coding ("gzip, chunked") is one we do not
     * implement; forwarding the still-encoded body as plain would hand the
     * upstream something else than the client sent. */
    if (has_te && p->te_codings != 1) {
        return set_error(p, 501, "transfer coding other than chunked");
    }
    h->content_length = (p->ll_flags & F_CONTENT_LENGTH) != 0 ? (int64_t)p->ll_content_length : -1;
    h->chunked = (p->ll_flags & F_CHUNKED) != 0;
    h->keep_alive = p->keep_alive;
    h->head_bytes = p->head_bytes;
    p->state = P_HEAD_DONE;
    return HTTP_PARSE_HEAD;
}

enum http_parse_event
http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *out_consumed)
{
    *out_consumed = 0;
    if (p->state == P_ERROR) {
        return HTTP_PARSE_ERROR;
    }
    assert(p->state == P_HEAD || p->state == P_BODY);
    if (data == NULL) {
        data = ""; /* llhttp_execute(NULL, 0) would do pointer arithmetic on NULL */
        len = 0;
    }
    size_t n = len;
    if (p->state == P_HEAD && n > BOUNDS_HEADER_BYTES_MAX + 1 - p->head_bytes) {
        /* Never let one call take the head past its cap unseen. */
        n = BOUNDS_HEADER_BYTES_MAX + 1 - p->head_bytes;
    }
    size_t used = 0;
    llhttp_errno_t err;
    for (;;) {
        err = (llhttp_errno_t)http_llhttp_execute(&p->ll, data + used, n - used);
        size_t step = n - used;
        if (err != HPE_OK) {
            const char *pos = llhttp_get_error_pos(&p->ll);
            step = pos != NULL ? (size_t)(pos - (data + used)) : 0;
        }
        used += step;
        if (err != HPE_PAUSED_UPGRADE) {
            break;
        }
        /* An Upgrade or CONNECT request was answered as a plain request;
         * this server never switches protocols, so HTTP parsing goes on. */
        llhttp_resume_after_upgrade(&p->ll);
    }
    *out_consumed = used;
    if (p->state == P_HEAD) {
        const char *reason = scan_head(p, data, used);
        p->head_bytes += used;
        if (reason != NULL) {
            return set_error(p, 400, reason);
        }
        if (p->head_bytes > BOUNDS_HEADER_BYTES_MAX && err != HPE_USER) {
            return set_error(p, 431, "request head too large");
        }
    }
    switch (err) {
    case HPE_OK:
        return HTTP_PARSE_MORE;
    case HPE_PAUSED:
        if (p->state == P_HEAD) {
            return finish_head(p);
        }
        p->state = P_DONE;
        return HTTP_PARSE_DONE;
    case HPE_USER:
        return set_error(p, p->error_status ? p->error_status : 400, p->error_reason);
    default: {
        const char *reason = llhttp_get_error_reason(&p->ll);
        return set_error(p, 400, reason != NULL ? reason : llhttp_errno_name(err));
    }
    }
}

const struct http_head *
http_parser_head(const struct http_parser *p)
{
    return p->state == P_HEAD_DONE || p->state == P_BODY || p->state == P_DONE ? &p->head : NULL;
}

void
http_parser_accept_body(struct http_parser *p, uint64_t body_max, http_parser_body_fn fn, void *arg)
{
    assert(p->state == P_HEAD_DONE);
    p->body_max = body_max;
    p->body_fn = fn;
    p->body_arg = arg;
    p->state = P_BODY;
    llhttp_resume(&p->ll);
}

void
http_parser_next(struct http_parser *p)
{
    assert(p->state == P_DONE);
    /* Keep a small store for the next head; give a big one back. */
    field_list_clear(&p->fields, true);
    p->url_len = 0;
    p->url_done = false;
    p->method_name = SLICE_NULL;
    p->head_bytes = 0;
    p->scan_prev = 0;
    p->body_max = 0;
    p->body_bytes = 0;
    p->body_fn = NULL;
    p->body_arg = NULL;
    p->trailer_bytes = 0;
    p->ext_bytes = 0;
    p->te_lines = 0;
    p->te_codings = 0;
    p->te_last_chunked = false;
    p->te_empty_element = false;
    p->head = (struct http_head){.content_length = -1};
    p->state = P_HEAD;
    llhttp_resume(&p->ll);
}

bool
http_parser_in_message(const struct http_parser *p)
{
    return p->state != P_HEAD || p->head_bytes > 0;
}

bool
http_parser_in_body(const struct http_parser *p)
{
    return p->state == P_HEAD_DONE || p->state == P_BODY;
}

int
http_parser_error_status(const struct http_parser *p)
{
    return p->state == P_ERROR ? p->error_status : 0;
}

const char *
http_parser_error_reason(const struct http_parser *p)
{
    return p->state == P_ERROR && p->error_reason != NULL ? p->error_reason : "";
}

struct slice
http_parser_partial_method(const struct http_parser *p)
{
    return p->url_done ? p->method_name : SLICE_NULL;
}

struct slice
http_parser_partial_path(const struct http_parser *p)
{
    if (!p->url_done || p->fields.bytes.ptr == NULL) {
        return SLICE_NULL;
    }
    struct slice t = slice_make(p->fields.bytes.ptr, p->url_len);
    long q = slice_find_byte(t, '?');
    return q < 0 ? t : slice_make(t.ptr, (size_t)q);
}
