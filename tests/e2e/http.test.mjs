// The HTTP server core, black-box against the built binary: request
// smuggling and malformed input over raw sockets, keep-alive and
// pipelining, security headers and request ids on every status, /healthz,
// /metrics, /readyz, the access log, and the process lifecycle (drain on
// SIGTERM, exit 2 on a second signal, fatal bind failures).
//
// Node built-ins only (node:test, node:net, node:http); the process
// helpers come from lib/proc.mjs. The binary discovers its IdP at start-up,
// so one real IdP peer (lib/peers.mjs) serves the whole file.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startProxy, runProxyToExit, assertCleanExit } from './lib/proc.mjs';
import { startIdp } from './lib/peers.mjs';
import { getFreePort } from './lib/ports.mjs';

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

let idp;
before(async () => {
  idp = await startIdp({ clients: [{ clientId: 'e2e-client', clientSecret: 'e2e-secret', redirectUris: ['http://127.0.0.1:1/callback'] }] });
});
after(async () => {
  await idp?.stop();
});

// A valid environment: required variables, no Redis, not PROD_MODE.
function baseEnv(extra = {}) {
  return {
    OIDC_ISSUER_URL: idp.issuer,
    OIDC_CLIENT_ID: 'e2e-client',
    OIDC_CLIENT_SECRET: 'e2e-secret',
    UPSTREAM_MCP_URL: 'http://127.0.0.1:9/mcp',
    TOKEN_SIGNING_SECRET: 'k3J9xQ2vL8mN4pR7tW1yZ5aC0eG6iU3o',
    PROD_MODE: 'false',
    REDIS_REQUIRED: 'false',
    WORKERS: '2',
    SHUTDOWN_TIMEOUT: '10s',
    ...extra,
  };
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// Writes `chunks` (strings/Buffers; numbers are pauses in ms) on a fresh
// socket and collects what comes back until the server closes or
// `timeoutMs` passes. Resolves { data: Buffer, closed: boolean }.
function raw(port, chunks, { timeoutMs = 3000, keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const got = [];
    let closed = false;
    let timer;
    const finish = () => {
      clearTimeout(timer);
      if (!keepOpen) sock.destroy();
      resolve({ data: Buffer.concat(got), closed, sock });
    };
    sock.on('data', (d) => got.push(d));
    sock.on('error', () => { closed = true; });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('connect', async () => {
      for (const c of typeof chunks === 'string' || Buffer.isBuffer(chunks) ? [chunks] : chunks) {
        if (typeof c === 'number') await sleep(c);
        else if (!sock.destroyed) sock.write(c);
      }
      timer = setTimeout(finish, timeoutMs);
    });
    sock.on('timeout', reject);
  });
}

// Splits raw bytes into responses (Content-Length, chunked, or the rest of
// a closed connection). HEAD responses are marked by `headIndexes`.
function parseResponses(buf, { headIndexes = [] } = {}) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = {};
    const rawHeaders = [];
    for (const l of lines) {
      const i = l.indexOf(':');
      const name = l.slice(0, i).toLowerCase();
      const value = l.slice(i + 1).trim();
      rawHeaders.push([name, value]);
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let p = end + 4;
    let body = Buffer.alloc(0);
    let complete = true;
    const noBody = headIndexes.includes(out.length) || status === 204 || status === 304 || status < 200;
    if (noBody) {
      // nothing
    } else if ((headers['transfer-encoding'] || '').toLowerCase() === 'chunked') {
      const parts = [];
      complete = false;
      for (;;) {
        const crlf = buf.indexOf('\r\n', p);
        if (crlf < 0) break;
        const size = parseInt(buf.subarray(p, crlf).toString('latin1').split(';')[0], 16);
        if (size === 0) { p = crlf + 4; complete = true; break; }
        parts.push(buf.subarray(crlf + 2, crlf + 2 + size));
        p = crlf + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = buf.subarray(p, p + n);
      complete = body.length === n;
      p += n;
    } else {
      body = buf.subarray(p);
      p = buf.length;
    }
    out.push({ status, headers, rawHeaders, body, complete });
    if (!complete) break;
    off = p;
  }
  return out;
}

function assertSecurityHeaders(res, what) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(res.headers[name], value, `${what}: ${name}`);
    assert.equal(res.rawHeaders.filter(([n]) => n === name).length, 1, `${what}: one ${name}`);
  }
  assert.match(res.headers['x-request-id'] || '', /^[0-9A-Za-z]{16}$/, `${what}: X-Request-Id`);
}

function get(url, { method = 'GET', headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: 10000 }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('HTTP server core', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ env: baseEnv({ ACCESS_LOG_SKIP_RE: '^/skipped$' }) });
  });
  after(async () => {
    await proxy?.stop();
  });

  test('/healthz answers GET and HEAD with 200, an empty body and the security headers', async () => {
    const r = await get(`${proxy.url}/healthz`, { headers: { 'X-Request-Id': 'chosen-by-client' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.headers['content-type'], undefined);
    assert.match(r.headers['x-request-id'], /^[0-9A-Za-z]{16}$/);
    assert.notEqual(r.headers['x-request-id'], 'chosen-by-client');
    const again = await get(`${proxy.url}/healthz`);
    assert.notEqual(again.headers['x-request-id'], r.headers['x-request-id']);
    const head = await raw(proxy.port, 'HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [h] = parseResponses(head.data, { headIndexes: [0] });
    assert.equal(h.status, 200);
    assertSecurityHeaders(h, 'HEAD /healthz');
    assert.ok(head.data.toString().endsWith('\r\n\r\n'), 'no body after a HEAD response');
  });

  test('404, 405 and 413 carry the security headers and a fresh request id', async () => {
    const { data } = await raw(proxy.port,
      'GET /nope HTTP/1.1\r\nHost: a\r\n\r\n'
      + 'POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'
      + `GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
    const [notFound, notAllowed, tooLarge] = parseResponses(data);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(notFound.body.toString(), '404 page not found\n');
    assertSecurityHeaders(notFound, '404');
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.headers.allow, 'GET, HEAD');
    assert.equal(notAllowed.body.length, 0);
    assertSecurityHeaders(notAllowed, '405');
    // The 64 KiB default cap is enforced from the head, before any body byte.
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.headers.connection, 'close');
    assertSecurityHeaders(tooLarge, '413');
    const ids = new Set([notFound, notAllowed, tooLarge].map((r) => r.headers['x-request-id']));
    assert.equal(ids.size, 3);
  });

  test('keep-alive and pipelining: two requests in one write, two responses in order', async () => {
    const { data, closed } = await raw(proxy.port,
      'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 500 });
    assert.equal(closed, false, 'a keep-alive connection stays open');
    const rs = parseResponses(data);
    assert.deepEqual(rs.map((r) => r.status), [200, 404]);
    // Sequential requests on one socket (Node's keep-alive agent).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await get(`${proxy.url}/healthz`, { agent });
    const b = await get(`${proxy.url}/healthz`, { agent });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    agent.destroy();
  });

  // Each vector: the bytes, the status, then a valid request right behind
  // it that must never be answered (no second request from the same bytes).
  const follower = 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n';
  const vectors = [
    ['Content-Length with Transfer-Encoding', 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['duplicate Content-Length', 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n', 400],
    ['Content-Length: +5', 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello', 400],
    ['space before the colon', 'GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n', 400],
    ['NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n', 400],
    ['CR in a header value', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n', 400],
    ['obs-fold', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n', 400],
    ['bad chunk size', 'GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
    ['bare LF', 'GET /healthz HTTP/1.1\nHost: a\n\n', 400],
    ['bare LF ending the head', 'GET /healthz HTTP/1.1\r\nHost: a\r\n\n', 400],
    ['oversize header', `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'v'.repeat(70 * 1024)}\r\n\r\n`, 431],
    ['oversize URL', `GET /${'a'.repeat(17 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
    ['missing Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
    // RFC 9112 6.1: a coding before chunked is not implemented (the body
    // would reach the upstream still compressed, read as plain): 501.
    ['Transfer-Encoding: gzip, chunked', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 501],
    ['Transfer-Encoding gzip and chunked on two lines', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 501],
    // An empty list element (found by fuzz_http_head): 400, as an intermediary
    // that reads ",chunked" as not chunked would frame the body otherwise.
    ['Transfer-Encoding: ,chunked', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n', 400],
    ['Transfer-Encoding: deflate,chunked', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate,chunked\r\n\r\n0\r\n\r\n', 501],
    // RFC 9112 6.3: chunked not the final coding: 400.
    ['Transfer-Encoding: identity', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n', 400],
    ['Transfer-Encoding: chunked, chunked', 'POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n', 400],
    // RFC 9112 3.2: a Host that is not host[:port].
    ['Host with userinfo', 'GET /healthz HTTP/1.1\r\nHost: user@a\r\n\r\n', 400],
    ['Host with user:password', 'GET /healthz HTTP/1.1\r\nHost: user:pw@a:80\r\n\r\n', 400],
    ['Host with a path', 'GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n', 400],
    ['absolute-form target with userinfo', 'GET http://user@a/healthz HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ];
  for (const [name, bytes, status] of vectors) {
    test(`refused: ${name} -> ${status} and Connection: close`, async () => {
      const { data, closed } = await raw(proxy.port, bytes + follower);
      assert.equal(closed, true, 'the server closes the connection');
      const rs = parseResponses(data);
      assert.equal(rs.length, 1, `exactly one response, got: ${JSON.stringify(data.toString().slice(0, 300))}`);
      assert.equal(rs[0].status, status);
      assert.equal(rs[0].headers.connection, 'close');
      assertSecurityHeaders(rs[0], name);
    });
  }

  test('a head trickled slower than the head timeout gets 408 and is closed', { timeout: 20000 }, async () => {
    const chunks = ['GET /healthz HTTP/1.1\r\n'];
    for (let i = 0; i < 12; i += 1) chunks.push(1000, `X-Slow-${i}: v\r\n`);
    const started = Date.now();
    const { data, closed } = await raw(proxy.port, chunks, { timeoutMs: 2000 });
    const took = Date.now() - started;
    assert.equal(closed, true);
    assert.ok(took >= 9500 && took < 14000, `closed after ${took} ms`);
    const rs = parseResponses(data);
    assert.equal(rs.length, 1);
    assert.equal(rs[0].status, 408);
  });

  test('/metrics is Prometheus text with the contract counters', async () => {
    const r = await get(`${proxy.metricsUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4');
    assert.equal(r.headers['x-frame-options'], undefined, 'no security headers on the metrics listener');
    const families = new Map();
    for (const line of r.body.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# TYPE ')) {
        const [, , name, type] = line.split(' ');
        families.set(name, type);
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? -?[0-9.e+]+$/,
        `not an exposition line: ${line}`);
    }
    for (const name of ['mcp_auth_clients_registered_total', 'mcp_auth_idp_exchange_throttled_total',
      'mcp_auth_groups_claim_shape_mismatch_total']) {
      assert.equal(families.get(name), 'counter', name);
      assert.match(r.body, new RegExp(`^${name} 0$`, 'm'));
    }
    const head = await get(`${proxy.metricsUrl}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const other = await get(`${proxy.metricsUrl}/other`);
    assert.equal(other.status, 404);
  });

  test('/readyz is ok while serving', async () => {
    const r = await get(`${proxy.metricsUrl}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"status":"ok"}');
  });

  test('one access-log line per request, with the id sent to the client; skips honoured', async () => {
    const r = await get(`${proxy.url}/logged?token=never-logged`);
    await get(`${proxy.url}/skipped`);
    const id = r.headers['x-request-id'];
    const line = await proxy.waitForLog(new RegExp(`"request_id":"${id}"`));
    const entry = JSON.parse(line.input);
    assert.equal(entry.msg, 'request');
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, '/logged');
    assert.equal(entry.status, 404);
    assert.equal(entry.req_bytes, -1);
    assert.equal(entry.resp_bytes, 19);
    assert.equal(entry.client_ip, '127.0.0.1');
    assert.equal(typeof entry.duration, 'number');
    await get(`${proxy.url}/healthz`); // a later line, so the skipped one had its chance
    const lines = proxy.logLines().filter((l) => l.includes('"msg":"request"'));
    assert.equal(lines.filter((l) => l.includes(`"request_id":"${id}"`)).length, 1);
    assert.equal(lines.filter((l) => l.includes('"path":"/skipped"')).length, 0);
    assert.equal(lines.filter((l) => l.includes('never-logged')).length, 0);
  });
});

// X-Forwarded-For sent as several header lines is one list, the lines
// joined in order (RFC 9110 5.3), walked from the right. Observed through
// the per-IP rate limit of the discovery documents (60 a minute): the
// key must be the rightmost untrusted hop of the last line, not whatever
// the client wrote into the first line.
describe('X-Forwarded-For on several lines', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ env: baseEnv({ TRUSTED_PROXY_CIDRS: '127.0.0.0/8' }) });
  });
  after(async () => { await proxy?.stop(); });

  test('the rightmost untrusted hop of the joined lines is the rate-limit key', { timeout: 60000 }, async () => {
    // Start early in a wall-clock minute so every request shares one window.
    const sec = new Date().getUTCSeconds();
    if (sec > 40) await sleep((61 - sec) * 1000);
    const doc = `${proxy.url}/.well-known/oauth-authorization-server`;
    // Node sends an array value as one header line per element.
    for (let i = 0; i < 60; i += 1) {
      const r = await get(doc, { headers: { 'x-forwarded-for': [`198.51.100.${i}`, '203.0.113.7, 127.0.0.1'] } });
      assert.equal(r.status, 200, `request ${i + 1}`);
    }
    // A fresh spoofed first line does not buy a fresh bucket.
    const spoofed = await get(doc, { headers: { 'x-forwarded-for': ['198.51.100.200', '203.0.113.7'] } });
    assert.equal(spoofed.status, 429);
    // One line naming the same client: the same bucket.
    const single = await get(doc, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(single.status, 429);
    // Another client behind the same proxy is not limited.
    const other = await get(doc, { headers: { 'x-forwarded-for': ['203.0.113.7', '203.0.113.8'] } });
    assert.equal(other.status, 200);
  });
});

// The log sink stops reading (a wedged log shipper, a full container
// pipe): the proxy's stdout is a pipe whose reader -- this process --
// stops reading it. Before the fix the first worker blocked in write(2)
// after ~300 requests and the listener stopped answering.
describe('log output that nobody reads', () => {
  test('every request is answered, lines are dropped and counted, the drop is reported once stdout is read again', { timeout: 180000 }, async () => {
    // One worker: one 1 MiB buffer (BOUNDS_LOG_BUFFER_BYTES) to overflow.
    const proxy = await startProxy({ env: baseEnv({ WORKERS: '1' }) });
    let passed = false;
    try {
      const stdout = proxy.proc.child.stdout;
      // Node keeps reading until its own buffer is full, then stops; the
      // kernel pipe fills next, and from then on every write(2) blocks.
      stdout.pause();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      // Each 404 logs the decoded path: ~2.2 KB lines, so 1 MiB holds ~450.
      const path = `/${'x'.repeat(2000)}`;
      const total = 3000;
      let sent = 0;
      const statuses = new Map();
      const client = async () => {
        while (sent < total) {
          sent += 1;
          const r = await get(`${proxy.url}${path}`, { agent });
          statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 16 }, client));
      assert.deepEqual([...statuses], [[404, total]], 'every request answered');
      // Still not reading: traffic and readiness are unaffected, the drop is counted.
      assert.equal((await get(`${proxy.url}/healthz`, { agent })).status, 200);
      const ready = await get(`${proxy.metricsUrl}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await get(`${proxy.metricsUrl}/metrics`);
      const m = metrics.body.match(/^mcp_auth_log_lines_dropped_total (\d+)$/m);
      assert.ok(m, 'mcp_auth_log_lines_dropped_total exported');
      const dropped = Number(m[1]);
      assert.ok(dropped > 0 && dropped < total, `dropped ${dropped}`);
      agent.destroy();

      // The reader comes back: what was kept arrives, then the report.
      stdout.resume();
      const report = await proxy.waitForLog(/"msg":"log_lines_dropped"/, { timeoutMs: 30000 });
      const entry = JSON.parse(report.input);
      assert.equal(entry.level, 'warn');
      assert.ok(entry.count > 0 && entry.count <= dropped, `reported ${entry.count}`);
      // Lines flow again: a new request's access line shows up.
      const after = await get(`${proxy.url}/after-the-stall`);
      await proxy.waitForLog(new RegExp(`"request_id":"${after.headers['x-request-id']}"`), { timeoutMs: 10000 });
      const kept = proxy.logLines().filter((l) => l.includes('"msg":"request"') && l.includes('"status":404'));
      assert.ok(kept.length > 0 && kept.length < total, `kept ${kept.length} access lines`);
      for (const l of kept) JSON.parse(l); // whole lines only
      passed = true;
    } finally {
      // A clean exit is asserted only when the rest passed, so a wedged
      // proxy reports the first failure, not the forced kill.
      proxy.proc.child.stdout.resume();
      await proxy.stop({ expectClean: passed });
    }
  });

  test('SIGTERM while stdout is still unread: the exit is not held by the stalled log sink', { timeout: 120000 }, async () => {
    const proxy = await startProxy({ env: baseEnv({ WORKERS: '1', SHUTDOWN_TIMEOUT: '5s' }) });
    const stdout = proxy.proc.child.stdout;
    // 'exit' fires when the process ends; 'close' would wait for the unread pipe.
    const exited = new Promise((r) => { proxy.proc.child.once('exit', (code, signal) => r({ code, signal })); });
    let passed = false;
    try {
      stdout.pause();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      const path = `/${'y'.repeat(2000)}`;
      let dropped = 0;
      for (let round = 0; round < 20 && dropped === 0; round += 1) {
        await Promise.all(Array.from({ length: 100 }, () => get(`${proxy.url}${path}`, { agent })));
        const m = (await get(`${proxy.metricsUrl}/metrics`)).body.match(/^mcp_auth_log_lines_dropped_total (\d+)$/m);
        dropped = Number(m?.[1] ?? 0);
      }
      agent.destroy();
      assert.ok(dropped > 0, 'the log buffer overflowed');
      const t0 = Date.now();
      proxy.proc.kill('SIGTERM');
      const info = await Promise.race([exited, sleep(30000).then(() => null)]);
      const took = Date.now() - t0;
      assert.ok(info, 'exited while stdout was still unread');
      assert.deepEqual(info, { code: 0, signal: null });
      // SHUTDOWN_TIMEOUT 5 s; the bounded log flush adds at most 2 s. Generous.
      assert.ok(took < 20000, `exit took ${took} ms`);
      passed = true;
    } finally {
      stdout.resume();
      await proxy.stop({ expectClean: passed });
    }
  });
});

describe('lifecycle', () => {
  test('SIGTERM: readyz 503 at once, idle connections closed, in-flight request finishes, exit 0', async () => {
    const proxy = await startProxy({ env: baseEnv() });
    const idle = await raw(proxy.port, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 300, keepOpen: true });
    assert.equal(idle.closed, false);
    const idleClosed = new Promise((r) => { idle.sock.on('close', r); });
    // A request whose head is still arriving holds the drain open.
    const inflight = net.connect({ port: proxy.port, host: '127.0.0.1' });
    await new Promise((r) => { inflight.on('connect', r); });
    const got = [];
    inflight.on('data', (d) => got.push(d));
    const inflightClosed = new Promise((r) => { inflight.on('close', r); });
    inflight.write('GET /healthz HTTP/1.1\r\nHost: a\r\n');
    await sleep(100);

    proxy.proc.kill('SIGTERM');
    await proxy.waitForLog('"msg":"shutting_down"');
    const ready = await get(`${proxy.metricsUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body, '{"status":"shutting_down"}');
    await idleClosed; // the idle keep-alive connection is closed at once
    assert.equal(proxy.proc.exitInfo(), null, 'still draining the in-flight request');
    // A new connection is refused: the listener is closed.
    await assert.rejects(get(`${proxy.url}/healthz`));

    inflight.write('\r\n');
    await inflightClosed;
    const [res] = parseResponses(Buffer.concat(got));
    assert.equal(res.status, 200);
    assert.equal(res.headers.connection, 'close');
    // The drain ends by itself; a second signal from stop() would mean exit 2.
    const info = await Promise.race([proxy.proc.exited, sleep(20000).then(() => null)]);
    assert.ok(info, 'exited after the last request finished');
    assertCleanExit(proxy.proc, info); // exit 0, no sanitizer report
  });

  test('a second signal exits 2 at once', async () => {
    const proxy = await startProxy({ env: baseEnv() });
    const hold = net.connect({ port: proxy.port, host: '127.0.0.1' });
    await new Promise((r) => { hold.on('connect', r); });
    hold.on('error', () => {});
    hold.write('GET /healthz HTTP/1.1\r\n'); // in flight: the drain waits for it
    await sleep(100);
    proxy.proc.kill('SIGTERM');
    await proxy.waitForLog('"msg":"shutting_down"');
    proxy.proc.kill('SIGINT');
    const info = await proxy.proc.exited;
    hold.destroy();
    assert.equal(info.code, 2);
    assert.ok(proxy.logLines().some((l) => l.includes('"msg":"shutdown_forced_second_signal"')));
  });

  test('a metrics listener that cannot bind is fatal', async () => {
    const blocker = net.createServer();
    await new Promise((r) => { blocker.listen({ port: 0, host: '127.0.0.1', exclusive: true }, r); });
    const taken = blocker.address().port;
    try {
      const port = await getFreePort();
      const r = await runProxyToExit({
        env: baseEnv({ LISTEN_ADDR: `127.0.0.1:${port}`, METRICS_ADDR: `127.0.0.1:${taken}`, PROXY_BASE_URL: `http://127.0.0.1:${port}` }),
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`METRICS_ADDR=127\\.0\\.0\\.1:${taken}`));
      assert.match(r.stdout, /"msg":"metrics_listen_error"/);
      assert.doesNotMatch(r.stdout, /"msg":"listening"/);
    } finally {
      blocker.close();
    }
  });

  test('a public listener that cannot bind is fatal', async () => {
    const blocker = net.createServer();
    await new Promise((r) => { blocker.listen({ port: 0, host: '127.0.0.1', exclusive: true }, r); });
    const taken = blocker.address().port;
    try {
      const r = await runProxyToExit({
        env: baseEnv({ LISTEN_ADDR: `127.0.0.1:${taken}`, METRICS_ADDR: `127.0.0.1:${await getFreePort()}`, PROXY_BASE_URL: `http://127.0.0.1:${taken}` }),
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`LISTEN_ADDR=127\\.0\\.0\\.1:${taken}`));
      assert.match(r.stdout, /"msg":"listen_error"/);
    } finally {
      blocker.close();
    }
  });
});
