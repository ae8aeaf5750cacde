/* GET /.well-known/jwks.json: the identity assertion's public keys
 * (identity.h). Beside the other well-known documents, with their CORS
 * and rate-limit bucket; the document is built once when the keys load. */
#include "oauth/oauth.h"

#include "base/slice.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/router.h"
#include "identity.h"
#include "metrics.h"
#include "oauth/cors.h"

/* Public keys, so shared caches may hold them; short, so a key published
 * for a rotation reaches every verifier within minutes. */
#define JWKS_CACHE_CONTROL "public, max-age=" BOUNDS_IDENTITY_JWKS_MAX_AGE_TEXT

void
oauth_identity_jwks_handle(struct http_request *req, void *arg)
{
    const struct identity_keys *keys = arg;
    struct slice doc = identity_keys_jwks(keys);
    (void)oauth_cors_allow_origin(req);
    if (http_output_header_set(req, "Cache-Control", JWKS_CACHE_CONTROL) != 0) {
        http_reply_error(req, 500);
        return;
    }
    (void)http_reply_json(req, 200, doc.ptr, doc.len);
}

/* GET (HEAD with it) and the CORS preflight, in the discovery bucket. */
const struct http_route_def oauth_identity_jwks_route = {
    .path = "/.well-known/jwks.json",
    .methods = HTTP_METHODS_GET,
    .handler = oauth_identity_jwks_handle,
    .opts =
        {
            .rate_limited = true,
            .bucket = METRICS_ENDPOINT_DISCOVERY,
            .metric_route = METRICS_ROUTE_WELL_KNOWN,
            .rate_limited_reply = oauth_cors_rate_limited,
        },
    .preflight = oauth_cors_preflight_handle,
    .preflight_arg = OAUTH_CORS_METHODS_DOCUMENT,
};
