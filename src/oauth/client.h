/* oauth/client: resolves a client_id to the client's registration, for
 * GET /authorize (SPEC.md 3.3 steps 4-7) and POST /token (3.8, client
 * validation, with SPEC preface fix 13).
 *
 * One asynchronous lookup, whatever the source. Two sources: the sealed
 * registration minted by POST /register (grants_open_client), and, for a
 * client_id that starts with "https://" while CIMD_ENABLED, its client ID
 * metadata document (oauth/cimd.h: fetched through the worker's fetch,
 * cached process-wide). Handlers start a lookup, keep the handle, cancel
 * it if their client leaves, and get one answer on the loop. They never
 * learn where the registration came from.
 *
 * Each failure is metered and logged here, once, with SPEC.md's names:
 * mcp_auth_access_denied_total{reason} +1 and a warn line
 * access_denied_<reason> (client_id_invalid, client_typ_mismatch,
 * client_audience_mismatch, client_registration_expired,
 * client_metadata_invalid), carrying the internal id and, for an expired
 * client, expired_at; a refused metadata document's line carries its
 * host and the reason (never the document). The caller only sends
 * the error it is handed (it must not meter or log the denial again). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "oauth/error.h"

struct http_request;
struct oauth;
struct oauth_client_lookup;

enum oauth_client_rc {
    OAUTH_CLIENT_OK = 0,
    OAUTH_CLIENT_ERR_INVALID,           /* does not open, or not a client payload (also empty) */
    OAUTH_CLIENT_ERR_TYP_MISMATCH,      /* opened, typ is not "client" */
    OAUTH_CLIENT_ERR_AUDIENCE_MISMATCH, /* registered with another PROXY_BASE_URL */
    OAUTH_CLIENT_ERR_EXPIRED,           /* exp != 0 and now > exp */
    OAUTH_CLIENT_ERR_METADATA,          /* an https client_id whose metadata document is refused */
    OAUTH_CLIENT_RC_COUNT,
};

/* Which endpoint asks; it decides the error's shape (oauth_client_error). */
enum oauth_client_site {
    OAUTH_CLIENT_SITE_AUTHORIZE = 0,
    OAUTH_CLIENT_SITE_TOKEN,
    OAUTH_CLIENT_SITE_COUNT,
};

/* A resolved registration. Every string is NUL-terminated and never NULL. */
struct oauth_client {
    const char *id;                   /* internal client id (UUID), or the metadata document URL */
    const char *name;                 /* client_name, "" when none */
    const char *const *redirect_uris; /* registered, verbatim */
    size_t redirect_uri_count;
    int64_t exp; /* Unix s; 0 = never expires */
    /* A metadata document's keys for private_key_jwt (oauth/client_assertion.h):
     * the inline JWK Set as JSON text, or the jwks_uri; both NULL for a
     * sealed registration (it has no keys) and a document naming none. */
    const char *jwks;
    const char *jwks_uri;
};

/* The access_denied reason label ("client_id_invalid" ...); "ok" for OK.
 * Static. */
const char *oauth_client_rc_str(enum oauth_client_rc rc);

/* The error a site answers for rc (pure; rc must not be OK):
 *
 *   rc                 AUTHORIZE (SPEC.md 3.3)           TOKEN (SPEC preface fix 13)
 *   INVALID            400 invalid_client                401 invalid_client
 *   TYP_MISMATCH           "unknown client_id"               "invalid client_id"
 *   AUDIENCE_MISMATCH  400 invalid_client                401 invalid_client
 *                          "client registered for a different audience" (both)
 *   EXPIRED            400 invalid_client                401 invalid_client
 *                          "client registration expired" (both)
 *   METADATA           400 invalid_client                401 invalid_client
 *                          "client metadata document refused" (both; the lookup
 *                          itself answers with the reason, oauth/cimd_rules.h)
 *
 * At /token every one of these is HTTP 401 invalid_client, never 400
 * invalid_grant: MCP clients (Claude among them) re-run dynamic
 * registration on exactly that answer, so an expired registration heals
 * itself. The strings are static. */
void oauth_client_error(enum oauth_client_rc rc, enum oauth_client_site site,
                        struct oauth_error *out);

/* The answer, on the request's loop, never from inside
 * oauth_client_resolve_start(). rc OAUTH_CLIENT_OK: client is the
 * registration, borrowed and valid until the request is freed; err is
 * NULL. Otherwise client is NULL and err is the error to send as is
 * (oauth_client_error of the lookup's site), already metered and logged.
 * The lookup's handle is gone when this runs: clear your copy first and
 * do not cancel it. */
typedef void (*oauth_client_done_fn)(enum oauth_client_rc rc, const struct oauth_client *client,
                                     const struct oauth_error *err, void *arg);

/* Starts resolving client_id (the value the client sent, borrowed only for
 * this call) for a request on its worker's loop, with the OAuth context
 * (oauth/oauth.h; its seal ring and PROXY_BASE_URL). Callers check for an empty client_id first,
 * because the sites answer it differently (/authorize: client_id_missing; /token: "missing required
 * parameters"); an empty one resolves to INVALID.
 *
 * Returns the handle, never NULL. The answer comes exactly once through cb,
 * unless the lookup is cancelled first. A handler that returns while a
 * lookup is outstanding cancels it from its http_request_on_abort callback.
 *
 * Usage at /token:
 *
 *   ctx->lookup = oauth_client_resolve_start(req, oauth, client_id,
 *                                            OAUTH_CLIENT_SITE_TOKEN, on_client, ctx);
 *   http_request_on_abort(req, on_abort, ctx);    (on_abort cancels ctx->lookup)
 *   ...
 *   static void on_client(rc, client, err, arg) {
 *       ctx->lookup = NULL;
 *       if (rc != OAUTH_CLIENT_OK) { oauth_reply_error(ctx->req, err); return; }
 *       compare client->id with the code's cid, ...
 *   } */
struct oauth_client_lookup *oauth_client_resolve_start(struct http_request *req,
                                                       const struct oauth *oauth,
                                                       struct slice client_id,
                                                       enum oauth_client_site site,
                                                       oauth_client_done_fn cb, void *arg);

/* After this the callback never runs. NULL is a no-op. Call it on the
 * request's worker thread, before the callback has run. */
void oauth_client_resolve_cancel(struct oauth_client_lookup *lookup);
