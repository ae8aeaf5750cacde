/* oauth/scope_rules: which scope a client gets (MCP_SCOPES_SUPPORTED), at
 * /authorize and on refresh, and whether a grant may carry a refresh token
 * (docs/conformance.md "Scopes" writes the same rules down).
 *
 * `supported` is the configured set (config.h scopes_supported: distinct
 * RFC 6749 3.3 tokens joined by single spaces, "" = scopes off). With
 * scopes off every function answers what the proxy did before scopes
 * existed: nothing granted, requests' `scope` ignored, a refresh token
 * always. Granted scopes are always written in the configured order, so
 * equal grants are byte-equal (base/scope.h).
 *
 * Pure: no I/O, no logging; thread-safe. */
#pragma once

#include <stdbool.h>

#include "bounds.h"

/* A granted scope: a subset of `supported`, so it fits. */
#define OAUTH_SCOPE_RULES_MAX (BOUNDS_SCOPE_MAX_BYTES + 1)

/* /authorize. requested: the request's first `scope` value ("" or NULL
 * when absent). Writes the granted scope to out and returns NULL, or
 * returns the static description of an invalid_scope (RFC 6749 4.1.2.1)
 * with out "":
 *  - scopes off: "" granted, whatever was requested;
 *  - nothing requested (absent or only spaces): the default, every
 *    supported scope but offline_access (RFC 6749 3.3 "pre-defined default
 *    value"; a refresh token beyond the access token's life is something
 *    the client asks for, MCP 2026-07-28 "Refresh tokens");
 *  - a token that is not an RFC 6749 3.3 scope-token (requests are split
 *    on runs of spaces): "scope is malformed";
 *  - else the supported scopes that were requested; unknown ones are
 *    dropped (RFC 6749 3.3 lets the server ignore part of a request; the
 *    token response's `scope` says what was granted). Nothing supported
 *    left: "none of the requested scopes is supported". */
const char *oauth_scope_rules_grant(const char *supported, const char *requested,
                                    char out[OAUTH_SCOPE_RULES_MAX]);

/* A refresh (RFC 6749 6). granted: the refresh token's scope ("" on tokens
 * minted before scopes, or with scopes off). requested: the request's
 * `scope` ("" or NULL when absent). Writes the new grant to out and
 * returns NULL, or an invalid_scope description with out "":
 *  - scopes off: "" (tokens stop carrying scopes once they are off);
 *  - a malformed request: "scope is malformed";
 *  - a requested token the refresh token was not granted: "scope exceeds
 *    the scope originally granted" (RFC 6749 6: never more);
 *  - else granted narrowed to what was requested (all of it when nothing
 *    was), and to what is still supported, so a scope the operator
 *    removed goes away at the next refresh. */
const char *oauth_scope_rules_refresh(const char *supported, const char *granted,
                                      const char *requested, char out[OAUTH_SCOPE_RULES_MAX]);

/* May a grant of `granted` get a refresh token? With offline_access among
 * the supported scopes, only when it was granted (MCP 2026-07-28: the AS
 * decides; the client asks with offline_access); otherwise always, as
 * before scopes. */
bool oauth_scope_rules_refresh_token_allowed(const char *supported, const char *granted);
