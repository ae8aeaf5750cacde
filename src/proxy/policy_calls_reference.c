/* The jansson reference of proxy_policy_calls_parse (policy_calls.h): the
 * body parsed into a tree by base/jsonx and read from it. The production
 * path reads proxy/rpc_scan's single pass; this stays as the definition it
 * is checked against (tests/unit/test_proxy_rpc_scan.c, fuzz/fuzz_rpc_scan.c)
 * and answers the rare bodies the scan hands back. */
#include "proxy/policy_calls.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "proxy/jsonrpc_peek.h"

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

/* The params key that names what the call acts on, if any. */
static const char *
name_key(struct slice method)
{
    if (slice_case_eq(method, SLICE_LIT("tools/call")) ||
        slice_case_eq(method, SLICE_LIT("prompts/get"))) {
        return "name";
    }
    if (method.len > 10 && slice_case_eq_n(method.ptr, "resources/", 10)) {
        return "uri";
    }
    return NULL;
}

static const char *
read_entry(const json_t *obj, struct proxy_policy_call *out)
{
    if (!json_is_object(obj)) {
        return not_rpc;
    }
    const json_t *id = json_object_get(obj, "id");
    char *text = (json_is_string(id) || json_is_number(id))
                     ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT)
                     : NULL;
    out->id_json = xstrdup(text != NULL ? text : "null");
    free(text); /* jansson's allocator is libc's */
    enum jsonx_get g = jsonx_get_str(obj, "method", &out->method);
    if (g == JSONX_ABSENT) {
        /* A response carries result or error and no method. */
        out->is_response =
            json_object_get(obj, "result") != NULL || json_object_get(obj, "error") != NULL;
        return out->is_response ? NULL : not_rpc;
    }
    if (g != JSONX_FOUND) {
        return bad_method;
    }
    out->name = SLICE_LIT("");
    const json_t *params = json_object_get(obj, "params");
    if (!json_is_object(params)) {
        return NULL; /* absent, null or an array: no name */
    }
    const char *key = name_key(out->method);
    g = jsonx_get_str(params, key != NULL ? key : "name", &out->name);
    if (g == JSONX_WRONG_TYPE || (g == JSONX_NULL && key != NULL)) {
        return bad_name;
    }
    if (g != JSONX_FOUND) {
        out->name = SLICE_LIT("");
    }
    return out->name.len > BOUNDS_POLICY_CALL_NAME_MAX ? too_long : NULL;
}

const char *
proxy_policy_calls_reference_parse(struct slice content_type, struct slice body,
                                   struct proxy_policy_calls *out)
{
    memset(out, 0, sizeof(*out));
    if (!proxy_jsonrpc_content_type_is_json(content_type)) {
        return not_json_ct;
    }
    /* The same strict parse as the peek: a duplicate key (two "name"s, of
     * which the upstream might read the other one) is unreadable. */
    if (jsonx_parse(body, BOUNDS_MCP_BODY_MAX, &out->root) != JSONX_OK) {
        out->not_json = true;
        return not_json;
    }
    size_t n = 1;
    if (json_is_array(out->root)) {
        out->is_batch = true;
        n = json_array_size(out->root);
        if (n == 0) {
            return not_rpc;
        }
        if (n > BOUNDS_POLICY_BATCH_MAX) {
            return too_many;
        }
    }
    out->items = xcalloc(n, sizeof(*out->items));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = out->is_batch ? json_array_get(out->root, i) : out->root;
        out->count++;
        const char *why = read_entry(e, &out->items[i]);
        if (why != NULL) {
            return why;
        }
    }
    return NULL;
}
