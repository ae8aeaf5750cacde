#include "proxy/list_forward.h"

#include "base/arena.h"
#include "base/clock.h"
#include "bounds.h"
#include "http/output.h"
#include "http/request.h"
#include "log.h"
#include "metrics.h"
#include "policy/policy.h"
#include "proxy/forward.h"
#include "proxy/list_filter.h"
#include "proxy/list_response.h"
#include "proxy/response.h"

struct list_forward {
    struct http_request *req;
    const struct policy *policy; /* a reference, released with the request */
    const struct policy_caller *caller;
    int64_t now_s; /* one clock reading for the whole list */
    struct proxy_list_filter filter;
    struct proxy_list_response *resp;
    struct proxy_forward_filter hooks;
    bool taken;
    bool reported; /* the counter and the log line are written once */
};

/* Shown unless the call would be denied for good (no new login fixes it). */
static bool
visible(void *arg, enum proxy_list_filter_kind kind, struct slice name)
{
    const struct list_forward *lf = arg;
    if (name.len > BOUNDS_POLICY_CALL_NAME_MAX) {
        return false; /* such a call is refused as unreadable */
    }
    struct policy_call call = {
        .method = slice_from_cstr(proxy_list_filter_call_method(kind)),
        .name = name,
    };
    struct policy_decision d;
    policy_decide(lf->policy, lf->caller, &call, lf->now_s, &d);
    return d.effect == POLICY_ALLOW || d.fixable_by_login;
}

static int
emit(void *arg, const char *data, size_t len)
{
    struct list_forward *lf = arg;
    return http_output_write(lf->req, data, len);
}

/* The first value of a response field, or an empty slice. */
static struct slice
head_field(const struct proxy_response_head *h, const char *name)
{
    for (size_t i = 0; i < h->header_count; i++) {
        if (slice_case_eq_cstr(h->headers[i].name, name)) {
            return h->headers[i].value;
        }
    }
    return SLICE_NULL;
}

static bool
on_begin(void *arg, const struct proxy_response_head *h)
{
    struct list_forward *lf = arg;
    lf->taken = proxy_list_response_begin(lf->resp, h->status, head_field(h, "content-type"),
                                          head_field(h, "content-encoding"));
    return lf->taken;
}

/* One log line when the filter changed the answer; the counter always. */
static void
report(struct list_forward *lf)
{
    if (lf->reported) {
        return;
    }
    lf->reported = true;
    enum proxy_list_response_result r = proxy_list_response_result(lf->resp);
    metrics_inc_list_filter((enum metrics_list_filter)r);
    if (r == PROXY_LIST_RESPONSE_UNCHANGED) {
        return;
    }
    struct log_line l;
    http_request_log_begin(&l, lf->req, r == PROXY_LIST_RESPONSE_FILTERED ? LOG_INFO : LOG_WARN,
                           "list_filtered");
    log_str(&l, "result", proxy_list_response_result_str(r));
    log_uint(&l, "hidden", proxy_list_response_hidden(lf->resp));
    log_end(&l);
}

/* A refusal (overflow, withheld) is reported when it is decided: over SSE
 * the client reads the error event and may leave before the upstream's
 * stream ends. */
static int
on_body(void *arg, const char *data, size_t len)
{
    struct list_forward *lf = arg;
    int rc = proxy_list_response_body(lf->resp, data, len);
    enum proxy_list_response_result r = proxy_list_response_result(lf->resp);
    if (r == PROXY_LIST_RESPONSE_OVERFLOW || r == PROXY_LIST_RESPONSE_WITHHELD) {
        report(lf);
    }
    return rc;
}

/* Any other response cut short (client gone, upstream failed) is not
 * counted. */
static int
on_end(void *arg)
{
    struct list_forward *lf = arg;
    int rc = proxy_list_response_end(lf->resp);
    report(lf);
    return rc;
}

static void
free_list_forward(void *arg)
{
    struct list_forward *lf = arg;
    proxy_list_response_free(lf->resp);
    proxy_list_filter_cleanup(&lf->filter);
    policy_release(lf->policy);
}

enum proxy_list_forward_rc
proxy_list_forward_new(struct http_request *req, struct slice method, struct slice id_json,
                       const struct policy *p, const struct policy_caller *caller,
                       const struct proxy_forward_filter **out_filter)
{
    *out_filter = NULL;
    enum proxy_list_filter_kind kind;
    if (p == NULL || !proxy_list_filter_kind_of(method, &kind)) {
        policy_release(p);
        return PROXY_LIST_FORWARD_OK;
    }
    struct arena *a = http_request_arena(req);
    struct list_forward *lf = arena_zalloc(a, sizeof(*lf));
    if (lf == NULL) {
        policy_release(p);
        return PROXY_LIST_FORWARD_NO_MEMORY;
    }
    if (proxy_list_filter_init(&lf->filter, kind, id_json, visible, lf) != 0) {
        policy_release(p);
        return PROXY_LIST_FORWARD_BAD_ID;
    }
    lf->req = req;
    lf->policy = p;
    lf->caller = caller;
    lf->now_s = clock_unix_s();
    lf->resp = proxy_list_response_new(&lf->filter, BOUNDS_LIST_FILTER_BODY_MAX, emit, lf);
    arena_on_free(a, free_list_forward, lf);
    lf->hooks =
        (struct proxy_forward_filter){.begin = on_begin, .body = on_body, .end = on_end, .arg = lf};
    *out_filter = &lf->hooks;
    return PROXY_LIST_FORWARD_OK;
}
