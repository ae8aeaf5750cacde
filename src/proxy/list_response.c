#include "proxy/list_response.h"

#include "base/buf.h"
#include "base/xalloc.h"
#include "proxy/jsonrpc_peek.h"
#include "proxy/sse_filter.h"

enum mode {
    MODE_NONE = 0, /* not taken */
    MODE_JSON,
    MODE_SSE,
};

struct proxy_list_response {
    const struct proxy_list_filter *filter;
    size_t max;
    proxy_list_response_emit_fn emit;
    void *arg;
    enum mode mode;
    bool refused; /* an error was sent (or is due): drop every later byte */
    bool encoded; /* Content-Encoding: we cannot read it */
    struct buf body;
    struct buf out;
    struct proxy_sse_filter *sse;
    enum proxy_list_response_result result;
    size_t hidden;
    int emit_rc;
};

static const char *const result_str[PROXY_LIST_RESPONSE_RESULT_COUNT] = {
    [PROXY_LIST_RESPONSE_UNCHANGED] = "unchanged",
    [PROXY_LIST_RESPONSE_FILTERED] = "filtered",
    [PROXY_LIST_RESPONSE_OVERFLOW] = "overflow",
    [PROXY_LIST_RESPONSE_WITHHELD] = "withheld",
};

const char *
proxy_list_response_result_str(enum proxy_list_response_result r)
{
    return r < PROXY_LIST_RESPONSE_RESULT_COUNT ? result_str[r] : "unknown";
}

static const char reason_overflow[] = "list response too large to filter";
static const char reason_withheld[] = "list response could not be filtered";

static void
note(struct proxy_list_response *r, enum proxy_list_response_result res)
{
    if (res > r->result) {
        r->result = res;
    }
}

static int
emit(struct proxy_list_response *r, const char *data, size_t len)
{
    if (r->emit_rc == 0 && len > 0) {
        r->emit_rc = r->emit(r->arg, data, len);
    }
    return r->emit_rc;
}

/* SSE: a whole event carrying the error for the request's id. */
static void
emit_error_event(struct proxy_list_response *r, const char *reason)
{
    buf_reset(&r->out);
    if (buf_append_str(&r->out, "data: ") == 0 &&
        proxy_list_filter_format_error(r->filter, reason, &r->out) == 0 &&
        buf_append_str(&r->out, "\n\n") == 0) {
        (void)emit(r, r->out.ptr, r->out.len);
    }
}

static void
refuse(struct proxy_list_response *r, enum proxy_list_response_result res, const char *reason)
{
    if (r->refused) {
        return; /* answered already: an event refused earlier in this chunk */
    }
    note(r, res);
    r->refused = true;
    if (r->mode == MODE_SSE) {
        emit_error_event(r, reason);
    }
    /* JSON: the error is the body, sent at the end. */
}

static enum proxy_sse_verdict
judge(void *arg, struct slice data, struct buf *out)
{
    struct proxy_list_response *r = arg;
    if (r->refused) {
        return PROXY_SSE_DROP; /* later events of the chunk that refused */
    }
    size_t hidden = 0;
    switch (proxy_list_filter_message(r->filter, data, r->max, out, &hidden)) {
    case PROXY_LIST_FILTER_PASS:
        return PROXY_SSE_PASS;
    case PROXY_LIST_FILTER_REWRITTEN:
        r->hidden += hidden;
        note(r, PROXY_LIST_RESPONSE_FILTERED);
        return PROXY_SSE_REPLACE;
    case PROXY_LIST_FILTER_WITHHELD:
    default:
        /* As past the cap: one error event for the request's id, then
         * nothing. Answering the id once per bad event sent a client
         * several answers to one request (the fuzzer found a stream of
         * small bad events turning 6 KB into more than 33 KB). */
        refuse(r, PROXY_LIST_RESPONSE_WITHHELD, reason_withheld);
        return PROXY_SSE_DROP;
    }
}

static int
sse_emit(void *arg, const char *data, size_t len)
{
    struct proxy_list_response *r = arg;
    if (r->refused) {
        return 0; /* comments after the refusal, in the same chunk */
    }
    return emit(r, data, len);
}

struct proxy_list_response *
proxy_list_response_new(const struct proxy_list_filter *filter, size_t max,
                        proxy_list_response_emit_fn emit_fn, void *arg)
{
    struct proxy_list_response *r = xcalloc(1, sizeof(*r));
    r->filter = filter;
    r->max = max;
    r->emit = emit_fn;
    r->arg = arg;
    buf_init(&r->body, max);
    /* Rewritten text may be longer than its input (jansson's spelling of
     * some numbers); an error message is short. */
    buf_init(&r->out, 2 * max + 256);
    return r;
}

void
proxy_list_response_free(struct proxy_list_response *r)
{
    if (r == NULL) {
        return;
    }
    proxy_sse_filter_free(r->sse);
    buf_cleanup(&r->body);
    buf_cleanup(&r->out);
    xfree(r);
}

static bool
is_event_stream(struct slice ct)
{
    long semi = slice_find_byte(ct, ';');
    struct slice media = slice_trim_space(slice_make(ct.ptr, semi >= 0 ? (size_t)semi : ct.len));
    return slice_case_eq_cstr(media, "text/event-stream");
}

bool
proxy_list_response_begin(struct proxy_list_response *r, int status, struct slice content_type,
                          struct slice content_encoding)
{
    if (status < 200 || status > 299) {
        return false; /* an HTTP error carries no list */
    }
    if (proxy_jsonrpc_content_type_is_json(content_type)) {
        r->mode = MODE_JSON;
    } else if (is_event_stream(content_type)) {
        r->mode = MODE_SSE;
        r->sse = proxy_sse_filter_new(r->max, judge, sse_emit, r);
    } else {
        return false; /* no JSON-RPC client reads a list from it */
    }
    struct slice enc = slice_trim_space(content_encoding);
    r->encoded = enc.len > 0 && !slice_case_eq_cstr(enc, "identity");
    return true;
}

int
proxy_list_response_body(struct proxy_list_response *r, const char *data, size_t len)
{
    if (r->refused || len == 0) {
        return r->emit_rc;
    }
    if (r->encoded) {
        refuse(r, PROXY_LIST_RESPONSE_WITHHELD, reason_withheld);
        return r->emit_rc;
    }
    if (r->mode == MODE_JSON) {
        if (buf_append(&r->body, data, len) != 0) {
            buf_cleanup(&r->body);
            refuse(r, PROXY_LIST_RESPONSE_OVERFLOW, reason_overflow);
        }
        return r->emit_rc;
    }
    if (r->mode == MODE_SSE &&
        proxy_sse_filter_feed(r->sse, data, len) == PROXY_SSE_FILTER_TOO_LARGE) {
        refuse(r, PROXY_LIST_RESPONSE_OVERFLOW, reason_overflow);
    }
    return r->emit_rc;
}

static void
end_json(struct proxy_list_response *r)
{
    const char *reason = reason_withheld;
    if (r->result == PROXY_LIST_RESPONSE_OVERFLOW) {
        reason = reason_overflow;
    } else if (!r->refused) {
        size_t hidden = 0;
        buf_reset(&r->out);
        switch (
            proxy_list_filter_message(r->filter, buf_slice(&r->body), r->max, &r->out, &hidden)) {
        case PROXY_LIST_FILTER_PASS:
            (void)emit(r, r->body.ptr, r->body.len);
            return;
        case PROXY_LIST_FILTER_REWRITTEN:
            r->hidden += hidden;
            note(r, PROXY_LIST_RESPONSE_FILTERED);
            (void)emit(r, r->out.ptr, r->out.len);
            return;
        case PROXY_LIST_FILTER_WITHHELD:
        default:
            note(r, PROXY_LIST_RESPONSE_WITHHELD);
            break;
        }
    }
    buf_reset(&r->out);
    if (proxy_list_filter_format_error(r->filter, reason, &r->out) == 0) {
        (void)emit(r, r->out.ptr, r->out.len);
    }
}

int
proxy_list_response_end(struct proxy_list_response *r)
{
    if (r->mode == MODE_JSON) {
        end_json(r);
    } else if (r->mode == MODE_SSE && !r->refused &&
               proxy_sse_filter_finish(r->sse) == PROXY_SSE_FILTER_TOO_LARGE) {
        refuse(r, PROXY_LIST_RESPONSE_OVERFLOW, reason_overflow);
    }
    return r->emit_rc;
}

enum proxy_list_response_result
proxy_list_response_result(const struct proxy_list_response *r)
{
    return r->result;
}

size_t
proxy_list_response_hidden(const struct proxy_list_response *r)
{
    return r->hidden;
}
