/* Fuzz target: the JSON-RPC peek (proxy/jsonrpc_peek.h).
 *
 * The input is used as a request body (parsed twice: the results must be
 * identical) and as a Content-Type value. Every output string must be
 * NUL-terminated inside its array and hold only the sanitiser's allow-list;
 * a batch's joined method list must be exactly its entries' methods joined
 * with ','; a body that is not looked at gives no fields. The observer runs
 * on every result (tool labels are capped, so the label table stays small).
 * The call-keeping parse (for Mcp-Method / Mcp-Name) must agree with the
 * plain one, fill its call_* fields only for a single call, and the header
 * check (proxy/mcp_headers.h) runs on it with the input's lines as header
 * values; the Mcp-Name decoder runs on the whole input.
 * Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "metrics.h"
#include "proxy/jsonrpc_peek.h"
#include "proxy/mcp_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap + 1);
    if (n > cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._:/-+", c) != NULL;
        if (!ok) {
            abort();
        }
    }
}

static void
check_peek(const struct proxy_jsonrpc_peek *p)
{
    check_text(p->method, BOUNDS_RPC_METHOD_MAX);
    check_text(p->tool, BOUNDS_RPC_TOOL_MAX);
    check_text(p->id, BOUNDS_RPC_ID_MAX);
    if (p->kind != PROXY_JSONRPC_SINGLE && (p->method[0] || p->tool[0] || p->id[0])) {
        abort();
    }
    if (p->kind != PROXY_JSONRPC_BATCH &&
        (p->entries != NULL || p->entry_count != 0 || p->batch_methods != NULL)) {
        abort();
    }
    if (p->entry_count > BOUNDS_RPC_BATCH_ENTRIES_MAX ||
        (p->entry_count == 0) != (p->batch_methods == NULL)) {
        abort();
    }
    struct buf joined;
    buf_init(&joined, BOUNDS_RPC_BATCH_ENTRIES_MAX * (BOUNDS_RPC_METHOD_MAX + 1));
    for (size_t i = 0; i < p->entry_count; i++) {
        const struct proxy_jsonrpc_entry *e = &p->entries[i];
        check_text(e->method, BOUNDS_RPC_METHOD_MAX);
        check_text(e->tool, BOUNDS_RPC_TOOL_MAX);
        if ((e->tool[0] != '\0' && !e->is_tools_call) ||
            (e->is_tools_call && strcmp(e->method, "tools/call") != 0) ||
            (i > 0 && buf_append_byte(&joined, ',') != 0) ||
            buf_append_str(&joined, e->method) != 0) {
            abort();
        }
    }
    if (p->entry_count > 0 && strcmp(buf_cstr(&joined), p->batch_methods) != 0) {
        abort();
    }
    buf_cleanup(&joined);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice in = slice_make((const char *)data, size);
    struct proxy_jsonrpc_peek a, b;
    proxy_jsonrpc_peek_parse(in, size, &a);
    proxy_jsonrpc_peek_parse(in, size, &b);
    check_peek(&a);
    if (a.kind != b.kind || strcmp(a.method, b.method) != 0 || strcmp(a.tool, b.tool) != 0 ||
        strcmp(a.id, b.id) != 0 || a.entry_count != b.entry_count ||
        a.entries_truncated != b.entries_truncated ||
        strcmp(proxy_jsonrpc_peek_method(&a), proxy_jsonrpc_peek_method(&b)) != 0) {
        abort();
    }
    struct proxy_jsonrpc_peek c;
    proxy_jsonrpc_peek_parse_call(in, size, &c);
    if (c.kind != a.kind || strcmp(c.method, a.method) != 0 || strcmp(c.tool, a.tool) != 0 ||
        strcmp(c.id, a.id) != 0 || c.entry_count != a.entry_count ||
        (c.kind != PROXY_JSONRPC_SINGLE &&
         (c.call_method != NULL || c.call_name != NULL || c.call_id_json != NULL)) ||
        (c.call_method != NULL && c.call_id_json == NULL) ||
        (c.call_method == NULL && c.call_name != NULL)) {
        abort();
    }
    /* Header values: the input's first line as Mcp-Method, its second as
     * Mcp-Name; the body's own method must always pass as Mcp-Method. */
    const char *nl = memchr(data, '\n', size);
    struct proxy_mcp_headers h = {.method_count = 1, .name_count = nl != NULL};
    h.method[0] =
        slice_make((const char *)data, nl != NULL ? (size_t)(nl - (const char *)data) : size);
    if (nl != NULL) {
        h.name[0] = slice_make(nl + 1, size - (size_t)(nl + 1 - (const char *)data));
    }
    (void)proxy_mcp_headers_check(&h, &c);
    if (c.call_method != NULL) {
        struct proxy_mcp_headers own = {.method_count = 1};
        own.method[0] = slice_make(c.call_method, c.call_method_len);
        if (proxy_mcp_headers_check(&own, &c) != NULL) {
            abort();
        }
    }
    proxy_jsonrpc_peek_cleanup(&c);
    char *dec = malloc(size + 1);
    size_t dec_len = 0;
    if (dec == NULL ||
        (proxy_mcp_headers_decode_name(in, dec, size + 1, &dec_len) == 0 && dec_len > size)) {
        abort();
    }
    free(dec);

    metrics_set_tool_cardinality_cap(16);
    proxy_jsonrpc_observe(&a, (int)(size % 600), (int64_t)size, (int64_t)size);
    proxy_jsonrpc_peek_cleanup(&a);
    proxy_jsonrpc_peek_cleanup(&b);
    if (size > 0) {
        /* A lying Content-Length: one byte too many is never parsed. */
        proxy_jsonrpc_peek_parse(in, size - 1, &a);
        if (a.kind != PROXY_JSONRPC_NONE) {
            abort();
        }
        proxy_jsonrpc_peek_cleanup(&a);
    }

    bool json = proxy_jsonrpc_content_type_is_json(in);
    if (proxy_jsonrpc_peek_is_eligible(1, in, 1) != json ||
        proxy_jsonrpc_peek_is_eligible(0, in, 0) || proxy_jsonrpc_peek_is_eligible(1, in, -1)) {
        abort();
    }
    return 0;
}
