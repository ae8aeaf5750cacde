/* proxy/mcp_headers: the MCP 2026-07-28 request headers that mirror the
 * JSON-RPC body ("Standard headers", SEP-2243), checked against the body
 * the mount already peeks.
 *
 *   Mcp-Method: tools/call           = the body's method (every request)
 *   Mcp-Name: search                 = params.name (tools/call, prompts/get)
 *   Mcp-Name: =?base64?c2VhcmNo?=    ... or params.uri (resources/read)
 *
 * A value outside visible ASCII, with leading or trailing whitespace, or
 * that looks like the sentinel arrives as "=?base64?<padded base64 of the
 * UTF-8>?=" and is decoded before the comparison; bad base64 is refused.
 * Values compare byte for byte (case-sensitive); header names are matched
 * case-insensitively by the HTTP layer.
 *
 * The proxy checks only what a client sent: a request with neither header
 * (every client before 2026-07-28) is not looked at, and a missing Mcp-Name
 * is left to the upstream. A header that disagrees with the body, a
 * repeated header, an Mcp-Name on a method that has no name, or headers on
 * a body that is not one JSON-RPC request are refused: the upstream (or a
 * policy in front of it) may route on the headers, so they must say what
 * the body does. The mount answers 400 with JSON-RPC error -32020
 * (HeaderMismatch) and the request's id, and forwards nothing.
 *
 * Pure: no I/O; thread-safe. */
#pragma once

#include <stddef.h>

#include "base/slice.h"

struct proxy_jsonrpc_peek;

/* JSON-RPC error code for a header that does not match the body
 * (2026-07-28 changelog item 12: renumbered from -32001). */
#define PROXY_MCP_HEADERS_ERROR_CODE (-32020)

/* The header values as received (at most two of each are looked at: a
 * second already means "repeated"). */
struct proxy_mcp_headers {
    struct slice method[2];
    size_t method_count;
    struct slice name[2];
    size_t name_count;
};

/* NULL when the headers agree with the body (or none was sent); otherwise
 * a static reason, fit for the error's message ("Mcp-Name header does not
 * match the request body"). peek must come from
 * proxy_jsonrpc_peek_parse_call on the body. */
const char *proxy_mcp_headers_check(const struct proxy_mcp_headers *h,
                                    const struct proxy_jsonrpc_peek *peek);

/* Decodes one Mcp-Name value into out (capacity cap): the sentinel form
 * base64-decoded, any other value copied. 0 and *out_len, or -1 for a
 * sentinel with bad base64 (non-canonical, wrong padding, '-' or '_') or
 * a value longer than cap. For tests and the fuzz target. */
int proxy_mcp_headers_decode_name(struct slice value, char *out, size_t cap, size_t *out_len);
