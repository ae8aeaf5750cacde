#include "routes.h"

#include "http/health.h"
#include "http/router.h"
#include "oauth/cors.h"
#include "oauth/oauth.h"

void
routes_build(struct http_router *r, const struct app *app)
{
    /* SPEC.md 3.9: liveness, no rate limit; HEAD through GET. */
    http_router_add(r, HTTP_METHODS_GET, "/healthz", http_health_healthz, NULL, NULL);

    /* The login flow's back half: GET /callback (SPEC.md 3.7) and POST
     * /token (3.8), whose 413 carries CORS like its other answers (SPEC
     * preface fix 10). The handlers only read the app. */
    void *app_arg = (void *)app;
    const struct http_route_opts callback_opts = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_CALLBACK,
    };
    http_router_add(r, HTTP_METHODS_GET, "/callback", oauth_callback_handle, app_arg,
                    &callback_opts);
    const struct http_route_opts token_opts = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_TOKEN,
        .too_large = oauth_cors_too_large,
    };
    http_router_add(r, HTTP_METHODS_POST, "/token", oauth_token_handle, app_arg, &token_opts);
}
