/* proxy/rpc_reply: the JSON-RPC error answer the MCP mount gives itself
 * when it refuses a call (the Mcp-Method / Mcp-Name mismatch, the access
 * policy), so a client shows the message instead of a bare HTTP error. */
#pragma once

struct http_request;

/* Answers status with
 *   {"jsonrpc":"2.0","id":<id_json>,"error":{"code":<code>,"message":"<message>"}}
 * id_json: the request's id already encoded as JSON ("null" when unknown);
 * message: a constant of the caller's without quotes or backslashes.
 * Answers 500 instead when the body cannot be built. */
void proxy_rpc_reply_error(struct http_request *req, int status, const char *id_json, int code,
                           const char *message);
