/* The policy's reading of a body, from proxy/rpc_scan's one pass (no tree,
 * the same answer as base/jsonx's strict jansson parse). The jansson
 * version stays as the reference (policy_calls_reference.c). */
#include "proxy/policy_calls.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "bounds.h"
#include "proxy/jsonrpc_peek.h"
#include "proxy/rpc_scan.h"

static const char *const not_json_ct =
    "the request body must be application/json for the access policy to read it";
static const char *const not_json = "the request body is not valid JSON";
static const char *const not_rpc =
    "the request body is not a JSON-RPC request, notification or response";
static const char *const bad_method = "a JSON-RPC method must be a string";
static const char *const bad_name = "params.name or params.uri is not a string";
static const char *const too_long =
    "a tool, prompt or resource name is too long for the access policy";
static const char *const too_many = "the batch has too many entries for the access policy";

/* The params key that names what the call acts on: tools/call and
 * prompts/get name it, resources/... give a uri, others maybe a name. */
static bool
key_is_uri(struct proxy_rpc_str method, bool *named)
{
    *named = true;
    if (proxy_rpc_str_case_eq(method, "tools/call") ||
        proxy_rpc_str_case_eq(method, "prompts/get")) {
        return false;
    }
    if (proxy_rpc_str_case_prefix(method, "resources/")) {
        return true;
    }
    *named = false;
    return false;
}

/* The decoded s: borrowed from the body when it has no escape, else
 * decoded into *spare (room reserved by the caller), which advances. */
static struct slice
decoded(struct proxy_rpc_str s, char **spare)
{
    if (!s.escaped) {
        return s.raw;
    }
    char *at = *spare;
    size_t n = proxy_rpc_str_decode(s, at);
    *spare += n;
    return slice_make(at, n);
}

static const char *
read_entry(const struct proxy_rpc_msg *m, char **spare, struct proxy_policy_call *out)
{
    if (m->type != PROXY_RPC_OBJECT) {
        return not_rpc;
    }
    bool owned;
    out->id_json = proxy_rpc_msg_id_json(m, out->id_small, sizeof(out->id_small), &owned);
    if (m->method_type == PROXY_RPC_ABSENT) {
        /* A response carries result or error and no method. */
        out->is_response = m->has_result || m->has_error;
        return out->is_response ? NULL : not_rpc;
    }
    if (m->method_type != PROXY_RPC_STRING) {
        return bad_method;
    }
    out->method = decoded(m->method, spare);
    out->name = SLICE_LIT("");
    if (m->params_type != PROXY_RPC_OBJECT) {
        return NULL; /* absent, null or an array: no name */
    }
    bool named;
    bool uri = key_is_uri(m->method, &named);
    uint8_t type = uri ? m->uri_type : m->name_type;
    if ((type != PROXY_RPC_ABSENT && type != PROXY_RPC_NULL && type != PROXY_RPC_STRING) ||
        (type == PROXY_RPC_NULL && named)) {
        return bad_name;
    }
    if (type == PROXY_RPC_STRING) {
        out->name = decoded(uri ? m->uri : m->name, spare);
    }
    return out->name.len > BOUNDS_POLICY_CALL_NAME_MAX ? too_long : NULL;
}

/* Room for every escaped method, name and uri decoded (never longer than
 * their raw text). */
static size_t
escaped_room(const struct proxy_rpc_msg *m)
{
    size_t n = 0;
    n += m->method_type == PROXY_RPC_STRING && m->method.escaped ? m->method.raw.len : 0;
    n += m->name_type == PROXY_RPC_STRING && m->name.escaped ? m->name.raw.len : 0;
    n += m->uri_type == PROXY_RPC_STRING && m->uri.escaped ? m->uri.raw.len : 0;
    return n;
}

const char *
proxy_policy_calls_from_scan(struct slice content_type, const struct proxy_rpc_scan *scan,
                             struct slice body, struct proxy_policy_calls *out)
{
    memset(out, 0, sizeof(*out));
    if (!proxy_jsonrpc_content_type_is_json(content_type)) {
        return not_json_ct;
    }
    if (scan->rc == PROXY_RPC_SCAN_FALLBACK) {
        return proxy_policy_calls_reference_parse(content_type, body, out);
    }
    /* The same strictness as the peek: a duplicate key (two "name"s, of
     * which the upstream might read the other one) is unreadable. */
    if (scan->rc != PROXY_RPC_SCAN_OK) {
        out->not_json = true;
        return not_json;
    }
    const struct proxy_rpc_msg *msgs = &scan->one;
    size_t n = 1;
    if (scan->is_batch) {
        out->is_batch = true;
        msgs = scan->msgs;
        n = scan->msg_count;
        if (n == 0) {
            return not_rpc;
        }
        if (n > BOUNDS_POLICY_BATCH_MAX) {
            return too_many;
        }
        out->items = xcalloc(n, sizeof(*out->items));
    } else {
        out->items = &out->one;
    }
    size_t room = 0;
    for (size_t i = 0; i < n; i++) {
        room += escaped_room(&msgs[i]);
    }
    char *spare = NULL;
    if (room > 0) {
        out->decoded = xmalloc(room);
        spare = out->decoded;
    }
    for (size_t i = 0; i < n; i++) {
        out->count++;
        const char *why = read_entry(&msgs[i], &spare, &out->items[i]);
        if (why != NULL) {
            return why;
        }
    }
    return NULL;
}

const char *
proxy_policy_calls_parse(struct slice content_type, struct slice body,
                         struct proxy_policy_calls *out)
{
    struct proxy_rpc_scan scan;
    proxy_rpc_scan_body(body, BOUNDS_MCP_BODY_MAX, &scan);
    const char *why = proxy_policy_calls_from_scan(content_type, &scan, body, out);
    proxy_rpc_scan_cleanup(&scan);
    return why;
}

void
proxy_policy_calls_cleanup(struct proxy_policy_calls *c)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->items[i].id_json != c->items[i].id_small) {
            xfree(c->items[i].id_json);
        }
    }
    if (c->items != &c->one) {
        xfree(c->items);
    }
    xfree(c->decoded);
    json_decref(c->root);
    memset(c, 0, sizeof(*c));
}
