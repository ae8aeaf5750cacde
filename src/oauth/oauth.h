/* The OAuth endpoints' entry points (STYLE.md 3.2: one header for every
 * handler file in oauth/). Each handler file exports its route definition
 * (path, methods, body cap, rate-limit bucket, CORS preflight, handler)
 * beside the handler; routes.c registers the list with each handler's
 * argument, named below. Handlers answer through oauth/reply.h and never
 * block. */
#pragma once

#include <stddef.h>

#include "base/slice.h"
#include "http/router.h" /* struct http_route_def, complete for the array below */

struct config;
struct http_request;
struct oidc_jwks;
struct oidc_provider;
struct oauth_cimd;
struct oidc_throttle;
struct policy_holder;
struct seal_ring;

/* What the OAuth handlers use of the process: the route argument of
 * /register, /authorize, /consent, /callback and /token. Built by the
 * wiring (app.c) once the services exist, read-only afterwards and shared
 * by every worker; every pointer is borrowed and outlives the router. */
struct oauth {
    const struct config *cfg;
    struct seal_ring *seal;             /* seals and opens every grant */
    struct oidc_provider *oidc;         /* the IdP's metadata (/authorize, /callback) */
    struct oidc_jwks *jwks;             /* the IdP's keys (/callback's id_token) */
    struct oidc_throttle *idp_throttle; /* /callback's IdP exchanges (SPEC.md 6.7) */
    struct oauth_cimd *cimd;            /* metadata documents (oauth/cimd.h); NULL when
                                           CIMD_ENABLED=false */
    struct policy_holder *policy;       /* the step_up scopes (oauth/stepup_rules.h) of the
                                           current policy; NULL when no MCP_POLICY_FILE */
};

/* ---- discovery.c: RFC 8414 and RFC 9728 documents (SPEC.md 3.1) ---- */

/* The three documents, built once at start-up from the configuration and
 * read-only afterwards (shared by every worker). Owned by struct app. */
struct oauth_discovery;

enum oauth_discovery_doc {
    OAUTH_DISCOVERY_AS_METADATA = 0, /* RFC 8414, served at both AS paths */
    OAUTH_DISCOVERY_PRM_ROOT,        /* RFC 9728, resource = base + "/" */
    OAUTH_DISCOVERY_PRM_MOUNT,       /* RFC 9728, resource = base + mount */
    OAUTH_DISCOVERY_DOC_COUNT,
};

/* The RFC 8414 `issuer` of the AS metadata: PROXY_BASE_URL exactly as
 * loaded (trailing slashes already removed). Every authorization response
 * carries it as `iss` (RFC 9207), success and error alike, so clients that
 * compare it byte for byte with the metadata they fetched find them equal:
 * this function is the one place both take it from. Borrowed from cfg. */
const char *oauth_discovery_issuer(const struct config *cfg);

/* Builds the documents from cfg->proxy_base_url, cfg->mount and
 * cfg->mcp_resource_name (cfg is read, not kept). Never returns NULL. */
struct oauth_discovery *oauth_discovery_new(const struct config *cfg);
/* NULL is a no-op. */
void oauth_discovery_free(struct oauth_discovery *d);
/* A document's body exactly as served (JSON + "\n"). Borrowed from d. */
struct slice oauth_discovery_document(const struct oauth_discovery *d,
                                      enum oauth_discovery_doc which);

/* GET/HEAD handlers; arg is the struct oauth_discovery. 200,
 * application/json, Access-Control-Allow-Origin: *. */
void oauth_discovery_as_metadata_handle(struct http_request *req, void *arg);
void oauth_discovery_prm_root_handle(struct http_request *req, void *arg);
void oauth_discovery_prm_mount_handle(struct http_request *req, void *arg);
/* Any method on the carve-outs (/.well-known/openid-configuration[{mount}],
 * {mount}/.well-known/...): 404 {"error":"not_found"}, arg unused. */
void oauth_discovery_not_found_handle(struct http_request *req, void *arg);

/* The documents' routes and their preflights, and the 404 carve-outs;
 * the argument is the struct oauth_discovery. */
#define OAUTH_DISCOVERY_ROUTE_COUNT 7
extern const struct http_route_def oauth_discovery_routes[OAUTH_DISCOVERY_ROUTE_COUNT];

/* ---- register.c: POST /register, RFC 7591 (SPEC.md 3.2) ---- */

/* arg is the const struct oauth (configuration and seal key ring). */
void oauth_register_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_register_route;

/* ---- authorize.c: GET /authorize (SPEC.md 3.3) ---- */

/* arg is the const struct oauth (configuration, seal key ring, OIDC
 * provider). Answers a JSON error, a 302 error to the client's
 * redirect_uri, the consent page (RENDER_CONSENT_PAGE, default) or a 302
 * to the IdP (silent fork). Rate-limit bucket "authorize". */
void oauth_authorize_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_authorize_route;

/* ---- consent.c: POST /consent (SPEC.md 3.5) ---- */

/* arg is the const struct oauth. Uses the worker's replay store (store_of_worker;
 * NULL = no single-use claim) for the consent token's jti. Answers a JSON
 * error, the consent page again (replay), or the navigation interstitial
 * (SPEC.md 3.6) to the client (deny) or the IdP (approve). Rate-limit
 * bucket "consent"; route option too_large = oauth_reply_too_large. */
void oauth_consent_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_consent_route;

/* ---- callback.c: GET /callback (SPEC.md 3.7) ---- */

/* The IdP's return; answers now or after the replay-store claim, the code
 * exchange and the id_token check. arg is the const struct oauth. */
void oauth_callback_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_callback_route;

/* ---- token.c: POST /token (SPEC.md 3.8) ---- */

/* Both grants; answers now or after the client lookup and the replay-store
 * claim. Every answer carries Access-Control-Allow-Origin: * (SPEC preface
 * fix 10). arg is the const struct oauth. */
void oauth_token_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_token_route;

/* ---- revoke.c: POST /revoke, RFC 7009 (issue 14) ---- */

/* Revokes the family of a token the authenticated client owns; 200 for
 * every token it does not (unknown, expired, another client's), 503 when
 * the revocation cannot be written. Client authentication as /token's
 * (oauth/token_client.h); CORS as /token's. arg is the const struct oauth. */
void oauth_revoke_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_revoke_route;

/* ---- identity_jwks.c: GET /.well-known/jwks.json (docs/identity-assertion.md) ---- */

/* The public keys of the upstream identity assertion (identity.h), for the
 * upstream to verify it. arg is the const struct identity_keys. 200,
 * application/json, Access-Control-Allow-Origin: *, a short public
 * Cache-Control. Registered only with UPSTREAM_IDENTITY_ASSERTION=true;
 * otherwise the path is the /.well-known/ 404 carve-out. */
void oauth_identity_jwks_handle(struct http_request *req, void *arg);
extern const struct http_route_def oauth_identity_jwks_route;
