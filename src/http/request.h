/* struct http_request: the context of one request on one worker.
 *
 * Created by the connection layer once the head is parsed, it holds the
 * request's arena (every request-scoped allocation), a fresh request id
 * (inbound X-Request-Id is ignored), the client's address, the parsed head
 * (arena copies), the body once read, the start time, the response being
 * built (http/output.h), and the optional fields of the access-log line.
 * Finishing the response writes exactly one access-log line (public
 * listener, unless the server's access-log predicate skips the path:
 * http_request_log_skip_fn).
 *
 * Lifetime: owned by the connection. It stays valid until the response has
 * ended (http_output_end/abort, a reply helper) or the client has gone (the
 * abort callback ran), and then until the current libevent callback returns
 * to the loop: it is freed on a later loop turn, never inside a callback
 * its owner is still executing. Everything here is used on the request's
 * worker thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "http/parser.h"
#include "log.h"

struct arena;
struct evbuffer;
struct ipaddr;
struct worker;
struct http_request;

/* 16 characters of [0-9A-Za-z]: ~95 bits, unique without coordination. */
#define HTTP_REQUEST_ID_LEN 16

/* Whether a public request's access-log line (and what observes it, such
 * as the tool metrics) is left out, by the request's percent-decoded path:
 * path[0..len) may hold any byte, NUL included, and is NUL-terminated
 * after it. Runs once per request, on its worker, after the head. arg is
 * the one given with it (http/server_opts.h). */
typedef bool (*http_request_log_skip_fn)(const void *arg, const char *path, size_t len);

/* Writes a fresh id (HTTP_REQUEST_ID_LEN base62 chars + NUL) from the
 * CSPRNG. */
void http_request_id_generate(char out[HTTP_REQUEST_ID_LEN + 1]);

/* ---- identity and head (borrowed, valid for the request's life) ---- */

struct worker *http_request_worker(const struct http_request *req);
/* Request-scoped allocations (arena.h); freed with the request. */
struct arena *http_request_arena(const struct http_request *req);
/* The TCP peer's address (IPv4-mapped IPv6 shown as IPv4), and as text. */
const struct ipaddr *http_request_peer(const struct http_request *req);
const char *http_request_client_ip(const struct http_request *req);

enum http_method http_request_method(const struct http_request *req);
/* As sent, e.g. "GET", "PROPFIND" (a NUL-terminated static string). */
const char *http_request_method_name(const struct http_request *req);
/* The raw path, percent-escapes kept ("/mcp/a%2Fb"): what routing and the
 * proxy use. NUL-terminated in memory. */
struct slice http_request_path(const struct http_request *req);
/* The percent-decoded path (what the access log shows and its skip
 * predicate sees). May contain any byte, NUL included. */
struct slice http_request_path_decoded(const struct http_request *req);
/* The query without '?', raw; empty when none. */
struct slice http_request_query(const struct http_request *req);
bool http_request_has_query(const struct http_request *req);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
unsigned http_request_version_minor(const struct http_request *req);

/* Header lookup, ASCII case-insensitive on the name. _get gives the first
 * value (false when absent); _next walks every value of a repeated header:
 * start with *cursor = 0. */
bool http_request_header_get(const struct http_request *req, const char *name,
                             struct slice *out_value);
bool http_request_header_next(const struct http_request *req, const char *name, size_t *cursor,
                              struct slice *out_value);
size_t http_request_header_count(const struct http_request *req, const char *name);
/* Every header line in order (for forwarding): i < http_request_headers_len(). */
size_t http_request_headers_len(const struct http_request *req);
struct field http_request_header_at(const struct http_request *req, size_t i);
/* The same lines as one array of *out_count fields (borrowed, valid for the
 * request's life; NULL when there are none). */
const struct field *http_request_headers(const struct http_request *req, size_t *out_count);

/* Content-Length as sent, -1 when absent (chunked or no body). */
int64_t http_request_content_length(const struct http_request *req);
bool http_request_is_chunked(const struct http_request *req);
/* The body, complete when the handler runs (empty when none). Borrowed:
 * the handler may read or drain it. */
struct evbuffer *http_request_body(const struct http_request *req);
/* The body as one contiguous slice (pulled up once; valid for the
 * request's life, until the evbuffer is changed). */
struct slice http_request_body_slice(struct http_request *req);

/* ---- route state ---- */

/* One pointer that a route's head check hands on to its handler (the MCP
 * mount passes the identity its bearer check opened, so the token is opened
 * once). Borrowed: whoever sets it owns it and frees it (request arena, or a
 * finish hook). NULL until set. */
void http_request_set_route_state(struct http_request *req, void *state);
void *http_request_get_route_state(const struct http_request *req);

/* ---- client gone ---- */

/* Called at most once, when the client goes away (or the server is forced
 * down) before the response has ended. The handler cancels its async work
 * in it; after it returns, output calls are no-ops returning -1, and the
 * request is freed once the loop regains control. Never called from inside
 * an http_output_* call, nor after the response ended. Registering again
 * replaces; fn NULL unregisters. */
typedef void (*http_request_abort_fn)(struct http_request *req, void *arg);
void http_request_on_abort(struct http_request *req, http_request_abort_fn fn, void *arg);

/* ---- finish ---- */

/* Called once when the request finishes (response ended, aborted, or the
 * client gone), after the access-log line: for observers such as the tool
 * metrics (SPEC.md 7.1) that need the final status and byte counts. At most
 * HTTP_REQUEST_FINISH_HOOKS_MAX hooks (assert). */
#define HTTP_REQUEST_FINISH_HOOKS_MAX 4
typedef void (*http_request_finish_fn)(struct http_request *req, void *arg);
void http_request_on_finish(struct http_request *req, http_request_finish_fn fn, void *arg);
/* True when the access-log predicate skipped this request's path
 * (ACCESS_LOG_SKIP_RE: the access-log line and the tool-metrics observer
 * are both skipped, SPEC.md 3.0.1). */
bool http_request_is_log_skipped(const struct http_request *req);

struct http_trace;
/* The request's W3C trace context (http/trace.h): its valid traceparent,
 * else a fresh one; fixed at the first call (the forward sends it
 * upstream, the access-log line names its trace id). */
const struct http_trace *http_request_trace(struct http_request *req);
/* Status sent (0 before the head went out) and body bytes written. */
int http_request_response_status(const struct http_request *req);
uint64_t http_request_response_bytes(const struct http_request *req);

/* ---- access-log fields (SPEC.md 7.2) ---- */

/* Optional fields of the access-log line, copied into the arena; empty or
 * NULL values are left out. Never pass a token, secret or code. */
void http_request_set_log_user(struct http_request *req, const char *sub, const char *email);
void http_request_set_log_rpc(struct http_request *req, const char *method, const char *tool,
                              const char *id);

/* Starts a request-scoped log line: msg plus request_id, client_ip and
 * method/path, so handler logs need not repeat them (STYLE.md 3.8). Finish
 * it with log_end(). */
void http_request_log_begin(struct log_line *l, const struct http_request *req,
                            enum log_level level, const char *msg);
