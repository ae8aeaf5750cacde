/* CORS for the endpoints a browser-hosted MCP client (MCP Inspector, web
 * IDEs) calls directly: the discovery documents, /register and /token
 * (SPEC preface fix 10). The consent page and /callback are navigations,
 * never fetches, and must never carry these headers.
 *
 * Policy: any origin ("*"), never credentials (no cookies are used by these
 * endpoints; Access-Control-Allow-Credentials is never sent, and browsers
 * refuse "*" with credentials anyway). A preflight is answered 204 with
 * the route's methods, a fixed list of request headers and a one-day
 * cache; the actual response only needs Access-Control-Allow-Origin. */
#pragma once

struct http_request;

/* Request headers a client may send, for Access-Control-Allow-Headers:
 * Authorization (so a client that sends one to /token can read our 401
 * rather than fail the preflight), Content-Type (application/json to
 * /register is not a CORS-safelisted type), Mcp-Protocol-Version (the MCP
 * SDKs send it on discovery requests). */
#define OAUTH_CORS_ALLOW_HEADERS "Authorization, Content-Type, Mcp-Protocol-Version"
/* Seconds a browser may cache a preflight (browsers clamp it further:
 * Chromium to 2 h, Firefox to 24 h). */
#define OAUTH_CORS_MAX_AGE "86400"

/* Access-Control-Allow-Methods values for oauth_cors_preflight_handle's arg. */
#define OAUTH_CORS_METHODS_DOCUMENT "GET, HEAD, OPTIONS"
#define OAUTH_CORS_METHODS_POST "POST, OPTIONS"

/* Adds Access-Control-Allow-Origin: * to the pending response. Call before
 * the reply. 0, or -1 when the head was already sent. */
int oauth_cors_allow_origin(struct http_request *req);

/* Route handler for OPTIONS: 204 with Access-Control-Allow-Origin: *,
 * Access-Control-Allow-Methods: arg (a static string, one of the
 * OAUTH_CORS_METHODS_* values), Access-Control-Allow-Headers and
 * Access-Control-Max-Age. Answers whether or not the request is a real
 * preflight (Origin / Access-Control-Request-Method are not required):
 * the answer grants nothing a plain request would not get. */
void oauth_cors_preflight_handle(struct http_request *req, void *arg);

/* A too_large route option (struct http_route_opts) for CORS endpoints:
 * oauth_reply_too_large() with Access-Control-Allow-Origin, so a browser
 * client can read the 413. */
void oauth_cors_too_large(struct http_request *req, void *arg);

/* A rate_limited_reply route option (struct http_route_opts) for CORS
 * endpoints: the plain 429 (http_reply_rate_limited: Retry-After, JSON
 * temporarily_unavailable) with Access-Control-Allow-Origin, so a browser
 * client sees the 429 instead of "Failed to fetch". arg unused. */
void oauth_cors_rate_limited(struct http_request *req, void *arg);
