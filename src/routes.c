#include "routes.h"

#include "http/health.h"
#include "http/router.h"
#include "oauth/oauth.h"
#include "oauth/reply.h"

/* GET /authorize (SPEC.md 3.3) and POST /consent (3.5): per-IP buckets of
 * their own (3.0.3, independent of each other); no CORS (SPEC preface fix
 * 10: the consent and callback endpoints never answer preflights). HEAD
 * comes with GET. /consent's 1 MiB body cap answers the JSON 413. */
static void
add_authorize_and_consent(struct http_router *r, const struct app *app)
{
    const struct http_route_opts authorize = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_AUTHORIZE,
    };
    const struct http_route_opts consent = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_CONSENT,
        .too_large = oauth_reply_too_large,
    };
    http_router_add(r, HTTP_METHODS_GET, "/authorize", oauth_authorize, (void *)app, &authorize);
    http_router_add(r, HTTP_METHODS_POST, "/consent", oauth_consent, (void *)app, &consent);
}

void
routes_build(struct http_router *r, const struct app *app)
{
    /* SPEC.md 3.9: liveness, no rate limit; HEAD through GET. */
    http_router_add(r, HTTP_METHODS_GET, "/healthz", http_health_healthz, NULL, NULL);
    add_authorize_and_consent(r, app);
}
