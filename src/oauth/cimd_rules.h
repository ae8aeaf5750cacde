/* Client ID Metadata Documents, the pure half (MCP 2025-11-25 "Client ID
 * Metadata Documents", draft-ietf-oauth-client-id-metadata-document-01):
 * which client_id is a document URL, whether a fetched answer is an
 * acceptable document, what it says, how long it may be kept, and whether
 * its host is allowed. No I/O, no logging: oauth/cimd.c fetches and
 * caches, and reports the reasons given here.
 *
 * Every refusal is a static reason naming what is wrong, used both as the
 * OAuth error_description and in the security log; never the document's
 * own bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "bounds.h"

/* Whether client_id is meant as a document URL: it starts with "https://".
 * The proxy's own client_ids (sealed registrations) never do (draft 6.9),
 * so this is the whole dispatch between the two sources. */
bool oauth_cimd_rules_is_document_url(struct slice client_id);

/* Draft 3 on the URL itself: at most BOUNDS_CIMD_URL_MAX_BYTES, parses,
 * scheme https, a host, a path other than "/" (MCP), no "." or ".." path
 * segment, no fragment, no userinfo. A query is allowed (SHOULD NOT only).
 * NULL when acceptable, else a static reason. On success the host (as
 * written, lower-cased, without IPv6 brackets) is copied to host_out
 * (capacity host_cap) when host_out is not NULL. */
const char *oauth_cimd_rules_check_url(struct slice client_id, char *host_out, size_t host_cap);

/* CIMD_ALLOWED_HOSTS: host (lower case) equals a pattern, or a pattern
 * "*.example.com" and host ends with ".example.com" (one label or more;
 * not example.com itself). No patterns: every host is allowed. */
bool oauth_cimd_rules_host_allowed(const char *host, char *const *patterns, size_t count);

/* What a document says, as the client record needs it. Owned strings,
 * released by oauth_cimd_doc_cleanup. */
struct oauth_cimd_doc {
    char *client_id;                               /* the URL, byte for byte */
    char *client_name;                             /* required, non-empty */
    char *redirect_uris[BOUNDS_REDIRECT_URIS_MAX]; /* verbatim, each passed /register's rules */
    size_t redirect_uri_count;                     /* 1..BOUNDS_REDIRECT_URIS_MAX */
    /* The keys a client_assertion is verified with (oauth/client_assertion.h);
     * a client that sends none is public whatever its method says. */
    char *token_endpoint_auth_method; /* NULL when absent */
    char *jwks_uri;                   /* NULL when absent */
    char *jwks;                       /* the inline JWK Set re-serialised, NULL when absent */
    bool refresh_token_grant;         /* grant_types lists refresh_token (or absent) */
};
void oauth_cimd_doc_cleanup(struct oauth_cimd_doc *d);

/* Why an answer is refused; the bounded label of
 * mcp_auth_cimd_fetch_total for document-level failures. */
enum oauth_cimd_rules_rc {
    OAUTH_CIMD_RULES_OK = 0,
    OAUTH_CIMD_RULES_REDIRECT,    /* a 3xx: draft 4 says never follow */
    OAUTH_CIMD_RULES_HTTP_STATUS, /* any other status than 200 */
    OAUTH_CIMD_RULES_NOT_JSON,  /* Content-Type not JSON (an HTML error page), or not a JSON object
                                 */
    OAUTH_CIMD_RULES_TOO_LARGE, /* past BOUNDS_CIMD_DOCUMENT_MAX */
    OAUTH_CIMD_RULES_INVALID,   /* parsed, but a rule failed */
    OAUTH_CIMD_RULES_RC_COUNT,
};

/* Judges one answer for url: status (only 200), content type
 * ("application/json" or "application/<x>+json", parameters allowed;
 * NULL counts as not JSON), then the body: at most
 * BOUNDS_CIMD_DOCUMENT_MAX bytes, one JSON object whose
 *   client_id    equals url byte for byte (RFC 3986 6.2.1);
 *   client_name  is a non-empty string passing /register's name rules;
 *   redirect_uris is a non-empty array of at most BOUNDS_REDIRECT_URIS_MAX
 *                strings, each passing /register's redirect URI rules;
 *   token_endpoint_auth_method, when present, is a string and not a
 *                shared-secret method (client_secret_post, _basic, _jwt),
 *                and client_secret is absent (draft 4.1); private_key_jwt
 *                and others are kept, not refused;
 *   grant_types, when present, is an array of strings listing
 *                authorization_code (others are ignored: Claude.ai lists
 *                jwt-bearer); response_types, when present, lists "code";
 *   jwks_uri, when present, a string; jwks, when present, an object;
 *                not both (RFC 7591 2).
 * Unknown members are ignored. Pass status 200 and content_type
 * "application/json" for a pinned file. Returns OK and fills *out, or the
 * failure with *reason set to a static description (*out untouched). */
enum oauth_cimd_rules_rc oauth_cimd_rules_parse(const char *url, long status,
                                                const char *content_type, struct slice body,
                                                struct oauth_cimd_doc *out, const char **reason)
    __attribute__((warn_unused_result));

/* Judges a jwks_uri answer the same way (200 only, a JSON content type
 * such as application/jwk-set+json, at most BOUNDS_CIMD_JWKS_MAX bytes),
 * then oidc_jwks_set_parse: at least one usable signing key. OK sets *out
 * (one reference, the caller's); otherwise *reason is static. */
struct oidc_jwks_set;
enum oauth_cimd_rules_rc oauth_cimd_rules_parse_jwks(long status, const char *content_type,
                                                     struct slice body, struct oidc_jwks_set **out,
                                                     const char **reason)
    __attribute__((warn_unused_result));

/* How long a document fetched at now_s may be served from cache: the
 * Cache-Control s-maxage, else max-age (no-store and no-cache read as 0),
 * else Expires (an IMF-fixdate) minus now, else 0; then raised to
 * floor_s and lowered to ceil_s (draft 4.4 lets the AS bound lifetimes;
 * the floor keeps a document that says no-store from being fetched on
 * every request). NULL headers are absent. */
uint64_t oauth_cimd_rules_ttl(const char *cache_control, const char *expires, int64_t now_s,
                              uint64_t floor_s, uint64_t ceil_s);
