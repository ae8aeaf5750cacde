#include "wiring/routes.h"

#include "config.h"
#include "http/health.h"
#include "http/router.h"
#include "oauth/oauth.h"
#include "proxy/forward_auth.h"
#include "proxy/mount.h"
#include "wiring/app.h"

/* One row per handler file: its route definitions (written beside the
 * handler, with the whole policy of each route) and the argument its
 * handler gets. */
struct routes_entry {
    const struct http_route_def *defs;
    size_t count;
    void *arg;
};

void
routes_build(struct http_router *r, const struct app *app)
{
    /* The handlers only read the OAuth context. */
    void *oauth = (void *)&app->oauth;
    const struct routes_entry list[] = {
        {&http_health_healthz_route, 1, NULL},
        {oauth_discovery_routes, OAUTH_DISCOVERY_ROUTE_COUNT, app->discovery},
        {&oauth_register_route, 1, oauth},
        {&oauth_authorize_route, 1, oauth},
        {&oauth_consent_route, 1, oauth},
        {&oauth_callback_route, 1, oauth},
        {&oauth_token_route, 1, oauth},
        {&oauth_revoke_route, 1, oauth},
        /* UPSTREAM_IDENTITY_ASSERTION's public keys; absent when off. */
        {&oauth_identity_jwks_route, app->identity != NULL ? 1 : 0, app->identity},
        /* The MCP mount (SPEC.md 4): bearer and path checks before the
         * 16 MiB body, then peek, subject limiter, forward (proxy/mount.h). */
        {&proxy_mount_route, 1, (void *)&app->mcp},
    };
    for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
        for (size_t j = 0; j < list[i].count; j++) {
            http_router_add_def(r, &list[i].defs[j], app->cfg->mount, list[i].arg);
        }
    }
}

void
routes_build_forward_auth(struct http_router *r, const struct app *app)
{
    /* The decision endpoint runs the mount's checks with the mount's
     * context (proxy/forward_auth.h); its path is fixed, not mount-relative. */
    http_router_add_def(r, &proxy_forward_auth_route, NULL, (void *)&app->mcp);
}
