/* proxy/policy_gate: the access-policy step of the MCP mount, between the
 * peek and the forward (docs/policy.md "Enforcement").
 *
 * Reads the body with proxy/policy_calls, decides every call with
 * policy_decide, logs one policy_decision line per decision and counts it
 * (mcp_auth_policy_decisions_total{decision,reason}), and answers a
 * refusal itself:
 *   - a body it cannot read: 400, JSON-RPC error -32700 / -32600, id null;
 *   - scope or step_up unmet: 403 with the insufficient_scope challenge
 *     whose scope is every scope the call needs (proxy/bearer.h);
 *   - group, email domain, a deny rule or the default: 403 with JSON-RPC
 *     error PROXY_POLICY_GATE_ERROR_CODE for the request's id.
 * A batch is refused whole when any entry is denied, with the answer its
 * first denied entry would get: forwarding part of it would need the
 * upstream's answers reassembled around the refused entries. Requests
 * without a body (GET for the SSE stream, DELETE) pass. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct http_request;
struct policy;
struct policy_caller;
struct proxy_rpc_scan;

/* JSON-RPC error code of a call the policy denies for good (no new login
 * can fix it): in the -32000..-32099 range JSON-RPC 2.0 5.1 leaves to
 * implementations, clear of the codes MCP assigns there (-32002 resource
 * not found, -32020 header mismatch, -32042 URL elicitation). */
#define PROXY_POLICY_GATE_ERROR_CODE (-32003)

/* Where the 403 challenge's resource_metadata points. Borrowed. */
struct proxy_policy_gate_opts {
    const char *proxy_base_url;
    const char *mount;
};

/* true: forward the request. false: answered (400/403/500). p and c
 * borrowed for the call; now_s Unix seconds. scan: the request body's
 * proxy/rpc_scan (capped at BOUNDS_MCP_BODY_MAX), so the body the peek
 * read is not read again; NULL to scan it here. */
bool proxy_policy_gate_pass(struct http_request *req, const struct policy *p,
                            const struct policy_caller *c,
                            const struct proxy_policy_gate_opts *opts, int64_t now_s,
                            const struct proxy_rpc_scan *scan);
