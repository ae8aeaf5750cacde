/* The differential check of proxy/rpc_scan against the jansson reference,
 * shared by fuzz/fuzz_rpc_scan.c and tests/unit/test_proxy_rpc_scan.c.
 *
 * rpc_scan_diff(body) reads body every way the proxy does -- the scan's
 * validity against jsonx_parse, the peek (plain and call-keeping) and the
 * policy's reading -- once through the scan and once through the jansson
 * reference, and returns NULL when every field agrees, else a static
 * description of the first difference. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "base/jsonx.h"
#include "bounds.h"
#include "proxy/jsonrpc_peek.h"
#include "proxy/policy_calls.h"
#include "proxy/rpc_scan.h"

static bool
rpc_scan_diff_bytes_eq(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool
rpc_scan_diff_opt_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *
rpc_scan_diff_peek(const struct proxy_jsonrpc_peek *a, const struct proxy_jsonrpc_peek *b)
{
    if (a->kind != b->kind) {
        return "peek kind";
    }
    if (strcmp(a->method, b->method) != 0 || strcmp(a->tool, b->tool) != 0 ||
        strcmp(a->id, b->id) != 0) {
        return "peek method, tool or id";
    }
    if (a->entry_count != b->entry_count || a->entries_truncated != b->entries_truncated ||
        !rpc_scan_diff_opt_eq(a->batch_methods, b->batch_methods)) {
        return "peek batch";
    }
    for (size_t i = 0; i < a->entry_count; i++) {
        const struct proxy_jsonrpc_entry *x = &a->entries[i];
        const struct proxy_jsonrpc_entry *y = &b->entries[i];
        if (strcmp(x->method, y->method) != 0 || strcmp(x->tool, y->tool) != 0 ||
            x->is_tools_call != y->is_tools_call) {
            return "peek batch entry";
        }
    }
    if ((a->call_method == NULL) != (b->call_method == NULL) ||
        (a->call_method != NULL && !rpc_scan_diff_bytes_eq(a->call_method, a->call_method_len,
                                                           b->call_method, b->call_method_len))) {
        return "peek call_method";
    }
    if ((a->call_name == NULL) != (b->call_name == NULL) ||
        (a->call_name != NULL &&
         !rpc_scan_diff_bytes_eq(a->call_name, a->call_name_len, b->call_name, b->call_name_len))) {
        return "peek call_name";
    }
    if (!rpc_scan_diff_opt_eq(a->call_id_json, b->call_id_json)) {
        return "peek call_id_json";
    }
    return NULL;
}

static const char *
rpc_scan_diff_calls(const char *why_a, const struct proxy_policy_calls *a, const char *why_b,
                    const struct proxy_policy_calls *b)
{
    if (!rpc_scan_diff_opt_eq(why_a, why_b) || a->not_json != b->not_json || a->count != b->count) {
        return "policy reason";
    }
    if (why_a != NULL) {
        return NULL;
    }
    if (a->is_batch != b->is_batch) {
        return "policy is_batch";
    }
    for (size_t i = 0; i < a->count; i++) {
        const struct proxy_policy_call *x = &a->items[i];
        const struct proxy_policy_call *y = &b->items[i];
        if (x->is_response != y->is_response || !rpc_scan_diff_opt_eq(x->id_json, y->id_json)) {
            return "policy entry id or kind";
        }
        if (!x->is_response &&
            (!rpc_scan_diff_bytes_eq(x->method.ptr, x->method.len, y->method.ptr, y->method.len) ||
             !rpc_scan_diff_bytes_eq(x->name.ptr, x->name.len, y->name.ptr, y->name.len))) {
            return "policy entry method or name";
        }
    }
    return NULL;
}

static const char *
rpc_scan_diff(struct slice body)
{
    struct proxy_rpc_scan scan;
    proxy_rpc_scan_body(body, BOUNDS_MCP_BODY_MAX, &scan);
    json_t *root = NULL;
    bool jansson_ok = jsonx_parse(body, BOUNDS_MCP_BODY_MAX, &root) == JSONX_OK;
    json_decref(root);
    const char *diff = NULL;
    if ((scan.rc == PROXY_RPC_SCAN_OK && !jansson_ok) ||
        (scan.rc == PROXY_RPC_SCAN_MALFORMED && jansson_ok)) {
        diff =
            jansson_ok ? "scan refuses what jansson accepts" : "scan accepts what jansson refuses";
    }
    for (int want_call = 0; want_call < 2 && diff == NULL; want_call++) {
        struct proxy_jsonrpc_peek a, b;
        proxy_jsonrpc_peek_from_scan(&scan, body, body.len, want_call, &a);
        proxy_jsonrpc_peek_reference_parse(body, body.len, want_call, &b);
        diff = rpc_scan_diff_peek(&a, &b);
        proxy_jsonrpc_peek_cleanup(&a);
        proxy_jsonrpc_peek_cleanup(&b);
    }
    if (diff == NULL) {
        struct slice ct = SLICE_LIT("application/json");
        struct proxy_policy_calls a, b;
        const char *why_a = proxy_policy_calls_from_scan(ct, &scan, body, &a);
        const char *why_b = proxy_policy_calls_reference_parse(ct, body, &b);
        diff = rpc_scan_diff_calls(why_a, &a, why_b, &b);
        proxy_policy_calls_cleanup(&a);
        proxy_policy_calls_cleanup(&b);
    }
    proxy_rpc_scan_cleanup(&scan);
    return diff;
}
