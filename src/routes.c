#include "routes.h"

#include "http/health.h"
#include "http/router.h"

void
routes_build(struct http_router *r, const struct app *app)
{
    (void)app;
    /* SPEC.md 3.9: liveness, no rate limit; HEAD through GET. */
    http_router_add(r, HTTP_METHODS_GET, "/healthz", http_health_healthz, NULL, NULL);
}
