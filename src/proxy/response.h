/* proxy/response: the upstream's HTTP/1.1 response, parsed (DESIGN.md "The
 * forward"), and what the forward does with its head (SPEC.md 4.3).
 *
 * llhttp in response mode with no lenient flag, plus the checks llhttp
 * leaves to its user, the same ones the request side makes (http/parser.h):
 * no obs-fold line, no bare LF in a head, header names that are tokens, no
 * control byte but HTAB in a value, Transfer-Encoding only "chunked" (any
 * other coding would reach the client without the header that names it).
 * Caps: BOUNDS_UPSTREAM_HEAD_BYTES_MAX bytes and
 * BOUNDS_UPSTREAM_HEADER_COUNT_MAX fields per head.
 *
 * Interim 1xx responses (100, 102, 103 ...) are read and dropped: only the
 * final head is reported. 101 is an error (the forward never asks for an
 * upgrade). A response to HEAD, and any 1xx, 204 or 304, has no body
 * whatever its Content-Length says.
 *
 *   proxy_response_reset(p, is_head);
 *   feed bytes: PROXY_RESPONSE_HEAD -> look at proxy_response_head(p), then
 *   proxy_response_accept_body(p, sink, arg) and feed the rest (the head's
 *   fields are freed then: header_count 0); body bytes go to the sink;
 *   PROXY_RESPONSE_DONE ends the message; at the upstream's EOF call
 *   proxy_response_finish(p) (ends a close-delimited body, or says the
 *   response was truncated).
 *
 * Pure: no I/O, no event loop (unit-tested and fuzzed on plain bytes). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "base/field.h"

enum proxy_response_event {
    PROXY_RESPONSE_MORE = 0, /* every byte used, no event: feed more */
    PROXY_RESPONSE_HEAD,     /* the final head is complete: proxy_response_head() */
    PROXY_RESPONSE_DONE,     /* the message is complete (body included) */
    PROXY_RESPONSE_ERROR,    /* malformed, refused or truncated: proxy_response_error() */
};

/* The final head. Slices point into the parser; valid until the next
 * proxy_response_reset() or proxy_response_free(). */
struct proxy_response_head {
    int status;                  /* 200..599 */
    unsigned version_minor;      /* HTTP/1.<minor>: 0 or 1 */
    const struct field *headers; /* in order, values OWS-trimmed */
    size_t header_count;
    int64_t content_length; /* -1 when absent (chunked, close-delimited) */
    bool chunked;
    bool has_body;        /* false: HEAD request, 204, 304 */
    bool close_delimited; /* the body ends at the upstream's EOF */
    /* Keep-Alive: timeout=<s> of the response, in ms; 0 when absent. */
    uint64_t keep_alive_timeout_ms;
};

/* Receives body bytes (chunked framing removed); data is valid during the
 * call. Returns 0, or -1 to stop with an error. */
typedef int (*proxy_response_body_fn)(void *arg, const char *data, size_t len);

struct proxy_response;

/* A parser for the response to a request; is_head: the request was HEAD.
 * Never NULL. */
struct proxy_response *proxy_response_new(bool is_head);
/* NULL is a no-op. */
void proxy_response_free(struct proxy_response *p);
/* Ready for the response to another request (keeps the buffers). */
void proxy_response_reset(struct proxy_response *p, bool is_head);

/* Parses up to len bytes, stopping at the first event; *out_consumed is how
 * many were used (after HEAD the rest is body; after DONE, bytes that do
 * not belong to this response). After HEAD call proxy_response_accept_body
 * before feeding again. After ERROR or DONE every call repeats it. */
enum proxy_response_event proxy_response_feed(struct proxy_response *p, const char *data,
                                              size_t len, size_t *out_consumed);
/* The final head, once HEAD was returned; NULL before. Borrowed. */
const struct proxy_response_head *proxy_response_head(const struct proxy_response *p);
/* Continues with the body; fn may be NULL (bytes are dropped). */
void proxy_response_accept_body(struct proxy_response *p, proxy_response_body_fn fn, void *arg);
/* The upstream closed its side. DONE when that ends the message (a
 * close-delimited body, or a message already done); ERROR when it cut the
 * response short (no head yet, a short Content-Length body, no last
 * chunk). */
enum proxy_response_event proxy_response_finish(struct proxy_response *p);

/* After DONE: may the connection carry another request? (HTTP/1.1 without
 * Connection: close, or HTTP/1.0 with keep-alive; never after a
 * close-delimited body.) */
bool proxy_response_is_reusable(const struct proxy_response *p);
/* True once any byte of a response was consumed. */
bool proxy_response_has_started(const struct proxy_response *p);
/* After ERROR: a static, loggable reason ("bare LF in response head",
 * "response truncated", ...). "" otherwise. */
const char *proxy_response_error(const struct proxy_response *p);

/* ---- what to do with a final head (SPEC.md 4.3) ---- */

enum proxy_response_hop {
    PROXY_HOP_RELAY = 0, /* send it to the client as it is */
    PROXY_HOP_FOLLOW,    /* a same-origin 307/308: ask its Location instead */
    PROXY_HOP_EXHAUSTED, /* followable, but this was the last allowed round trip: 502 */
    PROXY_HOP_COUNT,
};

/* Decides for a head received on round trip number round_trip (1 for the
 * first request) of at most max_round_trips, when the request went to
 * current_url (absolute, e.g. "http://127.0.0.1:8081/mcp?x=1"). Only 307
 * and 308 with exactly one Location on the same origin
 * (proxy_path_same_origin: same scheme, host and port, no userinfo) are
 * followed; everything else, 301/302/303 included, is relayed. On FOLLOW
 * *out_next_url is the resolved absolute URL (caller frees with xfree);
 * otherwise NULL. */
enum proxy_response_hop proxy_response_hop_decide(const struct proxy_response_head *h,
                                                  const char *current_url, unsigned round_trip,
                                                  unsigned max_round_trips, char **out_next_url);
