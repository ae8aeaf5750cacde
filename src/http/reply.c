#include "http/reply.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "bounds.h"
#include "http/output.h"
#include "http/router.h"

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

static const char *
error_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

int
http_reply_error(struct http_request *req, int status)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, error_text(status));
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
http_reply_rate_limited(struct http_request *req)
{
    static const char body[] =
        "{\"error\":\"temporarily_unavailable\",\"error_description\":\"rate limit exceeded\"}";
    if (http_output_header_set(req, "Retry-After", "60") != 0) {
        return -1;
    }
    return http_reply_json(req, 429, body, sizeof(body) - 1);
}

int
http_reply_body_budget(struct http_request *req)
{
    static const char body[] = "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                               "\"too many request bodies in flight; retry later\"}";
    char retry[24];
    snprintf(retry, sizeof(retry), "%d", BOUNDS_BODY_BUFFER_RETRY_AFTER_S);
    if (http_output_header_set(req, "Retry-After", retry) != 0) {
        return -1;
    }
    return http_reply_json(req, 503, body, sizeof(body) - 1);
}
