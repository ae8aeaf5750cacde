// Asking an MCP mount whether it takes a bearer token: one `initialize`
// POST, answered 200 when the token is accepted and 401 when refused. The
// revocation tests use it to see a revocation reach a replica (pub/sub is
// asynchronous, so they poll with a bound).

import assert from 'node:assert/strict';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** The status origin's /mcp answers an initialize carrying token. */
export async function mcpStatus(origin, token) {
  const r = await fetch(`${origin}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
    }),
    signal: AbortSignal.timeout(10000),
  });
  await r.text();
  return r.status;
}

/** Polls until origin refuses token (401); the ms since startMs, or fails past limitMs. */
export async function untilRefused(origin, token, startMs, limitMs) {
  for (;;) {
    const st = await mcpStatus(origin, token);
    if (st === 401) return Date.now() - startMs;
    if (Date.now() - startMs > limitMs) assert.fail(`${origin} still answers ${st} after ${limitMs} ms`);
    await sleep(5);
  }
}

/** Bounded wait for origin's /mcp to answer `status` for token. */
export async function waitMcp(origin, token, status, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await mcpStatus(origin, token);
    if (last === status) return;
    await sleep(50);
  }
  assert.fail(`${origin}/mcp answered ${last}, not ${status}, within ${timeoutMs} ms`);
}
