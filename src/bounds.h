/* Every size, count and time cap in one place (STYLE.md 3.7), each citing
 * SPEC.md. A cap is checked before bytes are read or memory is reserved. */
#pragma once

/* Sealed tokens (SPEC.md 2.1): encoded length checked before decoding. */
#define BOUNDS_SEALED_MAX_CHARS 16384

/* Request bodies (SPEC.md 3.0.7, 3.2, 4.2). */
#define BOUNDS_OAUTH_BODY_MAX (1024 * 1024)
#define BOUNDS_MCP_BODY_MAX (16 * 1024 * 1024)

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
/* Batch entries recorded per request; later entries are forwarded but not
 * logged or counted (ours: Go kept them all, bounded only by the body). */
#define BOUNDS_RPC_BATCH_ENTRIES_MAX 256
/* Parameters looked at in a Content-Type value before the peek gives up
 * (ours: bounds the duplicate-parameter check of mime.ParseMediaType). */
#define BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX 16

/* Upstream redirects (SPEC.md 4.3) and header timeout (4.4). */
#define BOUNDS_UPSTREAM_HOPS_MAX 10
#define BOUNDS_UPSTREAM_HEADER_TIMEOUT_MS 30000

/* Per-subject concurrency limiter (SPEC.md 4.6): idle entries are reclaimed
 * after 5 min, the pruner runs every 2 min; the table tracks at most this
 * many subjects (ours: Go's map was unbounded). */
#define BOUNDS_SUBJECT_IDLE_MS (5 * 60 * 1000)
#define BOUNDS_SUBJECT_PRUNE_INTERVAL_MS (2 * 60 * 1000)
#define BOUNDS_SUBJECT_ENTRIES_MAX 100000
/* Bytes of a subject kept in its entry (OpenID Connect Core 2: a sub is at
 * most 255 ASCII characters); longer ones also match on a 64-bit hash of
 * the whole value. */
#define BOUNDS_SUBJECT_KEY_BYTES 255

/* In-process replay store (SPEC.md 5.6). */
#define BOUNDS_MEMORY_STORE_ENTRIES_MAX 100000
