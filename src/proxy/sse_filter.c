#include "proxy/sse_filter.h"

#include <string.h>

#include "base/xalloc.h"

static const char bom[] = "\xEF\xBB\xBF";
#define BOM_LEN 3

/* Where the LF after a CR goes: the CR ended a line of a pending event
 * (the LF joins the event's raw bytes), a relayed line (relay the LF), or
 * a replaced or dropped event (drop the LF: the replacement ends in LF). */
enum cr_owner {
    CR_RAW = 0,
    CR_EMIT,
    CR_DROP,
};

struct proxy_sse_filter {
    size_t max;
    proxy_sse_filter_judge_fn judge;
    proxy_sse_filter_emit_fn emit;
    void *arg;
    struct buf raw;    /* the pending event's bytes, as received */
    struct buf data;   /* its data values, each followed by LF */
    struct buf judged; /* the judge's replacement data */
    struct buf out;    /* the replacement event being built */
    size_t line_start; /* offset in raw of the line being read */
    bool has_data;
    bool pass_line; /* a comment between events, relayed as it comes */
    bool after_cr;  /* the last byte was a CR */
    enum cr_owner cr_owner;
    bool first_event; /* the pending event is the stream's first (BOM) */
    bool started;     /* a byte of the stream was seen */
    enum proxy_sse_filter_rc rc;
};

struct proxy_sse_filter *
proxy_sse_filter_new(size_t max_event_bytes, proxy_sse_filter_judge_fn judge,
                     proxy_sse_filter_emit_fn emit, void *arg)
{
    struct proxy_sse_filter *p = xcalloc(1, sizeof(*p));
    p->max = max_event_bytes;
    p->judge = judge;
    p->emit = emit;
    p->arg = arg;
    p->first_event = true;
    buf_init(&p->raw, max_event_bytes);
    buf_init(&p->data, max_event_bytes);
    /* A rewritten list may come out longer than it came in (jansson
     * spells some numbers longer); the replacement event adds the
     * event's other lines, themselves within the cap. */
    buf_init(&p->judged, 2 * max_event_bytes + 64);
    buf_init(&p->out, 3 * max_event_bytes + 128);
    return p;
}

void
proxy_sse_filter_free(struct proxy_sse_filter *p)
{
    if (p == NULL) {
        return;
    }
    buf_cleanup(&p->raw);
    buf_cleanup(&p->data);
    buf_cleanup(&p->judged);
    buf_cleanup(&p->out);
    xfree(p);
}

static enum proxy_sse_filter_rc
emit(struct proxy_sse_filter *p, const char *data, size_t len)
{
    if (len > 0 && p->emit(p->arg, data, len) != 0) {
        p->rc = PROXY_SSE_FILTER_EMIT_FAILED;
    }
    return p->rc;
}

static size_t
find_eol(const char *data, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++) {
        if (data[i] == '\r' || data[i] == '\n') {
            return i;
        }
    }
    return len;
}

/* The field name and value of one line (no line end). */
static void
split_field(struct slice line, struct slice *out_name, struct slice *out_value)
{
    const char *colon = memchr(line.ptr, ':', line.len);
    if (colon == NULL) {
        *out_name = line;
        *out_value = slice_make(line.ptr + line.len, 0);
        return;
    }
    size_t n = (size_t)(colon - line.ptr);
    *out_name = slice_make(line.ptr, n);
    struct slice v = slice_make(colon + 1, line.len - n - 1);
    if (v.len > 0 && v.ptr[0] == ' ') {
        v = slice_skip(v, 1);
    }
    *out_value = v;
}

/* The BOM a client strips from the stream's first line. */
static struct slice
strip_bom(struct slice line, bool first_line)
{
    if (first_line && line.len >= BOM_LEN && memcmp(line.ptr, bom, BOM_LEN) == 0) {
        return slice_skip(line, BOM_LEN);
    }
    return line;
}

/* A complete, non-empty line of the pending event: collect its data. */
static void
take_line(struct proxy_sse_filter *p, struct slice line)
{
    line = strip_bom(line, p->first_event && p->line_start == 0);
    if (line.len > 0 && line.ptr[0] == ':') {
        return;
    }
    struct slice name, value;
    split_field(line, &name, &value);
    if (!slice_eq_cstr(name, "data")) {
        return;
    }
    /* Fits: data is never longer than raw, and both share the cap. */
    if (buf_append_slice(&p->data, value) != 0 || buf_append_byte(&p->data, '\n') != 0) {
        p->rc = PROXY_SSE_FILTER_TOO_LARGE;
        return;
    }
    p->has_data = true;
}

/* The replacement event: raw's other lines, the new data at the first
 * data line's place, an empty line. */
static int
build_replacement(struct proxy_sse_filter *p, struct slice repl)
{
    struct buf *o = &p->out;
    const char *r = p->raw.ptr;
    size_t n = p->raw.len;
    size_t i = 0;
    bool data_done = false;
    buf_reset(o);
    if (p->first_event && n >= BOM_LEN && memcmp(r, bom, BOM_LEN) == 0) {
        if (buf_append(o, bom, BOM_LEN) != 0) {
            return -1;
        }
        i = BOM_LEN;
    }
    while (i < n) {
        size_t e = find_eol(r, i, n);
        size_t next = e;
        if (next < n) {
            next += r[next] == '\r' && next + 1 < n && r[next + 1] == '\n' ? 2 : 1;
        }
        struct slice line = slice_make(r + i, e - i);
        if (line.len == 0) {
            break; /* the empty line that ends the event */
        }
        struct slice name, value;
        split_field(line, &name, &value);
        bool is_data = line.ptr[0] != ':' && slice_eq_cstr(name, "data");
        if (!is_data) {
            if (buf_append(o, r + i, next - i) != 0) {
                return -1;
            }
            if (next == e && buf_append_byte(o, '\n') != 0) {
                return -1; /* the stream's last line, without its end */
            }
        } else if (!data_done) {
            data_done = true;
            size_t k = 0;
            do {
                const char *lf = memchr(repl.ptr + k, '\n', repl.len - k);
                size_t end = lf != NULL ? (size_t)(lf - repl.ptr) : repl.len;
                if (buf_append_str(o, "data: ") != 0 || buf_append(o, repl.ptr + k, end - k) != 0 ||
                    buf_append_byte(o, '\n') != 0) {
                    return -1;
                }
                k = end + 1;
            } while (k <= repl.len);
        }
        i = next;
    }
    return buf_append_byte(o, '\n');
}

/* The pending event is complete (or the stream ended): judge and relay. */
static void
dispatch(struct proxy_sse_filter *p)
{
    enum proxy_sse_verdict v = PROXY_SSE_PASS;
    if (p->has_data) {
        struct slice d = buf_slice(&p->data);
        d.len--; /* the last data line's LF */
        buf_reset(&p->judged);
        v = p->judge(p->arg, d, &p->judged);
    }
    switch (v) {
    case PROXY_SSE_REPLACE:
        if (build_replacement(p, buf_slice(&p->judged)) != 0) {
            p->rc = PROXY_SSE_FILTER_TOO_LARGE;
        } else {
            (void)emit(p, p->out.ptr, p->out.len);
        }
        p->cr_owner = CR_DROP;
        break;
    case PROXY_SSE_DROP:
        p->cr_owner = CR_DROP;
        break;
    case PROXY_SSE_PASS:
    default:
        (void)emit(p, p->raw.ptr, p->raw.len);
        p->cr_owner = CR_EMIT;
        break;
    }
    buf_reset(&p->raw);
    buf_reset(&p->data);
    p->line_start = 0;
    p->has_data = false;
    p->first_event = false;
}

enum proxy_sse_filter_rc
proxy_sse_filter_feed(struct proxy_sse_filter *p, const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && p->rc == PROXY_SSE_FILTER_OK) {
        if (p->after_cr) {
            p->after_cr = false;
            if (data[i] == '\n') {
                /* The LF of a CRLF split from its CR: it goes where the CR went. */
                if (p->cr_owner == CR_RAW) {
                    if (buf_append_byte(&p->raw, '\n') != 0) {
                        p->rc = PROXY_SSE_FILTER_TOO_LARGE;
                        break;
                    }
                    p->line_start = p->raw.len;
                } else if (p->cr_owner == CR_EMIT) {
                    (void)emit(p, "\n", 1);
                }
                i++;
                continue;
            }
        }
        size_t e = find_eol(data, i, len);
        if (p->pass_line) {
            size_t end = e < len ? e + 1 : len;
            (void)emit(p, data + i, end - i);
            if (e < len) {
                p->pass_line = false;
                p->after_cr = data[e] == '\r';
                p->cr_owner = CR_EMIT;
            }
            i = end;
            continue;
        }
        if (p->raw.len == 0 && p->started && data[i] == ':') {
            p->pass_line = true; /* a comment between events */
            continue;
        }
        p->started = true;
        size_t take = e < len ? e + 1 : len;
        if (buf_append(&p->raw, data + i, take - i) != 0) {
            p->rc = PROXY_SSE_FILTER_TOO_LARGE;
            break;
        }
        i = take;
        if (e == len) {
            break; /* the line goes on in the next call */
        }
        p->after_cr = data[e] == '\r';
        p->cr_owner = CR_RAW;
        struct slice line = slice_make(p->raw.ptr + p->line_start, p->raw.len - 1 - p->line_start);
        if (strip_bom(line, p->first_event && p->line_start == 0).len == 0) {
            dispatch(p); /* sets cr_owner for the LF that may follow */
            continue;
        }
        take_line(p, line);
        p->line_start = p->raw.len;
    }
    return p->rc;
}

enum proxy_sse_filter_rc
proxy_sse_filter_finish(struct proxy_sse_filter *p)
{
    if (p->rc != PROXY_SSE_FILTER_OK || p->raw.len == 0) {
        return p->rc;
    }
    if (p->line_start < p->raw.len) {
        /* A last line without its end: as if it had one. */
        take_line(p, slice_make(p->raw.ptr + p->line_start, p->raw.len - p->line_start));
        if (p->rc != PROXY_SSE_FILTER_OK) {
            return p->rc;
        }
    }
    dispatch(p);
    return p->rc;
}
