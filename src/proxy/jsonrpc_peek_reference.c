/* The jansson reference of the peek's step 2 (proxy/jsonrpc_peek.h): the
 * body parsed into a tree by base/jsonx and read from it. The production
 * path is proxy/rpc_scan's single pass; this stays as the definition it is
 * checked against (tests/unit/test_proxy_rpc_scan.c, fuzz/fuzz_rpc_scan.c)
 * and answers the rare bodies the scan hands back (PROXY_RPC_SCAN_FALLBACK).
 *
 * The id is located in the raw text, because the contract is its raw JSON
 * text ("1.50", "\u00e9" escapes and all) and jansson keeps only the
 * value. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hex.h"
#include "base/jsonx.h"
#include "base/xalloc.h"
#include "proxy/jsonrpc_peek.h"

static bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

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
        out->call_method = xstrndup(method.ptr, method.len); /* heap: freed by cleanup */
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

void
proxy_jsonrpc_peek_reference_parse(struct slice body, uint64_t max_bytes, bool want_call,
                                   struct proxy_jsonrpc_peek *out)
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
