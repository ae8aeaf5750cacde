/* proxy/list_filter: rewrites one JSON-RPC message answering a tools/list,
 * prompts/list, resources/list or resources/templates/list request so that
 * only the entries a predicate calls visible remain (issue 12 item 3,
 * docs/list-filter.md).
 *
 * Judged per entry: tools and prompts by "name", resources by "uri",
 * templates by "uriTemplate" (the template text itself, as if it were a
 * URI). An entry without that string field is hidden. Rules, fail closed:
 *  - an object with "result" and the request's id: the list is filtered;
 *    nothing hidden -> the input passes byte for byte; something hidden ->
 *    re-serialised by jansson (compact, keys in their input order, every
 *    other member of the result -- nextCursor, _meta, unknown fields --
 *    kept);
 *  - an object with "result" and another id, a batch (array) holding a
 *    "result", or text that is not strict JSON (duplicate keys included:
 *    a JavaScript client would take the last one) -> withheld;
 *  - anything else (an error, a notification, a request from the server)
 *    -> passes unchanged.
 * Ids match loosely (1, 1.0 and "1" are one id), so no spelling of the
 * request's id escapes the filter.
 *
 * Pure: no I/O; the predicate is the only way out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"

struct json_t;

enum proxy_list_filter_kind {
    PROXY_LIST_TOOLS = 0,          /* tools/list: result.tools[].name */
    PROXY_LIST_PROMPTS,            /* prompts/list: result.prompts[].name */
    PROXY_LIST_RESOURCES,          /* resources/list: result.resources[].uri */
    PROXY_LIST_RESOURCE_TEMPLATES, /* resources/templates/list:
                                      result.resourceTemplates[].uriTemplate */
    PROXY_LIST_KIND_COUNT,
};

/* The kind a request method lists; false when it lists nothing we filter. */
bool proxy_list_filter_kind_of(struct slice method, enum proxy_list_filter_kind *out_kind);
/* The method that uses an entry of this kind: "tools/call", "prompts/get",
 * "resources/read" (templates too). Static. */
const char *proxy_list_filter_call_method(enum proxy_list_filter_kind kind);

/* True when the caller may see the entry named name (borrowed, valid during
 * the call; may hold any UTF-8). */
typedef bool (*proxy_list_filter_visible_fn)(void *arg, enum proxy_list_filter_kind kind,
                                             struct slice name);

enum proxy_list_filter_rc {
    PROXY_LIST_FILTER_PASS = 0,  /* send the input as it is */
    PROXY_LIST_FILTER_REWRITTEN, /* send *out instead */
    PROXY_LIST_FILTER_WITHHELD,  /* send neither: a result we must not relay unfiltered */
    PROXY_LIST_FILTER_RC_COUNT,
};

struct proxy_list_filter {
    enum proxy_list_filter_kind kind;
    struct json_t *id; /* the request's id (owned) */
    proxy_list_filter_visible_fn visible;
    void *arg;
};

/* id_json: the request's id as JSON text ("7", "\"a\""); must be a number
 * or a string. Returns -1 otherwise (the caller then does not filter: a
 * request without a usable id gets no result to hide). */
int proxy_list_filter_init(struct proxy_list_filter *f, enum proxy_list_filter_kind kind,
                           struct slice id_json, proxy_list_filter_visible_fn visible, void *arg)
    __attribute__((warn_unused_result));
void proxy_list_filter_cleanup(struct proxy_list_filter *f);

/* Judges one message (text: a whole JSON body or one SSE event's data, at
 * most max_bytes; longer is WITHHELD). On REWRITTEN the new text is
 * appended to out (a buf the caller initialised); *out_hidden counts the
 * entries removed (0 unless REWRITTEN). */
enum proxy_list_filter_rc proxy_list_filter_message(const struct proxy_list_filter *f,
                                                    struct slice text, size_t max_bytes,
                                                    struct buf *out, size_t *out_hidden);

/* The JSON-RPC error that replaces a list the proxy could not filter
 * (withheld, or past the buffering cap), for the request's id: appended to
 * out, without a line end. reason: a static, JSON-safe text. -1 at out's
 * cap. */
#define PROXY_LIST_FILTER_ERROR_CODE (-32603)
int proxy_list_filter_format_error(const struct proxy_list_filter *f, const char *reason,
                                   struct buf *out) __attribute__((warn_unused_result));
