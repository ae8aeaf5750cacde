/* The JSON-RPC peek (SPEC.md 4.7) and the tool-metrics observer (7.1).
 *
 * Body examples (MCP over streamable HTTP, JSON-RPC 2.0):
 *   {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search"}}
 *   [{"jsonrpc":"2.0","id":1,"method":"tools/list"},
 *    {"jsonrpc":"2.0","method":"notifications/initialized"}]
 *
 * The body is parsed once by jansson (base/jsonx: strict, capped, duplicate
 * keys refused) for the types; the id is then located in the raw text,
 * because the contract is its raw JSON text ("1.50", "\u00e9" escapes and
 * all) and jansson keeps only the value. */
#include "proxy/jsonrpc_peek.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hex.h"
#include "base/jsonx.h"
#include "base/xalloc.h"
#include "metrics.h"

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
 * whole body. false on a mismatch; *method and *name are "" when empty. */
static bool
decode_call(const json_t *obj, struct slice *method, struct slice *name)
{
    *method = SLICE_LIT("");
    *name = SLICE_LIT("");
    if (json_is_null(obj)) {
        return true;
    }
    if (!json_is_object(obj)) {
        return false;
    }
    enum jsonx_get r = jsonx_get_str(obj, "method", method);
    if (r == JSONX_WRONG_TYPE) {
        return false;
    }
    const json_t *params = json_object_get(obj, "params");
    if (params == NULL || json_is_null(params)) {
        return true;
    }
    if (!json_is_object(params)) {
        return false;
    }
    return jsonx_get_str(params, "name", name) != JSONX_WRONG_TYPE;
}

static size_t
skip_ws(struct slice t, size_t i)
{
    while (i < t.len && is_space((unsigned char)t.ptr[i])) {
        i++;
    }
    return i;
}

/* t.ptr[i] is '"': the index just past the closing quote. */
static size_t
skip_string(struct slice t, size_t i)
{
    for (i++; i < t.len; i++) {
        if (t.ptr[i] == '\\') {
            i++;
        } else if (t.ptr[i] == '"') {
            return i + 1;
        }
    }
    return t.len;
}

/* The index just past the value starting at i (t is valid JSON, checked
 * by jansson; the bounds checks only keep a bug from reading past t). */
static size_t
skip_value(struct slice t, size_t i)
{
    if (i >= t.len) {
        return t.len;
    }
    if (t.ptr[i] == '"') {
        return skip_string(t, i);
    }
    if (t.ptr[i] != '{' && t.ptr[i] != '[') {
        while (i < t.len && strchr(",}] \t\r\n", t.ptr[i]) == NULL) {
            i++;
        }
        return i;
    }
    size_t depth = 0;
    while (i < t.len) {
        char c = t.ptr[i];
        if (c == '"') {
            i = skip_string(t, i);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
        i++;
    }
    return t.len;
}

/* Is the raw key text (between the quotes) "id" once its escapes are
 * decoded ("\u0069d" is "id" to jansson and to Go)? */
static bool
key_is_id(struct slice key)
{
    static const char want[] = "id";
    size_t n = 0;
    size_t i = 0;
    while (i < key.len) {
        unsigned cu = (unsigned char)key.ptr[i];
        if (cu == '\\' && i + 5 < key.len && key.ptr[i + 1] == 'u') {
            cu = 0;
            for (size_t k = 2; k < 6; k++) {
                int h = hex_value((unsigned char)key.ptr[i + k]);
                if (h < 0) {
                    return false;
                }
                cu = cu * 16 + (unsigned)h;
            }
            i += 6;
        } else if (cu == '\\') {
            return false; /* no other escape yields a letter */
        } else {
            i++;
        }
        if (n >= sizeof(want) - 1 || cu != (unsigned char)want[n]) {
            return false;
        }
        n++;
    }
    return n == sizeof(want) - 1;
}

/* The raw text of the top-level object's "id" member. */
static bool
find_raw_id(struct slice t, struct slice *out)
{
    size_t i = skip_ws(t, 0);
    if (i >= t.len || t.ptr[i] != '{') {
        return false;
    }
    i = skip_ws(t, i + 1);
    while (i < t.len && t.ptr[i] == '"') {
        size_t key_end = skip_string(t, i);
        struct slice key = slice_make(t.ptr + i + 1, key_end - i - 2);
        i = skip_ws(t, key_end);
        if (i >= t.len || t.ptr[i] != ':') {
            return false;
        }
        size_t v = skip_ws(t, i + 1);
        size_t v_end = skip_value(t, v);
        if (key_is_id(key)) {
            *out = slice_make(t.ptr + v, v_end - v);
            return true;
        }
        i = skip_ws(t, v_end);
        if (i < t.len && t.ptr[i] == ',') {
            i = skip_ws(t, i + 1);
        }
    }
    return false;
}

/* The call_* fields (2026-07-28 "Standard headers": Mcp-Name is the tool or
 * prompt name, or the resource URI). root is a decoded single call. */
static void
keep_call(const json_t *root, struct proxy_jsonrpc_peek *out)
{
    struct slice method = SLICE_NULL;
    if (jsonx_get_str(root, "method", &method) == JSONX_FOUND) {
        out->call_method = xstrndup(method.ptr, method.len);
        out->call_method_len = method.len;
    }
    const char *key = NULL;
    if (slice_eq_cstr(method, "tools/call") || slice_eq_cstr(method, "prompts/get")) {
        key = "name";
    } else if (slice_eq_cstr(method, "resources/read")) {
        key = "uri";
    }
    const json_t *params = json_object_get(root, "params");
    struct slice name;
    if (key != NULL && jsonx_get_str(params, key, &name) == JSONX_FOUND) {
        out->call_name = xstrndup(name.ptr, name.len);
        out->call_name_len = name.len;
    }
    const json_t *id = json_object_get(root, "id");
    char *text = NULL;
    if (json_is_string(id) || json_is_number(id)) {
        text = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
    }
    out->call_id_json = xstrdup(text != NULL ? text : "null");
    free(text); /* jansson's allocator is libc's */
}

static void
parse_single(struct slice body, const json_t *root, struct proxy_jsonrpc_peek *out)
{
    struct slice method, name, raw_id;
    if (!decode_call(root, &method, &name)) {
        return;
    }
    out->kind = PROXY_JSONRPC_SINGLE;
    proxy_jsonrpc_sanitize(method, BOUNDS_RPC_METHOD_MAX, out->method);
    proxy_jsonrpc_sanitize(name, BOUNDS_RPC_TOOL_MAX, out->tool);
    if (json_is_object(root) && json_object_get(root, "id") != NULL && find_raw_id(body, &raw_id)) {
        proxy_jsonrpc_sanitize(raw_id, BOUNDS_RPC_ID_MAX, out->id);
    }
}

static void
parse_batch(const json_t *root, struct proxy_jsonrpc_peek *out)
{
    size_t n = json_array_size(root);
    size_t with_method = 0;
    for (size_t i = 0; i < n; i++) {
        struct slice method, name;
        if (!decode_call(json_array_get(root, i), &method, &name)) {
            return; /* one bad entry spoils the whole batch, as in Go */
        }
        with_method += method.len > 0;
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
    for (size_t i = 0; i < n && out->entry_count < cap; i++) {
        struct slice method, name;
        (void)decode_call(json_array_get(root, i), &method, &name); /* checked above */
        if (method.len == 0) {
            continue;
        }
        struct proxy_jsonrpc_entry *e = &out->entries[out->entry_count];
        size_t len = proxy_jsonrpc_sanitize(method, BOUNDS_RPC_METHOD_MAX, e->method);
        e->is_tools_call = slice_eq_cstr(method, "tools/call");
        if (e->is_tools_call) {
            proxy_jsonrpc_sanitize(name, BOUNDS_RPC_TOOL_MAX, e->tool);
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

static void
parse(struct slice body, uint64_t max_bytes, bool want_call, struct proxy_jsonrpc_peek *out)
{
    memset(out, 0, sizeof(*out));
    if (body.len > max_bytes) {
        return;
    }
    json_t *root = NULL;
    if (jsonx_parse(body, body.len, &root) != JSONX_OK) {
        return;
    }
    /* Go looks at the first byte after " \t\r\n" to choose the shape. */
    size_t i = 0;
    while (i < body.len && strchr(" \t\r\n", body.ptr[i]) != NULL && body.ptr[i] != '\0') {
        i++;
    }
    if (i < body.len && body.ptr[i] == '[') {
        parse_batch(root, out);
    } else {
        parse_single(body, root, out);
        if (want_call && out->kind == PROXY_JSONRPC_SINGLE && json_is_object(root)) {
            keep_call(root, out);
        }
    }
    json_decref(root);
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
    xfree(p->call_method);
    xfree(p->call_name);
    xfree(p->call_id_json);
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
