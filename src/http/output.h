/* The response side of a request: status and headers, then either a whole
 * body (http/reply.h builds on http_output_send) or a stream.
 *
 * Framing is decided here, never by the handler: a known length gets
 * Content-Length; an unknown length gets chunked transfer coding on
 * HTTP/1.1 and close-delimited framing on HTTP/1.0; HEAD, 204 and 304 carry
 * no body (writes are counted out and dropped). Connection, Content-Length,
 * Transfer-Encoding, Date and X-Request-Id are set by this layer and
 * refused from handlers; Content-Type is never invented.
 *
 * Every public response carries the security headers of SPEC.md 3.0.1
 * item 6 from the start (a handler may replace one, e.g. the consent page's
 * CSP) and X-Request-Id. Relayed upstream headers go through
 * http_output_header_add_upstream(), which lets ours win (SPEC preface
 * fix 5).
 *
 * Streaming with back-pressure (the proxy relays SSE this way):
 *
 *   http_output_set_status(req, 200);
 *   http_output_header_add(req, "Content-Type", "text/event-stream");
 *   http_output_start(req);
 *   ... on each upstream chunk:
 *   http_output_write_buffer(req, chunk);
 *   if (http_output_is_congested(req)) { pause upstream reads;
 *       http_output_on_drain(req, resume_upstream, ctx); }
 *   ... at the upstream's end:  http_output_end(req);
 *   ... on an upstream error after start:  http_output_abort(req);
 *
 * Calls after the response ended, or once the client is gone, do nothing
 * and return -1 (or false). Nothing here blocks or calls back into the
 * caller synchronously. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct http_request;

/* ---- before the head is sent ---- */

/* 200..599; default 200. */
void http_output_set_status(struct http_request *req, int status);
int http_output_status(const struct http_request *req);

/* Header edits on the pending response; name and value are copied. Each
 * returns 0, or -1 without changing anything when the head was already
 * sent, the name is not a token, the value holds CR, LF or NUL (header
 * injection), the name is one this layer owns (Content-Length,
 * Transfer-Encoding, Connection, Keep-Alive, Date, X-Request-Id, ...), or
 * the response already has BOUNDS_RESPONSE_HEADER_COUNT_MAX headers.
 * _add appends (repeated headers allowed); _set replaces every header of
 * that name with one; _remove drops every header of that name (0 also
 * when there was none). */
int http_output_header_add(struct http_request *req, const char *name, const char *value);
int http_output_header_set(struct http_request *req, const char *name, const char *value);
int http_output_header_remove(struct http_request *req, const char *name);
/* A header relayed from an upstream response. Dropped (returns 0) when it
 * is one of our security headers or X-Request-Id (ours replace it, SPEC
 * preface fix 5) or a hop-by-hop/framing header this layer owns; otherwise
 * as http_output_header_add. name/value need not be NUL-terminated. */
int http_output_header_add_upstream(struct http_request *req, const char *name, size_t name_len,
                                    const char *value, size_t value_len);
/* The first value of a pending response header, or NULL. Borrowed. */
const char *http_output_header_get(const struct http_request *req, const char *name);

/* ---- a whole response ---- */

/* Sends status, headers, Content-Length: len and the body, and ends the
 * response. content_type NULL sends none. Returns 0 or -1 (ended/gone). */
int http_output_send(struct http_request *req, int status, const char *content_type,
                     const void *body, size_t len);

/* ---- a stream ---- */

/* Sends the head now, length unknown (chunked / close-delimited). */
int http_output_start(struct http_request *req);
/* Sends the head now with Content-Length: len (identity framing); the
 * stream must then carry exactly len bytes. */
int http_output_start_length(struct http_request *req, uint64_t len);
/* Appends body bytes (copied). Returns 0, or -1 when the response is not
 * streaming, the client is gone, or the bytes pass the declared length
 * (the response is then broken and will be aborted at its end). */
int http_output_write(struct http_request *req, const void *data, size_t len);
/* Moves every byte out of buf (no copy); buf is left empty. Same returns. */
int http_output_write_buffer(struct http_request *req, struct evbuffer *buf);
/* Ends the response cleanly (the last chunk for chunked framing). A
 * length-framed stream that is short is aborted instead. The request
 * finishes: the access-log line is written and the connection moves on. */
int http_output_end(struct http_request *req);
/* Ends the response uncleanly: whatever is queued is flushed, then the
 * connection is closed without a clean end, so the client sees a truncated
 * response (for an upstream that failed mid-stream). Before the head was
 * sent, nothing is sent and the connection just closes. The abort
 * callback is not called (the caller is the one aborting). */
void http_output_abort(struct http_request *req);

/* ---- state and back-pressure ---- */

bool http_output_is_started(const struct http_request *req);
bool http_output_is_ended(const struct http_request *req);
/* More than BOUNDS_OUTPUT_HIGH_WATER bytes wait to go to the client: stop
 * producing until the drain callback runs. */
bool http_output_is_congested(const struct http_request *req);
/* fn(req, arg) is called once, from the loop, when the queued output is at
 * or below BOUNDS_OUTPUT_LOW_WATER (on a later loop turn if it already
 * is). Registering again replaces; not called once the client is gone or
 * the response ended. */
typedef void (*http_output_drain_fn)(struct http_request *req, void *arg);
void http_output_on_drain(struct http_request *req, http_output_drain_fn fn, void *arg);
