/* W3C Trace Context (https://www.w3.org/TR/trace-context/): the
 * traceparent and tracestate request fields.
 *
 * The proxy records no spans of its own; it is a transparent hop for
 * tracing. A request that arrives with one valid traceparent keeps it: the
 * upstream gets the same trace id, parent id and flags (a future version
 * is passed on as version 00, as the recommendation says). A request
 * without one, or with a malformed one (or two), gets a fresh traceparent
 * -- random trace and parent ids, flags 01 so an upstream's parent-based
 * sampler still traces it -- and the malformed value is never forwarded.
 * tracestate is forwarded only beside a valid incoming traceparent and
 * only when every list member is well formed (joined from all its lines,
 * at most BOUNDS_TRACESTATE_MAX bytes and BOUNDS_TRACESTATE_MEMBERS_MAX
 * members). The trace id goes into the access-log line ("trace_id").
 *
 * Pure except http_trace_generate (random bytes); thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

#define HTTP_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define HTTP_TRACE_ID_LEN 32

struct http_trace {
    char traceparent[HTTP_TRACEPARENT_LEN + 1]; /* version 00, what goes upstream */
    bool incoming;                              /* taken from the request, not generated */
};

/* Checks one traceparent value strictly; on success writes its version-00
 * form to out and returns NULL, else a static reason (out untouched). */
const char *http_trace_parse_traceparent(struct slice value, char out[HTTP_TRACEPARENT_LEN + 1]);
/* A fresh traceparent: random trace and parent ids (never all zero),
 * flags 01. */
void http_trace_generate(char out[HTTP_TRACEPARENT_LEN + 1]);
/* Checks one tracestate line (a comma-separated list; empty members are
 * allowed and skipped). NULL or a static reason. *members gets the count
 * of non-empty members. */
const char *http_trace_check_tracestate(struct slice value, size_t *members);
/* The trace from the request's traceparent lines (values, n of them): the
 * one valid line's, else a fresh one. */
void http_trace_from_fields(const struct slice *values, size_t n, struct http_trace *out);
/* The 32 hex digits of the trace id (inside t->traceparent, not
 * NUL-terminated). */
struct slice http_trace_id(const struct http_trace *t);
