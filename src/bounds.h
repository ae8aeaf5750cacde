/* Every size, count and time cap in one place (STYLE.md 3.7), each citing
 * SPEC.md. A cap is checked before bytes are read or memory is reserved. */
#pragma once

/* Sealed tokens (SPEC.md 2.1): encoded length checked before decoding. */
#define BOUNDS_SEALED_MAX_CHARS 16384

/* Request bodies (SPEC.md 3.0.7, 3.2, 4.2). */
#define BOUNDS_OAUTH_BODY_MAX (1024 * 1024)
#define BOUNDS_MCP_BODY_MAX (16 * 1024 * 1024)
/* Parameters decoded from one query string or form body (SPEC.md 3.0.7).
 * No OAuth request needs more than a few dozen; the cap bounds the work and
 * memory a 1 MiB body of "a&a&a..." could otherwise cost. */
#define BOUNDS_QUERY_PARAMS_MAX 1000

/* Request head (DESIGN.md "The HTTP layer"). Go allowed 1 MiB of headers;
 * no MCP or OAuth client needs more than a few KiB, so we keep it tight. */
#define BOUNDS_HEADER_BYTES_MAX (64 * 1024)
#define BOUNDS_HEADER_COUNT_MAX 100
#define BOUNDS_URL_MAX (16 * 1024)
#define BOUNDS_HEADER_NAME_MAX 256

/* Timeouts (SPEC.md 8.2). */
#define BOUNDS_HEAD_TIMEOUT_MS 10000
#define BOUNDS_BODY_TIMEOUT_MS 30000
#define BOUNDS_IDLE_TIMEOUT_MS 120000

/* /register (SPEC.md 3.2). */
#define BOUNDS_REDIRECT_URIS_MAX 5
#define BOUNDS_REDIRECT_URI_MAX_BYTES 512
#define BOUNDS_CLIENT_NAME_MAX_BYTES 512

/* OAuth error descriptions are cut to this many bytes (SPEC.md 3.0.5). */
#define BOUNDS_ERROR_DESCRIPTION_MAX 200

/* PKCE (SPEC.md 3.3 step 12, 3.8). */
#define BOUNDS_PKCE_MIN 43
#define BOUNDS_PKCE_MAX 128

/* Per-request arena: every request-scoped allocation comes from it. */
#define BOUNDS_REQUEST_ARENA_MAX (4 * 1024 * 1024)

/* Outbound control-plane responses: IdP discovery, JWKS, token (SPEC.md 6.3). */
#define BOUNDS_FETCH_RESPONSE_MAX (1024 * 1024)

/* JSON-RPC peek (SPEC.md 4.7). */
#define BOUNDS_RPC_METHOD_MAX 128
#define BOUNDS_RPC_TOOL_MAX 128
#define BOUNDS_RPC_ID_MAX 64

/* Upstream redirects (SPEC.md 4.3) and header timeout (4.4). */
#define BOUNDS_UPSTREAM_HOPS_MAX 10
#define BOUNDS_UPSTREAM_HEADER_TIMEOUT_MS 30000

/* In-process replay store (SPEC.md 5.6). */
#define BOUNDS_MEMORY_STORE_ENTRIES_MAX 100000

/* OIDC upstream (SPEC.md 6). Discovery at start-up (6.1): attempts, the
 * per-attempt timeout and the doubling backoff between attempts. */
#define BOUNDS_OIDC_DISCOVERY_ATTEMPTS 5
#define BOUNDS_OIDC_DISCOVERY_TIMEOUT_MS 10000
#define BOUNDS_OIDC_DISCOVERY_BACKOFF_FIRST_MS 1000
#define BOUNDS_OIDC_DISCOVERY_BACKOFF_MAX_MS 15000
/* Code exchange (6.3): one deadline for the whole POST. */
#define BOUNDS_OIDC_EXCHANGE_TIMEOUT_MS 10000
/* JWKS (6.4, preface fix 6): fetch timeout, periodic refresh, and the
 * minimum gap between refreshes triggered by an unknown kid. */
#define BOUNDS_JWKS_FETCH_TIMEOUT_MS 10000
#define BOUNDS_JWKS_REFRESH_INTERVAL_MS (60 * 60 * 1000)
#define BOUNDS_JWKS_MIN_REFRESH_GAP_MS 30000
#define BOUNDS_JWKS_KEYS_MAX 100
/* id_token (6.4): the compact JWS, and its decoded header. A token with a
 * thousand 64-byte group names stays well under the first. */
#define BOUNDS_ID_TOKEN_MAX_BYTES (256 * 1024)
#define BOUNDS_ID_TOKEN_HEADER_MAX_BYTES 4096
/* Clock skew allowed on exp, iat and nbf (SPEC 6.4 keeps none on exp and
 * 5 min on nbf; one symmetric minute is the usual relying-party choice). */
#define BOUNDS_ID_TOKEN_SKEW_S 60

/* Per-IP rate limits (SPEC.md 3.0.3): requests per key per window. */
#define BOUNDS_RATE_WINDOW_MS 60000
#define BOUNDS_RATE_REGISTER_PER_WINDOW 10
#define BOUNDS_RATE_AUTHORIZE_PER_WINDOW 30
#define BOUNDS_RATE_CONSENT_PER_WINDOW 30
#define BOUNDS_RATE_CALLBACK_PER_WINDOW 30
#define BOUNDS_RATE_TOKEN_PER_WINDOW 60
#define BOUNDS_RATE_DISCOVERY_PER_WINDOW 60
#define BOUNDS_RATE_MCP_PER_WINDOW 600
/* Live (bucket, key) counters the limiter keeps, over all buckets (about
 * 72 bytes each, so ~18 MiB at the cap); what happens at the cap is in
 * ratelimit.h. */
#define BOUNDS_RATELIMIT_ENTRIES_MAX (192 * 1024)
/* Rate-limit keys (SPEC.md 3.0.4): an address, or raw peer or legacy header
 * text, cut to this many bytes. */
#define BOUNDS_CLIENT_IP_KEY_MAX 128
