// Forward-auth mode (FORWARD_AUTH_ADDR, docs/forward-auth.md) behind
// Debian's nginx using auth_request: nginx routes the OAuth endpoints to the
// proxy and the MCP mount straight to the SDK upstream, asking the proxy's
// decision endpoint about each request. A full login goes through nginx;
// a streaming tool call (SSE progress) flows nginx -> upstream with the
// proxy only deciding; a bad or absent token gets 401 with the proxy's
// WWW-Authenticate through nginx; a foreign Origin and (with a policy file)
// a POST whose body nginx cannot forward get 403.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { startStack } from './lib/peers.mjs';
import { startNginx } from './lib/nginx.mjs';
import { getFreePorts } from './lib/ports.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';
import { login } from './lib/oauth-client.mjs';

// The operator's nginx configuration, as docs/forward-auth.md gives it
// (ports filled in).
function nginxConf({ port, proxy, decision, upstream }) {
  return `
  server {
    listen 127.0.0.1:${port};
    # The OAuth endpoints and metadata stay with the proxy.
    location / {
      proxy_pass ${proxy};
      proxy_set_header Host $http_host;
    }
    # The decision: no body (auth_request cannot forward one), the client's
    # method and URI described in headers nginx sets (a client's own
    # X-Original-* fields are replaced).
    location = /_mcp_auth {
      internal;
      proxy_pass ${decision}/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    # The MCP mount goes to the upstream once the proxy says yes.
    location /mcp {
      auth_request /_mcp_auth;
      auth_request_set $mcp_sub $upstream_http_x_user_sub;
      auth_request_set $mcp_email $upstream_http_x_user_email;
      auth_request_set $mcp_groups $upstream_http_x_user_groups;
      auth_request_set $mcp_assertion $upstream_http_x_mcp_identity_assertion;
      proxy_set_header X-User-Sub $mcp_sub;
      proxy_set_header X-User-Email $mcp_email;
      proxy_set_header X-User-Groups $mcp_groups;
      proxy_set_header X-MCP-Identity-Assertion $mcp_assertion;
      # The client's token is for the proxy, never for the upstream.
      proxy_set_header Authorization "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_pass ${upstream};
    }
  }
`;
}

async function startGateway({ proxyEnv = {} } = {}) {
  // Four distinct ports in one call: picked one by one, the decision port
  // once came back equal to the proxy's own LISTEN_ADDR, and the proxy
  // refused to start (FORWARD_AUTH_ADDR must use another port).
  const [port, decisionPort, listenPort, metricsPort] = await getFreePorts(4);
  const base = `http://127.0.0.1:${port}`;
  const clientSecret = crypto.randomBytes(24).toString('hex');
  const stack = await startStack({
    idp: { clients: [{ clientId: 'fa-proxy', clientSecret, redirectUris: [`${base}/callback`] }] },
    proxyEnv: {
      PROXY_BASE_URL: base,
      OIDC_CLIENT_ID: 'fa-proxy',
      OIDC_CLIENT_SECRET: clientSecret,
      FORWARD_AUTH_ADDR: `127.0.0.1:${decisionPort}`,
      LISTEN_ADDR: `127.0.0.1:${listenPort}`,
      METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      UPSTREAM_IDENTITY_ASSERTION: 'true',
      ...proxyEnv,
    },
  });
  let nginx;
  try {
    nginx = await startNginx({
      port,
      http: nginxConf({
        port, proxy: stack.proxy.url, decision: `http://127.0.0.1:${decisionPort}`,
        upstream: new URL(stack.upstream.url).origin,
      }),
    });
  } catch (err) {
    await stack.stop({ expectClean: false });
    throw err;
  }
  return {
    base, stack, nginx, decisionUrl: `http://127.0.0.1:${decisionPort}`,
    async stop() {
      let first;
      try { await nginx.stop(); } catch (err) { first = err; }
      try { await stack.stop(); } catch (err) { first ??= err; }
      if (first) throw first;
    },
  };
}

async function metric(stack, series) {
  const text = await (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const initBody = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

function postMcp(base, { token, headers = {}, body = initBody } = {}) {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers,
    },
    body,
  });
}

describe('forward auth behind nginx auth_request', () => {
  let gw;
  let token;
  before(async () => { gw = await startGateway(); });
  after(async () => { await gw?.stop(); });

  test('the decision listener is not the public one', async () => {
    // The public listener has no /auth; the decision listener has no OAuth.
    assert.equal((await fetch(`${gw.stack.proxy.url}/auth`)).status, 404);
    assert.equal((await fetch(`${gw.decisionUrl}/.well-known/oauth-authorization-server`)).status, 404);
    assert.ok(gw.stack.proxy.logLines().some((l) => l.includes('"forward_auth_listening"')));
  });

  test('a full login through nginx (register, authorize, consent, IdP, callback, token)', async () => {
    const r = await login(gw.base, { username: 'alice', password: 'alice-pw' });
    token = r.tokens.access_token;
    assert.ok(token);
    // Every OAuth request reached the proxy through nginx. nginx writes a
    // request's log line after the last byte of its answer went out, so
    // the /token line may still be on its way when the client has read.
    const paths = ['/register', '/authorize', '/consent', '/callback', '/token'];
    const logged = (access, p) => access.includes(`POST ${p}`) || access.includes(`GET ${p}`);
    let access = gw.nginx.accessLog();
    for (let end = Date.now() + 3000; !paths.every((p) => logged(access, p)) && Date.now() < end;) {
      await new Promise((r) => { setTimeout(r, 50); });
      access = gw.nginx.accessLog();
    }
    for (const p of paths) assert.ok(logged(access, p), `${p} not in nginx's access log`);
  });

  test('no token: 401 with the proxy\'s WWW-Authenticate passed through nginx', async () => {
    const r = await postMcp(gw.base);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'),
      `Bearer resource_metadata="${gw.base}/.well-known/oauth-protected-resource/mcp"`);
    // The challenge's metadata URL answers through nginx too.
    const prm = await (await fetch(`${gw.base}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.equal(prm.resource, `${gw.base}/mcp`);
    assert.deepEqual(prm.authorization_servers, [gw.base]);
  });

  test('a bad token: 401 invalid_token through nginx; the upstream never sees it', async () => {
    const before = (await gw.stack.upstream.requests()).length;
    const r = await postMcp(gw.base, { token: 'not-a-token' });
    assert.equal(r.status, 401);
    const wa = r.headers.get('www-authenticate');
    assert.match(wa, /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
    assert.equal((await gw.stack.upstream.requests()).length, before);
  });

  test('a streaming tool call flows nginx -> upstream with the proxy only deciding', async () => {
    assert.ok(token, 'login ran first');
    const decided = await metric(gw.stack, 'mcp_auth_forward_auth_decisions_total{outcome="allow"}');
    const mcp = await connectMcp(`${gw.base}/mcp`, { token, headers: { 'x-user-sub': 'mallory' } });
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
      // Buffered anywhere, the progress would land at once with the result.
      assert.ok(seen[3].at - seen[0].at >= 450, `progress spread ${seen[3].at - seen[0].at} ms`);
      assert.ok(doneAt - seen[0].at >= 450, `first progress only ${doneAt - seen[0].at} ms before the result`);

      // The identity the upstream got is the proxy's, not the client's
      // X-User-Sub, and the client's token did not reach it.
      const who = JSON.parse(resultText(await mcp.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.sub, 'alice');
      assert.equal(who.email, 'alice@example.com');
      assert.equal(who.groups, 'mcp-users,dev');
      assert.equal(who.authorizationPresent, false);
      const assertion = decodeJwt(who.headers['x-mcp-identity-assertion']);
      assert.equal(assertion.sub, 'alice');
      assert.equal(assertion.iss, gw.base);
    } finally {
      await mcp.close();
    }
    // The MCP requests were decided by the proxy and never served by it.
    assert.ok(await metric(gw.stack, 'mcp_auth_forward_auth_decisions_total{outcome="allow"}') >= decided + 3);
    const proxied = gw.stack.proxy.logLines().filter((l) => l.includes('"msg":"request"') && l.includes('"path":"/mcp'));
    assert.deepEqual(proxied, []);
  });

  test('a foreign Origin: 403 through nginx, nothing forwarded', async () => {
    const before = (await gw.stack.upstream.requests()).length;
    const r = await postMcp(gw.base, { token, headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 403);
    assert.equal((await gw.stack.upstream.requests()).length, before);
    assert.ok(await metric(gw.stack, 'mcp_auth_forward_auth_decisions_total{outcome="origin_refused"}') >= 1);
  });

  test('a path the mount refuses (an encoded separator) is refused 403', async () => {
    // node:http sends the path as written (fetch would normalise it). An
    // encoded dot segment is not tried here: nginx resolves it before it
    // picks a location, so it never reaches /mcp.
    for (const p of ['/mcp/a%2Fb', '/mcp/x%5Cy']) {
      const status = await new Promise((resolve, reject) => {
        const req = http.request(`${gw.base}${p}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 403, p);
    }
  });
});

describe('forward auth with a policy file behind nginx (no body to decide)', () => {
  let gw;
  let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fa-policy-'));
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, 'rules:\n  - name: no-sleep\n    match: {name: [sleep]}\n    effect: deny\n');
    gw = await startGateway({ proxyEnv: { MCP_POLICY_FILE: file } });
  });
  after(async () => {
    await gw?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a POST is refused 403 (its calls cannot be decided); a GET stream is decided as usual', async () => {
    const { tokens } = await login(gw.base, { username: 'alice', password: 'alice-pw' });
    const before = (await gw.stack.upstream.requests()).length;
    const r = await postMcp(gw.base, {
      token: tokens.access_token,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'sleep', arguments: { ms: 1 } } }),
    });
    assert.equal(r.status, 403);
    assert.equal((await gw.stack.upstream.requests()).length, before);
    assert.ok(await metric(gw.stack, 'mcp_auth_forward_auth_decisions_total{outcome="body_required"}') >= 1);
    // A client cannot talk its POST into a GET: its X-Forwarded-Method
    // disagrees with the X-Original-Method nginx sets.
    const spoof = await postMcp(gw.base, { token: tokens.access_token, headers: { 'x-forwarded-method': 'GET' } });
    assert.equal(spoof.status, 403);
    assert.equal((await gw.stack.upstream.requests()).length, before);
    // Bodiless methods carry no calls: the GET is allowed through (the
    // upstream answers it; without a session it refuses, which is its call).
    const get = await fetch(`${gw.base}/mcp`, {
      headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'text/event-stream' },
    });
    assert.notEqual(get.status, 401);
    assert.notEqual(get.status, 403);
    await get.body?.cancel();
  });
});
