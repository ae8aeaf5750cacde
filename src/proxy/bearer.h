/* proxy/bearer: the MCP route's bearer check (SPEC.md 4.1) and its 401.
 *
 * Turns the raw Authorization header value(s) of a request into an opened
 * access grant, or into a denial with the OAuth error code, the
 * mcp_auth_access_denied_total reason and a debug event name. Also renders
 * the 401 body and WWW-Authenticate challenge, whose descriptions are fixed
 * strings (nothing in them comes from the request).
 *
 * Deliberately only the bearer step: the JSON-RPC peek (proxy/jsonrpc_peek)
 * is a separate call, so a policy step (scopes, per-tool rules) can sit
 * between them, and a forward-auth endpoint can reuse this check without
 * the forward (DESIGN.md "Designed for what comes next").
 *
 * No I/O, no logging (the caller counts `reason` and logs `log_event`).
 * proxy_bearer_check is pure and thread-safe; proxy_bearer_check_cached
 * uses one worker's cache of opened tokens (proxy/bearer_cache.h) on that
 * worker's thread and counts its hits and misses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "grants.h"
#include "metrics.h"

struct config;
struct proxy_bearer_cache;
struct seal_ring;

/* The outcome; the member names are the 401's OAuth `error` codes, except
 * NO_CREDENTIALS, whose challenge carries no error code (RFC 6750 3.1: a
 * request without authentication information, "e.g., the client was
 * unaware that authentication is necessary or attempted using an
 * unsupported authentication scheme", gets none). */
enum proxy_bearer_rc {
    PROXY_BEARER_OK = 0,
    PROXY_BEARER_INVALID_REQUEST, /* several, or a malformed Bearer credential; not metered */
    PROXY_BEARER_INVALID_TOKEN,   /* the credential was refused; metered with `reason` */
    PROXY_BEARER_NO_CREDENTIALS,  /* no Authorization, or another scheme; not metered */
    PROXY_BEARER_RC_COUNT,
};

/* "ok", "invalid_request", "invalid_token", "unauthorized" (the body's
 * error for NO_CREDENTIALS; never in the challenge). */
const char *proxy_bearer_rc_str(enum proxy_bearer_rc rc);
/* The fixed error_description of SPEC.md 4.1 for a denial; NULL for OK. */
const char *proxy_bearer_description(enum proxy_bearer_rc rc);

/* What a token is checked against. Borrowed pointers; fill once at start-up
 * (proxy_bearer_policy_init) and share between threads. */
struct proxy_bearer_policy {
    const struct seal_ring *ring;
    const char *audience;   /* PROXY_BASE_URL, the expected `aud` (exact compare) */
    const char *resource;   /* base + mount: a non-empty `res` must equal it (exact) */
    bool revoke_before_set; /* REVOKE_BEFORE: tokens issued strictly before are refused */
    int64_t revoke_before_s;
    int32_t revoke_before_ns;
};

/* Points *out at cfg's fields (proxy_base_url, canonical_resource,
 * revoke_before_*) and ring; both must outlive the policy. */
void proxy_bearer_policy_init(struct proxy_bearer_policy *out, const struct config *cfg,
                              const struct seal_ring *ring);

struct proxy_bearer_result {
    enum proxy_bearer_rc rc;
    /* true exactly when rc is INVALID_TOKEN: count reason with
     * metrics_inc_denied (invalid_token, token_expired, audience_mismatch,
     * resource_mismatch or token_revoked_iat_cutoff). */
    bool has_reason;
    enum metrics_denied reason;
    /* Debug log event for a refused token (token_validation_failed,
     * token_audience_mismatch, token_resource_mismatch,
     * token_revoked_iat_cutoff); NULL otherwise. Static. */
    const char *log_event;
    enum seal_rc seal_rc; /* the seal-level detail, for that debug line */
    /* OK only: the opened token (sub, email, grp, ...). Zeroed otherwise.
     * Release with proxy_bearer_result_cleanup whatever the outcome. */
    struct grant_access grant;
};

/* Checks a request's Authorization header. values/value_count: every
 * Authorization field value the request carried, in order, as received
 * (borrowed; count 0 = header absent). now_s: Unix seconds (clock_unix_s()).
 *
 * SPEC.md 4.1, in order: exactly one header, longer than 7 bytes, starting
 * with "Bearer " (ASCII case-insensitive), credential = the rest with
 * surrounding ASCII whitespace trimmed, non-empty -- else INVALID_REQUEST.
 * Then the token is opened as an access grant for policy->audience:
 * expired -> token_expired; any other open/payload failure ->
 * invalid_token; aud mismatch -> audience_mismatch; non-empty res !=
 * policy->resource -> resource_mismatch; iat before REVOKE_BEFORE ->
 * token_revoked_iat_cutoff; all INVALID_TOKEN. *out is overwritten and
 * always filled; returns out->rc. */
enum proxy_bearer_rc proxy_bearer_check(const struct proxy_bearer_policy *policy,
                                        const struct slice *values, size_t value_count,
                                        int64_t now_s, struct proxy_bearer_result *out)
    __attribute__((warn_unused_result));
/* proxy_bearer_check with the calling worker's cache (NULL: none, the same
 * as proxy_bearer_check). The outcome is the same in every case: a token
 * found in the cache is checked again for expiry, audience, resource and
 * REVOKE_BEFORE; one that is not is opened and, when it passes, stored.
 * With a cache, out->grant of a cached token borrows from the cache: use
 * it (copy what you keep) before the next check on the same cache. */
enum proxy_bearer_rc proxy_bearer_check_cached(const struct proxy_bearer_policy *policy,
                                               struct proxy_bearer_cache *cache,
                                               const struct slice *values, size_t value_count,
                                               int64_t now_s, struct proxy_bearer_result *out)
    __attribute__((warn_unused_result));
/* Releases the grant; leaves *r zeroed. Safe on a zeroed result. */
void proxy_bearer_result_cleanup(struct proxy_bearer_result *r);

/* The credential of one Authorization value (steps 1-2 of SPEC.md 4.1):
 * true and *out_token (pointing into value) when it is "Bearer <token>". */
bool proxy_bearer_credential(struct slice value, struct slice *out_token);

/* The 401 body for a denial, appended to out: keys sorted, trailing newline,
 *   {"error":"invalid_token","error_description":"bearer token is ..."}\n
 * -1 at out's cap or for PROXY_BEARER_OK (out unchanged). */
int proxy_bearer_format_body(enum proxy_bearer_rc rc, struct buf *out)
    __attribute__((warn_unused_result));
/* The WWW-Authenticate value for a denial, appended to out (single spaces
 * after the commas, pinned by SPEC.md 4.1):
 *   Bearer error="<code>", error_description="<desc>",
 *   resource_metadata="<base>/.well-known/oauth-protected-resource<mount>"
 * and for NO_CREDENTIALS the bare challenge of RFC 6750 3.1:
 *   Bearer resource_metadata="<base>/.well-known/oauth-protected-resource<mount>"
 * The one place the mount's challenge is built.
 * base is PROXY_BASE_URL, mount the route's mount ("" gives the root
 * document). '"' and '\' in them are backslash-escaped (RFC 9110 5.6.4).
 * -1 at out's cap or for PROXY_BEARER_OK (out unchanged). */
int proxy_bearer_format_challenge(enum proxy_bearer_rc rc, const char *base, const char *mount,
                                  struct buf *out) __attribute__((warn_unused_result));
/* Appends `, scope="<scope>"` to a challenge (RFC 6750 3: the scope the
 * resource needs, so MCP clients know what to ask for), quoted as above;
 * nothing when scope is "" or NULL (no scopes configured). The caller
 * passes the configured scopes without offline_access (MCP 2026-07-28).
 * 0, or -1 at out's cap (out unchanged). */
int proxy_bearer_append_challenge_scope(const char *scope, struct buf *out)
    __attribute__((warn_unused_result));
/* The 403 challenge of MCP 2025-11-25 "Scope challenge handling" (RFC 6750
 * 3.1 insufficient_scope), for a call the access policy refuses until a new
 * authorization grants more (docs/policy.md), appended to out:
 *   Bearer error="insufficient_scope", scope="<scope>",
 *   resource_metadata="<base>/.well-known/oauth-protected-resource<mount>",
 *   error_description="<description>"
 * scope is every scope the call needs; quoted as above. 0, or -1 at out's
 * cap (out unchanged). */
int proxy_bearer_format_scope_challenge(const char *scope, const char *description,
                                        const char *base, const char *mount, struct buf *out)
    __attribute__((warn_unused_result));
