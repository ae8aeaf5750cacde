/* proxy/headers: which header fields cross the proxy, in both directions
 * (SPEC.md 4.2, 4.4, 3.0.1 item 6, 3.0.3; preface fix 5).
 *
 * Request side. Inbound fields are either forwarded verbatim or dropped;
 * then the proxy appends its own. proxy_headers_request_format writes the
 * whole block (what the forward sends on every round trip), straight from
 * the parsed request's fields (no copy of a field list); its two halves,
 * proxy_headers_request_filter (which fields are kept) and
 * proxy_headers_request_append_injected (the added fields), are exported
 * for the tests that pin each rule.
 *
 * Dropped inbound (names compared ASCII case-insensitively with '_' and '-'
 * equivalent, since CGI-style upstreams map both to the same variable; every
 * occurrence of a repeated field is dropped):
 *   hop-by-hop: Connection and every field it names, Proxy-Connection,
 *     Keep-Alive, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
 *     Transfer-Encoding, Upgrade (no protocol upgrades: MCP needs none);
 *   Expect (100-continue is never sent upstream; the body is already read);
 *   identity and origin claims: Authorization, Cookie, Forwarded,
 *     X-Forwarded-*, X-Real-IP, True-Client-IP, X-Original-URI,
 *     X-Original-Host, X-Request-Id, X-User-* (X-User-Admin, x_user_sub...),
 *     X-MCP-Identity-Assertion (only the proxy may vouch for an identity,
 *     whether or not UPSTREAM_IDENTITY_ASSERTION is on);
 *   framing set by the forward: Host, Content-Length.
 * Appended, in this order:
 *   X-User-Sub, X-User-Email (present even when empty), X-User-Groups
 *   (comma-joined, omitted when none), X-MCP-Identity-Assertion (the
 *   signed identity, identity.h; only when UPSTREAM_IDENTITY_ASSERTION is
 *   on), Authorization:
 *   <UPSTREAM_AUTHORIZATION_HEADER> when configured, X-Forwarded-For (the
 *   client IP), X-Forwarded-Proto and X-Forwarded-Host (scheme and
 *   host[:port] of PROXY_BASE_URL), and TE: trailers when the client's TE
 *   listed "trailers" (as Go's reverse proxy does), then traceparent and
 *   tracestate (W3C Trace Context, http/trace.h: the client's when valid,
 *   else a fresh traceparent; inbound copies are always dropped first).
 * Difference from the Go proxy (SPEC.md 4.2 "no forwarding headers are
 * added"): the issue for this route asks for X-Forwarded-For/-Proto/-Host
 * to be set, so the upstream can learn the client address and the public
 * origin; any inbound X-Forwarded-* is still dropped first, so the values
 * are always the proxy's own.
 *
 * Response side: hop-by-hop fields (the list above minus Expect, plus every
 * field the response's Connection names) are dropped; X-RateLimit-Limit,
 * -Remaining and -Reset are dropped when rate limiting is enabled (SPEC.md
 * 3.0.3); the proxy's security headers replace the upstream's
 * (Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options,
 * Referrer-Policy, Content-Security-Policy: never two values, fix 5), and
 * so does its X-Request-Id (fix 9); every Access-Control-* field is dropped
 * (the proxy answers CORS on the mount itself, proxy/cors.h). Everything else passes untouched:
 * Content-Type, Cache-Control, Mcp-Session-Id, X-Accel-Buffering, Set-Cookie,
 * Content-Length (the forward drops it itself if it re-frames the body).
 *
 * Pure: no I/O; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/field.h"
#include "base/slice.h"

enum proxy_headers_rc {
    PROXY_HEADERS_OK = 0,
    PROXY_HEADERS_ERR_VALUE,     /* an injected value holds CR, LF, NUL or another CTL */
    PROXY_HEADERS_ERR_TOO_LARGE, /* out's cap reached (out unchanged) */
    PROXY_HEADERS_ERR_BASE_URL,  /* PROXY_BASE_URL does not parse (start-up only) */
    PROXY_HEADERS_RC_COUNT,
};

const char *proxy_headers_rc_str(enum proxy_headers_rc rc);

/* The per-process part of the added fields, built once at start-up. */
struct proxy_headers_upstream {
    char *forwarded_proto; /* scheme of PROXY_BASE_URL, e.g. "https" */
    char *forwarded_host;  /* host[:port] of PROXY_BASE_URL as written, e.g. "a.example:8443" */
    char *authorization;   /* UPSTREAM_AUTHORIZATION_HEADER, or NULL when not configured */
};

/* Fills *out from PROXY_BASE_URL and UPSTREAM_AUTHORIZATION_HEADER (NULL or
 * "" = not configured); copies both. PROXY_HEADERS_ERR_BASE_URL when the
 * URL does not parse, PROXY_HEADERS_ERR_VALUE when the authorization value
 * holds a CTL; *out is then zeroed. Release with _cleanup. */
enum proxy_headers_rc proxy_headers_upstream_init(struct proxy_headers_upstream *out,
                                                  const char *proxy_base_url,
                                                  const char *upstream_authorization)
    __attribute__((warn_unused_result));
/* Frees the strings and zeroes *u; safe on a zeroed struct. */
void proxy_headers_upstream_cleanup(struct proxy_headers_upstream *u);

/* The per-request part: the opened grant's identity and the client
 * address. Borrowed. groups may be NULL when group_count is 0. */
struct proxy_headers_identity {
    const char *sub;
    const char *email; /* NULL or "" sends an empty X-User-Email */
    const char *const *groups;
    size_t group_count;
    const char *client_ip; /* text form, e.g. "203.0.113.7" or "2001:db8::1" */
    /* For the identity assertion (identity.h, UPSTREAM_IDENTITY_ASSERTION),
     * which is signed over them; not sent as fields of their own. */
    const char *scope;     /* the token's granted scope; NULL or "" = none */
    const char *client_id; /* NULL or "" = unknown */
    const char *acr;       /* NULL or "" = unknown (left out of the assertion) */
    int64_t auth_time;     /* Unix s; 0 = unknown (left out of the assertion) */
    /* The signed assertion, sent as X-MCP-Identity-Assertion; NULL = off. */
    const char *assertion;
    /* W3C Trace Context (http/trace.h): the traceparent to send, NULL =
     * none; when it came from the client (incoming), the client's
     * tracestate lines go with it if they are well formed. */
    const char *traceparent;
    bool traceparent_incoming;
};

/* Marks which inbound request fields are forwarded verbatim: out_keep[i]
 * for in[i], n entries (caller-provided). */
void proxy_headers_request_filter(const struct field *in, size_t n, bool *out_keep);
/* Does any inbound TE field list the "trailers" token? Then "TE: trailers"
 * is appended upstream. */
bool proxy_headers_request_wants_trailers(const struct field *in, size_t n);
/* Appends the added fields ("Name: value\r\n" each, order as above) to out.
 * On error out is unchanged. */
enum proxy_headers_rc proxy_headers_request_append_injected(const struct proxy_headers_upstream *up,
                                                            const struct proxy_headers_identity *id,
                                                            bool te_trailers, struct buf *out)
    __attribute__((warn_unused_result));
/* The whole upstream header block (no request line, no Host, no
 * Content-Length, no final empty line): kept fields as received, then the
 * added ones (with TE: trailers when proxy_headers_request_wants_trailers).
 * On error out is unchanged. Into an empty out it writes in place, with no
 * scratch buffer (the forward's case). */
enum proxy_headers_rc
proxy_headers_request_format(const struct proxy_headers_upstream *up, const struct field *in,
                             size_t n, const struct proxy_headers_identity *id, struct buf *out)
    __attribute__((warn_unused_result));

/* Is an upstream response field with this name relayed to the client?
 * Covers every rule above except fields named by the response's own
 * Connection header (use proxy_headers_response_filter for those). */
bool proxy_headers_response_keep(struct slice name, bool rate_limit_enabled);
/* out_keep[i] for in[i]: proxy_headers_response_keep and not named by a
 * Connection field of the same response. */
void proxy_headers_response_filter(const struct field *in, size_t n, bool rate_limit_enabled,
                                   bool *out_keep);
