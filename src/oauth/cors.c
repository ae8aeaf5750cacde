#include "oauth/cors.h"

#include "http/output.h"
#include "http/reply.h"
#include "oauth/reply.h"

int
oauth_cors_allow_origin(struct http_request *req)
{
    return http_output_header_set(req, "Access-Control-Allow-Origin", "*");
}

void
oauth_cors_preflight_handle(struct http_request *req, void *arg)
{
    const char *methods = arg;
    /* The values are our constants: a set fails only once the head is
     * sent, and then the reply below is a no-op as well. */
    (void)oauth_cors_allow_origin(req);
    (void)http_output_header_set(req, "Access-Control-Allow-Methods", methods);
    (void)http_output_header_set(req, "Access-Control-Allow-Headers", OAUTH_CORS_ALLOW_HEADERS);
    (void)http_output_header_set(req, "Access-Control-Max-Age", OAUTH_CORS_MAX_AGE);
    (void)http_reply_empty(req, 204);
}

void
oauth_cors_too_large(struct http_request *req, void *arg)
{
    (void)oauth_cors_allow_origin(req);
    oauth_reply_too_large(req, arg);
}

void
oauth_cors_rate_limited(struct http_request *req, void *arg)
{
    (void)arg;
    (void)oauth_cors_allow_origin(req);
    (void)http_reply_rate_limited(req);
}
