/* proxy/list_forward: the policy's filter on list answers, for one request
 * (issue 12 item 3, docs/list-filter.md).
 *
 * For a single tools/list, prompts/list, resources/list or
 * resources/templates/list request with a number or string id, builds the
 * forward's body filter (proxy/forward.h) that runs the answer through
 * proxy/list_response.h with this predicate: an entry is shown unless
 * policy_decide denies its call (tools/call + name, prompts/get + name,
 * resources/read + uri or uriTemplate) and a new login could not fix it
 * (fixable_by_login false) -- a user who could step up still sees the
 * tool, and gets the challenge when calling it. Names longer than
 * BOUNDS_POLICY_CALL_NAME_MAX are hidden (such a call is refused as
 * unreadable). At the end: one log line (list_filtered, with the
 * counts) when something was hidden or refused, and
 * mcp_auth_list_filter_total{result}.
 *
 * Memory lives on the request's arena; the policy reference is released
 * when the request is freed. */
#pragma once

#include "base/slice.h"

struct http_request;
struct policy;
struct policy_caller;
struct proxy_forward_filter;

enum proxy_list_forward_rc {
    PROXY_LIST_FORWARD_OK = 0,    /* *out_filter: the filter, or NULL when not a list */
    PROXY_LIST_FORWARD_BAD_ID,    /* a list request whose id is not a string or a number
                                   * (MCP requires one): refuse it, or its answer would
                                   * escape the id check */
    PROXY_LIST_FORWARD_NO_MEMORY, /* the request's arena is full: refuse (500) */
    PROXY_LIST_FORWARD_RC_COUNT,
};

/* method, id_json: the request's JSON-RPC method and id (as JSON text,
 * "null" when absent), borrowed for the call. p: a reference the filter
 * takes (released when the request is freed, or here when no filter is
 * made); NULL = no policy: no filter. caller: borrowed for the request's
 * life. */
enum proxy_list_forward_rc proxy_list_forward_new(struct http_request *req, struct slice method,
                                                  struct slice id_json, const struct policy *p,
                                                  const struct policy_caller *caller,
                                                  const struct proxy_forward_filter **out_filter)
    __attribute__((warn_unused_result));
