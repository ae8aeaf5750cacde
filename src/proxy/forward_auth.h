/* proxy/forward_auth: the decision endpoint for a gateway that forwards
 * the MCP traffic itself (nginx auth_request, Traefik ForwardAuth, Envoy
 * ext_authz as an HTTP service; docs/forward-auth.md).
 *
 * It serves FORWARD_AUTH_ADDR, a listener of its own (never the public
 * one: the endpoint answers "is this token good, and whose is it" to
 * whoever asks, with the identity and the signed assertion in the answer,
 * so only the gateway may reach it). Path PROXY_FORWARD_AUTH_PATH and
 * below, every method.
 *
 * The gateway describes the client's request; this runs the MCP mount's
 * checks on the description, in the mount's order (proxy/mount.h):
 *   1. the description (proxy_forward_auth_describe): the original
 *      method and path from X-Original-Method / X-Original-URI (nginx,
 *      set by the operator), X-Forwarded-Method / X-Forwarded-Uri
 *      (Traefik) or the request itself (Envoy: its method, its path below
 *      PROXY_FORWARD_AUTH_PATH); every source present must agree, so a
 *      header the client slipped through the gateway cannot change what
 *      is decided;
 *   2. the Origin rule (proxy/cors.h): a foreign Origin -> 403; an
 *      allowed one's CORS headers go on the answer for the gateway to
 *      copy;
 *   3. the bearer check (proxy/bearer.h): 401 with the mount's
 *      WWW-Authenticate challenge (resource_metadata, error, scope);
 *   4. the path check (proxy/path.h): outside the mount, dot segments,
 *      encoded separators -> 403;
 *   5. the access policy (MCP_POLICY_FILE, proxy/policy_gate.h) on the
 *      body when the gateway forwards it (Envoy with_request_body, Traefik
 *      forwardBody): 403 (scope challenge or JSON-RPC -32003) or 400 for
 *      a body it cannot read. Without a body, a request whose method may
 *      carry one (anything but GET, HEAD, DELETE) is refused 403 while a
 *      policy is set: the calls in it cannot be decided, and allowing
 *      them would let every tool through (proxy_forward_auth_body_required);
 *   6. 200 with X-User-Sub, X-User-Email, X-User-Groups (when any) and,
 *      with UPSTREAM_IDENTITY_ASSERTION, X-MCP-Identity-Assertion, for the
 *      gateway to copy onto the upstream request.
 * Each answer is counted in mcp_auth_forward_auth_decisions_total{outcome}
 * and logged once (msg forward_auth_decision: refusals at info, allows at
 * debug). Not done here, because the request and its answer do not pass
 * through the proxy: the per-subject concurrency limit, the per-IP mcp
 * rate limit, the Mcp-Method/Mcp-Name check and list filtering.
 *
 * The route's argument is the MCP mount's context (proxy/mount.h): the
 * same bearer policy, origins, policy holder and identity keys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

struct http_route_def;

/* The decision endpoint's path on FORWARD_AUTH_ADDR: exactly it (nginx,
 * Traefik) or below it (Envoy's path_prefix: "/auth/mcp" describes
 * "/mcp"). */
#define PROXY_FORWARD_AUTH_PATH "/auth"

/* The description fields, in the order they are named in errors. */
enum proxy_forward_auth_field {
    PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD = 0,
    PROXY_FORWARD_AUTH_X_FORWARDED_METHOD,
    PROXY_FORWARD_AUTH_X_ORIGINAL_URI,
    PROXY_FORWARD_AUTH_X_FORWARDED_URI,
    PROXY_FORWARD_AUTH_FIELD_COUNT,
};

/* "X-Original-Method", ... */
const char *proxy_forward_auth_field_name(enum proxy_forward_auth_field f);

/* Field values looked at per name: one is valid, two already mean
 * "several" (refused); more change nothing. */
#define PROXY_FORWARD_AUTH_FIELD_VALUES 2

/* What the decision request says (borrowed slices). */
struct proxy_forward_auth_input {
    struct slice own_method; /* the decision request's method */
    struct slice own_path;   /* its raw path, without the query */
    struct slice values[PROXY_FORWARD_AUTH_FIELD_COUNT][PROXY_FORWARD_AUTH_FIELD_VALUES];
    size_t counts[PROXY_FORWARD_AUTH_FIELD_COUNT];
};

/* The client's request as described. Slices into the input's. */
struct proxy_forward_auth_target {
    struct slice method;
    struct slice path; /* the raw path, query cut off */
};

/* Reads the description. NULL and *out filled, or a static reason:
 * a field sent twice, a method that is not an HTTP token, a URI that is
 * not origin-form ('/' first), sources that disagree, or no URI at all
 * (a decision request to PROXY_FORWARD_AUTH_PATH itself without either
 * URI field). Method: the method fields (they must agree), else the
 * request's own method. Path: every URI field and the request's own path
 * below PROXY_FORWARD_AUTH_PATH, each cut at '?', must agree. Pure. */
const char *proxy_forward_auth_describe(const struct proxy_forward_auth_input *in,
                                        struct proxy_forward_auth_target *out);

/* Would a request with this method and no body be refused while a policy
 * is set? true for every method but GET, HEAD and DELETE (exact, as
 * methods are case-sensitive): a POST carries the JSON-RPC calls the
 * policy decides. Pure. */
bool proxy_forward_auth_body_required(struct slice method);

/* The route on the forward-auth listener: PROXY_FORWARD_AUTH_PATH as a
 * prefix, every method, 16 MiB body cap (BOUNDS_MCP_BODY_MAX), the head
 * check doing steps 1-4 before a body byte is read. Its argument is the
 * const struct proxy_mount_ctx. */
extern const struct http_route_def proxy_forward_auth_route;
