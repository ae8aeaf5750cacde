#include "llhttp_diff.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "http/llhttp_exec.h"

/* What a parser reported: a tag byte per callback, data callbacks followed
 * by their bytes, so two records are equal only for the same events with
 * the same bytes in the same order. */
struct record {
    struct buf events;
};

static int
put_event(llhttp_t *ll, char tag, const char *at, size_t len)
{
    struct record *r = ll->data;
    char lenbuf[sizeof(size_t)];
    memcpy(lenbuf, &len, sizeof(len));
    if (buf_append_byte(&r->events, tag) != 0 || buf_append(&r->events, lenbuf, sizeof(len)) != 0 ||
        (len > 0 && buf_append(&r->events, at, len) != 0)) {
        return -1; /* past the cap: both stop alike */
    }
    return 0;
}

#define DATA_CB(name, tag)                                                                         \
    static int name(llhttp_t *ll, const char *at, size_t len)                                      \
    {                                                                                              \
        return put_event(ll, tag, at, len);                                                        \
    }
#define PLAIN_CB(name, tag)                                                                        \
    static int name(llhttp_t *ll)                                                                  \
    {                                                                                              \
        return put_event(ll, tag, NULL, 0);                                                        \
    }

DATA_CB(on_url, 'u')
DATA_CB(on_status, 's')
DATA_CB(on_method, 'm')
DATA_CB(on_version, 'v')
DATA_CB(on_header_field, 'f')
DATA_CB(on_header_value, 'h')
DATA_CB(on_body, 'b')
PLAIN_CB(on_message_begin, 'B')
PLAIN_CB(on_headers_complete, 'H')
PLAIN_CB(on_message_complete, 'M')
PLAIN_CB(on_url_complete, 'U')
PLAIN_CB(on_status_complete, 'S')
PLAIN_CB(on_header_field_complete, 'F')
PLAIN_CB(on_header_value_complete, 'V')
PLAIN_CB(on_chunk_header, 'c')
PLAIN_CB(on_chunk_complete, 'C')

static void
settings_init(llhttp_settings_t *s)
{
    llhttp_settings_init(s);
    s->on_url = on_url;
    s->on_status = on_status;
    s->on_method = on_method;
    s->on_version = on_version;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_body = on_body;
    s->on_message_begin = on_message_begin;
    s->on_headers_complete = on_headers_complete;
    s->on_message_complete = on_message_complete;
    s->on_url_complete = on_url_complete;
    s->on_status_complete = on_status_complete;
    s->on_header_field_complete = on_header_field_complete;
    s->on_header_value_complete = on_header_value_complete;
    s->on_chunk_header = on_chunk_header;
    s->on_chunk_complete = on_chunk_complete;
}

bool
llhttp_diff_available(void)
{
#if MAP_LLHTTP_SSE42
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

struct outcome {
    llhttp_errno_t err;
    size_t error_at; /* offset into data of error_pos, or SIZE_MAX */
};

/* One build's run; sse picks the SSE4.2 build. */
static struct outcome
run(bool sse, const char *data, size_t len, llhttp_type_t type, size_t split, struct record *rec)
{
    llhttp_settings_t settings;
    settings_init(&settings);
    llhttp_t ll;
    llhttp_init(&ll, type, &settings);
    ll.data = rec;
    struct outcome o = {HPE_OK, SIZE_MAX};
    const size_t cut[2] = {split, len};
    size_t from = 0;
    for (int i = 0; i < 2 && o.err == HPE_OK; i++) {
        const char *p = len > 0 ? data + from : "";
        size_t n = cut[i] - from;
#if MAP_LLHTTP_SSE42
        o.err = sse ? (llhttp_errno_t)llhttp__internal_execute_sse42(&ll, p, p + n)
                    : llhttp_execute(&ll, p, n);
#else
        (void)sse;
        o.err = llhttp_execute(&ll, p, n);
#endif
        if (o.err != HPE_OK) {
            const char *at = llhttp_get_error_pos(&ll);
            o.error_at = at != NULL && at >= p && at <= p + n ? (size_t)(at - data) : SIZE_MAX - 1;
        }
        from = cut[i];
    }
    return o;
}

bool
llhttp_diff_agree(const char *data, size_t len, llhttp_type_t type, size_t split,
                  llhttp_errno_t *out_errno, char *why, size_t why_cap)
{
    if (split > len) {
        split = len;
    }
    struct record a;
    struct record b;
    buf_init(&a.events, 1u << 20);
    buf_init(&b.events, 1u << 20);
    struct outcome oa = run(false, data, len, type, split, &a);
    struct outcome ob = run(true, data, len, type, split, &b);
    bool same_events = a.events.len == b.events.len &&
                       (a.events.len == 0 || memcmp(a.events.ptr, b.events.ptr, a.events.len) == 0);
    bool ok = oa.err == ob.err && oa.error_at == ob.error_at && same_events;
    if (!ok) {
        snprintf(why, why_cap,
                 "baseline errno %d at %zu (%zu event bytes), sse4.2 errno %d at %zu (%zu)",
                 (int)oa.err, oa.error_at, a.events.len, (int)ob.err, ob.error_at, b.events.len);
    }
    *out_errno = oa.err;
    buf_cleanup(&a.events);
    buf_cleanup(&b.events);
    return ok;
}
