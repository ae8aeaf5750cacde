// The protected MCP route end to end (SPEC.md 4, 3.0.2-3.0.3, 7.1-7.2):
// the real binary between the official MCP SDK client and a real SDK
// upstream (peers/mcp-upstream.mjs), with a real IdP for start-up.
//
// Tokens: most tests mint access tokens with lib/seal-mint.mjs from the
// TOKEN_SIGNING_SECRET they configured, because they need tokens the OAuth
// flow cannot hand out on demand (expired, another audience, another
// resource, another secret) and because the route must be tested whether
// or not the OAuth endpoints are built. One test logs in through the whole
// flow (login()) when the binary serves /register.
//
// Raw sockets (node:net) are used where fetch would hide what is tested:
// duplicate headers, dot segments in the path, a Content-Length that is
// never followed by its body, a response cut short.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { startStack } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import { login } from './lib/oauth-client.mjs';
import { connectMcp, waitForNotification, resultText } from './lib/mcp-client.mjs';
import { mintAccessToken } from './lib/seal-mint.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const OTHER_SECRET = crypto.randomBytes(24).toString('base64url');
const DESC_REQUEST = 'bearer credential is missing or malformed';
const DESC_NONE = 'a bearer token is required; see WWW-Authenticate';
const DESC_TOKEN = 'bearer token is invalid, expired, or not intended for this resource';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

async function until(what, fn, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------- raw HTTP

// Writes data on a fresh socket and collects the answer until the server
// closes, `done(buffer)` says enough, or timeoutMs passes.
function raw(port, data, { timeoutMs = 5000, done } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const got = [];
    let closed = false;
    let timer;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(got), closed });
    };
    sock.on('data', (d) => {
      got.push(d);
      if (done && done(Buffer.concat(got))) finish();
    });
    sock.on('error', () => { closed = true; });
    sock.on('close', () => { closed = true; finish(); });
    timer = setTimeout(finish, timeoutMs);
    for (const d of [].concat(data)) sock.write(d);
  });
}

// Splits one HTTP/1.1 response: status, headers (lower-case name -> array
// of values), the body (de-chunked), and whether its framing completed.
function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).toLowerCase();
    (headers[k] ??= []).push(l.slice(i + 1).trim());
  }
  let rest = buf.subarray(end + 4);
  let body = Buffer.alloc(0);
  let complete = false;
  if (headers['transfer-encoding']?.[0] === 'chunked') {
    const parts = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.subarray(0, nl).toString(), 16);
      if (size === 0) { complete = true; break; }
      if (rest.length < nl + 2 + size + 2) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length']) {
    const n = Number(headers['content-length'][0]);
    body = rest.subarray(0, n);
    complete = rest.length >= n;
  } else {
    body = rest;
  }
  return { status, headers, body, complete, text: body.toString('utf8') };
}

const oneResponse = (b) => {
  const r = parseResponse(b);
  return r !== null && r.complete;
};

// ---------------------------------------------------------------- the stack

function tokenFor(stack, extra = {}) {
  return mintAccessToken({ secret: SECRET, base: stack.base, resource: `${stack.base}/mcp`, ...extra });
}

function challenge(base, code, desc) {
  return `Bearer error="${code}", error_description="${desc}", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`;
}

async function metricsText(stack) {
  const r = await fetch(`${stack.proxy.metricsUrl}/metrics`);
  return r.text();
}

function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function upstreamSaw(stack, pred) {
  return (await stack.upstream.requests()).filter(pred);
}

// Raw JSON-RPC over the Streamable HTTP transport: initialize, then
// notifications/initialized; returns the session id. (Used where the SDK
// client would open its own standalone GET stream and hold a slot.)
async function rawSession(stack, token) {
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const init = await fetch(`${stack.base}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  assert.equal(init.status, 200);
  await init.text();
  const sid = init.headers.get('mcp-session-id');
  assert.ok(sid);
  const note = await fetch(`${stack.base}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  assert.equal(note.status, 202);
  return { sid, headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } };
}

function toolCall(id, name, args) {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
}

// ================================================================ main stack

describe('MCP route', () => {
  let stack;
  let token;
  before(async () => {
    stack = await startStack({
      proxyEnv: { TOKEN_SIGNING_SECRET: SECRET, MCP_TOOL_METRICS: 'true', LOG_LEVEL: 'debug', WORKERS: '2' },
    });
    token = tokenFor(stack);
  });
  after(async () => { await stack?.stop(); });

  test('SDK client: initialize, tools/list, echo; identity reaches the upstream', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token });
    try {
      const tools = await mcp.client.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['echo', 'notify', 'sleep', 'slow_progress', 'whoami']);
      const echo = await mcp.client.callTool({ name: 'echo', arguments: { text: 'hello through the proxy' } });
      assert.equal(resultText(echo), 'hello through the proxy');
      const who = JSON.parse(resultText(await mcp.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.sub, 'alice');
      assert.equal(who.email, 'alice@example.com');
      assert.equal(who.groups, 'mcp-users,dev');
      assert.equal(who.authorizationPresent, false);
    } finally {
      await mcp.close();
    }
  });

  test('slow_progress: every progress notification arrives before the result, spaced (no buffering)', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token });
    try {
      const seen = [];
      const result = await mcp.client.callTool(
        { name: 'slow_progress', arguments: { count: 4, intervalMs: 300 } },
        undefined,
        { onprogress: (p) => { seen.push({ at: Date.now(), progress: p.progress }); } },
      );
      const doneAt = Date.now();
      assert.equal(resultText(result), 'done 4');
      assert.deepEqual(seen.map((s) => s.progress), [1, 2, 3, 4]);
      for (const s of seen) assert.ok(s.at <= doneAt);
      // Buffered by the proxy they would all land at once with the result.
      assert.ok(seen[3].at - seen[0].at >= 450, `progress spread ${seen[3].at - seen[0].at} ms`);
      assert.ok(doneAt - seen[0].at >= 450, `first progress only ${doneAt - seen[0].at} ms before the result`);
    } finally {
      await mcp.close();
    }
  });

  test('GET SSE stream carries the notify notification; DELETE ends the session', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token });
    const sid = mcp.sessionId();
    assert.ok(sid);
    // The SDK opens its standalone GET stream after initialize; wait for it.
    await until('the standalone GET stream', async () => {
      const r = JSON.parse(resultText(await mcp.client.callTool({ name: 'notify', arguments: { text: 'probe' } })));
      return r.standaloneStreamOpen;
    });
    await mcp.client.callTool({ name: 'notify', arguments: { text: 'over-sse' } });
    await waitForNotification(mcp, (ns) => ns.some((n) => n.method === 'notifications/message' && n.params?.data?.text === 'over-sse'));
    const gets = await upstreamSaw(stack, (r) => r.method === 'GET' && r.path === '/mcp' && r.headers['mcp-session-id'] === sid);
    assert.ok(gets.length >= 1);
    assert.equal(gets[0].headers.authorization, undefined);

    await mcp.terminate();
    await mcp.close();
    const dels = await upstreamSaw(stack, (r) => r.method === 'DELETE' && r.headers['mcp-session-id'] === sid);
    assert.equal(dels.length, 1);
    assert.ok(!(await stack.upstream.sessions()).includes(sid));
  });

  test('headers: identity injected, the client bearer and spoofed X-User-* never reach the upstream', async () => {
    await stack.upstream.reset();
    const req = [
      'GET /mcp/echo-headers?q=%20a&b HTTP/1.1',
      `Host: 127.0.0.1:${stack.proxy.port}`,
      `Authorization: Bearer ${token}`,
      'X-User-Admin: true',
      'X_User_Sub: mallory',
      'X-User-Email: mallory@evil.example',
      'X-User-Email: second@evil.example',
      'X-Forwarded-For: 6.6.6.6',
      'Cookie: session=1',
      'Mcp-Session-Id: sess-123',
      'Last-Event-ID: 42',
      'Connection: keep-alive, X-Hop',
      'X-Hop: drop-me',
      '', '',
    ].join('\r\n');
    const { data } = await raw(stack.proxy.port, req, { done: oneResponse });
    const res = parseResponse(data);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.text);
    assert.equal(seen.url, '/mcp/echo-headers?q=%20a&b'); // path and raw query verbatim
    assert.equal(seen.headers['x-user-sub'], 'alice');
    assert.equal(seen.headers['x-user-email'], 'alice@example.com');
    assert.equal(seen.headers['x-user-groups'], 'mcp-users,dev');
    assert.equal(seen.headers['mcp-session-id'], 'sess-123');
    assert.equal(seen.headers['last-event-id'], '42');
    assert.equal(seen.headers.host, `127.0.0.1:${stack.upstream.port}`);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    for (const gone of ['authorization', 'x-user-admin', 'cookie', 'x-hop', 'x_user_sub']) {
      assert.equal(seen.headers[gone], undefined, `${gone} reached the upstream`);
    }
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'x-user-email').length, 1);
    assert.ok(!names.includes('x_user_sub'));
    assert.ok(!names.includes('authorization'));
    assert.ok(!names.includes('expect'));
    const recs = await stack.upstream.requests();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].headers.authorization, undefined);
  });

  test('Expect: 100-continue is answered by the proxy and never sent upstream', async () => {
    await stack.upstream.reset();
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    const sock = net.connect({ port: stack.proxy.port, host: '127.0.0.1' });
    await new Promise((r) => sock.on('connect', r));
    let got = Buffer.alloc(0);
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    sock.write(`POST /mcp/echo-body HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until('100 Continue', async () => got.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    sock.write(body);
    await until('the final response', async () => parseResponse(got.subarray(25))?.complete);
    sock.destroy();
    const r = parseResponse(got.subarray(25));
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).body, body);
    const [rec] = await stack.upstream.requests();
    assert.equal(rec.headers.expect, undefined);
    assert.equal(rec.headers['content-length'], String(body.length));
  });

  test('a chunked body is re-framed for the upstream: Content-Length, no Transfer-Encoding, nothing smuggled', async () => {
    await stack.upstream.reset();
    // A second request hidden inside the first one's body: if the proxy
    // passed the chunked framing through, or ended the body early, an
    // upstream could read it as a request of its own.
    const smuggled = 'GET /mcp/echo-headers HTTP/1.1\r\nHost: x\r\nX-Smuggled: 1\r\n\r\n';
    const part1 = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`;
    const part2 = `\r\n0\r\n\r\n${smuggled}`;
    const part3 = '"}}';
    const body = part1 + part2 + part3;
    const chunk = (t) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
    const res = await raw(stack.proxy.port, [
      `POST /mcp/echo-body HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n`
        + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      chunk(part1), chunk(part2), chunk(part3), '0\r\n\r\n',
    ]);
    const r = parseResponse(res.data);
    assert.equal(r.status, 200, res.data.toString());
    assert.equal(JSON.parse(r.text).body, body);
    const recs = await stack.upstream.requests();
    assert.equal(recs.length, 1, 'exactly one request reached the upstream');
    assert.equal(recs[0].path, '/mcp/echo-body');
    assert.equal(recs[0].headers['transfer-encoding'], undefined);
    assert.equal(recs[0].headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(recs[0].bodyLength, Buffer.byteLength(body));
    assert.ok(!recs.some((q) => q.headers['x-smuggled']), 'the hidden request was never parsed as one');
  });

  test('401: missing, malformed and refused tokens, with the exact challenge; the upstream never sees them', async () => {
    await stack.upstream.reset();
    const before = await metricsText(stack);
    const now = Math.floor(Date.now() / 1000);
    const rows = [
      // RFC 6750 3.1: no credentials (or another scheme) get the bare
      // challenge, no error code (a deliberate change from the Go proxy,
      // docs/conformance.md).
      { name: 'no header', headers: {}, code: 'bare' },
      { name: 'Basic', headers: { authorization: 'Basic YTpi' }, code: 'bare' },
      { name: 'empty bearer', headers: { authorization: 'Bearer    ' }, code: 'invalid_request' },
      { name: 'garbage', headers: { authorization: 'Bearer not-a-sealed-token' }, code: 'invalid_token', reason: 'invalid_token' },
      { name: 'expired', headers: { authorization: `Bearer ${tokenFor(stack, { iat: now - 7200, ttl: 3600 })}` }, code: 'invalid_token', reason: 'token_expired' },
      { name: 'other audience', headers: { authorization: `Bearer ${mintAccessToken({ secret: SECRET, base: 'https://other.example', resource: 'https://other.example/mcp' })}` }, code: 'invalid_token', reason: 'audience_mismatch' },
      { name: 'other resource', headers: { authorization: `Bearer ${tokenFor(stack, { resource: `${stack.base}/other` })}` }, code: 'invalid_token', reason: 'resource_mismatch' },
      { name: 'other secret', headers: { authorization: `Bearer ${mintAccessToken({ secret: OTHER_SECRET, base: stack.base, resource: `${stack.base}/mcp` })}` }, code: 'invalid_token', reason: 'invalid_token' },
      { name: 'refresh purpose', headers: { authorization: `Bearer ${tokenFor(stack, { typ: 'refresh', purpose: 'refresh' })}` }, code: 'invalid_token', reason: 'invalid_token' },
    ];
    for (const row of rows) {
      for (const method of ['POST', 'GET', 'OPTIONS']) {
        const r = await fetch(`${stack.base}/mcp`, { method, headers: row.headers });
        assert.equal(r.status, 401, `${row.name} ${method}`);
        assert.equal(r.headers.get('content-type'), 'application/json');
        if (row.code === 'bare') {
          assert.equal(r.headers.get('www-authenticate'),
            `Bearer resource_metadata="${stack.base}/.well-known/oauth-protected-resource/mcp"`, row.name);
          assert.equal(await r.text(), `{"error":"unauthorized","error_description":"${DESC_NONE}"}\n`);
          continue;
        }
        const desc = row.code === 'invalid_request' ? DESC_REQUEST : DESC_TOKEN;
        assert.equal(r.headers.get('www-authenticate'), challenge(stack.base, row.code, desc), row.name);
        assert.equal(await r.text(), `{"error":"${row.code}","error_description":"${desc}"}\n`);
      }
    }
    // A token in a second Authorization field is refused too (raw: fetch would merge them).
    const twice = await raw(stack.proxy.port,
      `GET /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      { done: oneResponse });
    assert.equal(parseResponse(twice.data).status, 401);
    assert.equal((await stack.upstream.requests()).length, 0);

    const after = await metricsText(stack);
    const delta = (reason) => metricValue(after, `mcp_auth_access_denied_total{reason="${reason}"}`) -
      metricValue(before, `mcp_auth_access_denied_total{reason="${reason}"}`);
    assert.equal(delta('token_expired'), 3);
    assert.equal(delta('resource_mismatch'), 3);
    assert.equal(delta('audience_mismatch'), 3);
    assert.equal(delta('invalid_token'), 9);
    // Expiry: the split (token_expired vs invalid_token) is also pinned by test_proxy_bearer.
  });

  test('the {mount}/.well-known/ carve-out and the discovery documents win over the mount', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${stack.base}/mcp/.well-known/oauth-authorization-server`, { method });
      assert.equal(r.status, 404, method);
      assert.equal(await r.text(), '{"error":"not_found"}');
    }
    const prm = await fetch(`${stack.base}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(prm.status, 200);
    assert.equal((await prm.json()).resource, `${stack.base}/mcp`);
    // Just past the mount is not the mount.
    const other = await fetch(`${stack.base}/mcpx`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 404);
    await other.text();
  });

  test('paths with dot segments, encoded separators or encoded control bytes: 400, never forwarded', async () => {
    await stack.upstream.reset();
    for (const path of ['/mcp/../x', '/mcp/%2e%2e/x', '/mcp/.%2E/x', '/mcp/a%2Fb', '/mcp/./x', '/mcp/..',
      // A decoded NUL ends the path early in C servers ("/mcp/..%00/x" is
      // "/mcp/.."); CR/LF and DEL have no business in a path either.
      '/mcp/%00/x', '/mcp/..%00/x', '/mcp/a%0d%0aX-Evil:1', '/mcp/%1F', '/mcp/%7f']) {
      const { data } = await raw(stack.proxy.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, { done: oneResponse });
      const r = parseResponse(data);
      assert.equal(r.status, 400, path);
      assert.equal(r.headers['content-type'][0], 'application/json');
      assert.equal(JSON.parse(r.text).error, 'invalid_request');
    }
    assert.equal((await stack.upstream.requests()).length, 0);
  });

  test('307/308 on the same origin are followed with the body replayed; 10 round trips at most', async () => {
    await stack.upstream.reset();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping', pad: 'x'.repeat(5000) });
    const sha = crypto.createHash('sha256').update(body).digest('hex');
    for (const code of [307, 308]) {
      const r = await fetch(`${stack.base}/mcp/redirect${code}?to=${encodeURIComponent('/mcp/echo-body')}`, {
        method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200);
      const echo = await r.json();
      assert.equal(echo.method, 'POST');
      assert.equal(echo.sha256, sha);
    }
    const recs = await stack.upstream.requests();
    assert.equal(recs.length, 4);
    for (const rec of recs) {
      assert.equal(rec.bodySha256, sha);
      assert.equal(rec.headers['x-user-sub'], 'alice');
      assert.equal(rec.headers.authorization, undefined);
    }

    await stack.upstream.reset();
    const nine = await fetch(`${stack.base}/mcp/redirect-chain?n=9`, { method: 'POST', body: 'b', headers: { authorization: `Bearer ${token}` } });
    assert.equal(nine.status, 200);
    assert.equal((await nine.json()).length, 1);
    assert.equal((await stack.upstream.requests()).length, 10);

    await stack.upstream.reset();
    const ten = await fetch(`${stack.base}/mcp/redirect-chain?n=10`, { method: 'POST', body: 'b', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ten.status, 502);
    assert.equal(ten.headers.get('content-type'), 'application/json');
    assert.equal(ten.headers.get('location'), null);
    assert.equal(await ten.text(), '{"error":"bad_gateway","error_description":"too many upstream redirects"}');
    assert.equal((await stack.upstream.requests()).length, 10);
  });

  test('cross-origin and scheme-changing redirects are returned as they are', async () => {
    for (const to of ['http://127.0.0.1:9/mcp', `https://127.0.0.1:${stack.upstream.port}/mcp/echo-body`, 'http://localhost:9/x']) {
      await stack.upstream.reset();
      const r = await fetch(`${stack.base}/mcp/redirect307?to=${encodeURIComponent(to)}`, {
        method: 'POST', body: '{}', redirect: 'manual', headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(r.status, 307, to);
      assert.equal(r.headers.get('location'), to);
      await r.text();
      assert.equal((await stack.upstream.requests()).length, 1, to);
    }
    const r301 = await fetch(`${stack.base}/mcp/status/301?header=Location:/mcp/echo-body`, {
      redirect: 'manual', headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(r301.status, 301);
  });

  test('a body over 16 MiB is refused with 413 before it is sent; 16 MiB exactly is forwarded', async () => {
    await stack.upstream.reset();
    const over = 16 * 1024 * 1024 + 1;
    const t0 = Date.now();
    const { data } = await raw(stack.proxy.port,
      `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${over}\r\n\r\n`,
      { done: oneResponse, timeoutMs: 5000 });
    assert.equal(parseResponse(data).status, 413);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal((await stack.upstream.requests()).length, 0);

    const exact = Buffer.alloc(16 * 1024 * 1024, 0x61);
    const r = await fetch(`${stack.base}/mcp/echo-body`, {
      method: 'POST', body: exact, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    });
    assert.equal(r.status, 200);
    const echo = await r.json();
    assert.equal(echo.length, exact.length);
    assert.equal(echo.sha256, crypto.createHash('sha256').update(exact).digest('hex'));
  });

  test('raw SSE events arrive as the upstream sends them', async () => {
    const r = await fetch(`${stack.base}/mcp/sse-raw?n=5&gap=250`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const arrivals = [];
    let text = '';
    const dec = new TextDecoder();
    for await (const chunk of r.body) {
      text += dec.decode(chunk, { stream: true });
      const events = text.split('\n\n').length - 1;
      while (arrivals.length < events) arrivals.push(Date.now());
    }
    assert.equal(arrivals.length, 5);
    assert.ok(arrivals[4] - arrivals[0] >= 700, `events spread over ${arrivals[4] - arrivals[0]} ms`);
    assert.ok(arrivals[1] - arrivals[0] >= 150, 'the second event came with the first');
  });

  test('status, headers and bodies of upstream errors pass through; X-RateLimit-* and duplicate security headers do not', async () => {
    const q = ['X-RateLimit-Limit:5', 'X-RateLimit-Remaining:1', 'X-Custom:kept', 'Strict-Transport-Security:max-age=1', 'X-Accel-Buffering:no']
      .map((h) => `header=${encodeURIComponent(h)}`).join('&');
    for (const code of [400, 429, 500, 502, 503, 504]) {
      const { data } = await raw(stack.proxy.port,
        `GET /mcp/status/${code}?${q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, { done: oneResponse });
      const r = parseResponse(data);
      assert.equal(r.status, code);
      assert.deepEqual(JSON.parse(r.text), { status: code });
      assert.deepEqual(r.headers['x-custom'], ['kept']);
      assert.deepEqual(r.headers['x-accel-buffering'], ['no']);
      assert.equal(r.headers['x-ratelimit-limit'], undefined);
      assert.equal(r.headers['x-ratelimit-remaining'], undefined);
      assert.deepEqual(r.headers['strict-transport-security'], ['max-age=63072000; includeSubDomains']);
      assert.equal(r.headers['x-request-id'].length, 1);
    }
    // HEAD: the head, no body.
    const head = await fetch(`${stack.base}/mcp/echo-headers`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const nc = await fetch(`${stack.base}/mcp/status/204`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(nc.status, 204);
  });

  test('a truncated upstream response is never ended cleanly', async () => {
    const { data, closed } = await raw(stack.proxy.port,
      `GET /mcp/truncate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, { timeoutMs: 5000 });
    assert.ok(closed);
    const r = parseResponse(data);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'][0], '1000');
    assert.equal(r.complete, false);
    assert.ok(r.body.length < 1000);
  });

  test('back-pressure: a client that stops reading stops the upstream too', async () => {
    await stack.upstream.reset();
    const n = 64 * 1024 * 1024;
    let got = 0;
    let paused = true;
    const sock = net.connect({ port: stack.proxy.port, host: '127.0.0.1' });
    await new Promise((r) => sock.on('connect', r));
    sock.write(`GET /mcp/bytes?n=${n}&chunk=65536 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
    const closed = new Promise((r) => sock.on('close', r));
    sock.on('data', (d) => {
      got += d.length;
      if (paused) sock.pause();
    });
    await sleep(1500);
    const mid = (await stack.upstream.requests()).find((x) => x.path === '/mcp/bytes');
    assert.ok(mid, 'the upstream got the request');
    assert.equal(mid.finishedAt, null, 'the upstream finished while the client read nothing');
    paused = false;
    sock.resume();
    await closed;
    assert.ok(got > n, `read ${got} bytes`);
    const end = (await stack.upstream.requests()).find((x) => x.path === '/mcp/bytes');
    assert.ok(end.finishedAt !== null);
  });

  test('client disconnect mid-stream and before the first byte closes the upstream request', async () => {
    await stack.upstream.reset();
    // Mid-stream: read one event, then go.
    const ac = new AbortController();
    const r = await fetch(`${stack.base}/mcp/sse-raw?n=100&gap=100`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    const reader = r.body.getReader();
    await reader.read();
    ac.abort();
    await until('the upstream to see the SSE client leave', async () =>
      (await stack.upstream.closed()).some((c) => c.path === '/mcp/sse-raw'));

    // Before the first response byte, while a long tool call runs.
    const { headers } = await rawSession(stack, token);
    const ac2 = new AbortController();
    const call = fetch(`${stack.base}/mcp`, { method: 'POST', headers, body: toolCall(5, 'sleep', { ms: 20000 }), signal: ac2.signal })
      .catch((e) => e);
    await until('the sleep call at the upstream', async () =>
      (await stack.upstream.requests()).some((x) => x.mcpTool === 'sleep'));
    const t0 = Date.now();
    ac2.abort();
    await call;
    await until('the upstream to see the sleeping client leave', async () =>
      (await stack.upstream.closed()).some((c) => c.mcpMethod === 'tools/call'));
    assert.ok(Date.now() - t0 < 3000);
  });

  test('access log: sub, email and rpc fields on a tools/call line; tool metrics counted', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token });
    await mcp.client.callTool({ name: 'echo', arguments: { text: 'logged' } });
    await mcp.close();
    const line = await until('the access-log line', async () => stack.proxy.logLines()
      .map((l) => { try { return JSON.parse(l); } catch { return null; } })
      .find((j) => j?.msg === 'request' && j.rpc_tool === 'echo'));
    assert.equal(line.path, '/mcp');
    assert.equal(line.method, 'POST');
    assert.equal(line.status, 200);
    assert.equal(line.sub, 'alice');
    assert.equal(line.email, 'alice@example.com');
    assert.equal(line.rpc_method, 'tools/call');
    assert.ok(line.rpc_id);
    const text = await metricsText(stack);
    assert.ok(metricValue(text, 'mcp_auth_rpc_calls_total{tool="echo"}') >= 1);
    assert.ok(metricValue(text, 'mcp_auth_rpc_response_bytes_total{tool="echo"}') > 0);
    // Failed auth never carries sub.
    const denied = stack.proxy.logLines().map((l) => { try { return JSON.parse(l); } catch { return null; } })
      .filter((j) => j?.msg === 'request' && j.status === 401);
    assert.ok(denied.length > 0);
    for (const d of denied) assert.equal(d.sub, undefined);
  });

  test('a stream still open at shutdown is cut at SHUTDOWN_TIMEOUT, cleanly (the stop asserts it)', async () => {
    const r = await fetch(`${stack.base}/mcp/sse-raw?n=10000&gap=100`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const reader = r.body.getReader();
    await reader.read();
    // Keep reading in the background until the proxy cuts it in after().
    (async () => { try { for (;;) { const { done } = await reader.read(); if (done) break; } } catch { /* cut */ } })();
  });

  test('a token from the real login flow opens the route', async () => {
    const { tokens } = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: tokens.access_token });
    const who = JSON.parse(resultText(await mcp.client.callTool({ name: 'whoami', arguments: {} })));
    assert.equal(who.sub, 'alice');
    assert.equal(who.authorizationPresent, false);
    await mcp.close();
  });
});

// ================================================= upstream Authorization, concurrency cap

describe('MCP route with UPSTREAM_AUTHORIZATION_HEADER and MCP_PER_SUBJECT_CONCURRENCY=2', () => {
  let stack;
  before(async () => {
    stack = await startStack({
      proxyEnv: {
        TOKEN_SIGNING_SECRET: SECRET,
        UPSTREAM_AUTHORIZATION_HEADER: 'Bearer upstream-only-secret',
        MCP_PER_SUBJECT_CONCURRENCY: '2',
      },
    });
  });
  after(async () => { await stack?.stop(); });

  test('the configured upstream Authorization replaces the client bearer, on every hop', async () => {
    const token = tokenFor(stack);
    const mcp = await connectMcp(`${stack.base}/mcp`, { token });
    const who = JSON.parse(resultText(await mcp.client.callTool({ name: 'whoami', arguments: {} })));
    assert.equal(who.authorization, 'Bearer upstream-only-secret');
    await mcp.close();
    await stack.upstream.reset();
    const r = await fetch(`${stack.base}/mcp/redirect308?to=/mcp/echo-headers`, { headers: { authorization: `Bearer ${token}` } });
    const seen = await r.json();
    assert.equal(seen.headers.authorization, 'Bearer upstream-only-secret');
    for (const rec of await stack.upstream.requests()) {
      assert.equal(rec.headers.authorization, 'Bearer upstream-only-secret');
    }
  });

  test('three concurrent calls of one subject with a cap of 2: one 503 with Retry-After: 1', async () => {
    const bob = tokenFor(stack, { sub: 'bob', email: 'bob@example.com' });
    const { headers } = await rawSession(stack, bob);
    const before = metricValue(await metricsText(stack), 'mcp_auth_access_denied_total{reason="subject_concurrency_exceeded"}');
    const calls = [1, 2, 3].map((i) => fetch(`${stack.base}/mcp`, {
      method: 'POST', headers, body: toolCall(10 + i, 'sleep', { ms: 1500 }),
    }).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), type: r.headers.get('content-type'), text: await r.text() })));
    const out = await Promise.all(calls);
    const refused = out.filter((o) => o.status === 503);
    assert.equal(refused.length, 1, JSON.stringify(out.map((o) => o.status)));
    assert.equal(out.filter((o) => o.status === 200).length, 2);
    assert.equal(refused[0].retry, '1');
    assert.equal(refused[0].type, 'application/json');
    assert.equal(refused[0].text, '{"error":"temporarily_unavailable","error_description":"per-subject concurrency limit reached"}');
    const after = metricValue(await metricsText(stack), 'mcp_auth_access_denied_total{reason="subject_concurrency_exceeded"}');
    assert.equal(after - before, 1);
    // The slots came back: another subject was never affected, and bob can call again.
    const again = await fetch(`${stack.base}/mcp`, { method: 'POST', headers, body: toolCall(20, 'echo', { text: 'x' }) });
    assert.equal(again.status, 200);
    await again.text();
  });
});

// ================================================= upstream faults, per-IP budget

describe('MCP route: slow and missing upstream, per-IP budget', () => {
  let stack;
  before(async () => {
    stack = await startStack({
      proxyEnv: { TOKEN_SIGNING_SECRET: SECRET, UPSTREAM_RESPONSE_HEADER_TIMEOUT: '1s' },
    });
  });
  after(async () => { await stack?.stop(); });

  test('no response head within UPSTREAM_RESPONSE_HEADER_TIMEOUT: 504 JSON, and the upstream request is closed', async () => {
    const token = tokenFor(stack);
    const t0 = Date.now();
    const r = await fetch(`${stack.base}/mcp/slow-headers?ms=3000`, { headers: { authorization: `Bearer ${token}` } });
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal((await r.json()).error, 'gateway_timeout');
    assert.ok(took >= 900 && took < 2800, `answered after ${took} ms`);
    await until('the upstream to see the close', async () =>
      (await stack.upstream.closed()).some((c) => c.path === '/mcp/slow-headers'));
    // Log lines reach stdout through the writer thread, a moment later.
    await stack.proxy.waitForLog('"msg":"proxy_error"', { timeoutMs: 5000 });
  });

  // Another proxy on this stack's IdP, aimed at upstream by name, with
  // extra environment; stopped by the describe's after hook.
  const others = [];
  after(async () => { for (const p of others) await p.stop().catch(() => {}); });
  async function proxyWith(env) {
    const base = { ...stack.proxy.env };
    for (const k of ['LISTEN_ADDR', 'METRICS_ADDR', 'PROXY_BASE_URL']) delete base[k];
    const p = await startProxy({ env: { ...base, ...env } });
    others.push(p);
    return { p, token: mintAccessToken({ secret: SECRET, base: p.url, resource: `${p.url}/mcp` }) };
  }

  test('a dual-stack upstream name whose first address (::1) refuses: every request reaches 127.0.0.1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-dns-'));
    const hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '::1 dual.test\n127.0.0.1 dual.test\n');
    try {
      const { p, token } = await proxyWith({
        UPSTREAM_MCP_URL: `http://dual.test:${stack.upstream.port}/mcp`,
        DNS_HOSTS_FILE: hosts,
      });
      for (let i = 0; i < 3; i += 1) {
        const r = await fetch(`${p.url}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'dual', version: '1' } } }),
        });
        assert.equal(r.status, 200);
        await r.text();
      }
      assert.ok(!p.logLines().some((l) => l.includes('"msg":"proxy_error"')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a DNS server that never answers: 200 aborted requests leave no threads or descriptors behind', async () => {
    // The fault: a UDP socket that takes every query and never answers (a
    // real DNS server cannot be made to hang on demand). It used to cost a
    // thread and a pipe per aborted request until getaddrinfo gave up.
    const sink = dgram.createSocket('udp4');
    sink.on('message', () => {});
    await new Promise((r) => sink.bind(0, '127.0.0.1', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-dns-'));
    const conf = path.join(dir, 'resolv.conf');
    fs.writeFileSync(conf, `nameserver 127.0.0.1:${sink.address().port}\noptions timeout:5 attempts:2\n`);
    try {
      const { p, token } = await proxyWith({
        UPSTREAM_MCP_URL: 'http://slow-upstream.test:8080/mcp',
        DNS_RESOLV_CONF: conf,
        WORKERS: '2',
      });
      const pid = p.proc.pid;
      const count = (what) => fs.readdirSync(`/proc/${pid}/${what}`).length;
      const aborted = async () => {
        const ac = new AbortController();
        const r = fetch(`${p.url}/mcp`, { method: 'POST', body: '{}', signal: ac.signal, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
        setTimeout(() => ac.abort(), 20);
        await r.then((x) => x.text()).catch(() => {});
      };
      await aborted(); // every worker's resolver socket exists after its first query
      await aborted();
      await new Promise((r) => setTimeout(r, 300));
      const threads = count('task');
      const fds = count('fd');
      for (let i = 0; i < 200; i += 20) {
        await Promise.all(Array.from({ length: 20 }, aborted));
      }
      // Closed client connections are seen by the proxy at once; give the
      // loops a moment (bounded).
      let after = count('fd');
      for (let i = 0; i < 50 && after > fds; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        after = count('fd');
      }
      assert.equal(count('task'), threads, 'threads');
      assert.ok(after <= fds, `descriptors: ${fds} before, ${after} after`);
      const health = await fetch(`${p.url}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      sink.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('upstream down: 502 JSON', async () => {
    const token = tokenFor(stack);
    await stack.upstream.stop();
    const r = await fetch(`${stack.base}/mcp`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal((await r.json()).error, 'bad_gateway');
  });

  test('unauthenticated requests count against the mount\'s per-IP budget (600/min)', async () => {
    // 600 per minute, estimated over the minute boundary (SPEC.md 3.0.3):
    // a run that straddles a boundary may get a few dozen more.
    let first429 = 0;
    for (let i = 1; i <= 700 && first429 === 0; i += 1) {
      const r = await fetch(`${stack.base}/mcp`, { method: 'POST' });
      await r.text();
      if (r.status === 429) first429 = i;
      else assert.equal(r.status, 401);
    }
    assert.ok(first429 > 0, 'no 429 after 700 unauthenticated requests');
    const text = await metricsText(stack);
    assert.ok(metricValue(text, 'mcp_auth_rate_limited_total{endpoint="mcp"}') >= 1);
  });
});

// ================================================= https upstream

// A throw-away CA and two server certificates (one for localhost and
// 127.0.0.1, one for another name), made with the openssl CLI.
function makeCerts(dir) {
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mcp-auth-proxy e2e CA');
  for (const [name, san] of [['good', 'DNS:localhost,IP:127.0.0.1'], ['wrong', 'DNS:other.example']]) {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  return (f) => path.join(dir, f);
}

// A minimal TLS upstream in the test process: the MCP peer speaks plain
// HTTP only, and what is tested here is the proxy's TLS client (SNI, name
// and IP checks, verification, keep-alive reuse), not MCP.
async function startTlsEcho(certFile, keyFile) {
  const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
    const body = JSON.stringify({
      url: req.url,
      headers: req.headers,
      servername: req.socket.servername || null,
      remotePort: req.socket.remotePort,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

describe('MCP route to an https upstream', () => {
  let dir;
  let cert;
  let good;
  let wrong;
  let stack;
  const extra = [];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-tls-'));
    cert = makeCerts(dir);
    good = await startTlsEcho(cert('good.pem'), cert('good.key'));
    wrong = await startTlsEcho(cert('wrong.pem'), cert('wrong.key'));
    stack = await startStack({
      proxyEnv: {
        TOKEN_SIGNING_SECRET: SECRET,
        WORKERS: '1',
        UPSTREAM_MCP_URL: `https://127.0.0.1:${good.port}/mcp`,
        SSL_CERT_FILE: cert('ca.pem'),
      },
    });
  });
  after(async () => {
    for (const p of extra) await p.stop().catch(() => {});
    await stack?.stop();
    await good?.close();
    await wrong?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Another proxy on the same IdP with a different upstream.
  async function proxyTo(upstreamUrl, env = {}) {
    const base = { ...stack.proxy.env };
    for (const k of ['LISTEN_ADDR', 'METRICS_ADDR', 'PROXY_BASE_URL', 'SSL_CERT_FILE']) delete base[k];
    const p = await startProxy({ env: { ...base, UPSTREAM_MCP_URL: upstreamUrl, ...env } });
    extra.push(p);
    return p;
  }

  test('an IP-literal https upstream: verified against the trusted CA, no SNI, the connection kept alive', async () => {
    const token = tokenFor(stack);
    const ports = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await fetch(`${stack.base}/mcp/echo?i=${i}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      const seen = await r.json();
      assert.equal(seen.url, `/mcp/echo?i=${i}`);
      assert.equal(seen.servername, null);
      assert.equal(seen.headers['x-user-sub'], 'alice');
      assert.equal(seen.headers.host, `127.0.0.1:${good.port}`);
      assert.equal(seen.headers.authorization, undefined);
      ports.push(seen.remotePort);
    }
    assert.equal(new Set(ports).size, 1, `three requests over ${new Set(ports).size} connections`);
  });

  test('a host name: resolved, SNI sent, the name checked', async () => {
    const p = await proxyTo(`https://localhost:${good.port}/mcp`, { SSL_CERT_FILE: cert('ca.pem') });
    const token = mintAccessToken({ secret: SECRET, base: p.url, resource: `${p.url}/mcp` });
    const r = await fetch(`${p.url}/mcp/x`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.servername, 'localhost');
    assert.equal(seen.headers.host, `localhost:${good.port}`);
  });

  test('a close-delimited body from a TLS upstream that closes without close_notify is relayed whole', async () => {
    // A fault a real server produces only by accident: the TLS peer writes
    // a response without Content-Length or chunking and drops the TCP
    // connection without a close_notify alert (many servers do; curl
    // accepts it). The framing is the close, so the body is complete.
    const body = 'x'.repeat(50000) + 'END';
    const server = tls.createServer({ cert: fs.readFileSync(cert('good.pem')), key: fs.readFileSync(cert('good.key')) }, (sock) => {
      let head = '';
      sock.on('data', (d) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${body}`, () => {
          setTimeout(() => sock.destroy(), 50); // TCP FIN, no close_notify
        });
      });
      sock.on('error', () => {});
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const p = await proxyTo(`https://localhost:${server.address().port}/mcp`, { SSL_CERT_FILE: cert('ca.pem') });
      const token = mintAccessToken({ secret: SECRET, base: p.url, resource: `${p.url}/mcp` });
      const r = await fetch(`${p.url}/mcp/stream`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), body); // throws if the proxy aborted the response
      assert.ok(!p.logLines().some((l) => l.includes('"msg":"proxy_error"')), 'no proxy_error for a clean close');
    } finally {
      server.close();
    }
  });

  test('a certificate for another name, or from an untrusted CA: 502, nothing forwarded', async () => {
    const cases = [
      [`https://localhost:${wrong.port}/mcp`, { SSL_CERT_FILE: cert('ca.pem') }],
      [`https://127.0.0.1:${wrong.port}/mcp`, { SSL_CERT_FILE: cert('ca.pem') }],
      [`https://localhost:${good.port}/mcp`, {}], // system CAs only
    ];
    for (const [url, env] of cases) {
      const p = await proxyTo(url, env);
      const token = mintAccessToken({ secret: SECRET, base: p.url, resource: `${p.url}/mcp` });
      const r = await fetch(`${p.url}/mcp`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 502, url);
      assert.equal((await r.json()).error, 'bad_gateway');
      await until('the proxy_error line', async () =>
        p.logLines().some((l) => l.includes('"msg":"proxy_error"') && l.includes('certificate verification failed')));
    }
  });
});
