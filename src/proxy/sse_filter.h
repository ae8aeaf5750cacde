/* proxy/sse_filter: an incremental text/event-stream re-framer that hands
 * each complete event's data to a judge and relays, replaces or drops the
 * event (issue 12 item 3: the list answer inside an SSE response).
 *
 * Framing is the WHATWG "event stream interpretation": lines end at CRLF,
 * LF or CR; a field is "name: value" (one space after the colon dropped),
 * a line without a colon is a name with an empty value, a line starting
 * with ':' is a comment, an empty line dispatches the event, data lines
 * join with LF, a UTF-8 BOM at the start of the stream is not part of the
 * first line's field name. Bytes may be split anywhere between calls.
 *
 * An event is buffered until its empty line (at most max_event_bytes raw
 * bytes: more is TOO_LARGE, sticky, nothing of that event relayed), then:
 * no data -> relayed byte for byte; otherwise the judge decides: PASS ->
 * relayed byte for byte; REPLACE -> its other lines (id:, event:, retry:,
 * comments, unknown fields) byte for byte in their order, the data lines
 * replaced by the judge's text at the first data line's place, "\n" line
 * ends; DROP -> nothing. A comment line arriving between events is relayed
 * as it arrives (keep-alive pings are not held back). At the end of the
 * stream a pending event without its empty line is judged as if it had
 * one (a client's parser may dispatch it on close).
 *
 * Pure: bytes in, bytes out through the emit callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"

enum proxy_sse_verdict {
    PROXY_SSE_PASS = 0,
    PROXY_SSE_REPLACE, /* the new data is in the out buffer */
    PROXY_SSE_DROP,
    PROXY_SSE_VERDICT_COUNT,
};

/* data: the event's data (valid during the call). On REPLACE append the
 * replacement to out (an LF in it starts another data line). */
typedef enum proxy_sse_verdict (*proxy_sse_filter_judge_fn)(void *arg, struct slice data,
                                                            struct buf *out);
/* Relays bytes; returns 0, or -1 to stop (EMIT_FAILED, sticky). */
typedef int (*proxy_sse_filter_emit_fn)(void *arg, const char *data, size_t len);

enum proxy_sse_filter_rc {
    PROXY_SSE_FILTER_OK = 0,
    PROXY_SSE_FILTER_TOO_LARGE,   /* an event passed max_event_bytes */
    PROXY_SSE_FILTER_EMIT_FAILED, /* the emit callback refused */
    PROXY_SSE_FILTER_RC_COUNT,
};

struct proxy_sse_filter;

/* Never NULL. The callbacks and arg are borrowed for the filter's life. */
struct proxy_sse_filter *proxy_sse_filter_new(size_t max_event_bytes,
                                              proxy_sse_filter_judge_fn judge,
                                              proxy_sse_filter_emit_fn emit, void *arg);
/* NULL is a no-op. */
void proxy_sse_filter_free(struct proxy_sse_filter *p);

/* Feeds len bytes; after an error every call returns it again. */
enum proxy_sse_filter_rc proxy_sse_filter_feed(struct proxy_sse_filter *p, const char *data,
                                               size_t len);
/* The stream ended: judges a pending event. */
enum proxy_sse_filter_rc proxy_sse_filter_finish(struct proxy_sse_filter *p);
