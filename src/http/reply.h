/* Whole replies in one call, on top of http_output_send(): JSON, text,
 * HTML, empty, redirect, and the connection layer's own answers (404,
 * 405, 429, 4xx/5xx status text). Each ends the response; each returns 0,
 * or -1 when the response had already started or the client is gone.
 *
 * Content types are exact and never guessed: "application/json" (no
 * charset, SPEC.md 3.0.5), "text/plain; charset=utf-8",
 * "text/html; charset=utf-8". Security headers and X-Request-Id come from
 * the request itself (http/output.h), on every status. */
#pragma once

#include <stddef.h>

struct buf;
struct http_request;

/* body is a complete JSON text, sent as is (callers add the trailing
 * newline where SPEC.md asks for one). */
int http_reply_json(struct http_request *req, int status, const char *body, size_t len);
int http_reply_text(struct http_request *req, int status, const char *body, size_t len);
int http_reply_html(struct http_request *req, int status, const char *body, size_t len);
/* No body: Content-Length: 0 (none at all for 204/304). */
int http_reply_empty(struct http_request *req, int status);
/* 302 Found with Location: location (validated: no CR, LF or other
 * control byte; -1 and nothing sent otherwise) and an empty body. */
int http_reply_redirect(struct http_request *req, const char *location);

/* The one JSON error body of the HTTP layer, RFC 6749 5.2's shape, keys in
 * this order and no trailing newline:
 *   {"error":"bad_gateway","error_description":"upstream request failed"}
 * error and description are escaped as JSON strings. _format appends it to
 * out (0, or -1 at out's cap with out unchanged); _error_json sends it with
 * status as application/json (OAuth endpoints use oauth/error, which adds
 * error_code and Go's HTML escaping). */
int http_reply_format_error_json(struct buf *out, const char *error, const char *description)
    __attribute__((warn_unused_result));
int http_reply_error_json(struct http_request *req, int status, const char *error,
                          const char *description);

/* "<status> <reason>\n" as text/plain, e.g. "413 Content Too Large\n" (the
 * reason from http/status.h, "Error" for a code without one): the
 * connection layer's answer to malformed or refused requests. */
int http_reply_error(struct http_request *req, int status);
/* 404 text/plain "404 page not found\n" (SPEC.md 3.0.2). */
int http_reply_not_found(struct http_request *req);
/* 405 with Allow: listing the methods (an HTTP_METHODS_* set), empty body. */
int http_reply_method_not_allowed(struct http_request *req, unsigned allowed);
/* 429 per SPEC.md 3.0.3: JSON temporarily_unavailable, Retry-After: 60. */
int http_reply_rate_limited(struct http_request *req);
/* 503 for a request body over the buffer budget (REQUEST_BODY_BUFFER_*):
 * JSON temporarily_unavailable, the OAuth error shape every route can use
 * (RFC 6749 5.2), with Retry-After: BOUNDS_BODY_BUFFER_RETRY_AFTER_S. */
int http_reply_body_budget(struct http_request *req);
