/* OAuth error codes and the JSON error envelope (SPEC.md 3.0.5).
 *
 * The table of `error` values, struct oauth_error (what a handler decided:
 * status, code, description, advisory error_code), the description
 * sanitiser and the body formatter. Pure: the HTTP reply that sends the body
 * (headers, logging, metrics) lives with the HTTP layer, not here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"
#include "bounds.h"
#include "grants.h"

enum oauth_error_code {
    OAUTH_ERROR_INVALID_REQUEST,
    OAUTH_ERROR_INVALID_CLIENT,
    OAUTH_ERROR_INVALID_GRANT,
    OAUTH_ERROR_UNAUTHORIZED_CLIENT,
    OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE,
    OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE,
    OAUTH_ERROR_INVALID_SCOPE,
    OAUTH_ERROR_INVALID_TARGET,
    OAUTH_ERROR_INVALID_REDIRECT_URI,
    OAUTH_ERROR_INVALID_CLIENT_METADATA,
    OAUTH_ERROR_ACCESS_DENIED,
    OAUTH_ERROR_SERVER_ERROR,
    OAUTH_ERROR_TEMPORARILY_UNAVAILABLE,
    OAUTH_ERROR_INVALID_TOKEN,
    OAUTH_ERROR_INSUFFICIENT_SCOPE,
    OAUTH_ERROR_NOT_FOUND,
    OAUTH_ERROR_CODE_COUNT,
};

/* One decided error. Strings are borrowed (normally static) and must
 * outlive the reply; description and error_code may be NULL or "" (then
 * the key is omitted). */
struct oauth_error {
    int status;                 /* HTTP status: 400, 401, 403, 413, 429, 500, 502, 503 */
    enum oauth_error_code code; /* the `error` value */
    const char *description;    /* `error_description`, sanitised when formatted */
    const char *error_code;     /* proxy-specific advisory `error_code` */
};

/* Room for a sanitised description and its terminator. */
#define OAUTH_ERROR_DESCRIPTION_BUF (BOUNDS_ERROR_DESCRIPTION_MAX + 1)

/* The wire string ("invalid_request" ...); "server_error" for an
 * out-of-range code. Static. */
const char *oauth_error_code_str(enum oauth_error_code code);
/* The code whose wire string equals s exactly, or -1. */
int oauth_error_code_from_str(struct slice s);

/* Fills *err: status, code and description, no error_code. */
void oauth_error_set(struct oauth_error *err, int status, enum oauth_error_code code,
                     const char *description);

/* SPEC.md 3.0.5's sanitiser: keeps the first BOUNDS_ERROR_DESCRIPTION_MAX
 * bytes of in, then drops every byte outside 0x20-0x7E. Writes the result
 * and a NUL into out (OAUTH_ERROR_DESCRIPTION_BUF bytes) and returns its
 * length. */
size_t oauth_error_sanitize_description(struct slice in, char *out);

/* Appends the envelope body: {"error":"...","error_description":"...",
 * "error_code":"..."} with the last two keys omitted when empty, then "\n".
 * The description is sanitised first. Like Go's encoder, '<', '>' and '&'
 * are written as \u003c, \u003e, \u0026. Returns 0, or -1 at b's cap (b
 * may then hold a partial body; reset it). */
int oauth_error_format_json(const struct oauth_error *err, struct buf *b)
    __attribute__((warn_unused_result));

/* The sealed tokens a client hands back to us, for the error a failed
 * grants_open_* is answered with. */
enum oauth_error_token {
    OAUTH_ERROR_TOKEN_CONSENT = 0, /* POST /consent's consent_token (SPEC.md 3.5 steps 6-8) */
    OAUTH_ERROR_TOKEN_SESSION,     /* GET /callback's state (3.7 steps 4-6) */
    OAUTH_ERROR_TOKEN_CODE,        /* POST /token's code (3.8 code steps 3-5) */
    OAUTH_ERROR_TOKEN_REFRESH,     /* POST /token's refresh_token (3.8 refresh steps 2-6) */
    OAUTH_ERROR_TOKEN_COUNT,
};

/* The one table from a grants_open_* outcome to the error its endpoint
 * answers, always status 400:
 *
 *   token    error            GRANTS_ERR_AUDIENCE / GRANTS_ERR_EXPIRED / any other
 *   consent  invalid_request  "consent token bound to a different audience" /
 *                             "consent token expired" / "consent token invalid or expired"
 *   session  invalid_request  "session bound to a different audience" /
 *                             "session expired" / "unknown or expired state"
 *   code     invalid_grant    "authorization code bound to a different audience" /
 *                             "authorization code expired" /
 *                             "invalid or expired authorization code"
 *   refresh  invalid_grant    "refresh token bound to a different audience" /
 *                             "refresh token expired" / "invalid or expired refresh token"
 *
 * "Any other" is a token that did not open, a bad payload or another typ:
 * the client learns no more than that. True for GRANTS_OK (*err untouched);
 * else false with *err (static strings, no error_code). */
bool oauth_error_from_grants(enum oauth_error_token token, enum grants_rc rc,
                             struct oauth_error *err);

/* SPEC.md 3.7 step 2: the `error` an IdP returned to /callback, mapped to
 * itself when it is one a client may see from us (invalid_request,
 * invalid_client, unauthorized_client, access_denied,
 * unsupported_response_type, invalid_scope, server_error,
 * temporarily_unavailable), otherwise server_error. */
enum oauth_error_code oauth_error_from_idp(struct slice idp_error);
