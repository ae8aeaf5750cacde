/* proxy/list_response: the body of the upstream's answer to a list request
 * (tools/list, prompts/list, resources/list, resources/templates/list),
 * through the list filter on its way to the client (docs/list-filter.md).
 *
 * A 2xx application/json body is buffered whole (at most
 * BOUNDS_LIST_FILTER_BODY_MAX), filtered (proxy/list_filter.h), and sent
 * at the end; a 2xx text/event-stream body goes through proxy/sse_filter.h,
 * every event relayed as it completes, the list answer rewritten. Anything
 * else (another status, another media type) is not taken: the forward
 * relays it untouched. A body the filter cannot vouch for -- past the cap,
 * compressed (Content-Encoding), not strict JSON, a result for another id
 * -- is replaced by a JSON-RPC error for the request's id
 * (PROXY_LIST_FILTER_ERROR_CODE): the whole body in JSON mode, an event in
 * SSE mode. The HTTP status stays the upstream's 2xx, since the head is
 * already on its way (and a client shows a JSON-RPC error to its user,
 * while a 5xx ends the whole POST); the rest of the body is then dropped.
 *
 * Pure: bytes in, bytes out through the emit callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "proxy/list_filter.h"

enum proxy_list_response_result {
    PROXY_LIST_RESPONSE_UNCHANGED = 0, /* taken, nothing hidden (or not taken) */
    PROXY_LIST_RESPONSE_FILTERED,      /* at least one entry hidden */
    PROXY_LIST_RESPONSE_OVERFLOW,      /* past the cap: replaced by an error */
    PROXY_LIST_RESPONSE_WITHHELD,      /* unusable: replaced by an error */
    PROXY_LIST_RESPONSE_RESULT_COUNT,
};
const char *proxy_list_response_result_str(enum proxy_list_response_result r);

/* Sends bytes to the client; 0, or -1 when the client side failed. */
typedef int (*proxy_list_response_emit_fn)(void *arg, const char *data, size_t len);

struct proxy_list_response;

/* filter is borrowed for the object's life (its id and predicate). max:
 * the buffering cap (BOUNDS_LIST_FILTER_BODY_MAX; smaller in tests).
 * Never NULL. */
struct proxy_list_response *proxy_list_response_new(const struct proxy_list_filter *filter,
                                                    size_t max, proxy_list_response_emit_fn emit,
                                                    void *arg);
void proxy_list_response_free(struct proxy_list_response *r);

/* The final head: true when the body is taken (then the response must not
 * carry the upstream's Content-Length: the length changes). content_type
 * and content_encoding: the first such field's value, empty when absent. */
bool proxy_list_response_begin(struct proxy_list_response *r, int status, struct slice content_type,
                               struct slice content_encoding);
/* Body bytes of a taken response. 0, or -1 when emit failed. */
int proxy_list_response_body(struct proxy_list_response *r, const char *data, size_t len);
/* The body ended cleanly: sends what is still held. 0, or -1 when emit
 * failed. */
int proxy_list_response_end(struct proxy_list_response *r);

/* How it went (worst outcome seen), and how many entries were hidden. */
enum proxy_list_response_result proxy_list_response_result(const struct proxy_list_response *r);
size_t proxy_list_response_hidden(const struct proxy_list_response *r);
