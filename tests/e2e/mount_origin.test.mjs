// The MCP mount as the transport asks (issue 11 item 4): Origin validation
// against DNS rebinding, CORS for MCP_ALLOWED_ORIGINS, the bare 401
// challenge, and the 2026-07-28 Mcp-Method / Mcp-Name headers checked
// against the body.
//
// Real peers: the binary, the SDK upstream (peers/mcp-upstream.mjs, which
// records every request it receives: "nothing forwarded" is counted there)
// and, for the browser checks, headless Chromium loading pages from two
// tiny page servers on 127.0.0.1 -- one whose origin is listed in
// MCP_ALLOWED_ORIGINS, one that is not (a foreign site; the same
// position as a DNS-rebinding page, which is another origin that reaches
// the proxy's address). Tokens are minted with lib/seal-mint.mjs from the
// configured secret, as in proxy.test.mjs.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startStack } from './lib/peers.mjs';
import { mintAccessToken } from './lib/seal-mint.mjs';
import { chromiumAvailable, launchBrowser } from './lib/browser.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const INIT = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'origin-test', version: '1' } },
};

// A page server: answers every GET with a blank HTML page, so a browser
// page has this server's origin. Returns { origin, close }.
async function pageServer() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>page</title>');
  });
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

async function metricValue(stack, series) {
  const text = await (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('MCP mount: Origin, CORS, bare 401', () => {
  let stack;
  let token;
  let allowedPage;
  let foreignPage;
  const EXTRA = 'https://inspector.example';
  before(async () => {
    allowedPage = await pageServer();
    foreignPage = await pageServer();
    stack = await startStack({
      proxyEnv: {
        TOKEN_SIGNING_SECRET: SECRET,
        // Written with a default port and in capitals: stored as browsers
        // send it.
        MCP_ALLOWED_ORIGINS: ` ${allowedPage.origin} , HTTPS://Inspector.Example:443`,
        LOG_LEVEL: 'info',
      },
    });
    token = mintAccessToken({ secret: SECRET, base: stack.base, resource: `${stack.base}/mcp` });
  });
  after(async () => {
    await stack?.stop();
    await allowedPage?.close();
    await foreignPage?.close();
  });

  const post = (headers, body = INIT) => fetch(`${stack.base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers,
    },
    body: JSON.stringify(body),
  });

  test('a foreign Origin: 403 JSON before the token is looked at, nothing forwarded, counted', async () => {
    await stack.upstream.reset();
    const before = await metricValue(stack, 'mcp_auth_access_denied_total{reason="origin_not_allowed"}');
    const foreign = ['https://evil.example', 'null', foreignPage.origin, `${stack.base}.evil.example`,
      stack.base.replace('127.0.0.1', 'localhost')];
    for (const origin of foreign) {
      for (const auth of [{ authorization: `Bearer ${token}` }, {}, { authorization: 'Bearer garbage' }]) {
        const r = await post({ origin, ...auth });
        assert.equal(r.status, 403, `${origin} ${JSON.stringify(auth)}`);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.equal(r.headers.get('access-control-allow-origin'), null);
        // Before the bearer check: a rebinding page learns nothing about a token.
        assert.equal(r.headers.get('www-authenticate'), null);
        const body = await r.json();
        assert.equal(body.jsonrpc, '2.0');
        assert.match(body.error.message, /Origin not allowed/);
      }
    }
    // The preflight of a foreign origin is refused too (no CORS headers: the
    // browser stops there).
    const pre = await fetch(`${stack.base}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    await pre.text();
    assert.equal((await stack.upstream.requests()).length, 0, 'the upstream saw nothing');
    const after = await metricValue(stack, 'mcp_auth_access_denied_total{reason="origin_not_allowed"}');
    assert.equal(after - before, foreign.length * 3 + 1);
  });

  test('no Origin (every non-browser client): 200, no CORS headers', async () => {
    await stack.upstream.reset();
    const r = await post({ authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    await r.text();
    assert.equal((await stack.upstream.requests()).length, 1);
  });

  test('the proxy\'s own origin and listed origins: 200 with CORS, the origin echoed, never *', async () => {
    for (const origin of [stack.base, allowedPage.origin, EXTRA]) {
      const r = await post({ origin, authorization: `Bearer ${token}` });
      assert.equal(r.status, 200, origin);
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
      assert.equal(r.headers.get('access-control-allow-credentials'), null);
      assert.match(r.headers.get('vary') ?? '', /Origin/);
      assert.equal(r.headers.get('access-control-expose-headers'),
        'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version');
      assert.ok(r.headers.get('mcp-session-id'));
      await r.text();
    }
  });

  test('a streamed (SSE) answer to an allowed origin carries the CORS headers', async () => {
    const r = await post({ origin: allowedPage.origin, authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/event-stream/);
    assert.equal(r.headers.get('access-control-allow-origin'), allowedPage.origin);
    // Exactly one value: the upstream's own CORS headers are dropped.
    assert.ok(!r.headers.get('access-control-allow-origin').includes(','));
    const text = await r.text();
    assert.match(text, /"result"/);
  });

  test('413 (a Content-Length over 16 MiB) to an allowed origin carries ACAO', async () => {
    const net = await import('node:net');
    const port = new URL(stack.base).port;
    const answer = await new Promise((resolve) => {
      const sock = net.connect({ port: Number(port), host: '127.0.0.1' });
      let got = '';
      const timer = setTimeout(() => { sock.destroy(); resolve(got); }, 5000);
      sock.on('data', (d) => { got += d.toString('latin1'); if (got.includes('\r\n\r\n')) { clearTimeout(timer); sock.destroy(); resolve(got); } });
      sock.on('error', () => {});
      sock.write(`POST /mcp HTTP/1.1\r\nHost: x\r\nOrigin: ${allowedPage.origin}\r\nAuthorization: Bearer ${token}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${16 * 1024 * 1024 + 1}\r\n\r\n`);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, new RegExp(`\r\naccess-control-allow-origin: ${allowedPage.origin}\r\n`, 'i'));
  });

  test('preflight from an allowed origin: 204 without a token, nothing forwarded', async () => {
    await stack.upstream.reset();
    const r = await fetch(`${stack.base}/mcp`, {
      method: 'OPTIONS',
      headers: {
        origin: allowedPage.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version, mcp-session-id, mcp-param-region',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), allowedPage.origin);
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
    const allowed = r.headers.get('access-control-allow-headers').toLowerCase().split(/,\s*/);
    for (const h of ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version',
      'mcp-method', 'mcp-name', 'last-event-id', 'mcp-param-region']) {
      assert.ok(allowed.includes(h), h);
    }
    assert.ok(Number(r.headers.get('access-control-max-age')) > 0);
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
    assert.equal(r.headers.get('www-authenticate'), null);
    assert.equal((await stack.upstream.requests()).length, 0);
  });

  test('401 to an allowed origin: ACAO, WWW-Authenticate exposed; no credentials get the bare challenge', async () => {
    const bare = await post({ origin: allowedPage.origin });
    assert.equal(bare.status, 401);
    assert.equal(bare.headers.get('access-control-allow-origin'), allowedPage.origin);
    assert.match(bare.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
    // RFC 6750 3.1: no error code without credentials.
    assert.equal(bare.headers.get('www-authenticate'),
      `Bearer resource_metadata="${stack.base}/.well-known/oauth-protected-resource/mcp"`);
    await bare.text();
    const bad = await post({ origin: allowedPage.origin, authorization: 'Bearer garbage' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('access-control-allow-origin'), allowedPage.origin);
    assert.match(bad.headers.get('www-authenticate'), /^Bearer error="invalid_token", /);
    await bad.text();
  });

  test('Chromium: a page on an allowed origin uses the mount with its token; a foreign page cannot', {
    skip: !chromiumAvailable() && 'no Chromium',
  }, async () => {
    const b = await launchBrowser();
    try {
      // What a browser MCP client does: POST with the bearer token (a
      // preflighted request: Authorization and application/json), read the
      // session id; then without a token, read the challenge.
      const probe = async (pageOrigin) => {
        const rec = await b.newPage();
        try {
          await rec.page.goto(`${pageOrigin}/`);
          return await rec.page.evaluate(async ({ url, tok, init }) => {
            const out = {};
            try {
              const r = await fetch(url, {
                method: 'POST',
                headers: {
                  authorization: `Bearer ${tok}`,
                  'content-type': 'application/json',
                  accept: 'application/json, text/event-stream',
                  'mcp-protocol-version': '2025-06-18',
                },
                body: JSON.stringify(init),
              });
              out.status = r.status;
              out.sessionId = r.headers.get('mcp-session-id');
              out.body = await r.text();
              const u = await fetch(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(init),
              });
              out.unauthStatus = u.status;
              out.challenge = u.headers.get('www-authenticate');
            } catch (err) {
              out.error = String(err);
            }
            return out;
          }, { url: `${stack.base}/mcp`, tok: token, init: INIT });
        } finally {
          await rec.close();
        }
      };
      await stack.upstream.reset();
      const ok = await probe(allowedPage.origin);
      assert.equal(ok.error, undefined, ok.error);
      assert.equal(ok.status, 200);
      assert.ok(ok.sessionId, 'the page can read Mcp-Session-Id');
      assert.match(ok.body, /"protocolVersion"/);
      assert.equal(ok.unauthStatus, 401);
      assert.equal(ok.challenge,
        `Bearer resource_metadata="${stack.base}/.well-known/oauth-protected-resource/mcp"`,
        'the page can read WWW-Authenticate');
      assert.equal((await stack.upstream.requests()).length, 1);

      await stack.upstream.reset();
      const no = await probe(foreignPage.origin);
      assert.match(no.error ?? '', /Failed to fetch/);
      assert.equal(no.status, undefined);
      assert.equal((await stack.upstream.requests()).length, 0, 'nothing from the foreign page was forwarded');
    } finally {
      await b.close();
    }
  });
});

describe('MCP mount: Mcp-Method / Mcp-Name (2026-07-28) against the body', () => {
  let stack;
  let token;
  before(async () => {
    // MCP_LOG_BODY_MAX=0: the headers are checked even with the log's peek off.
    stack = await startStack({ proxyEnv: { TOKEN_SIGNING_SECRET: SECRET, MCP_LOG_BODY_MAX: '0' } });
    token = mintAccessToken({ secret: SECRET, base: stack.base, resource: `${stack.base}/mcp` });
  });
  after(async () => { await stack?.stop(); });

  // initialize + notifications/initialized; returns the headers of the session.
  async function session() {
    const base = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(`${stack.base}/mcp`, { method: 'POST', headers: base, body: JSON.stringify(INIT) });
    assert.equal(init.status, 200);
    await init.text();
    const headers = { ...base, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' };
    const note = await fetch(`${stack.base}/mcp`, {
      method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    assert.equal(note.status, 202);
    return headers;
  }
  const echo = (id, name = 'echo') => JSON.stringify({
    jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { text: 'hi' } },
  });

  test('mismatching headers: 400 with JSON-RPC -32020 and the request id, nothing forwarded', async () => {
    const headers = await session();
    await stack.upstream.reset();
    const rows = [
      { h: { 'mcp-method': 'tools/list' }, id: 5, msg: /Mcp-Method/ },
      { h: { 'mcp-method': 'tools/call', 'mcp-name': 'whoami' }, id: 'abc', msg: /Mcp-Name/ },
      { h: { 'mcp-method': 'tools/call', 'mcp-name': '=?base64?d2hvYW1p?=' }, id: 6, msg: /Mcp-Name/ },
      { h: { 'mcp-method': 'tools/call', 'mcp-name': '=?base64?ZWNobw?=' }, id: 7, msg: /base64/ },
    ];
    for (const row of rows) {
      const r = await fetch(`${stack.base}/mcp`, { method: 'POST', headers: { ...headers, ...row.h }, body: echo(row.id) });
      assert.equal(r.status, 400, JSON.stringify(row.h));
      assert.equal(r.headers.get('content-type'), 'application/json');
      const body = await r.json();
      assert.equal(body.jsonrpc, '2.0');
      assert.equal(body.id, row.id);
      assert.equal(body.error.code, -32020);
      assert.match(body.error.message, row.msg);
    }
    assert.equal((await stack.upstream.requests()).length, 0, 'nothing forwarded');
  });

  test('agreeing headers, plain and base64, are forwarded unchanged with MCP-Protocol-Version', async () => {
    const headers = await session();
    await stack.upstream.reset();
    for (const name of ['echo', '=?base64?ZWNobw==?=']) {
      const r = await fetch(`${stack.base}/mcp`, {
        method: 'POST', headers: { ...headers, 'mcp-method': 'tools/call', 'mcp-name': name }, body: echo(9),
      });
      assert.equal(r.status, 200, name);
      assert.match(await r.text(), /"text":"hi"/);
    }
    const recs = await stack.upstream.requests();
    assert.equal(recs.length, 2);
    assert.equal(recs[0].headers['mcp-method'], 'tools/call');
    assert.equal(recs[0].headers['mcp-name'], 'echo');
    assert.equal(recs[1].headers['mcp-name'], '=?base64?ZWNobw==?=');
    assert.equal(recs[1].headers['mcp-protocol-version'], '2025-06-18');
  });
});
