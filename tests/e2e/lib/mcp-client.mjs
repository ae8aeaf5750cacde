// MCP client helper for end-to-end tests: the official SDK Client over
// Streamable HTTP, with an optional bearer token, recording every
// notification it receives (with the time it arrived).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/**
 * Connects (initialize + initialized) to an MCP endpoint.
 *
 * @param {string} url  e.g. `${proxy.url}/mcp` or upstream.url
 * @param {object} [o]
 * @param {string} [o.token]  access token, sent as `Authorization: Bearer <token>`
 * @param {Record<string,string>} [o.headers]  extra headers on every request
 * @param {string} [o.name='e2e-client']
 * @returns {Promise<{client: Client, transport: StreamableHTTPClientTransport,
 *   notifications: {method: string, params: any, receivedAt: number}[],
 *   errors: Error[], sessionId: () => string|undefined,
 *   close: () => Promise<void>, terminate: () => Promise<void>}>}
 *   terminate() sends the session DELETE; close() closes the transport.
 *   Progress notifications go to callTool's onprogress, not to `notifications`.
 */
export async function connectMcp(url, { token, headers = {}, name = 'e2e-client' } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: h } });
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const notifications = [];
  const errors = [];
  client.fallbackNotificationHandler = async (n) => {
    notifications.push({ method: n.method, params: n.params, receivedAt: Date.now() });
  };
  client.onerror = (err) => { errors.push(err); };
  await client.connect(transport);
  return {
    client,
    transport,
    notifications,
    errors,
    sessionId: () => transport.sessionId,
    close: async () => { await client.close(); },
    terminate: async () => { await transport.terminateSession(); },
  };
}

/**
 * Waits (bounded) until `predicate(notifications)` is true.
 * @returns {Promise<void>}
 */
export async function waitForNotification(conn, predicate, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate(conn.notifications)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`notification not received within ${timeoutMs} ms; got ${JSON.stringify(conn.notifications)}`);
}

/** Text of the first text content item of a tool result. */
export const resultText = (result) => result?.content?.find((c) => c.type === 'text')?.text;
