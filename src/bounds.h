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
/* Chunk extensions (RFC 9112 7.1.1) are parsed and dropped; their bytes per
 * message are capped so a trickle of them cannot run forever unseen. */
#define BOUNDS_CHUNK_EXT_BYTES_MAX 4096

/* Connection layer (DESIGN.md "The HTTP layer"). Pipelined input buffered
 * while a response is in progress; past it the client is flooding and is
 * cut off. */
#define BOUNDS_PIPELINE_INPUT_MAX (64 * 1024)
/* Client output back-pressure: above HIGH a producer should pause; it is
 * told to resume once the output drains to LOW (bufferevent watermarks). */
#define BOUNDS_OUTPUT_HIGH_WATER (128 * 1024)
#define BOUNDS_OUTPUT_LOW_WATER (32 * 1024)
/* Response headers one response may carry (ours plus relayed upstream ones). */
#define BOUNDS_RESPONSE_HEADER_COUNT_MAX 256
/* Lingering close: after the last response byte, read and drop what the
 * client still sends (a refused body) for at most this long / this much,
 * so the response is not destroyed by a TCP reset. */
#define BOUNDS_LINGER_MS 2000
#define BOUNDS_LINGER_BYTES_MAX (1024 * 1024)
/* The decoded path shown in one access-log line. */
#define BOUNDS_LOG_PATH_MAX 2048

/* Timeouts (SPEC.md 8.2). */
#define BOUNDS_HEAD_TIMEOUT_MS 10000
#define BOUNDS_BODY_TIMEOUT_MS 30000
#define BOUNDS_IDLE_TIMEOUT_MS 120000
/* Metrics listener (SPEC.md 3.10): read 5 s, write 30 s, idle 120 s. */
#define BOUNDS_METRICS_READ_TIMEOUT_MS 5000
#define BOUNDS_METRICS_WRITE_TIMEOUT_MS 30000
/* The Prometheus text of one /metrics scrape. */
#define BOUNDS_METRICS_TEXT_MAX (4 * 1024 * 1024)

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
