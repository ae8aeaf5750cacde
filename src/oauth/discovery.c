/* RFC 8414 authorization-server metadata and RFC 9728 protected-resource
 * metadata (SPEC.md 3.1), built once from the configuration: every byte of
 * each document is known at start-up, so a request only copies it out.
 *
 * Keys are written in lexicographic order and the body ends with "\n",
 * byte for byte what the Go binary's encoder produced. */
#include "oauth/oauth.h"

#include <assert.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/scope.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "config.h"
#include "http/reply.h"
#include "http/router.h"
#include "oauth/cors.h"
#include "oauth/reply.h"

/* A document: a few fixed keys plus the base URL, the mount and
 * MCP_RESOURCE_NAME, each an environment value, which Linux caps at 128 KiB
 * (MAX_ARG_STRLEN); escaped six bytes per byte at worst, 2 MiB always
 * suffices. */
#define DOCUMENT_MAX (2 * 1024 * 1024)

struct oauth_discovery {
    char *docs[OAUTH_DISCOVERY_DOC_COUNT];
    size_t lens[OAUTH_DISCOVERY_DOC_COUNT];
};

/* "<key>":"<base><suffix>", with the separator before it unless first. */
static int
append_url(struct buf *b, const char *key, const char *base, const char *suffix)
{
    struct buf url;
    buf_init(&url, DOCUMENT_MAX);
    int rc = url_join(&url, base, suffix);
    if (rc == 0) {
        rc = buf_appendf(b, "\"%s\":", key);
    }
    if (rc == 0) {
        rc = oauth_reply_append_json_string(b, buf_slice(&url));
    }
    buf_cleanup(&url);
    return rc;
}

/* "scopes_supported":[...] from a space-separated set ("" gives [], as
 * before MCP_SCOPES_SUPPORTED existed). Tokens are RFC 6749 3.3
 * scope-tokens (config.c), escaped all the same. */
static int
append_scopes(struct buf *b, const char *set)
{
    int rc = buf_append_str(b, "\"scopes_supported\":[");
    struct slice rest = slice_from_cstr(set);
    struct slice t;
    for (bool first = true; rc == 0 && scope_next(&rest, " ", &t); first = false) {
        rc = first ? 0 : buf_append_byte(b, ',');
        rc = rc == 0 ? oauth_reply_append_json_string(b, t) : rc;
    }
    return rc == 0 ? buf_append_byte(b, ']') : rc;
}

const char *
oauth_discovery_issuer(const struct config *cfg)
{
    return cfg->proxy_base_url;
}

/* RFC 8414 section 2; values per SPEC.md 3.1 (no jwks_uri, introspection
 * or userinfo: the proxy offers none of them), plus RFC 7009 revocation
 * (issue 14; docs/conformance.md). */
static int
build_as_metadata(const struct config *cfg, struct buf *b)
{
    const char *base = cfg->proxy_base_url;
    if (buf_append_byte(b, '{') != 0 ||
        append_url(b, "authorization_endpoint", base, "/authorize") != 0 ||
        buf_append_str(b, ",\"authorization_response_iss_parameter_supported\":true") != 0 ||
        /* draft-ietf-oauth-client-id-metadata-document 5: MUST be present
         * to signal support; Claude.ai also wants "none" below. */
        (cfg->cimd_enabled &&
         buf_append_str(b, ",\"client_id_metadata_document_supported\":true") != 0) ||
        buf_append_str(
            b, ",\"code_challenge_methods_supported\":[\"S256\"]"
               ",\"grant_types_supported\":[\"authorization_code\",\"refresh_token\"],") != 0 ||
        buf_append_str(b, "\"issuer\":") != 0 ||
        oauth_reply_append_json_string(b, slice_from_cstr(oauth_discovery_issuer(cfg))) != 0 ||
        /* DCR_ENABLED=false: no registration_endpoint, so clients go to
         * CIMD (MCP 2025-11-25 client registration priority). */
        (cfg->dcr_enabled && (buf_append_byte(b, ',') != 0 ||
                              append_url(b, "registration_endpoint", base, "/register") != 0)) ||
        buf_append_str(b, ",\"response_modes_supported\":[\"query\"]"
                          ",\"response_types_supported\":[\"code\"],") != 0 ||
        /* RFC 7009 POST /revoke (issue 14), authenticated exactly as
         * /token (oauth/token_client.h), so the same methods. */
        append_url(b, "revocation_endpoint", base, "/revoke") != 0 ||
        buf_append_str(b, cfg->cimd_enabled
                              ? ",\"revocation_endpoint_auth_methods_supported\":[\"none\","
                                "\"private_key_jwt\"],\"revocation_endpoint_auth_signing_alg_"
                                "values_supported\":[\"RS256\",\"PS256\",\"ES256\"],"
                              : ",\"revocation_endpoint_auth_methods_supported\":[\"none\"],") !=
            0 ||
        /* Every supported scope, offline_access included: MCP 2026-07-28
         * clients ask for it only when this document lists it. */
        append_scopes(b, cfg->scopes_supported) != 0 || buf_append_byte(b, ',') != 0 ||
        append_url(b, "token_endpoint", base, "/token") != 0 ||
        /* "none" first (Claude.ai looks for it before using CIMD);
         * private_key_jwt only for metadata-document clients, so only
         * with CIMD on (oauth/client_assertion.h). */
        buf_append_str(b, cfg->cimd_enabled
                              ? ",\"token_endpoint_auth_methods_supported\":[\"none\","
                                "\"private_key_jwt\"],\"token_endpoint_auth_signing_alg_values_"
                                "supported\":[\"RS256\",\"PS256\",\"ES256\"]}\n"
                              : ",\"token_endpoint_auth_methods_supported\":[\"none\"]}\n") != 0) {
        return -1;
    }
    return 0;
}

/* RFC 9728 section 2. resource_suffix is "/" for the root document (the
 * trailing slash is deliberate: Claude.ai compares it that way) and the
 * mount for the path-inserted one. */
static int
build_prm(const struct config *cfg, const char *resource_suffix, struct buf *b)
{
    const char *base = cfg->proxy_base_url;
    if (buf_append_str(b, "{\"authorization_servers\":[") != 0 ||
        oauth_reply_append_json_string(b, slice_from_cstr(base)) != 0 ||
        buf_append_str(b, "],\"bearer_methods_supported\":[\"header\"],") != 0 ||
        append_url(b, "resource", base, resource_suffix) != 0) {
        return -1;
    }
    const char *name = cfg->mcp_resource_name;
    if (name != NULL && name[0] != '\0' &&
        (buf_append_str(b, ",\"resource_name\":") != 0 ||
         oauth_reply_append_json_string(b, slice_from_cstr(name)) != 0)) {
        return -1;
    }
    /* MCP 2026-07-28 "Refresh tokens": never offline_access here. */
    return buf_append_byte(b, ',') == 0 && append_scopes(b, cfg->scopes_resource) == 0
               ? buf_append_str(b, "}\n")
               : -1;
}

static void
keep(struct oauth_discovery *d, enum oauth_discovery_doc which, int rc, struct buf *b)
{
    /* Every input is far below the cap (DOCUMENT_MAX): a failure here is
     * our mistake, not input. */
    assert(rc == 0);
    (void)rc;
    d->lens[which] = b->len;
    d->docs[which] = buf_take(b);
}

struct oauth_discovery *
oauth_discovery_new(const struct config *cfg)
{
    struct oauth_discovery *d = xcalloc(1, sizeof(*d));
    struct buf b;
    buf_init(&b, DOCUMENT_MAX);
    keep(d, OAUTH_DISCOVERY_AS_METADATA, build_as_metadata(cfg, &b), &b);
    keep(d, OAUTH_DISCOVERY_PRM_ROOT, build_prm(cfg, "/", &b), &b);
    keep(d, OAUTH_DISCOVERY_PRM_MOUNT, build_prm(cfg, cfg->mount, &b), &b);
    buf_cleanup(&b);
    return d;
}

void
oauth_discovery_free(struct oauth_discovery *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < OAUTH_DISCOVERY_DOC_COUNT; i++) {
        xfree(d->docs[i]);
    }
    xfree(d);
}

struct slice
oauth_discovery_document(const struct oauth_discovery *d, enum oauth_discovery_doc which)
{
    if ((unsigned)which >= OAUTH_DISCOVERY_DOC_COUNT) {
        return slice_make("", 0);
    }
    return slice_make(d->docs[which], d->lens[which]);
}

/* GET and HEAD (the output layer drops the body of a HEAD answer but keeps
 * its Content-Length). Cacheable by design: no Cache-Control, as in Go. */
static void
serve(struct http_request *req, const struct oauth_discovery *d, enum oauth_discovery_doc which)
{
    (void)oauth_cors_allow_origin(req);
    (void)http_reply_json(req, 200, d->docs[which], d->lens[which]);
}

void
oauth_discovery_as_metadata_handle(struct http_request *req, void *arg)
{
    serve(req, arg, OAUTH_DISCOVERY_AS_METADATA);
}

void
oauth_discovery_prm_root_handle(struct http_request *req, void *arg)
{
    serve(req, arg, OAUTH_DISCOVERY_PRM_ROOT);
}

void
oauth_discovery_prm_mount_handle(struct http_request *req, void *arg)
{
    serve(req, arg, OAUTH_DISCOVERY_PRM_MOUNT);
}

void
oauth_discovery_not_found_handle(struct http_request *req, void *arg)
{
    (void)arg;
    /* A browser client probing for OIDC discovery can then read the 404
     * instead of failing on CORS. */
    (void)oauth_cors_allow_origin(req);
    (void)oauth_reply_not_found(req);
}

#define PRM "/.well-known/oauth-protected-resource"
#define AS "/.well-known/oauth-authorization-server"
#define OIDC "/.well-known/openid-configuration"
#define DOC_OPTS                                                                                   \
    {                                                                                              \
        .rate_limited = true, .bucket = METRICS_ENDPOINT_DISCOVERY,                                \
        .metric_route = METRICS_ROUTE_WELL_KNOWN, .rate_limited_reply = oauth_cors_rate_limited    \
    }
#define DOC_CORS                                                                                   \
    .preflight = oauth_cors_preflight_handle, .preflight_arg = OAUTH_CORS_METHODS_DOCUMENT

/* SPEC.md 3.1 and 3.0.2. The four documents, HEAD with GET, one shared
 * bucket; with a custom mount only its own path-inserted variants exist
 * (no "/mcp" fallbacks). Preflights are not rate limited: a browser sends
 * one before the request it counts against. Then the 404 carve-outs, any
 * method: "{mount}/.well-known/" is a longer prefix than the mount, so it
 * wins over the auth-gated proxy and a client probing there gets 404, not
 * 401. */
const struct http_route_def oauth_discovery_routes[OAUTH_DISCOVERY_ROUTE_COUNT] = {
    {.path = PRM,
     .methods = HTTP_METHODS_GET,
     .handler = oauth_discovery_prm_root_handle,
     .opts = DOC_OPTS,
     DOC_CORS},
    {.path = PRM,
     .place = HTTP_ROUTE_AFTER_MOUNT,
     .methods = HTTP_METHODS_GET,
     .handler = oauth_discovery_prm_mount_handle,
     .opts = DOC_OPTS,
     DOC_CORS},
    {.path = AS,
     .methods = HTTP_METHODS_GET,
     .handler = oauth_discovery_as_metadata_handle,
     .opts = DOC_OPTS,
     DOC_CORS},
    {.path = AS,
     .place = HTTP_ROUTE_AFTER_MOUNT,
     .methods = HTTP_METHODS_GET,
     .handler = oauth_discovery_as_metadata_handle,
     .opts = DOC_OPTS,
     DOC_CORS},
    {.path = OIDC,
     .methods = HTTP_METHODS_ANY,
     .handler = oauth_discovery_not_found_handle,
     .opts = DOC_OPTS},
    {.path = OIDC,
     .place = HTTP_ROUTE_AFTER_MOUNT,
     .methods = HTTP_METHODS_ANY,
     .handler = oauth_discovery_not_found_handle,
     .opts = DOC_OPTS},
    {.path = "/.well-known/",
     .place = HTTP_ROUTE_BEFORE_MOUNT,
     .prefix = true,
     .methods = HTTP_METHODS_ANY,
     .handler = oauth_discovery_not_found_handle,
     .opts = DOC_OPTS},
};
