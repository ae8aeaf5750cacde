#include "wiring/routes.h"

#include "base/buf.h"
#include "base/url.h"
#include "config.h"
#include "http/health.h"
#include "http/router.h"
#include "oauth/cors.h"
#include "oauth/oauth.h"
#include "oauth/reply.h"
#include "proxy/mount.h"
#include "wiring/app.h"

/* "<a><b>" into b (reset first), as a C string for the router (which
 * copies it). Paths are a fixed prefix plus the validated mount, an
 * environment value (at most 128 KiB on Linux): 256 KiB always suffices. */
#define ROUTE_PATH_MAX (256 * 1024)

static const char *
join(struct buf *b, const char *a, const char *b2)
{
    buf_reset(b);
    if (url_join(b, a, b2) != 0) {
        return NULL;
    }
    return buf_cstr(b);
}

/* Discovery (SPEC.md 3.1, 3.0.2), /register (3.2), and the CORS preflights
 * of /register and /token (SPEC preface fix 10). */
static void
add_discovery_and_register(struct http_router *r, const struct app *app)
{
    const char *mount = app->cfg->mount;
    void *docs = app->discovery;
    struct buf path;
    buf_init(&path, ROUTE_PATH_MAX);
    const struct http_route_opts discovery = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_DISCOVERY,
    };
    unsigned get = HTTP_METHODS_GET; /* HEAD comes with GET */
    unsigned options = HTTP_METHODS_BIT(HTTP_METHOD_OPTIONS);
    void *doc_methods = OAUTH_CORS_METHODS_DOCUMENT;
    void *post_methods = OAUTH_CORS_METHODS_POST;

    /* The four documents; with a custom mount only its own path-inserted
     * variants exist (no "/mcp" fallbacks). Preflights are not rate
     * limited: a browser sends one before the request it counts against. */
    static const char prm[] = "/.well-known/oauth-protected-resource";
    static const char as[] = "/.well-known/oauth-authorization-server";
    http_router_add(r, get, prm, oauth_discovery_prm_root, docs, &discovery);
    http_router_add(r, get, join(&path, prm, mount), oauth_discovery_prm_mount, docs, &discovery);
    http_router_add(r, get, as, oauth_discovery_as_metadata, docs, &discovery);
    http_router_add(r, get, join(&path, as, mount), oauth_discovery_as_metadata, docs, &discovery);
    http_router_add(r, options, prm, oauth_cors_preflight, doc_methods, NULL);
    http_router_add(r, options, join(&path, prm, mount), oauth_cors_preflight, doc_methods, NULL);
    http_router_add(r, options, as, oauth_cors_preflight, doc_methods, NULL);
    http_router_add(r, options, join(&path, as, mount), oauth_cors_preflight, doc_methods, NULL);

    /* The 404 carve-outs, any method. "{mount}/.well-known/" is a longer
     * prefix than the mount, so it wins over the auth-gated proxy: a
     * client probing there gets 404, not 401. */
    static const char oidc[] = "/.well-known/openid-configuration";
    unsigned any = HTTP_METHODS_ANY;
    http_router_add(r, any, oidc, oauth_discovery_not_found, NULL, &discovery);
    http_router_add(r, any, join(&path, oidc, mount), oauth_discovery_not_found, NULL, &discovery);
    http_router_add_prefix(r, any, join(&path, mount, "/.well-known/"), oauth_discovery_not_found,
                           NULL, &discovery);

    /* POST /register: the JSON 413 is sent before the body is read. */
    const struct http_route_opts reg = {
        .rate_limited = true,
        .bucket = METRICS_ENDPOINT_REGISTER,
        .too_large = oauth_cors_too_large,
    };
    http_router_add(r, HTTP_METHODS_POST, "/register", oauth_register, (void *)app, &reg);
    http_router_add(r, options, "/register", oauth_cors_preflight, post_methods, NULL);
    /* /token's POST route is the token handler's; its preflight is here
     * with the other CORS answers. */
    http_router_add(r, options, "/token", oauth_cors_preflight, post_methods, NULL);
    buf_cleanup(&path);
}

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
    add_discovery_and_register(r, app);
    add_authorize_and_consent(r, app);

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

    /* MCP mount (SPEC.md 4): "{mount}" and "{mount}/...", every method; bearer and path
     * checks before the 16 MiB body, then peek, subject limiter, forward (proxy/mount.h).
     * A prefix route: exact routes and longer prefixes ({mount}/.well-known/) win. */
    proxy_mount_add_routes(r, &app->mcp);
}
