#include "proxy/response.h"

#include <llhttp.h>
#include <string.h>

#include "base/buf.h"
#include "base/field.h"
#include "base/head_scan.h"
#include "base/scan.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/llhttp_exec.h"
#include "proxy/path.h"

enum resp_state {
    R_HEAD = 0,  /* reading a head (interim ones included) */
    R_HEAD_DONE, /* final head reported, waiting for accept_body */
    R_BODY,
    R_DONE,  /* sticky */
    R_ERROR, /* sticky */
};

struct proxy_response {
    llhttp_t ll;
    enum resp_state state;
    bool is_head;
    bool started;
    bool reusable;
    /* Header fields of the head being read; the head cap is their store's. */
    struct field_list fields;
    size_t head_bytes;
    unsigned char scan_prev;
    bool interim; /* the head being read is a 1xx */
    bool bad_te;  /* a Transfer-Encoding other than "chunked" */
    proxy_response_body_fn body_fn;
    void *body_arg;
    struct proxy_response_head head;
    const char *error;
};

static const char reason_truncated[] = "response truncated";

static struct proxy_response *
parser_of(llhttp_t *ll)
{
    return ll->data;
}

/* Records the first reason and makes llhttp stop with HPE_USER. */
static int
fail(struct proxy_response *p, const char *reason)
{
    if (p->error == NULL) {
        p->error = reason;
    }
    llhttp_set_error_reason(&p->ll, reason);
    return HPE_USER;
}

static int
on_message_begin(llhttp_t *ll)
{
    struct proxy_response *p = parser_of(ll);
    p->started = true;
    return 0;
}

/* The field layer's refusals, in this parser's words. */
static int
fail_field(struct proxy_response *p, enum field_list_rc rc)
{
    switch (rc) {
    case FIELD_LIST_OK:
        return 0;
    case FIELD_LIST_ERR_COUNT:
        return fail(p, "too many response header fields");
    case FIELD_LIST_ERR_NAME_LEN:
        return fail(p, "response header name too long");
    case FIELD_LIST_ERR_NO_NAME:
        return fail(p, "response header value without a name");
    case FIELD_LIST_ERR_BYTES:
    case FIELD_LIST_RC_COUNT:
        break;
    }
    return fail(p, "response head too large");
}

static int
on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    struct proxy_response *p = parser_of(ll);
    if (p->state == R_BODY) {
        return 0; /* trailers: parsed (the head cap is not theirs) and dropped */
    }
    return fail_field(p, field_list_add_name(&p->fields, at, len));
}

static int
on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    struct proxy_response *p = parser_of(ll);
    if (p->state == R_BODY) {
        return 0;
    }
    return fail_field(p, field_list_add_value(&p->fields, at, len));
}

static int
on_header_value_complete(llhttp_t *ll)
{
    struct proxy_response *p = parser_of(ll);
    if (p->state == R_BODY) {
        return 0;
    }
    return fail_field(p, field_list_end_value(&p->fields));
}

/* "Keep-Alive: timeout=5, max=1000" (RFC 2068 19.7.1.1): the seconds an
 * idle connection may wait, or 0. */
static uint64_t
keep_alive_timeout_ms(struct slice v)
{
    struct scan s = scan_init(v);
    while (!scan_eof(&s)) {
        scan_ows(&s);
        if (scan_lit_case(&s, "timeout=")) {
            uint64_t secs = 0;
            if (scan_u64(&s, 86400, &secs)) {
                return secs * 1000;
            }
            return 0;
        }
        struct slice skip;
        if (!scan_until(&s, ',', &skip)) {
            return 0;
        }
        (void)scan_byte(&s, ',');
    }
    return 0;
}

/* Builds the header slices and applies what llhttp leaves to us. Returns
 * NULL or the reason to refuse the head. */
static const char *
build_headers(struct proxy_response *p)
{
    size_t n = 0;
    const struct field *fields = field_list_build(&p->fields, &n);
    p->head.keep_alive_timeout_ms = 0;
    for (size_t i = 0; i < n; i++) {
        const struct field *h = &fields[i];
        if (!field_name_is_token(h->name)) {
            return "invalid response header name";
        }
        if (!field_value_is_valid(h->value)) {
            return "control byte in response header value";
        }
        if (slice_case_eq_cstr(h->name, "transfer-encoding") &&
            !slice_case_eq_cstr(h->value, "chunked")) {
            /* gzip, "gzip, chunked" ...: the client would get coded bytes
             * without the header that names the coding. */
            p->bad_te = true;
        }
        if (slice_case_eq_cstr(h->name, "keep-alive")) {
            p->head.keep_alive_timeout_ms = keep_alive_timeout_ms(h->value);
        }
    }
    p->head.headers = fields;
    p->head.header_count = n;
    return NULL;
}

/* The head of an interim response is dropped; the next head starts clean. */
static void
forget_head(struct proxy_response *p)
{
    field_list_clear(&p->fields, false);
    p->head_bytes = 0;
}

static int
on_headers_complete(llhttp_t *ll)
{
    struct proxy_response *p = parser_of(ll);
    int status = ll->status_code;
    if (ll->http_major != 1 || ll->http_minor > 1) {
        return fail(p, "unsupported HTTP version in response");
    }
    if (status == 101) {
        return fail(p, "unexpected 101 Switching Protocols");
    }
    if (status < 100 || status > 599) {
        return fail(p, "response status out of range");
    }
    if (status < 200) {
        /* Interim: complete, without a body; the final head follows. */
        p->interim = true;
        return 1;
    }
    const char *reason = build_headers(p);
    if (reason != NULL) {
        return fail(p, reason);
    }
    if (p->bad_te) {
        return fail(p, "unsupported transfer coding in response");
    }
    if ((ll->flags & F_CONTENT_LENGTH) != 0 && ll->content_length > (uint64_t)INT64_MAX) {
        /* llhttp takes any 64-bit length; ours is signed (-1 = none). */
        return fail(p, "response Content-Length out of range");
    }
    struct proxy_response_head *h = &p->head;
    h->status = status;
    h->version_minor = ll->http_minor;
    h->chunked = (ll->flags & F_CHUNKED) != 0;
    h->content_length =
        (ll->flags & F_CONTENT_LENGTH) != 0 && !h->chunked ? (int64_t)ll->content_length : -1;
    h->has_body = !(p->is_head || status == 204 || status == 304);
    if (!h->has_body) {
        /* llhttp 8 reads a 204/304 body by its Content-Length; RFC 9110
         * 6.4.1 says there is none (a 304 often carries the length of the
         * representation it did not send). */
        ll->flags |= F_SKIPBODY;
    }
    h->close_delimited = llhttp_message_needs_eof(ll) != 0;
    p->state = R_HEAD_DONE;
    /* Stop here: the forward decides (relay, follow, refuse) before a body
     * byte is parsed. */
    return HPE_PAUSED;
}

static int
on_body(llhttp_t *ll, const char *at, size_t len)
{
    struct proxy_response *p = parser_of(ll);
    if (p->body_fn != NULL && p->body_fn(p->body_arg, at, len) != 0) {
        return fail(p, "response body not accepted");
    }
    return 0;
}

static int
on_message_complete(llhttp_t *ll)
{
    struct proxy_response *p = parser_of(ll);
    if (p->interim) {
        p->interim = false;
        forget_head(p);
        return 0;
    }
    /* Read now: llhttp clears its flags once this callback returns. */
    p->reusable = llhttp_should_keep_alive(ll) != 0 && !p->head.close_delimited;
    p->state = R_DONE;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

struct proxy_response *
proxy_response_new(bool is_head)
{
    struct proxy_response *p = xcalloc(1, sizeof(*p));
    field_list_init(&p->fields, BOUNDS_UPSTREAM_HEAD_BYTES_MAX, BOUNDS_UPSTREAM_HEADER_COUNT_MAX,
                    BOUNDS_HEADER_NAME_MAX);
    proxy_response_reset(p, is_head);
    return p;
}

void
proxy_response_free(struct proxy_response *p)
{
    if (p == NULL) {
        return;
    }
    field_list_cleanup(&p->fields);
    xfree(p);
}

void
proxy_response_reset(struct proxy_response *p, bool is_head)
{
    llhttp_init(&p->ll, HTTP_RESPONSE, &settings);
    p->ll.data = p;
    p->state = R_HEAD;
    p->is_head = is_head;
    p->started = false;
    p->reusable = false;
    p->interim = false;
    p->bad_te = false;
    p->body_fn = NULL;
    p->body_arg = NULL;
    p->head = (struct proxy_response_head){.content_length = -1};
    p->error = NULL;
    p->scan_prev = 0;
    field_list_clear(&p->fields, true); /* a big head's memory goes back */
    p->head_bytes = 0;
}

static enum proxy_response_event
set_error(struct proxy_response *p, const char *reason)
{
    if (p->error == NULL) {
        p->error = reason;
    }
    p->state = R_ERROR;
    return PROXY_RESPONSE_ERROR;
}

/* The obs-fold and bare-LF check (base/head_scan.h), with this parser's
 * wording. */
static const char *
scan_head(struct proxy_response *p, const char *data, size_t n)
{
    switch (head_scan_feed(&p->scan_prev, data, n)) {
    case HEAD_SCAN_OBS_FOLD:
        return "obs-fold line in response head";
    case HEAD_SCAN_BARE_LF:
        return "bare LF in response head";
    default:
        return NULL;
    }
}

/* One llhttp_execute over data; returns its errno and the bytes used. */
static llhttp_errno_t
execute(struct proxy_response *p, const char *data, size_t len, size_t *out_used)
{
    llhttp_errno_t err = (llhttp_errno_t)http_llhttp_execute(&p->ll, data, len);
    size_t used = len;
    if (err != HPE_OK) {
        const char *pos = llhttp_get_error_pos(&p->ll);
        used = pos != NULL && pos >= data && pos <= data + len ? (size_t)(pos - data) : 0;
    }
    *out_used = used;
    return err;
}

enum proxy_response_event
proxy_response_feed(struct proxy_response *p, const char *data, size_t len, size_t *out_consumed)
{
    *out_consumed = 0;
    if (p->state == R_ERROR) {
        return PROXY_RESPONSE_ERROR;
    }
    if (p->state == R_DONE) {
        return PROXY_RESPONSE_DONE;
    }
    if (p->state == R_HEAD_DONE) {
        return PROXY_RESPONSE_HEAD; /* accept_body first */
    }
    if (data == NULL) {
        data = ""; /* llhttp would do pointer arithmetic on NULL */
        len = 0;
    }
    size_t n = len;
    bool in_head = p->state == R_HEAD;
    if (in_head && n > BOUNDS_UPSTREAM_HEAD_BYTES_MAX + 1 - p->head_bytes) {
        /* Never let one call take a head past its cap unseen. */
        n = BOUNDS_UPSTREAM_HEAD_BYTES_MAX + 1 - p->head_bytes;
    }
    size_t used = 0;
    llhttp_errno_t err = execute(p, data, n, &used);
    *out_consumed = used;
    if (in_head) {
        /* Parsing pauses at the end of the final head, so every byte used
         * here belongs to a head (interim ones included). */
        const char *reason = scan_head(p, data, used);
        p->head_bytes += used;
        if (reason != NULL) {
            return set_error(p, reason);
        }
        if (p->state == R_HEAD && p->head_bytes > BOUNDS_UPSTREAM_HEAD_BYTES_MAX &&
            err != HPE_USER) {
            return set_error(p, "response head too large");
        }
    }
    switch (err) {
    case HPE_OK:
        return PROXY_RESPONSE_MORE;
    case HPE_PAUSED:
        if (p->state == R_HEAD_DONE) {
            return PROXY_RESPONSE_HEAD;
        }
        return PROXY_RESPONSE_DONE;
    case HPE_USER:
        return set_error(p, p->error != NULL ? p->error : "response refused");
    default: {
        const char *reason = llhttp_errno_name(err);
        return set_error(p, reason != NULL ? reason : "malformed response");
    }
    }
}

const struct proxy_response_head *
proxy_response_head(const struct proxy_response *p)
{
    return p->state == R_HEAD_DONE || p->state == R_BODY ||
                   (p->state == R_DONE && p->head.status != 0)
               ? &p->head
               : NULL;
}

void
proxy_response_accept_body(struct proxy_response *p, proxy_response_body_fn fn, void *arg)
{
    if (p->state != R_HEAD_DONE) {
        return;
    }
    p->body_fn = fn;
    p->body_arg = arg;
    p->state = R_BODY;
    /* The head was relayed before the body was asked for: its fields'
     * memory goes back now, since a stream may run for hours. (Trailers are
     * parsed and dropped without them.) */
    field_list_release(&p->fields);
    p->head.headers = NULL;
    p->head.header_count = 0;
    llhttp_resume(&p->ll);
}

enum proxy_response_event
proxy_response_finish(struct proxy_response *p)
{
    switch (p->state) {
    case R_DONE:
        return PROXY_RESPONSE_DONE;
    case R_ERROR:
        return PROXY_RESPONSE_ERROR;
    case R_HEAD:
    case R_HEAD_DONE:
        return set_error(p, p->started ? "response truncated in its head"
                                       : "upstream closed the connection without a response");
    case R_BODY:
        break;
    }
    llhttp_errno_t err = llhttp_finish(&p->ll);
    /* llhttp_finish runs on_message_complete for a close-delimited body;
     * ours answers HPE_PAUSED. */
    if ((err == HPE_OK || err == HPE_PAUSED) && p->state == R_DONE) {
        p->reusable = false;
        return PROXY_RESPONSE_DONE;
    }
    return set_error(p, reason_truncated);
}

bool
proxy_response_is_reusable(const struct proxy_response *p)
{
    return p->state == R_DONE && p->reusable;
}

bool
proxy_response_has_started(const struct proxy_response *p)
{
    return p->started;
}

const char *
proxy_response_error(const struct proxy_response *p)
{
    return p->state == R_ERROR && p->error != NULL ? p->error : "";
}

/* ---- hops ---- */

enum proxy_response_hop
proxy_response_hop_decide(const struct proxy_response_head *h, const char *current_url,
                          unsigned round_trip, unsigned max_round_trips, char **out_next_url)
{
    *out_next_url = NULL;
    if (h->status != 307 && h->status != 308) {
        return PROXY_HOP_RELAY;
    }
    const struct field *location = NULL;
    for (size_t i = 0; i < h->header_count; i++) {
        if (slice_case_eq_cstr(h->headers[i].name, "location")) {
            if (location != NULL) {
                return PROXY_HOP_RELAY; /* two Locations: which one? relay it */
            }
            location = &h->headers[i];
        }
    }
    if (location == NULL || location->value.len == 0 || location->value.len > BOUNDS_URL_MAX) {
        return PROXY_HOP_RELAY;
    }
    char *loc = xstrndup(location->value.ptr, location->value.len);
    char *next = NULL;
    bool same = proxy_path_same_origin(loc, current_url, &next);
    xfree(loc);
    if (!same) {
        return PROXY_HOP_RELAY;
    }
    if (round_trip >= max_round_trips) {
        xfree(next);
        return PROXY_HOP_EXHAUSTED;
    }
    *out_next_url = next;
    return PROXY_HOP_FOLLOW;
}
