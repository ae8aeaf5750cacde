#include "routes.h"

#include "http/health.h"
#include "http/router.h"
#include "proxy/mount.h"

void
routes_build(struct http_router *r, const struct app *app)
{
    /* SPEC.md 3.9: liveness, no rate limit; HEAD through GET. */
    http_router_add(r, HTTP_METHODS_GET, "/healthz", http_health_healthz, NULL, NULL);

    /* MCP mount (SPEC.md 4): "{mount}" and "{mount}/...", every method; bearer and path
     * checks before the 16 MiB body, then peek, subject limiter, forward (proxy/mount.h).
     * A prefix route: exact routes and longer prefixes ({mount}/.well-known/) win. */
    proxy_mount_add_routes(r, app);
}
