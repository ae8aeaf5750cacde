/* The OAuth endpoints' entry points (STYLE.md 3.2: one header for every
 * handler file in oauth/). Each handler is an http_handler_fn registered in
 * routes.c; its route argument is named below. Handlers answer through
 * oauth/reply.h and never block. */
#pragma once

struct http_request;

/* ---- authorize.c: GET /authorize (SPEC.md 3.3) ---- */

/* arg is the const struct app (configuration, seal key ring, OIDC
 * provider). Answers a JSON error, a 302 error to the client's
 * redirect_uri, the consent page (RENDER_CONSENT_PAGE, default) or a 302
 * to the IdP (silent fork). Rate-limit bucket "authorize". */
void oauth_authorize(struct http_request *req, void *arg);

/* ---- consent.c: POST /consent (SPEC.md 3.5) ---- */

/* arg is the const struct app. Uses the worker's replay store (w->store;
 * NULL = no single-use claim) for the consent token's jti. Answers a JSON
 * error, the consent page again (replay), or the navigation interstitial
 * (SPEC.md 3.6) to the client (deny) or the IdP (approve). Rate-limit
 * bucket "consent"; route option too_large = oauth_reply_too_large. */
void oauth_consent(struct http_request *req, void *arg);
