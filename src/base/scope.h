/* base/scope: the syntax of an OAuth scope (RFC 6749 3.3) and the few set
 * operations the granting rules need, over space-separated strings.
 *
 *   scope       = scope-token *( SP scope-token )
 *   scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
 *
 * A "set" here is a C string of distinct scope tokens joined by single
 * spaces, in a fixed order (the order of MCP_SCOPES_SUPPORTED): that is the
 * form every granted scope is sealed and answered in, so two grants of the
 * same scopes are byte-equal. Requests are read more leniently (any run of
 * spaces separates tokens), since RFC 6749 gives the server latitude in
 * what it accepts and some clients join with more than one space.
 *
 * Pure: no I/O, no allocation beyond the caller's buf; thread-safe. */
#pragma once

#include <stdbool.h>

#include "base/buf.h"
#include "base/slice.h"

/* OpenID Connect Core 11's scope for a refresh token; MCP 2026-07-28
 * ("Refresh tokens") lets clients ask for it when the AS metadata lists it,
 * and keeps it out of the protected-resource metadata and the challenges. */
#define SCOPE_OFFLINE_ACCESS "offline_access"

/* RFC 6749 3.3 scope-token: non-empty, every byte %x21 / %x23-5B / %x5D-7E
 * (printable ASCII but SP, '"' and '\'). */
bool scope_token_is_valid(struct slice token);

/* The next token of *rest, split on any of the bytes in seps (runs of
 * them, leading and trailing ones included, separate nothing). true with
 * *out_token set and *rest advanced past it; false when only separators
 * are left. The token itself is not validated. */
bool scope_next(struct slice *rest, const char *seps, struct slice *out_token);

/* Is token one of set's space-separated tokens (exact, case-sensitive)? */
bool scope_has(const char *set, struct slice token);

/* Appends to out every token of set (in set's order) for which keep says
 * true, joined by single spaces. -1 at out's cap (out unchanged). */
int scope_filter(const char *set, bool (*keep)(struct slice token, const void *arg),
                 const void *arg, struct buf *out) __attribute__((warn_unused_result));

/* set without SCOPE_OFFLINE_ACCESS, appended to out: what a protected
 * resource advertises (RFC 9728 scopes_supported, the 401's scope). */
int scope_without_offline_access(const char *set, struct buf *out)
    __attribute__((warn_unused_result));
