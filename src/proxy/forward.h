/* proxy/forward: one request's trip to the upstream and back (SPEC.md 4.2 -
 * 4.5, DESIGN.md "The forward").
 *
 * Sends the method, the raw path and query, Host = the upstream's host, the
 * request's end-to-end headers (proxy/headers.h: filtered, identity
 * injected, the upstream Authorization), Content-Length of the body already
 * read (never Expect) and the body, over a connection from the worker's
 * pool. The response is relayed as it arrives: status and end-to-end
 * headers (hop-by-hop dropped, X-RateLimit-* too when rate limiting is on,
 * our security headers win), then body bytes with no buffering, so SSE
 * events and chunked Streamable HTTP reach the client when the upstream
 * sends them. While the client's output is congested the upstream is not
 * read (http_output_is_congested / http_output_on_drain).
 *
 * Ends, in every case, with exactly one of:
 *  - the relayed response ended cleanly; the connection goes back to the
 *    pool when the response was cleanly delimited and fully read;
 *  - 502 application/json {"error":"bad_gateway","error_description":
 *    "upstream request failed"} (http_reply_error_json): the upstream
 *    could not be reached, failed, or sent a malformed or truncated head
 *    (SPEC.md 4.5 has Go's text/plain "Bad Gateway\n"; the issue for this
 *    route asks for JSON errors, and every other error of the route is
 *    JSON);
 *  - 502 bad_gateway "too many upstream redirects" (SPEC.md 4.3);
 *  - 504 gateway_timeout "upstream did not send response headers in
 *    time": no response head
 *    within UPSTREAM_RESPONSE_HEADER_TIMEOUT of the start of the round trip
 *    (connecting included; Go's ResponseHeaderTimeout started after the
 *    request was written and gave 502);
 *  - an aborted client response (never a clean chunked end) when the
 *    upstream fails after the head was relayed: truncated body, bad chunk,
 *    reset;
 *  - the client left: the upstream connection is closed at once, also
 *    before the first response byte while a long tool call runs.
 * Once the head is relayed no timer runs: a stream lives as long as both
 * ends want.
 *
 * Redirects: a 307/308 whose Location is on the same origin (same scheme,
 * host, port; proxy/response.h) and under the mount path (proxy/path.h's
 * check, so "/__evil/requests" is not) is followed with the same method,
 * headers and body, up to BOUNDS_UPSTREAM_HOPS_MAX round trips; anything
 * else is relayed. A reused keep-alive connection that fails before a response
 * byte (the upstream closed it as we sent) is retried once on a new one
 * for idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), as Go's
 * transport does; a POST is never sent twice. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct proxy_headers_identity;
struct proxy_pool;
struct proxy_response_head;

/* The 502's JSON error (http_reply_error_json), also the mount's answer
 * when a worker has no upstream pool. */
#define PROXY_FORWARD_ERROR_BAD_GATEWAY "bad_gateway"
#define PROXY_FORWARD_DESCRIPTION_FAILED "upstream request failed"

struct proxy_forward_opts {
    uint64_t header_timeout_ms; /* UPSTREAM_RESPONSE_HEADER_TIMEOUT, > 0 */
    bool rate_limit_enabled;    /* RATE_LIMIT_ENABLED: drop upstream X-RateLimit-* */
    unsigned max_round_trips;   /* BOUNDS_UPSTREAM_HOPS_MAX */
};

/* A body filter for one forward (proxy/list_forward.h: the policy's list
 * filter). begin sees the final head about to be relayed and says whether
 * the body is the filter's; then the upstream's Content-Length is not
 * relayed (the length changes: chunked, or close-delimited to HTTP/1.0),
 * body bytes go to body instead of the client, and end runs when the body
 * ended cleanly, before the response ends. The filter writes to the client
 * itself (http_output_write). body and end return 0, or -1 when the client
 * side failed (the response is then aborted). Without a filter, or when
 * begin says no, bytes flow as they always do: no copy, no buffering. */
struct proxy_forward_filter {
    bool (*begin)(void *arg, const struct proxy_response_head *h);
    int (*body)(void *arg, const char *data, size_t len);
    int (*end)(void *arg);
    void *arg;
};

/* Forwards req (its body complete) through pool. id is copied into the
 * upstream request head during the call; opts is copied. From here on the
 * forward owns the response: it registers req's abort callback and a
 * finish hook, and ends the response itself (now, on an immediate failure,
 * or later). */
void proxy_forward_start(struct http_request *req, struct proxy_pool *pool,
                         const struct proxy_headers_identity *id,
                         const struct proxy_forward_opts *opts);
/* The same with a body filter (borrowed: it must live as long as req;
 * NULL = none). */
void proxy_forward_start_filtered(struct http_request *req, struct proxy_pool *pool,
                                  const struct proxy_headers_identity *id,
                                  const struct proxy_forward_opts *opts,
                                  const struct proxy_forward_filter *filter);
