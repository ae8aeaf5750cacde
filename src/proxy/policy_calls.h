/* proxy/policy_calls: what a request body asks the upstream to do, for the
 * policy (docs/policy.md "What the proxy reads").
 *
 * Unlike proxy/jsonrpc_peek (which feeds logs and metrics, sanitises and
 * may give up), this reads every entry exactly as the upstream will: the
 * method and the name unsanitised, a batch in full. What it cannot read
 * it refuses with a reason, and the mount answers 400 instead of
 * forwarding a call nobody checked. The name is params.name for
 * tools/call and prompts/get, params.uri for resources/... methods, else
 * params.name when it is a string, else "" (methods are compared ASCII
 * case-insensitively here as in policy_decide, so "Tools/Call" is read
 * like tools/call). Pure; thread-safe. The method and name slices point
 * into the body or into *out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

struct json_t;

struct proxy_policy_call {
    bool is_response;    /* no method: a result or error the client sends back; passes */
    struct slice method; /* borrowed from the parsed body */
    struct slice name;   /* "" when the method carries none */
    char *id_json;       /* the id as JSON ("7", "\"a\"", "null"): id_small or heap */
    char id_small[32];   /* no allocation for a short id */
};

struct proxy_policy_calls {
    struct json_t *root;             /* the reference's tree (owned; its slices point into it) */
    struct proxy_policy_call *items; /* &one for a single call, else heap */
    size_t count;
    bool is_batch;
    bool not_json; /* the reason is a JSON parse error (-32700, not -32600) */
    struct proxy_policy_call one;
    char *decoded; /* escaped methods and names decoded (heap; NULL when none) */
};

struct proxy_rpc_scan;

/* body with its Content-Type (the first field value; empty when absent).
 * NULL and *out filled, or a static reason ("the request body is not
 * JSON"); release *out with proxy_policy_calls_cleanup either way. */
const char *proxy_policy_calls_parse(struct slice content_type, struct slice body,
                                     struct proxy_policy_calls *out);
/* The same from a body already scanned (proxy/rpc_scan.h, capped at
 * BOUNDS_MCP_BODY_MAX), the scan the peek also reads; body is the scanned
 * body (a FALLBACK scan asks the reference). The slices point into body
 * or *out. */
const char *proxy_policy_calls_from_scan(struct slice content_type,
                                         const struct proxy_rpc_scan *scan, struct slice body,
                                         struct proxy_policy_calls *out);
/* The same through jansson (policy_calls_reference.c): the definition the
 * scan is tested against. */
const char *proxy_policy_calls_reference_parse(struct slice content_type, struct slice body,
                                               struct proxy_policy_calls *out);
void proxy_policy_calls_cleanup(struct proxy_policy_calls *c);
