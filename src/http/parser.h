/* The HTTP/1.1 request parser (RFC 9112): llhttp in request mode, with no
 * lenient flag, plus the checks llhttp leaves to its user. Pure: no I/O, no
 * event loop, so it is unit-tested and fuzzed on plain bytes.
 *
 * Refused on top of llhttp (each a request-smuggling or header-injection
 * vector): obs-fold continuation lines, a bare LF anywhere in the head, a
 * header name that is not a token (space before the colon), a request
 * target with bytes outside visible ASCII or a '#', versions other than
 * HTTP/1.0 and HTTP/1.1, Transfer-Encoding on HTTP/1.0, an HTTP/1.1 request
 * without exactly one Host, a bad percent-escape in the path. llhttp itself
 * refuses Content-Length with Transfer-Encoding, duplicate or signed
 * Content-Length, NUL/CR in values, bad chunk sizes.
 *
 * Caps (bounds.h): URL length (414), head bytes, header count and name
 * length (431), body bytes per the caller's cap (413). A parser that
 * reported HTTP_PARSE_ERROR stays in error: no second request is ever taken
 * from bytes that follow a malformed one.
 *
 *   size_t used;
 *   switch (http_parser_feed(p, bytes, n, &used)) {
 *   case HTTP_PARSE_HEAD:  route, then http_parser_accept_body(p, cap, sink, arg); break;
 *   case HTTP_PARSE_DONE:  serve the request, later http_parser_next(p); break;
 *   ...
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/field.h"
#include "base/slice.h"

/* The methods the router distinguishes; every other method llhttp accepts
 * (PROPFIND, ...) is HTTP_METHOD_OTHER with its name kept. */
enum http_method {
    HTTP_METHOD_GET = 0,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_TRACE,
    HTTP_METHOD_CONNECT,
    HTTP_METHOD_OTHER,
    HTTP_METHOD_COUNT,
};

/* "GET", ...; "OTHER" for HTTP_METHOD_OTHER. */
const char *http_method_str(enum http_method m);

/* The parsed head. Every slice points into the parser and stays valid until
 * http_parser_next() or http_parser_free(). */
struct http_head {
    enum http_method method;
    struct slice method_name;    /* as sent, e.g. "GET", "PROPFIND" */
    struct slice target;         /* request-target as sent, e.g. "/mcp?x=1" */
    struct slice path;           /* raw path, percent-escapes kept, e.g. "/mcp";
                                  * the path of an absolute-form target; "*" */
    struct slice query;          /* after '?', without it; empty when none */
    bool has_query;              /* a '?' was present (even with nothing after it) */
    unsigned version_minor;      /* HTTP/1.<minor>: 0 or 1 */
    const struct field *headers; /* name as sent, value OWS-trimmed (base/field.h) */
    size_t header_count;
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool expect_continue;   /* Expect: 100-continue on HTTP/1.1 */
    bool expect_other;      /* an Expect the server cannot meet (417) */
    bool keep_alive;        /* per version and Connection (RFC 9112 9.3) */
    size_t head_bytes;      /* bytes of the head on the wire */
};

enum http_parse_event {
    HTTP_PARSE_MORE = 0, /* bytes consumed, no event: feed the rest or wait for more */
    HTTP_PARSE_HEAD,     /* the head is complete and valid: http_parser_head() */
    HTTP_PARSE_DONE,     /* the message (body included) is complete */
    HTTP_PARSE_ERROR,    /* malformed: http_parser_error_status(); close after replying */
};

/* Receives body bytes (chunked framing removed). Returns 0, or -1 to stop
 * with a 500 (the sink could not keep them). data is valid during the call. */
typedef int (*http_parser_body_fn)(void *arg, const char *data, size_t len);

struct http_parser;

struct http_parser *http_parser_new(void);
/* NULL is a no-op. */
void http_parser_free(struct http_parser *p);

/* Parses up to len bytes and stops at the first event; *out_consumed is
 * how many bytes were used (the rest belongs to a later call: body after
 * HTTP_PARSE_HEAD, the next request after HTTP_PARSE_DONE). len may be 0
 * (it completes a message that has no body). After HTTP_PARSE_HEAD call
 * http_parser_accept_body() before feeding again; after HTTP_PARSE_DONE
 * call http_parser_next(). After HTTP_PARSE_ERROR every call returns it. */
enum http_parse_event http_parser_feed(struct http_parser *p, const char *data, size_t len,
                                       size_t *out_consumed);

/* The head, once HTTP_PARSE_HEAD was returned (until http_parser_next());
 * NULL before. Borrowed. */
const struct http_head *http_parser_head(const struct http_parser *p);

/* Continues with the body: at most body_max bytes go to fn(arg, ...); more
 * is HTTP_PARSE_ERROR with 413. A message without a body completes on the
 * next feed (len 0 is enough). */
void http_parser_accept_body(struct http_parser *p, uint64_t body_max, http_parser_body_fn fn,
                             void *arg);

/* Starts the next message on the same connection (after HTTP_PARSE_DONE). */
void http_parser_next(struct http_parser *p);

/* True once any byte of the current message was consumed (a connection is
 * idle between requests until then). */
bool http_parser_in_message(const struct http_parser *p);
/* True between HTTP_PARSE_HEAD and HTTP_PARSE_DONE. */
bool http_parser_in_body(const struct http_parser *p);

/* After HTTP_PARSE_ERROR: the status to answer (400, 413, 414, 431, 500,
 * 505) and a static, loggable reason such as "obs-fold header line". */
int http_parser_error_status(const struct http_parser *p);
const char *http_parser_error_reason(const struct http_parser *p);

/* The method and raw path of the message in progress, as far as they were
 * read (for the log line of a refused request); empty slices when unknown. */
struct slice http_parser_partial_method(const struct http_parser *p);
struct slice http_parser_partial_path(const struct http_parser *p);
