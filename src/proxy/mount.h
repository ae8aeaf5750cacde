/* proxy/mount: the protected MCP route, "{mount}" and "{mount}/..." for
 * every method (SPEC.md 3.0.2, 4), wired from the pure steps to the
 * forward.
 *
 * The order, and where it differs from SPEC.md's Go chain (bearer -> peek
 * -> subject limiter -> per-IP mcp limiter -> proxy):
 *   1. per-IP rate limit, bucket mcp (the connection layer, right after
 *      the head): every request to the mount counts, the unauthenticated
 *      ones too (SPEC preface fix 4; Go counted only requests that had
 *      passed auth, peek and the subject limiter, so 401s were never
 *      limited and a 503 from the subject limiter was not counted; here
 *      both are);
 *   2. Content-Length over 16 MiB -> 413 (connection layer, before a body
 *      byte);
 *   3. head check, before the body is read: the Origin check first
 *      (proxy/cors.h: a foreign Origin -> 403, nothing forwarded; an
 *      allowed origin's preflight -> 204 without a token; an allowed
 *      origin's CORS headers set for every later answer), then the bearer check (401 with the
 *      WWW-Authenticate challenge; access_denied{reason} for refused
 *      tokens), then the path check (SPEC preface fix 3: dot segments and
 *      encoded separators -> 400 invalid_request, never forwarded), then
 *      the per-subject concurrency limiter (503 + Retry-After: 1; the slot
 *      is held until the request finishes, streams included). Taken after
 *      the body and the peek, as Go did, it left a user's uploads in
 *      flight unbounded (40 stalled 16 MiB uploads on one token grew RSS
 *      by 650 MiB); taken here it bounds them to N bodies per user, and a
 *      503 from it carries no rpc_* log fields (the body was never read).
 *      sub/email go on the access-log line from here on;
 *   4. the body is read (16 MiB cap, BOUNDS_MCP_BODY_MAX; counted against
 *      REQUEST_BODY_BUFFER_MAX and its per-IP share by the connection
 *      layer: 503 + Retry-After past them);
 *   5. the JSON-RPC peek (rpc_method / rpc_tool / rpc_id on the log line);
 *   6. the access policy, when MCP_POLICY_FILE is set (proxy/policy_gate.h:
 *      400 for a body it cannot read, 403 for a denied call, nothing
 *      forwarded);
 *   7. with UPSTREAM_IDENTITY_ASSERTION, the signed identity (identity.h):
 *      one ES256 JWS per request; a failure answers 502 and is counted
 *      (mcp_auth_identity_assertion_failures_total), never forwarded
 *      without it;
 *   8. the forward (proxy/forward.h).
 * When the request finishes: the slot is released and, with
 * MCP_TOOL_METRICS=true and a path ACCESS_LOG_SKIP_RE does not skip, the
 * tool metrics are counted (SPEC.md 7.1).
 *
 * Needs, on every worker, its upstream pool (proxy_pool_attach_worker),
 * optionally its cache of opened bearer tokens (proxy_bearer_cache_attach_
 * worker; without one every token is opened on every request) and,
 * process-wide, the context below. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proxy/bearer.h"
#include "proxy/cors.h"
#include "proxy/forward.h"

struct http_request;
struct http_router;
struct identity_keys;
struct proxy_subject_limit;
struct policy_holder;

/* Everything the route uses besides the request and the worker's pool:
 * built once by the wiring from the configuration and the process-wide
 * services, then read-only and shared by every worker. */
struct proxy_mount_ctx {
    struct proxy_bearer_policy bearer;         /* the token check (its ring borrowed) */
    struct proxy_cors_policy cors;             /* Origin check and CORS (owned) */
    struct proxy_subject_limit *subject_limit; /* MCP_PER_SUBJECT_CONCURRENCY; NULL = off */
    unsigned per_subject_concurrency;          /* the cap, for the log line */
    const char *mount;                         /* "/mcp"; "" = the whole origin */
    const char *proxy_base_url;                /* the 401's resource_metadata */
    const char *challenge_scope;               /* the 401's scope (MCP_SCOPES_SUPPORTED without
                                                * offline_access); "" or NULL = none */
    bool tool_metrics;                         /* MCP_TOOL_METRICS */
    uint64_t log_body_max;                     /* MCP_LOG_BODY_MAX: the peek's cap; 0 = off */
    struct proxy_forward_opts forward;         /* timeouts and hops of the forward */
    struct policy_holder *policy;              /* MCP_POLICY_FILE; NULL = no policy */
    bool filter_lists;                         /* MCP_POLICY_FILTER_LISTS (proxy/list_forward.h) */
    /* UPSTREAM_IDENTITY_ASSERTION: the signing keys (borrowed; NULL = off),
     * the assertion's iss (PROXY_BASE_URL) and aud (the upstream origin). */
    const struct identity_keys *identity;
    const char *identity_iss;
    const char *identity_aud;
};

/* The mount's prefix route (every method, 16 MiB body cap, head check,
 * rate-limited in the mcp bucket); its argument is the const struct
 * proxy_mount_ctx, which outlives the router. */
extern const struct http_route_def proxy_mount_route;

/* The route's parts, for tests: the head check (arg: the context) and the
 * handler. */
/* The mount's 401 for a bearer failure rc: the error body and the
 * WWW-Authenticate challenge (resource_metadata, and the scope the mount
 * asks for). Forward-auth mode answers with it too, so a gateway's clients
 * are challenged exactly as the mount's are. */
void proxy_mount_reply_unauthorized(struct http_request *req, const struct proxy_mount_ctx *ctx,
                                    enum proxy_bearer_rc rc);

bool proxy_mount_head_check(struct http_request *req, void *arg);
void proxy_mount_handle(struct http_request *req, void *arg);
