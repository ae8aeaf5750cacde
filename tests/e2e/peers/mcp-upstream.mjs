#!/usr/bin/env node
// Test MCP server for the mcp-auth-proxy end-to-end suite.
//
// A real MCP server on the official TypeScript SDK (McpServer +
// StreamableHTTPServerTransport, stateful sessions with Mcp-Session-Id),
// bound to 127.0.0.1 only, plus raw HTTP routes that let proxy tests produce
// redirects, error statuses, slow headers, raw SSE and body echoes on demand.
//
// Usage:
//   node peers/mcp-upstream.mjs --port N [--path /mcp] [--no-record]
//   (env UPSTREAM_PORT, UPSTREAM_PATH are read when the flags are absent;
//    port 0 or absent picks a free port; --no-record or UPSTREAM_RECORD=0
//    keeps /__requests and /__closed empty, for long runs such as the soak)
//
// Prints exactly one line `UPSTREAM_READY http://127.0.0.1:<port><path>` when
// listening. SIGTERM/SIGINT close every session and exit 0.
//
// MCP endpoint `<path>` (POST / GET SSE / DELETE), tools:
//   echo          {text}              → text content = text
//   whoami        {}                  → text content = JSON {sub, email, groups,
//                                       authorizationPresent, authorization, headers}
//                                       from the x-user-* / authorization headers of
//                                       the POST that carried the call
//   slow_progress {count=3, intervalMs=200}
//                                     → `count` notifications/progress (when the call
//                                       has a progressToken; else notifications/message)
//                                       spaced by intervalMs, then text "done <count>"
//   sleep         {ms}                → waits ms (or until cancelled), text "slept <ms>"
//   notify        {text="ping", kind="message"|"tools_list_changed"}
//                                     → sends a notification with no related request, so
//                                       it travels on the session's standalone GET SSE
//                                       stream; result text JSON {sent, standaloneStreamOpen}
//
// Raw routes, under the same prefix (here `/mcp`):
//   /mcp/redirect307?to=URL          307, Location: URL
//   /mcp/redirect308?to=URL          308, Location: URL
//   /mcp/redirect-chain?n=N[&code=307]
//                                    N more same-origin redirects, then behaves like
//                                    echo-body (so N=9 ends on the 10th round trip)
//   /mcp/status/<code>[?header=Name:Value...]
//                                    that status, body {"status":code} (none for
//                                    1xx/204/304), extra response headers as given
//   /mcp/slow-headers?ms=N           waits N ms before sending headers, then 200 JSON
//   /mcp/sse-raw?n=N&gap=M           text/event-stream with N events (`event: tick`,
//                                    `id: i`, `data: {"i":i,"sentAt":ms}`) M ms apart,
//                                    first one at once, then the response ends
//   /mcp/echo-body                   200 JSON {method, contentType, length, sha256, body}
//                                    (body as UTF-8 text, omitted above 1 MiB)
//   /mcp/echo-headers                200 JSON {method, url, httpVersion, headers, rawHeaders}
//   /mcp/bytes?n=N[&chunk=K]         N bytes of 'abcdefghij…' in K-byte writes (chunked)
//   /mcp/truncate                    promises more than it sends, then resets the socket
//
// Identity verification mode (opt-in, identity.test.mjs and
// docs/identity-assertion.md's pattern):
//   --verify-identity JWKS_URL --identity-issuer ISS
//   every request under the prefix must carry an X-MCP-Identity-Assertion
//   that `jose` verifies against JWKS_URL (ES256, typ JWT, iss ISS, aud this
//   server's origin http://127.0.0.1:<port>); otherwise 401
//   {"error":"invalid_identity_assertion","code":<jose error code>} and the
//   request goes no further. The outcome is recorded as `identity`
//   ({ok:true, claims} or {ok:false, code}) on the request's record.
//   POST /__verify {token, currentDate?} answers the same check for any
//   token, {ok, claims|code} (currentDate: Unix seconds, to test expiry).
//
// Side routes (not recorded):
//   GET  /__requests   every recorded request: {seq, at, method, path, query, url,
//                      httpVersion, headers, rawHeaders, bodyLength, bodySha256, body
//                      (text, first 64 KiB), finishedAt, closedEarly}
//   GET  /__closed     requests whose connection closed before the response finished:
//                      {seq, at, method, path, mcpMethod}
//   GET  /__sessions   ids of the live MCP sessions
//   POST /__reset      clears requests and closed lists

import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

// ---------------------------------------------------------------- config

function readConfig(argv, env) {
  const opts = {
    port: Number(env.UPSTREAM_PORT || 0), path: env.UPSTREAM_PATH || '/mcp', record: env.UPSTREAM_RECORD !== '0',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--no-record') { opts.record = false; continue; }
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
    const value = argv[++i];
    if (flag === '--port') opts.port = Number(value);
    else if (flag === '--path') opts.path = value;
    else if (flag === '--verify-identity') opts.verifyJwks = value;
    else if (flag === '--identity-issuer') opts.identityIssuer = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`bad port ${opts.port}`);
  if (!/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(opts.path)) throw new Error(`bad path ${opts.path}`);
  return opts;
}

// ---------------------------------------------------------------- recording

const requests = [];
const closed = [];
let seq = 0;
const BODY_RECORD_CAP = 64 * 1024;

function readBody(req, cap = 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > cap) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj, extraHeaders = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

// ---------------------------------------------------------------- MCP

const sessions = new Map(); // Mcp-Session-Id -> { transport, server, getStreams }

function headerValue(headers, name) {
  // requestInfo.headers is a plain object with lower-case keys.
  const v = headers?.[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function buildServer(state) {
  const server = new McpServer(
    { name: 'mcp-auth-proxy-e2e-upstream', version: '1.0.0' },
    { capabilities: { logging: {} } },
  );

  server.registerTool('echo', {
    description: 'Returns its text argument',
    inputSchema: { text: z.string() },
  }, async ({ text }) => ({ content: [{ type: 'text', text }] }));

  server.registerTool('whoami', {
    description: 'Returns the identity headers the upstream received',
    inputSchema: {},
  }, async (_args, extra) => {
    const h = extra.requestInfo?.headers || {};
    const auth = headerValue(h, 'authorization');
    const out = {
      sub: headerValue(h, 'x-user-sub') ?? null,
      email: headerValue(h, 'x-user-email') ?? null,
      groups: headerValue(h, 'x-user-groups') ?? null,
      authorizationPresent: auth !== undefined,
      authorization: auth ?? null,
      headers: h,
    };
    return { content: [{ type: 'text', text: JSON.stringify(out) }] };
  });

  server.registerTool('slow_progress', {
    description: 'Sends count progress notifications intervalMs apart, then answers',
    inputSchema: {
      count: z.number().int().min(0).max(1000).default(3),
      intervalMs: z.number().int().min(0).max(60000).default(200),
    },
  }, async ({ count, intervalMs }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= count; i += 1) {
      await delay(intervalMs, undefined, { signal: extra.signal });
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: count, message: `step ${i} at ${Date.now()}` },
        });
      } else {
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level: 'info', logger: 'slow_progress', data: { step: i, at: Date.now() } },
        });
      }
    }
    return { content: [{ type: 'text', text: `done ${count}` }] };
  });

  server.registerTool('sleep', {
    description: 'Waits ms milliseconds, then answers',
    inputSchema: { ms: z.number().int().min(0).max(600000) },
  }, async ({ ms }, extra) => {
    await delay(ms, undefined, { signal: extra.signal });
    return { content: [{ type: 'text', text: `slept ${ms}` }] };
  });

  server.registerTool('notify', {
    description: 'Sends a notification on the standalone GET SSE stream',
    inputSchema: {
      text: z.string().default('ping'),
      kind: z.enum(['message', 'tools_list_changed']).default('message'),
    },
  }, async ({ text, kind }) => {
    if (kind === 'tools_list_changed') {
      server.sendToolListChanged();
    } else {
      // No relatedRequestId: the transport routes it to the GET stream.
      await server.server.notification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'notify', data: { text, at: Date.now() } },
      });
    }
    const out = { sent: true, standaloneStreamOpen: state.getStreams > 0 };
    return { content: [{ type: 'text', text: JSON.stringify(out) }] };
  });

  return server;
}

async function handleMcp(req, res, body) {
  const sid = req.headers['mcp-session-id'];
  const entry = sid ? sessions.get(sid) : undefined;

  if (req.method === 'POST') {
    let parsed;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
    if (entry) return entry.transport.handleRequest(req, res, parsed);
    if (sid) return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    if (!isInitializeRequest(parsed)) {
      return sendJson(res, 400, {
        jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no valid session ID provided' }, id: null,
      });
    }
    const state = { getStreams: 0 };
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => { sessions.set(id, { transport, server, state }); },
      onsessionclosed: (id) => { sessions.delete(id); },
    });
    transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
    const server = buildServer(state);
    await server.connect(transport);
    return transport.handleRequest(req, res, parsed);
  }

  if (req.method === 'GET' || req.method === 'DELETE') {
    if (!sid) return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Mcp-Session-Id required' }, id: null });
    if (!entry) return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    if (req.method === 'GET') {
      entry.state.getStreams += 1;
      res.on('close', () => { entry.state.getStreams -= 1; });
    }
    return entry.transport.handleRequest(req, res);
  }

  return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, POST, DELETE' });
}

// ---------------------------------------------------------------- raw routes

function echoBody(req, res, body) {
  sendJson(res, 200, {
    method: req.method,
    contentType: req.headers['content-type'] ?? null,
    length: body.length,
    sha256: crypto.createHash('sha256').update(body).digest('hex'),
    ...(body.length <= 1024 * 1024 ? { body: body.toString('utf8') } : {}),
  });
}

async function handleRaw(req, res, sub, url, body, prefix) {
  const q = url.searchParams;
  let m;

  if (sub === '/redirect307' || sub === '/redirect308') {
    const to = q.get('to');
    if (!to) return sendJson(res, 400, { error: 'missing to' });
    return sendJson(res, sub === '/redirect307' ? 307 : 308, { redirect: to }, { location: to });
  }

  if (sub === '/redirect-chain') {
    const n = Number(q.get('n') || 0);
    const code = Number(q.get('code') || 307);
    if (n > 0) {
      const to = `${prefix}/redirect-chain?n=${n - 1}&code=${code}`;
      return sendJson(res, code, { redirect: to, remaining: n - 1 }, { location: to });
    }
    return echoBody(req, res, body);
  }

  if ((m = sub.match(/^\/status\/(\d{3})$/))) {
    const status = Number(m[1]);
    const headers = {};
    for (const h of q.getAll('header')) {
      const i = h.indexOf(':');
      if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
    }
    if (status < 200 || status === 204 || status === 304) {
      res.writeHead(status, headers);
      return res.end();
    }
    return sendJson(res, status, { status }, headers);
  }

  if (sub === '/slow-headers') {
    const ms = Number(q.get('ms') || 1000);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      await delay(ms, undefined, { signal: ac.signal });
    } catch {
      return undefined; // client went away; recorded by the close hook
    }
    return sendJson(res, 200, { waitedMs: ms });
  }

  if (sub === '/sse-raw') {
    const n = Number(q.get('n') || 3);
    const gap = Number(q.get('gap') || 100);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      for (let i = 0; i < n; i += 1) {
        if (i > 0) await delay(gap, undefined, { signal: ac.signal });
        res.write(`event: tick\nid: ${i}\ndata: ${JSON.stringify({ i, sentAt: Date.now() })}\n\n`);
      }
      res.end();
    } catch {
      /* client went away */
    }
    return undefined;
  }

  if (sub === '/echo-body') return echoBody(req, res, body);

  if (sub === '/echo-headers') {
    return sendJson(res, 200, {
      method: req.method, url: req.url, httpVersion: req.httpVersion,
      headers: req.headers, rawHeaders: req.rawHeaders,
    });
  }

  if (sub === '/bytes') {
    const n = Number(q.get('n') || 1024);
    const chunk = Math.max(1, Number(q.get('chunk') || 16384));
    const pattern = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(chunk / 36) + 1));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    while (sent < n && !ac.signal.aborted) {
      const len = Math.min(chunk, n - sent);
      const ok = res.write(pattern.subarray(0, len));
      sent += len;
      if (!ok) {
        // Respect back-pressure so a slow reader slows us down.
        await new Promise((resolve) => {
          const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!ac.signal.aborted) res.end();
    return undefined;
  }

  if (sub === '/truncate') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"partial":');
    await delay(50);
    res.socket?.resetAndDestroy?.() ?? res.socket?.destroy();
    return undefined;
  }

  return sendJson(res, 404, { error: 'not_found', path: url.pathname });
}

// ---------------------------------------------------------------- identity

// The documented way an upstream checks the proxy's assertion: jose's
// remote key set (cached, refetched on an unknown kid) and jwtVerify with
// the algorithm, issuer and audience pinned. Returns {ok, claims} or
// {ok: false, code}.
async function makeIdentityVerifier(jwksUrl, issuer, audience) {
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  return async (token, currentDate) => {
    if (typeof token !== 'string' || token === '') return { ok: false, code: 'missing' };
    try {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: ['ES256'], typ: 'JWT', issuer, audience, requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        ...(currentDate ? { currentDate: new Date(currentDate * 1000) } : {}),
      });
      return { ok: true, claims: payload };
    } catch (err) {
      return { ok: false, code: err?.code ?? 'error', claim: err?.claim ?? null };
    }
  };
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = readConfig(process.argv.slice(2), process.env);
  const prefix = opts.path;
  let verifyIdentity = null; // set once the port (the audience) is known

  const httpServer = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    try {
      // Side routes for the tests themselves; never recorded.
      if (url.pathname === '/__requests' && req.method === 'GET') return sendJson(res, 200, requests);
      if (url.pathname === '/__closed' && req.method === 'GET') return sendJson(res, 200, closed);
      if (url.pathname === '/__sessions' && req.method === 'GET') return sendJson(res, 200, [...sessions.keys()]);
      if (url.pathname === '/__reset' && req.method === 'POST') {
        requests.length = 0;
        closed.length = 0;
        return sendJson(res, 200, { ok: true });
      }
      if (url.pathname === '/__verify' && req.method === 'POST' && verifyIdentity) {
        const { token, currentDate } = JSON.parse((await readBody(req)).toString('utf8'));
        return sendJson(res, 200, await verifyIdentity(token, currentDate));
      }

      const rec = {
        seq: ++seq, at: Date.now(), method: req.method, path: url.pathname,
        query: Object.fromEntries(url.searchParams), url: req.url, httpVersion: req.httpVersion,
        headers: { ...req.headers }, rawHeaders: [...req.rawHeaders],
        bodyLength: null, bodySha256: null, body: null, finishedAt: null, closedEarly: false,
      };
      if (opts.record) requests.push(rec);
      res.on('finish', () => { rec.finishedAt = Date.now(); });
      res.on('close', () => {
        if (!res.writableFinished && opts.record) {
          rec.closedEarly = true;
          closed.push({ seq: rec.seq, at: Date.now(), method: rec.method, path: rec.path, mcpMethod: rec.mcpMethod ?? null });
        }
      });

      const body = await readBody(req);
      rec.bodyLength = body.length;
      rec.bodySha256 = crypto.createHash('sha256').update(body).digest('hex');
      rec.body = body.subarray(0, BODY_RECORD_CAP).toString('utf8');
      if (url.pathname === prefix && body.length) {
        try {
          const msg = JSON.parse(body.toString('utf8'));
          rec.mcpMethod = Array.isArray(msg) ? msg.map((x) => x.method).join(',') : msg.method;
          if (msg?.method === 'tools/call') rec.mcpTool = msg.params?.name;
        } catch { /* not JSON; handleMcp answers */ }
      }

      if (verifyIdentity) {
        rec.identity = await verifyIdentity(req.headers['x-mcp-identity-assertion']);
        if (!rec.identity.ok) {
          return sendJson(res, 401, { error: 'invalid_identity_assertion', code: rec.identity.code });
        }
      }
      if (url.pathname === prefix) return await handleMcp(req, res, body);
      if (url.pathname.startsWith(`${prefix}/`)) {
        return await handleRaw(req, res, url.pathname.slice(prefix.length), url, body, prefix);
      }
      return sendJson(res, 404, { error: 'not_found', path: url.pathname });
    } catch (err) {
      if (err?.message !== 'body too large') console.error('upstream request error:', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', message: String(err?.message) });
      else res.destroy();
      return undefined;
    }
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, '127.0.0.1', resolve);
  });
  const { port } = httpServer.address();
  if (opts.verifyJwks) {
    verifyIdentity = await makeIdentityVerifier(opts.verifyJwks, opts.identityIssuer, `http://127.0.0.1:${port}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    for (const { transport } of sessions.values()) {
      try { await transport.close(); } catch { /* already closed */ }
    }
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stdout.write(`UPSTREAM_READY http://127.0.0.1:${port}${prefix}\n`);
}

main().catch((err) => {
  console.error(`mcp-upstream: ${err.stack || err}`);
  process.exit(1);
});
