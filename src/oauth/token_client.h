/* oauth/token_client: the front shared by the endpoints a client calls
 * with its own credentials, POST /token (SPEC.md 3.8) and POST /revoke
 * (RFC 7009: "the client also includes its authentication credentials as
 * described in Section 2.3 of RFC 6749", i.e. as at the token endpoint).
 * One code path, so the two cannot drift: the form read the same way
 * (parameters in the body only, no Authorization header), then the
 * client resolved (oauth/client.h) and, when it sends a client_assertion,
 * authenticated by RFC 7523 (oauth/token_assertion.h, docs/cimd.md).
 * Without an assertion the client is public and proves nothing more than
 * its client_id; the caller compares it with the token's.
 *
 * Every refusal is answered here (after clearing the request's abort
 * callback), metered and logged once; the caller hears only of success.
 * Arena-owned by the request. Worker thread only. */
#pragma once

#include <stdbool.h>

struct form_params;
struct http_request;
struct oauth;
struct oauth_client;
struct oauth_token_client;

/* Which endpoint reads the form: only the wording of its refusals differs. */
enum oauth_token_client_site {
    OAUTH_TOKEN_CLIENT_SITE_TOKEN = 0,
    OAUTH_TOKEN_CLIENT_SITE_REVOKE,
    OAUTH_TOKEN_CLIENT_SITE_COUNT,
};

/* Runs once the client is known and, if it sent an assertion, verified
 * (its jti spent). client is borrowed, valid until the request is freed. */
typedef void (*oauth_token_client_done_fn)(void *arg, const struct oauth_client *client);

/* A step in req's arena (oauth is borrowed). NULL only when the arena is
 * exhausted; the caller answers 500. */
struct oauth_token_client *oauth_token_client_new(struct http_request *req,
                                                  const struct oauth *oauth,
                                                  enum oauth_token_client_site site);

/* Reads the request's form (SPEC.md 3.8 steps 1-3): a query string and an
 * Authorization header are refused (400 invalid_request; 401
 * invalid_client with a Basic challenge: only "none" and
 * private_key_jwt are offered); another media type is an empty form.
 * true with *out filled (form_params_cleanup it); false when answered. */
bool oauth_token_client_read_form(struct oauth_token_client *c, struct form_params *out);

/* The form's client_assertion_type / client_assertion (RFC 7523 2.2):
 * checked up front and kept for the start. *client_id is the form's
 * client_id; an assertion naming the client replaces an empty one with its
 * iss (arena). true to go on; false when answered (401 invalid_client). */
bool oauth_token_client_read_assertion(struct oauth_token_client *c, const struct form_params *p,
                                       const char **client_id);

/* Resolves client_id (borrowed for this call), then checks the assertion
 * read above, if any. done runs once on success, always from the loop;
 * every failure is answered here (401 invalid_client; 503
 * replay_store_unavailable when the assertion's jti cannot be spent). */
void oauth_token_client_start(struct oauth_token_client *c, const char *client_id,
                              oauth_token_client_done_fn done, void *arg);

/* From the request's abort callback: after this done never runs. NULL and
 * an idle step are no-ops. */
void oauth_token_client_cancel(struct oauth_token_client *c);
