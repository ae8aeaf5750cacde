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
