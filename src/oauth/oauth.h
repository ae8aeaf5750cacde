/* The OAuth endpoints' entry points (STYLE.md 3.2: one header for every
 * handler file in oauth/). Each handler is an http_handler_fn registered in
 * routes.c; its route argument is named below. Handlers answer through
 * oauth/reply.h and never block. */
#pragma once

#include <stddef.h>

#include "base/slice.h"

struct config;
struct http_request;

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
void oauth_discovery_as_metadata(struct http_request *req, void *arg);
void oauth_discovery_prm_root(struct http_request *req, void *arg);
void oauth_discovery_prm_mount(struct http_request *req, void *arg);
/* Any method on the carve-outs (/.well-known/openid-configuration[{mount}],
 * {mount}/.well-known/...): 404 {"error":"not_found"}, arg unused. */
void oauth_discovery_not_found(struct http_request *req, void *arg);

/* ---- register.c: POST /register, RFC 7591 (SPEC.md 3.2) ---- */

/* arg is the const struct app (configuration and seal key ring). */
void oauth_register(struct http_request *req, void *arg);

/* ---- authorize.c: GET /authorize (SPEC.md 3.3) ---- */

/* arg is the const struct app (configuration, seal key ring, OIDC
 * provider). Answers a JSON error, a 302 error to the client's
 * redirect_uri, the consent page (RENDER_CONSENT_PAGE, default) or a 302
 * to the IdP (silent fork). Rate-limit bucket "authorize". */
void oauth_authorize(struct http_request *req, void *arg);

/* ---- consent.c: POST /consent (SPEC.md 3.5) ---- */

/* arg is the const struct app. Uses the worker's replay store (store_of_worker;
 * NULL = no single-use claim) for the consent token's jti. Answers a JSON
 * error, the consent page again (replay), or the navigation interstitial
 * (SPEC.md 3.6) to the client (deny) or the IdP (approve). Rate-limit
 * bucket "consent"; route option too_large = oauth_reply_too_large. */
void oauth_consent(struct http_request *req, void *arg);

/* ---- callback.c: GET /callback (SPEC.md 3.7) ---- */

/* The IdP's return; answers now or after the replay-store claim, the code
 * exchange and the id_token check. arg is the const struct app. */
void oauth_callback_handle(struct http_request *req, void *arg);

/* ---- token.c: POST /token (SPEC.md 3.8) ---- */

/* Both grants; answers now or after the client lookup and the replay-store
 * claim. Every answer carries Access-Control-Allow-Origin: * (SPEC preface
 * fix 10). arg is the const struct app. */
void oauth_token_handle(struct http_request *req, void *arg);
