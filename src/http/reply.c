#include "http/reply.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "bounds.h"
#include "http/output.h"
#include "http/router.h"
#include "http/status.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"

int
http_reply_json(struct http_request *req, int status, const char *body, size_t len)
{
    return http_output_send(req, status, CT_JSON, body, len);
}

int
http_reply_text(struct http_request *req, int status, const char *body, size_t len)
{
    return http_output_send(req, status, CT_TEXT, body, len);
}

int
http_reply_html(struct http_request *req, int status, const char *body, size_t len)
{
    return http_output_send(req, status, CT_HTML, body, len);
}

int
http_reply_empty(struct http_request *req, int status)
{
    return http_output_send(req, status, NULL, NULL, 0);
}

int
http_reply_redirect(struct http_request *req, const char *location)
{
    if (http_output_is_started(req) || http_output_header_set(req, "Location", location) != 0) {
        return -1;
    }
    return http_output_send(req, 302, NULL, NULL, 0);
}

int
http_reply_error(struct http_request *req, int status)
{
    const char *reason = http_status_reason(status);
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason[0] != '\0' ? reason : "Error");
    return http_reply_text(req, status, body, (size_t)n);
}

int
http_reply_not_found(struct http_request *req)
{
    static const char body[] = "404 page not found\n";
    return http_reply_text(req, 404, body, sizeof(body) - 1);
}

int
http_reply_method_not_allowed(struct http_request *req, unsigned allowed)
{
    struct buf allow;
    buf_init(&allow, 256);
    int rc = -1;
    if (http_router_format_allow(allowed, &allow) == 0 &&
        http_output_header_set(req, "Allow", buf_cstr(&allow)) == 0) {
        rc = http_reply_empty(req, 405);
    }
    buf_cleanup(&allow);
    return rc;
}

int
http_reply_format_error_json(struct buf *out, const char *error, const char *description)
{
    /* Into a scratch buffer first: out is unchanged on failure. */
    struct buf tmp;
    buf_init(&tmp, out->max);
    int rc = buf_append_str(&tmp, "{\"error\":\"") != 0 ||
                     buf_append_json_escaped(&tmp, slice_from_cstr(error)) != 0 ||
                     buf_append_str(&tmp, "\",\"error_description\":\"") != 0 ||
                     buf_append_json_escaped(&tmp, slice_from_cstr(description)) != 0 ||
                     buf_append_str(&tmp, "\"}") != 0 || buf_append_slice(out, buf_slice(&tmp)) != 0
                 ? -1
                 : 0;
    buf_cleanup(&tmp);
    return rc;
}

int
http_reply_error_json(struct http_request *req, int status, const char *error,
                      const char *description)
{
    struct buf body;
    buf_init(&body, BOUNDS_ERROR_BODY_MAX);
    int rc = http_reply_format_error_json(&body, error, description) == 0
                 ? http_reply_json(req, status, body.ptr, body.len)
                 : -1;
    buf_cleanup(&body);
    return rc;
}

int
http_reply_rate_limited(struct http_request *req)
{
    if (http_output_header_set(req, "Retry-After", "60") != 0) {
        return -1;
    }
    return http_reply_error_json(req, 429, "temporarily_unavailable", "rate limit exceeded");
}

int
http_reply_body_budget(struct http_request *req)
{
    char retry[24];
    snprintf(retry, sizeof(retry), "%d", BOUNDS_BODY_BUFFER_RETRY_AFTER_S);
    if (http_output_header_set(req, "Retry-After", retry) != 0) {
        return -1;
    }
    return http_reply_error_json(req, 503, "temporarily_unavailable",
                                 "too many request bodies in flight; retry later");
}
