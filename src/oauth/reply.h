/* The one way an OAuth endpoint answers in JSON (STYLE.md 3.4): errors in
 * SPEC.md 3.0.5's envelope (with or without a WWW-Authenticate challenge),
 * the 413 of an oversize body, the JSON 404 of the discovery carve-outs
 * (SPEC.md 3.0.2), and the no-store successes of /register and /token.
 *
 * Each call ends the response and returns 0, or -1 when the response had
 * already started or the client is gone (there is nothing left to do then).
 * An error reply writes exactly one log line: a rejection is logged here,
 * once, at the boundary, and nowhere else. The line carries the status and
 * the error fields only -- never a token, code, credential or request byte.
 * Error replies carry no Cache-Control/Pragma (SPEC.md 3.0.5); CORS headers
 * are the caller's choice (oauth/cors.h), made before calling. */
#pragma once

#include "oauth/error.h"

struct http_request;
struct log_line;

/* Sends err: err->status, Content-Type: application/json, the body of
 * oauth_error_format_json (description sanitised, "\n"-terminated). Logs a
 * debug "oauth_error" line (status, oauth_error, description, error_code):
 * for the rejections SPEC.md 7.2 names no event for. err is borrowed. */
int oauth_reply_error(struct http_request *req, const struct oauth_error *err);

/* The same for a status, code and (static) description, no error_code. */
int oauth_reply_error_simple(struct http_request *req, int status, enum oauth_error_code code,
                             const char *description);

/* The same, logged as an event SPEC.md 7.2 names. The caller has begun
 * *event with http_request_log_begin() at the event's level and name (e.g.
 * LOG_WARN "access_denied_client_registration_expired") and added the
 * event's own fields; this appends status, oauth_error, description and
 * error_code, ends the line, then replies. *event is consumed. */
int oauth_reply_error_event(struct http_request *req, const struct oauth_error *err,
                            struct log_line *event);

/* An error with a Basic challenge (SPEC.md 3.5 step 2, 3.8 step 2):
 *   WWW-Authenticate: Basic realm="<realm>", error="<error>",
 *                     error_description="<sanitised description>"
 * then as oauth_reply_error. realm is a static token such as "token" or
 * "consent". Quotes and backslashes are escaped as in a quoted-string. */
int oauth_reply_error_basic(struct http_request *req, const struct oauth_error *err,
                            const char *realm);

/* A route's too_large option (struct http_route_opts; the http_handler_fn
 * signature, arg unused): 413 invalid_request "request body exceeds the 1
 * MB cap" (SPEC.md 3.0.7, 3.2 step 1), answered synchronously. */
void oauth_reply_too_large(struct http_request *req, void *arg);

/* 404, application/json, exactly {"error":"not_found"} with no newline
 * (SPEC.md 3.0.2's discovery carve-outs). Not logged: the access log is
 * enough for a lookup of something that does not exist. */
int oauth_reply_not_found(struct http_request *req);

/* A success that must not be cached (SPEC.md 3.2, 3.8): status,
 * Content-Type: application/json, Cache-Control: no-store, Pragma:
 * no-cache, json_body (a complete NUL-terminated JSON text, sent as is;
 * the caller adds the trailing newline). Borrowed. */
int oauth_reply_json_nostore(struct http_request *req, int status, const char *json_body);

/* Appends s as a quoted JSON string the way Go's encoder writes one, so
 * bodies match the Go binary's byte for byte: '"', '\\' and control bytes
 * escaped (\n \r \t, else \u00XX), '<' '>' '&' as \u003c \u003e \u0026,
 * U+2028/U+2029 as \u2028/\u2029, each invalid UTF-8 byte as \ufffd.
 * s may hold any bytes, NUL included. -1 at b's cap (b may then hold a
 * partial string). For success bodies built by hand (/register, /token,
 * the discovery documents). */
int oauth_reply_append_json_string(struct buf *b, struct slice s)
    __attribute__((warn_unused_result));

/* The WWW-Authenticate value of oauth_reply_error_basic, appended to b.
 * -1 at b's cap (b may then hold a partial value). For tests and for
 * callers that need the header on another reply. */
int oauth_reply_format_basic_challenge(const struct oauth_error *err, const char *realm,
                                       struct buf *b) __attribute__((warn_unused_result));
