/* proxy/jsonrpc_peek: a bounded look at an MCP request body for the access
 * log and the opt-in tool metrics (SPEC.md 4.7, 7.1).
 *
 * Never fails a request and never changes the body: the forward sends the
 * bytes it read whatever happens here. Three steps, each a call:
 *   1. proxy_jsonrpc_peek_eligible: MCP_LOG_BODY_MAX > 0, Content-Type is
 *      application/json, Content-Length known and <= the max;
 *   2. proxy_jsonrpc_peek_parse: the body -> method / tool / id (single)
 *      or the method list and per-entry (method, tool) (batch), all
 *      sanitised to short allow-listed ASCII;
 *   3. proxy_jsonrpc_observe, after the response: the tool-metrics counters.
 * The bearer check (proxy/bearer) is a separate earlier step, so a policy
 * step keyed on method and tool can sit between the two.
 *
 * Differences from Go's encoding/json, all ending in "no fields": object
 * keys match exactly ("Method" is not "method"); duplicate keys, invalid
 * UTF-8, \u0000 and lone surrogate escapes, integers beyond 64 bits and nesting past
 * jansson's depth limit make the body unparsable. Batches record at most
 * BOUNDS_RPC_BATCH_ENTRIES_MAX entries (with a method); later ones are
 * still forwarded, but neither logged nor counted (entries_truncated).
 *
 * Pure apart from proxy_jsonrpc_observe, which only bumps atomic counters
 * (metrics.h); thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "bounds.h"

enum proxy_jsonrpc_kind {
    PROXY_JSONRPC_NONE = 0, /* not looked at, or not a JSON-RPC shape we decode: no fields */
    PROXY_JSONRPC_SINGLE,   /* one object */
    PROXY_JSONRPC_BATCH,    /* an array of objects */
    PROXY_JSONRPC_KIND_COUNT,
};

struct proxy_jsonrpc_entry {
    char method[BOUNDS_RPC_METHOD_MAX + 1]; /* sanitised; never "" for a recorded entry's
                                             * raw method, but may sanitise to "" */
    char tool[BOUNDS_RPC_TOOL_MAX + 1];     /* sanitised params.name; "" unless tools/call */
    bool is_tools_call;                     /* the raw method is exactly "tools/call" */
};

/* The result. Strings are NUL-terminated; "" means absent. */
struct proxy_jsonrpc_peek {
    enum proxy_jsonrpc_kind kind;
    /* SINGLE: rpc_method, rpc_tool (params.name whatever the method) and
     * rpc_id (the id's raw JSON text, sanitised: 1 -> "1", "abc-1" ->
     * "abc-1", null -> "null"). */
    char method[BOUNDS_RPC_METHOD_MAX + 1];
    char tool[BOUNDS_RPC_TOOL_MAX + 1];
    char id[BOUNDS_RPC_ID_MAX + 1];
    /* BATCH: the entries whose method is non-empty, in order (heap, owned;
     * NULL when none), and their sanitised methods joined with ',' (heap,
     * owned; NULL when none) -- the batch's rpc_method. */
    struct proxy_jsonrpc_entry *entries;
    size_t entry_count;
    bool entries_truncated; /* more than BOUNDS_RPC_BATCH_ENTRIES_MAX had a method */
    char *batch_methods;
    /* SINGLE, only from proxy_jsonrpc_peek_parse_call: what the 2026-07-28
     * Mcp-Method and Mcp-Name request headers mirror, unsanitised (heap,
     * owned, NULL when absent; lengths exact, since a JSON string may hold
     * any UTF-8): the method, and params.name (tools/call, prompts/get) or
     * params.uri (resources/read). call_id_json: the id re-encoded as JSON
     * for an error reply ("7", "\"a\"", "null" when absent or not a string
     * or a number). */
    char *call_method;
    size_t call_method_len;
    char *call_name;
    size_t call_name_len;
    char *call_id_json;
    /* Where the call_* strings live when short (no allocation for the
     * common call); longer ones are on the heap. Never copy the struct. */
    char call_method_small[BOUNDS_RPC_METHOD_MAX + 1];
    char call_name_small[BOUNDS_RPC_TOOL_MAX + 1];
    char call_id_small[BOUNDS_RPC_ID_MAX];
};

struct proxy_rpc_scan;

/* Step 1 (SPEC.md 4.7). content_type: the first Content-Type field value
 * (empty slice when absent: not eligible); it must parse as a media type
 * (Go's mime.ParseMediaType rules: type/subtype, then ";"-separated
 * attribute=token or quoted-string parameters, no duplicate attribute, a
 * trailing ";" tolerated, at most BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX
 * parameters) equal to application/json case-insensitively.
 * content_length: -1 when unknown (chunked). */
bool proxy_jsonrpc_peek_is_eligible(uint64_t max_bytes, struct slice content_type,
                                    int64_t content_length);
/* The media-type half of step 1 on its own. */
bool proxy_jsonrpc_content_type_is_json(struct slice content_type);

/* Step 2. body: the bytes read (borrowed). More than max_bytes (a lying
 * Content-Length) gives kind NONE, as does anything that is not a JSON
 * object or an array of objects/nulls with string method, object params
 * and string params.name. *out is overwritten; release it with
 * proxy_jsonrpc_peek_cleanup whatever the outcome. */
void proxy_jsonrpc_peek_parse(struct slice body, uint64_t max_bytes,
                              struct proxy_jsonrpc_peek *out);
/* Step 2 plus the call_* fields, for the Mcp-Method / Mcp-Name check
 * (proxy/mcp_headers.h). The other fields are exactly as
 * proxy_jsonrpc_peek_parse gives them. */
void proxy_jsonrpc_peek_parse_call(struct slice body, uint64_t max_bytes,
                                   struct proxy_jsonrpc_peek *out);
/* Step 2 from a body already scanned (proxy/rpc_scan.h) with at least
 * max_bytes as its cap: the same fields as the two calls above, from the
 * one scan the policy step also reads (a FALLBACK scan asks the
 * reference). body is the scanned body. */
void proxy_jsonrpc_peek_from_scan(const struct proxy_rpc_scan *scan, struct slice body,
                                  uint64_t max_bytes, bool want_call,
                                  struct proxy_jsonrpc_peek *out);
/* Step 2 through jansson (jsonrpc_peek_reference.c): the definition the
 * scan is tested against, and its answer for the rare bodies the scan
 * hands back. want_call: proxy_jsonrpc_peek_parse_call's fields too. */
void proxy_jsonrpc_peek_reference_parse(struct slice body, uint64_t max_bytes, bool want_call,
                                        struct proxy_jsonrpc_peek *out);
/* Frees the batch arrays and the call_* strings and zeroes *p; safe on a
 * zeroed struct. */
void proxy_jsonrpc_peek_cleanup(struct proxy_jsonrpc_peek *p);

/* The access log's rpc_method: the single method or the batch's joined
 * list; "" when none. Borrowed from p. */
const char *proxy_jsonrpc_peek_method(const struct proxy_jsonrpc_peek *p);

/* SPEC.md 4.7's sanitiser: copies the ASCII letters, digits and ". _ : / - +"
 * of in to out, stopping after max_kept kept characters; out needs
 * max_kept + 1 bytes and is NUL-terminated. Returns the length written.
 * Every other code point is dropped whole (a multi-byte UTF-8 sequence is
 * one dropped code point). */
size_t proxy_jsonrpc_sanitize(struct slice in, size_t max_kept, char *out);

/* Step 3, the tool-metrics observer of SPEC.md 7.1. Call only when
 * MCP_TOOL_METRICS is on and the access log did not skip the path, after
 * the response: status is the final status sent, request_content_length
 * the request's Content-Length (-1 when chunked), response_bytes the body
 * bytes written to the client.
 *  - SINGLE with method "tools/call": one call for its tool (failed when
 *    status >= 400), request and response bytes counted when > 0.
 *  - BATCH: one call per tools/call entry (no byte counters), then, if
 *    there was at least one, the batch counters once.
 *  - anything else: nothing. */
void proxy_jsonrpc_observe(const struct proxy_jsonrpc_peek *p, int status,
                           int64_t request_content_length, int64_t response_bytes);
