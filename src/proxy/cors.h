/* proxy/cors: which browser origins may use the MCP mount, and the CORS
 * answer they get.
 *
 * The MCP transport (2025-03-26 onwards, "Security Warning") requires the
 * server to validate Origin on every request against DNS rebinding, and to
 * answer an invalid one 403. A request that carries no Origin is not a
 * cross-origin browser request (every CLI and desktop client) and is not
 * affected. The allowed origins are PROXY_BASE_URL's own and
 * MCP_ALLOWED_ORIGINS, each stored as browsers serialise Origin
 * (config_check_origin), so a match is a byte comparison (ASCII case
 * folded, as an origin's scheme and host are case-insensitive).
 *
 * An allowed origin gets CORS on every answer of the mount (the 401, 403,
 * 429, 503, the forwarded response and its stream):
 *   Access-Control-Allow-Origin: <the origin>  (never "*")
 *   Vary: Origin
 *   Access-Control-Expose-Headers: WWW-Authenticate, Mcp-Session-Id,
 *                                  Mcp-Protocol-Version
 * and its preflight (OPTIONS with Access-Control-Request-Method) is
 * answered 204 here, without a token: a browser sends no Authorization on
 * a preflight, so asking for one there made every browser client fail.
 * Access-Control-Allow-Credentials is never sent: the token travels in
 * Authorization, which needs no credentials mode, and nothing on the mount
 * reads a cookie.
 *
 * The pure half (policy, judge) does no I/O; the request half writes
 * response headers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

struct buf;
struct http_request;

#define PROXY_CORS_ALLOW_METHODS "GET, POST, DELETE, OPTIONS"
/* Request headers an MCP client sends: the token, the JSON body, the
 * transport's headers of both eras (2025-11-25: sessions and SSE resume;
 * 2026-07-28: Mcp-Method, Mcp-Name). */
#define PROXY_CORS_ALLOW_HEADERS                                                                   \
    "Authorization, Content-Type, Accept, Last-Event-ID, Mcp-Session-Id, "                         \
    "Mcp-Protocol-Version, Mcp-Method, Mcp-Name"
/* Response headers a page may read: the challenge that starts the login,
 * the session id and the negotiated version. */
#define PROXY_CORS_EXPOSE_HEADERS "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version"
/* Seconds a browser may cache a preflight: Chromium clamps to 2 h anyway. */
#define PROXY_CORS_MAX_AGE "7200"

/* The 403's body: a JSON-RPC error without an id, as the transport allows. */
#define PROXY_CORS_FORBIDDEN_BODY                                                                  \
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Origin not allowed: "           \
    "this MCP server accepts browser requests only from its own origin and "                       \
    "MCP_ALLOWED_ORIGINS\"}}\n"

struct proxy_cors_policy {
    char **origins; /* PROXY_BASE_URL's origin first, then MCP_ALLOWED_ORIGINS; owned */
    size_t count;
};

/* Builds the list from PROXY_BASE_URL (its origin; skipped if it does not
 * parse as one, which config validation already refuses) and the
 * configured origins (copied). */
void proxy_cors_policy_init(struct proxy_cors_policy *p, const char *proxy_base_url,
                            char *const *allowed, size_t allowed_count);
/* Safe on a zeroed policy. */
void proxy_cors_policy_cleanup(struct proxy_cors_policy *p);

enum proxy_cors_verdict {
    PROXY_CORS_NO_ORIGIN = 0, /* no Origin field: not a browser cross-origin request */
    PROXY_CORS_ALLOWED,       /* one Origin, listed */
    PROXY_CORS_FOREIGN,       /* not listed, "null", or several Origin fields */
};

/* Judges the request's Origin field values (OWS trimmed). *out_allowed
 * points at the policy's copy of the origin when ALLOWED (what
 * Access-Control-Allow-Origin repeats: our bytes, never the request's). */
enum proxy_cors_verdict proxy_cors_judge(const struct proxy_cors_policy *p,
                                         const struct slice *values, size_t count,
                                         const char **out_allowed);

/* proxy_cors_judge on the request's Origin fields. */
enum proxy_cors_verdict proxy_cors_judge_request(const struct proxy_cors_policy *p,
                                                 struct http_request *req,
                                                 const char **out_allowed);

/* Adds Access-Control-Allow-Origin: origin, Vary: Origin and
 * Access-Control-Expose-Headers to the pending response. 0, or -1 when
 * the head was already sent or is full. */
int proxy_cors_decorate(struct http_request *req, const char *origin);

/* Is this a CORS preflight (OPTIONS with Access-Control-Request-Method)? */
bool proxy_cors_is_preflight(struct http_request *req);

/* Access-Control-Allow-Headers for a preflight, appended to out:
 * PROXY_CORS_ALLOW_HEADERS, then every element of the preflight's
 * Access-Control-Request-Headers (requested; empty when absent) that is an
 * "Mcp-Param-<name>" token, as sent. 2026-07-28 lets tools mirror
 * parameters into such headers, and a preflight cannot allow a prefix.
 * -1 at out's cap (out then holds a prefix of the answer). */
int proxy_cors_allow_headers(struct slice requested, struct buf *out);

/* Answers a preflight from an allowed origin (after proxy_cors_decorate):
 * 204 with Allow-Methods, Allow-Headers and Max-Age. */
void proxy_cors_reply_preflight(struct http_request *req);

/* Answers a foreign Origin: 403, PROXY_CORS_FORBIDDEN_BODY, counted as
 * access_denied{reason="origin_not_allowed"}, one warn line
 * "mcp_origin_refused" with the origin sampled. */
void proxy_cors_reply_forbidden(struct http_request *req);
