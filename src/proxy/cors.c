#include "proxy/cors.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/scan.h"
#include "base/xalloc.h"
#include "config_check.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "log.h"
#include "metrics.h"

/* Origin fields looked at: one is the rule; a second already makes the
 * request foreign (which one would the browser have meant?). */
#define CORS_ORIGIN_VALUES 2

void
proxy_cors_policy_init(struct proxy_cors_policy *p, const char *proxy_base_url,
                       char *const *allowed, size_t allowed_count)
{
    p->origins = xcalloc(allowed_count + 1, sizeof(char *));
    p->count = 0;
    char *own = NULL;
    if (proxy_base_url != NULL &&
        config_check_origin(slice_from_cstr(proxy_base_url), &own) == NULL) {
        p->origins[p->count++] = own;
    }
    for (size_t i = 0; i < allowed_count; i++) {
        p->origins[p->count++] = xstrdup(allowed[i]);
    }
}

void
proxy_cors_policy_cleanup(struct proxy_cors_policy *p)
{
    for (size_t i = 0; i < p->count; i++) {
        xfree(p->origins[i]);
    }
    xfree(p->origins);
    p->origins = NULL;
    p->count = 0;
}

enum proxy_cors_verdict
proxy_cors_judge(const struct proxy_cors_policy *p, const struct slice *values, size_t count,
                 const char **out_allowed)
{
    *out_allowed = NULL;
    if (count == 0) {
        return PROXY_CORS_NO_ORIGIN;
    }
    if (count > 1) {
        return PROXY_CORS_FOREIGN;
    }
    /* "null" (sandboxed frames, file: pages) never equals a listed origin:
     * config_check_origin refuses it in the list. */
    struct slice origin = slice_trim_ows(values[0]);
    for (size_t i = 0; i < p->count; i++) {
        if (slice_case_eq_cstr(origin, p->origins[i])) {
            *out_allowed = p->origins[i];
            return PROXY_CORS_ALLOWED;
        }
    }
    return PROXY_CORS_FOREIGN;
}

enum proxy_cors_verdict
proxy_cors_judge_request(const struct proxy_cors_policy *p, struct http_request *req,
                         const char **out_allowed)
{
    struct slice values[CORS_ORIGIN_VALUES];
    size_t count = 0;
    size_t cursor = 0;
    struct slice v;
    while (count < CORS_ORIGIN_VALUES && http_request_header_next(req, "Origin", &cursor, &v)) {
        values[count++] = v;
    }
    return proxy_cors_judge(p, values, count, out_allowed);
}

int
proxy_cors_decorate(struct http_request *req, const char *origin)
{
    if (http_output_header_set(req, "Access-Control-Allow-Origin", origin) != 0 ||
        http_output_header_set(req, "Vary", "Origin") != 0 ||
        http_output_header_set(req, "Access-Control-Expose-Headers", PROXY_CORS_EXPOSE_HEADERS) !=
            0) {
        return -1;
    }
    return 0;
}

bool
proxy_cors_is_preflight(struct http_request *req)
{
    struct slice v;
    return http_request_method(req) == HTTP_METHOD_OPTIONS &&
           http_request_header_get(req, "Access-Control-Request-Method", &v);
}

/* RFC 9110 5.6.2 tchar. */
static bool
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_param_header(struct slice name)
{
    static const char prefix[] = "mcp-param-";
    size_t n = sizeof(prefix) - 1;
    if (name.len <= n || !slice_case_eq_cstr(slice_make(name.ptr, n), prefix)) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        if (!is_tchar((unsigned char)name.ptr[i])) {
            return false;
        }
    }
    return true;
}

int
proxy_cors_allow_headers(struct slice requested, struct buf *out)
{
    if (buf_append_str(out, PROXY_CORS_ALLOW_HEADERS) != 0) {
        return -1;
    }
    struct scan s = scan_init(requested);
    struct slice element;
    while (scan_list_next(&s, ',', &element)) {
        element = slice_trim_ows(element);
        if (is_param_header(element) &&
            (buf_append_str(out, ", ") != 0 || buf_append_slice(out, element) != 0)) {
            return -1;
        }
    }
    return 0;
}

void
proxy_cors_reply_preflight(struct http_request *req)
{
    struct slice requested = SLICE_NULL;
    (void)http_request_header_get(req, "Access-Control-Request-Headers", &requested);
    /* Every echoed name is an element of the request's value, so twice its
     * length covers the separators. */
    struct buf allow;
    buf_init(&allow, sizeof(PROXY_CORS_ALLOW_HEADERS) + 2 * requested.len + 1);
    if (proxy_cors_allow_headers(requested, &allow) != 0) {
        buf_reset(&allow);
        if (buf_append_str(&allow, PROXY_CORS_ALLOW_HEADERS) != 0) {
            abort(); /* sized above */
        }
    }
    /* Our constants and checked tokens: a set fails only once the head is
     * sent, and then the reply below is a no-op as well. */
    (void)http_output_header_set(req, "Access-Control-Allow-Methods", PROXY_CORS_ALLOW_METHODS);
    (void)http_output_header_set(req, "Access-Control-Allow-Headers", buf_cstr(&allow));
    buf_cleanup(&allow);
    (void)http_output_header_set(req, "Access-Control-Max-Age", PROXY_CORS_MAX_AGE);
    (void)http_reply_empty(req, 204);
}

void
proxy_cors_reply_forbidden(struct http_request *req)
{
    metrics_inc_denied(METRICS_DENIED_ORIGIN_NOT_ALLOWED);
    struct slice origin = SLICE_NULL;
    (void)http_request_header_get(req, "Origin", &origin);
    struct log_line l;
    http_request_log_begin(&l, req, LOG_WARN, "mcp_origin_refused");
    log_sample(&l, "origin", origin);
    log_end(&l);
    static const char body[] = PROXY_CORS_FORBIDDEN_BODY;
    /* Vary too: a cache must not serve this 403 to an allowed origin. */
    (void)http_output_header_set(req, "Vary", "Origin");
    (void)http_reply_json(req, 403, body, sizeof(body) - 1);
}
