/* The JSON-RPC peek (SPEC.md 4.7) and the tool-metrics observer (7.1).
 *
 * Body examples (MCP over streamable HTTP, JSON-RPC 2.0):
 *   {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search"}}
 *   [{"jsonrpc":"2.0","id":1,"method":"tools/list"},
 *    {"jsonrpc":"2.0","method":"notifications/initialized"}]
 *
 * The body is read by proxy/rpc_scan (one pass, no tree, the same answer
 * as base/jsonx's strict jansson parse); the id is its raw JSON text
 * ("1.50", "\u00e9" escapes and all), as the scan records it. The jansson
 * version stays as the reference (jsonrpc_peek_reference.c). */
#include "proxy/jsonrpc_peek.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "metrics.h"
#include "proxy/rpc_scan.h"

/* ---- step 1: eligibility ---------------------------------------------------- */

/* RFC 2045 5.1 tspecials, as Go's mime package lists them. */
static bool
is_tspecial(unsigned char c)
{
    return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* Go's mime package: a token byte is 0x21..0x7e minus the tspecials. */
static bool
is_mime_token(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static struct slice
trim_left(struct slice s)
{
    while (s.len > 0 && is_space((unsigned char)s.ptr[0])) {
        s = slice_skip(s, 1);
    }
    return s;
}

static struct slice
take_token(struct slice *s)
{
    size_t n = 0;
    while (n < s->len && is_mime_token((unsigned char)s->ptr[n])) {
        n++;
    }
    struct slice tok = slice_make(s->ptr, n);
    *s = slice_skip(*s, n);
    return tok;
}

/* A parameter value: token or quoted-string (with Go's lenient backslash
 * rule; CR or LF inside, or no closing quote, is an error). false when
 * nothing could be consumed. */
static bool
take_value(struct slice *s)
{
    if (s->len == 0) {
        return false;
    }
    if (s->ptr[0] != '"') {
        return take_token(s).len > 0;
    }
    for (size_t i = 1; i < s->len; i++) {
        char c = s->ptr[i];
        if (c == '"') {
            *s = slice_skip(*s, i + 1);
            return true;
        }
        if (c == '\r' || c == '\n') {
            return false;
        }
        if (c == '\\' && i + 1 < s->len && is_tspecial((unsigned char)s->ptr[i + 1])) {
            i++; /* an escaped tspecial */
        }
    }
    return false;
}

/* Parses "; attr=value" parameters (mime.ParseMediaType's loop): every
 * attribute once, a lone trailing ";" allowed. */
static bool
params_ok(struct slice rest)
{
    struct slice seen[BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX];
    size_t nseen = 0;
    for (;;) {
        rest = trim_left(rest);
        if (rest.len == 0) {
            return true;
        }
        struct slice v = slice_trim_space(rest);
        if (v.len == 1 && v.ptr[0] == ';') {
            return true;
        }
        if (rest.ptr[0] != ';') {
            return false;
        }
        rest = trim_left(slice_skip(rest, 1));
        struct slice attr = take_token(&rest);
        rest = trim_left(rest);
        if (attr.len == 0 || rest.len == 0 || rest.ptr[0] != '=') {
            return false;
        }
        rest = trim_left(slice_skip(rest, 1));
        if (!take_value(&rest)) {
            return false;
        }
        for (size_t i = 0; i < nseen; i++) {
            if (slice_case_eq(seen[i], attr)) {
                return false;
            }
        }
        if (nseen == BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX) {
            return false;
        }
        seen[nseen++] = attr;
    }
}

bool
proxy_jsonrpc_content_type_is_json(struct slice ct)
{
    long semi = slice_find_byte(ct, ';');
    size_t base_len = semi >= 0 ? (size_t)semi : ct.len;
    struct slice media = slice_trim_space(slice_make(ct.ptr, base_len));
    if (!slice_case_eq_cstr(media, "application/json")) {
        return false;
    }
    return params_ok(slice_skip(ct, base_len));
}

bool
proxy_jsonrpc_peek_is_eligible(uint64_t max_bytes, struct slice content_type,
                               int64_t content_length)
{
    return max_bytes > 0 && content_length >= 0 && (uint64_t)content_length <= max_bytes &&
           proxy_jsonrpc_content_type_is_json(content_type);
}

/* ---- the sanitiser ----------------------------------------------------------- */

static bool
is_kept(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '/' || c == '-' || c == '+';
}

size_t
proxy_jsonrpc_sanitize(struct slice in, size_t max_kept, char *out)
{
    /* Going byte by byte is the same as going code point by code point:
     * only ASCII is kept, and no byte of a multi-byte UTF-8 sequence (nor
     * of an invalid one) is ASCII, so each such code point is dropped whole
     * and never counts towards max_kept. */
    size_t n = 0;
    for (size_t i = 0; i < in.len && n < max_kept; i++) {
        if (is_kept((unsigned char)in.ptr[i])) {
            out[n++] = in.ptr[i];
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- step 2: decoding --------------------------------------------------------- */

/* Go decodes into {method string; params {name string}; id RawMessage}:
 * null or absent leaves a field empty, any other type mismatch fails the
 * whole body. */
static bool
absent_or(uint8_t type, uint8_t want)
{
    return type == PROXY_RPC_ABSENT || type == PROXY_RPC_NULL || type == want;
}

static bool
call_ok(const struct proxy_rpc_msg *m)
{
    if (m->type == PROXY_RPC_NULL) {
        return true;
    }
    return m->type == PROXY_RPC_OBJECT && absent_or(m->method_type, PROXY_RPC_STRING) &&
           absent_or(m->params_type, PROXY_RPC_OBJECT) &&
           (m->params_type != PROXY_RPC_OBJECT || absent_or(m->name_type, PROXY_RPC_STRING));
}

static const struct proxy_rpc_str no_str = {{"", 0}, false};

static struct proxy_rpc_str
method_of(const struct proxy_rpc_msg *m)
{
    return m->type == PROXY_RPC_OBJECT && m->method_type == PROXY_RPC_STRING ? m->method : no_str;
}

static struct proxy_rpc_str
name_of(const struct proxy_rpc_msg *m)
{
    return m->type == PROXY_RPC_OBJECT && m->params_type == PROXY_RPC_OBJECT &&
                   m->name_type == PROXY_RPC_STRING
               ? m->name
               : no_str;
}

/* The decoded s, NUL-terminated, in small when it fits, else on the heap. */
static char *
keep_str(struct proxy_rpc_str s, char *small, size_t small_cap, size_t *len)
{
    size_t n = s.escaped ? proxy_rpc_str_len(s) : s.raw.len;
    char *out = n < small_cap ? small : xmalloc(n + 1);
    (void)proxy_rpc_str_decode(s, out);
    out[n] = '\0';
    *len = n;
    return out;
}

/* The call_* fields (2026-07-28 "Standard headers": Mcp-Name is the tool or
 * prompt name, or the resource URI) of a single call object. */
static void
keep_call(const struct proxy_rpc_msg *m, struct proxy_jsonrpc_peek *out)
{
    if (m->method_type == PROXY_RPC_STRING) {
        out->call_method = keep_str(m->method, out->call_method_small,
                                    sizeof(out->call_method_small), &out->call_method_len);
    }
    const struct proxy_rpc_str *name = NULL;
    uint8_t name_type = PROXY_RPC_ABSENT;
    if (m->method_type == PROXY_RPC_STRING &&
        (proxy_rpc_str_eq(m->method, "tools/call") || proxy_rpc_str_eq(m->method, "prompts/get"))) {
        name = &m->name;
        name_type = m->name_type;
    } else if (m->method_type == PROXY_RPC_STRING &&
               proxy_rpc_str_eq(m->method, "resources/read")) {
        name = &m->uri;
        name_type = m->uri_type;
    }
    if (name != NULL && m->params_type == PROXY_RPC_OBJECT && name_type == PROXY_RPC_STRING) {
        out->call_name = keep_str(*name, out->call_name_small, sizeof(out->call_name_small),
                                  &out->call_name_len);
    }
    bool owned;
    char *id = proxy_rpc_msg_id_json(m, out->call_id_small, sizeof(out->call_id_small), &owned);
    out->call_id_json = id;
}

static void
from_single(const struct proxy_rpc_msg *m, bool want_call, struct proxy_jsonrpc_peek *out)
{
    if (!call_ok(m)) {
        return;
    }
    out->kind = PROXY_JSONRPC_SINGLE;
    proxy_rpc_str_sanitize(method_of(m), BOUNDS_RPC_METHOD_MAX, out->method);
    proxy_rpc_str_sanitize(name_of(m), BOUNDS_RPC_TOOL_MAX, out->tool);
    if (m->type == PROXY_RPC_OBJECT && m->id_type != PROXY_RPC_ABSENT && !m->id_text_lost) {
        proxy_jsonrpc_sanitize(m->id_raw, BOUNDS_RPC_ID_MAX, out->id);
    }
    if (want_call && m->type == PROXY_RPC_OBJECT) {
        keep_call(m, out);
    }
}

static void
from_batch(const struct proxy_rpc_scan *scan, struct proxy_jsonrpc_peek *out)
{
    size_t with_method = 0;
    for (size_t i = 0; i < scan->msg_count; i++) {
        const struct proxy_rpc_msg *m = &scan->msgs[i];
        if (!call_ok(m)) {
            return; /* one bad entry spoils the whole batch, as in Go */
        }
        with_method += method_of(m).raw.len > 0; /* an escape never decodes to nothing */
    }
    out->kind = PROXY_JSONRPC_BATCH;
    if (with_method == 0) {
        return;
    }
    size_t cap =
        with_method < BOUNDS_RPC_BATCH_ENTRIES_MAX ? with_method : BOUNDS_RPC_BATCH_ENTRIES_MAX;
    out->entries_truncated = with_method > cap;
    out->entries = xcalloc(cap, sizeof(*out->entries));
    struct buf joined;
    buf_init(&joined, cap * (BOUNDS_RPC_METHOD_MAX + 1));
    for (size_t i = 0; i < scan->msg_count && out->entry_count < cap; i++) {
        struct proxy_rpc_str method = method_of(&scan->msgs[i]);
        if (method.raw.len == 0) {
            continue;
        }
        struct proxy_jsonrpc_entry *e = &out->entries[out->entry_count];
        size_t len = proxy_rpc_str_sanitize(method, BOUNDS_RPC_METHOD_MAX, e->method);
        e->is_tools_call = proxy_rpc_str_eq(method, "tools/call");
        if (e->is_tools_call) {
            proxy_rpc_str_sanitize(name_of(&scan->msgs[i]), BOUNDS_RPC_TOOL_MAX, e->tool);
        }
        /* Sized for cap full-length methods and their commas: cannot fail. */
        if ((out->entry_count > 0 && buf_append_byte(&joined, ',') != 0) ||
            buf_append(&joined, e->method, len) != 0) {
            break;
        }
        out->entry_count++;
    }
    out->batch_methods = buf_take(&joined);
}

void
proxy_jsonrpc_peek_from_scan(const struct proxy_rpc_scan *scan, struct slice body,
                             uint64_t max_bytes, bool want_call, struct proxy_jsonrpc_peek *out)
{
    memset(out, 0, sizeof(*out));
    if (body.len > max_bytes) {
        return;
    }
    if (scan->rc == PROXY_RPC_SCAN_FALLBACK) {
        proxy_jsonrpc_peek_reference_parse(body, max_bytes, want_call, out);
        return;
    }
    if (scan->rc != PROXY_RPC_SCAN_OK) {
        return;
    }
    if (scan->is_batch) {
        from_batch(scan, out);
    } else {
        from_single(&scan->one, want_call, out);
    }
}

static void
parse(struct slice body, uint64_t max_bytes, bool want_call, struct proxy_jsonrpc_peek *out)
{
    if (body.len > max_bytes) {
        memset(out, 0, sizeof(*out));
        return;
    }
    struct proxy_rpc_scan scan;
    proxy_rpc_scan_body(body, max_bytes, &scan);
    proxy_jsonrpc_peek_from_scan(&scan, body, max_bytes, want_call, out);
    proxy_rpc_scan_cleanup(&scan);
}

void
proxy_jsonrpc_peek_parse(struct slice body, uint64_t max_bytes, struct proxy_jsonrpc_peek *out)
{
    parse(body, max_bytes, false, out);
}

void
proxy_jsonrpc_peek_parse_call(struct slice body, uint64_t max_bytes, struct proxy_jsonrpc_peek *out)
{
    parse(body, max_bytes, true, out);
}

void
proxy_jsonrpc_peek_cleanup(struct proxy_jsonrpc_peek *p)
{
    xfree(p->entries);
    xfree(p->batch_methods);
    if (p->call_method != p->call_method_small) {
        xfree(p->call_method);
    }
    if (p->call_name != p->call_name_small) {
        xfree(p->call_name);
    }
    if (p->call_id_json != p->call_id_small) {
        xfree(p->call_id_json);
    }
    memset(p, 0, sizeof(*p));
}

const char *
proxy_jsonrpc_peek_method(const struct proxy_jsonrpc_peek *p)
{
    if (p->kind == PROXY_JSONRPC_BATCH) {
        return p->batch_methods != NULL ? p->batch_methods : "";
    }
    return p->method;
}

/* ---- step 3: tool metrics ------------------------------------------------------ */

void
proxy_jsonrpc_observe(const struct proxy_jsonrpc_peek *p, int status,
                      int64_t request_content_length, int64_t response_bytes)
{
    bool failed = status >= 400;
    if (p->kind == PROXY_JSONRPC_SINGLE) {
        if (strcmp(p->method, "tools/call") == 0) {
            metrics_rpc_call(p->tool, failed, request_content_length, response_bytes, true);
        }
        return;
    }
    if (p->kind != PROXY_JSONRPC_BATCH) {
        return;
    }
    size_t calls = 0;
    for (size_t i = 0; i < p->entry_count; i++) {
        if (p->entries[i].is_tools_call) {
            metrics_rpc_call(p->entries[i].tool, failed, 0, 0, false);
            calls++;
        }
    }
    if (calls > 0) {
        metrics_rpc_batch(failed, request_content_length, response_bytes);
    }
}
