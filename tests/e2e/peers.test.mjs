// Self-test of the end-to-end peers and helpers, without the C proxy:
// the IdP does a real authorization-code + PKCE login, the MCP upstream
// serves the SDK client, Redis answers PING, and the process guard behaves.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';

import { startIdp, startUpstream, startRedis, startStack } from './lib/peers.mjs';
import { getFreePort, getFreePorts } from './lib/ports.mjs';
import {
  spawnProcess, assertCleanExit, findSanitizerReports, startProxy, runToExit,
} from './lib/proc.mjs';
import {
  CookieJar, request, pkcePair, randomState, idpLogin, parseRedirect, tokenRequest, decodeJwt,
  parseConsentPage, parseInterstitial, htmlUnescape, startRedirectCatcher, followCallback, exchangeCode,
  login, register, authorizeUrl, submitConsent,
} from './lib/oauth-client.mjs';
import { connectMcp, waitForNotification, resultText } from './lib/mcp-client.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import { startStandInProxy } from './fixtures/stand-in-proxy.mjs';

const CLIENT_ID = 'e2e-rp';
const CLIENT_SECRET = 'e2e-rp-secret-0123456789';
const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // never fetched: we stop at the Location

// Builds an authorization URL the way the proxy does (SPEC §6.2).
function idpAuthUrl(issuer, { state, nonce, challenge, redirectUri = REDIRECT_URI, extra = {} }) {
  const p = new URLSearchParams({
    ...extra,
    client_id: CLIENT_ID,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    nonce,
    redirect_uri: redirectUri,
    response_mode: 'query',
    response_type: 'code',
    scope: 'openid email profile',
    state,
  });
  return `${issuer}/auth?${p}`;
}

// Verifies a compact JWS against the IdP's JWKS (RS256 / ES256).
async function verifyJwt(jwt, issuer) {
  const jwks = (await request(`${issuer}/jwks`)).json;
  const [h, p, s] = jwt.split('.');
  const { header } = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no JWKS key with kid ${header.kid}`);
  assert.equal(jwk.d, undefined, 'JWKS must not publish private key material');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const sig = Buffer.from(s, 'base64url');
  const ok = header.alg === 'ES256'
    ? crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, sig)
    : crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, sig);
  assert.ok(ok, 'id_token signature does not verify');
}

// Logs in at the IdP as `username` and returns the redirect parameters.
async function authorizeAt(idp, { username, password, action, error, errorDescription }) {
  const state = randomState();
  const nonce = crypto.randomBytes(16).toString('hex');
  const pkce = pkcePair();
  const jar = new CookieJar();
  const r = await idpLogin(idpAuthUrl(idp.issuer, { state, nonce, challenge: pkce.challenge }), {
    username, password, action, error, errorDescription, jar,
  });
  return { ...r, state, nonce, pkce, jar, redirect: r.callbackUrl ? parseRedirect(r.callbackUrl) : null };
}

async function loginAndExchange(idp, username, clientAuthMethod = 'client_secret_basic') {
  const a = await authorizeAt(idp, { username, password: `${username}-pw` });
  assert.ok(a.redirect, `no redirect after login: ${a.last.status} ${a.last.text.slice(0, 200)}`);
  assert.ok(a.redirect.url.toString().startsWith(REDIRECT_URI), a.redirect.url.toString());
  assert.equal(a.redirect.state, a.state);
  assert.equal(a.redirect.iss, idp.issuer, 'RFC 9207 iss on the authorization response');
  assert.ok(a.redirect.code);
  const tok = await tokenRequest(`${idp.issuer}/token`, {
    grant_type: 'authorization_code',
    code: a.redirect.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: a.pkce.verifier,
  }, { clientAuth: { method: clientAuthMethod, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
  return { ...a, tok };
}

describe('IdP peer (oidc-provider)', () => {
  let idp;
  before(async () => {
    idp = await startIdp({ clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }] });
  });
  after(async () => {
    const info = await idp?.stop();
    if (info) assertCleanExit(idp.proc, info);
  });

  test('discovery: exact issuer, code flow, S256, both secret auth methods, RS256 + ES256', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const d = await idp.discovery();
    assert.equal(d.issuer, idp.issuer);
    assert.equal(d.authorization_endpoint, `${idp.issuer}/auth`);
    assert.equal(d.token_endpoint, `${idp.issuer}/token`);
    assert.equal(d.jwks_uri, `${idp.issuer}/jwks`);
    assert.deepEqual(d.response_types_supported, ['code']);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(d.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
    assert.deepEqual(d.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
    const jwks = (await request(d.jwks_uri)).json;
    assert.deepEqual(jwks.keys.map((k) => k.kty).sort(), ['EC', 'RSA']);
  });

  test('alice: authorization code + PKCE, client_secret_basic, claims in the id_token', async () => {
    await idp.reset();
    const { tok, nonce } = await loginAndExchange(idp, 'alice');
    assert.equal(tok.status, 200, tok.text);
    assert.equal(tok.json.token_type, 'Bearer');
    assert.ok(tok.json.id_token);
    await verifyJwt(tok.json.id_token, idp.issuer);
    const { header, payload } = decodeJwt(tok.json.id_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.aud, CLIENT_ID);
    assert.equal(payload.nonce, nonce);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');
    assert.equal(payload.email_verified, true);
    assert.equal(payload.name, 'Alice Example');
    assert.deepEqual(payload.groups, ['mcp-users', 'dev']);

    const tokenCalls = await idp.tokenRequests();
    assert.equal(tokenCalls.length, 1);
    assert.equal(tokenCalls[0].authMethod, 'client_secret_basic');
    assert.equal(tokenCalls[0].status, 200);
    assert.equal(tokenCalls[0].form.code_verifier.length, 43);
  });

  test('wrong PKCE verifier and code reuse are refused', async () => {
    const a = await authorizeAt(idp, { username: 'carol', password: 'carol-pw' });
    const auth = { clientAuth: { method: 'client_secret_basic', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } };
    const bad = await tokenRequest(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: a.redirect.code, redirect_uri: REDIRECT_URI, code_verifier: pkcePair().verifier,
    }, auth);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_grant');
  });

  test('client_secret_post is accepted too; a wrong secret is not', async () => {
    const { tok } = await loginAndExchange(idp, 'carol', 'client_secret_post');
    assert.equal(tok.status, 200, tok.text);
    const { payload } = decodeJwt(tok.json.id_token);
    assert.equal(payload.sub, 'carol');
    assert.deepEqual(payload.groups, ['outsiders']);

    const a = await authorizeAt(idp, { username: 'alice', password: 'alice-pw' });
    const bad = await tokenRequest(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: a.redirect.code, redirect_uri: REDIRECT_URI, code_verifier: a.pkce.verifier,
    }, { clientAuth: { method: 'client_secret_basic', clientId: CLIENT_ID, clientSecret: 'nope' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error, 'invalid_client');
  });

  test('claim shapes: bob unverified, dave groups as a string, erin without both, grace string "true"', async () => {
    const claims = async (u) => decodeJwt((await loginAndExchange(idp, u)).tok.json.id_token).payload;
    const bob = await claims('bob');
    assert.equal(bob.email_verified, false);
    const dave = await claims('dave');
    assert.equal(dave.groups, 'mcp-users');
    const erin = await claims('erin');
    assert.equal('email_verified' in erin, false);
    assert.equal('groups' in erin, false);
    const grace = await claims('grace');
    assert.equal(grace.email_verified, 'true');
    const frank = await claims('frank');
    assert.deepEqual(frank.groups, ['mcp-users', 'bad,group']);
  });

  test('every authorization asks for a login (no silent SSO by default)', async () => {
    const jar = new CookieJar();
    for (const user of ['alice', 'bob']) {
      const state = randomState();
      const r = await idpLogin(idpAuthUrl(idp.issuer, { state, nonce: 'n', challenge: pkcePair().challenge }), {
        username: user, password: `${user}-pw`, jar,
      });
      assert.ok(r.loginPage, 'the login page was shown');
      assert.equal(parseRedirect(r.callbackUrl).state, state);
    }
  });

  test('second factor: acr_values with the MFA acr shows the one-time-code page; acr, amr and auth_time in the id_token', async () => {
    const MFA = 'urn:mcp-auth-proxy:test:mfa';
    const d = await idp.discovery();
    assert.deepEqual(d.acr_values_supported, ['urn:mcp-auth-proxy:test:pwd', MFA]);
    const redeem = async (callbackUrl, verifier) => tokenRequest(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: parseRedirect(callbackUrl).code, redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }, { clientAuth: { method: 'client_secret_basic', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    const ask = (extra) => {
      const pkce = pkcePair();
      return { pkce, url: idpAuthUrl(idp.issuer, { state: randomState(), nonce: 'n', challenge: pkce.challenge, extra }) };
    };

    // Without the code the login stops at the page; a wrong code shows it again.
    let a = ask({ acr_values: MFA });
    let r = await idpLogin(a.url, { username: 'alice', password: 'alice-pw' });
    assert.ok(r.otpPage, 'the one-time-code page follows the password');
    assert.equal(r.callbackUrl, null);
    a = ask({ acr_values: `other ${MFA}` });
    r = await idpLogin(a.url, { username: 'alice', password: 'alice-pw', otp: '000000' });
    assert.equal(r.callbackUrl, null);
    assert.match(r.last.text, /Invalid code/);

    const before = Math.floor(Date.now() / 1000);
    a = ask({ acr_values: MFA, max_age: '0' });
    r = await idpLogin(a.url, { username: 'alice', password: 'alice-pw', otp: '123456' });
    assert.ok(r.callbackUrl, `no redirect after the code: ${r.last.status} ${r.last.text.slice(0, 200)}`);
    let tok = await redeem(r.callbackUrl, a.pkce.verifier);
    assert.equal(tok.status, 200, tok.text);
    let { payload } = decodeJwt(tok.json.id_token);
    assert.equal(payload.acr, MFA);
    assert.deepEqual(payload.amr, ['pwd', 'otp']);
    assert.ok(payload.auth_time >= before - 1 && payload.auth_time <= Math.floor(Date.now() / 1000) + 1);

    // A password-only login: the password acr, and auth_time all the same.
    a = ask({});
    r = await idpLogin(a.url, { username: 'alice', password: 'alice-pw' });
    assert.equal(r.otpPage, null);
    tok = await redeem(r.callbackUrl, a.pkce.verifier);
    ({ payload } = decodeJwt(tok.json.id_token));
    assert.equal(payload.acr, 'urn:mcp-auth-proxy:test:pwd');
    assert.deepEqual(payload.amr, ['pwd']);
    assert.equal(typeof payload.auth_time, 'number');
  });

  test('wrong password re-renders the login form', async () => {
    const a = await authorizeAt(idp, { username: 'alice', password: 'wrong' });
    assert.equal(a.callbackUrl, null);
    assert.equal(a.last.status, 200);
    assert.match(a.last.text, /Invalid username or password/);
  });

  test('Cancel, the deny user and action=error answer the redirect_uri with an error', async () => {
    const cancel = await authorizeAt(idp, { action: 'cancel' });
    assert.equal(cancel.redirect.error, 'access_denied');
    assert.equal(cancel.redirect.state, cancel.state);
    assert.equal(cancel.redirect.iss, idp.issuer);
    assert.equal(cancel.redirect.code, null);

    const deny = await authorizeAt(idp, { username: 'deny', password: 'whatever' });
    assert.equal(deny.redirect.error, 'access_denied');

    const custom = await authorizeAt(idp, {
      action: 'error', error: 'weird_error', errorDescription: 'line1\r\nline2 <b>phish</b>',
    });
    assert.equal(custom.redirect.error, 'weird_error');
    assert.equal(custom.redirect.error_description, 'line1\r\nline2 <b>phish</b>');
    assert.equal(custom.redirect.state, custom.state);
  });

  test('faults: re-signed id_token claims, dropped id_token, token endpoint error', async () => {
    try {
      await idp.setFaults({ idTokenClaims: { nonce: 'tampered', email_verified: null } });
      const a = await loginAndExchange(idp, 'alice');
      await verifyJwt(a.tok.json.id_token, idp.issuer);
      const { payload } = decodeJwt(a.tok.json.id_token);
      assert.equal(payload.nonce, 'tampered');
      assert.equal('email_verified' in payload, false);

      await idp.setFaults({ dropIdToken: true });
      const b = await loginAndExchange(idp, 'alice');
      assert.equal(b.tok.status, 200);
      assert.equal(b.tok.json.id_token, undefined);

      await idp.setFaults({ idTokenClaims: null, dropIdToken: false, tokenError: { status: 503, error: 'temporarily_unavailable' } });
      const c = await loginAndExchange(idp, 'alice');
      assert.equal(c.tok.status, 503);
      assert.equal(c.tok.json.error, 'temporarily_unavailable');
    } finally {
      await idp.setFaults({});
    }
  });

  test('key rotation: a new kid is published in /jwks and signs later id_tokens', async () => {
    const before1 = decodeJwt((await loginAndExchange(idp, 'alice')).tok.json.id_token).header.kid;
    const kid = await idp.rotateKey();
    assert.notEqual(kid, before1);
    const jwks = (await request(`${idp.issuer}/jwks`)).json;
    assert.equal(jwks.keys[0].kid, kid);
    assert.ok(jwks.keys.some((k) => k.kid === before1), 'old key still published');
    const { tok } = await loginAndExchange(idp, 'alice');
    assert.equal(decodeJwt(tok.json.id_token).header.kid, kid);
    await verifyJwt(tok.json.id_token, idp.issuer);
  });
});

describe('IdP peer options', () => {
  test('--auth-methods client_secret_post: advertised alone, Basic refused', async () => {
    const idp = await startIdp({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      authMethods: ['client_secret_post'],
    });
    try {
      const d = await idp.discovery();
      assert.deepEqual(d.token_endpoint_auth_methods_supported, ['client_secret_post']);
      const basic = await loginAndExchange(idp, 'alice', 'client_secret_basic');
      assert.equal(basic.tok.status, 401);
      assert.equal(basic.tok.json.error, 'invalid_client');
      const post = await loginAndExchange(idp, 'alice', 'client_secret_post');
      assert.equal(post.tok.status, 200, post.tok.text);
    } finally {
      assertCleanExit(idp.proc, await idp.stop());
    }
  });

  test('--sso: max_age=0 and prompt=login force a fresh password login even with a session', async () => {
    const sso = await startIdp({ sso: true, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }] });
    try {
      const jar = new CookieJar();
      const url = (extra) => idpAuthUrl(sso.issuer, { state: randomState(), nonce: 'n', challenge: pkcePair().challenge, extra });
      const first = await idpLogin(url({}), { username: 'alice', password: 'alice-pw', jar });
      assert.ok(first.loginPage && first.callbackUrl);
      const silent = await idpLogin(url({}), { username: 'alice', password: 'alice-pw', jar });
      assert.equal(silent.loginPage, null, 'the session signs in silently');
      for (const extra of [{ max_age: '0' }, { prompt: 'login' }]) {
        const again = await idpLogin(url(extra), { username: 'alice', password: 'alice-pw', jar });
        assert.ok(again.loginPage, `${JSON.stringify(extra)} shows the login form`);
        assert.ok(again.callbackUrl);
      }
    } finally {
      const info = await sso.stop();
      if (info) assertCleanExit(sso.proc, info);
    }
  });

  test('--sso: a second authorization in the same cookie jar skips the login form', async () => {
    const idp = await startIdp({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }], sso: true,
    });
    try {
      const jar = new CookieJar();
      const url = () => idpAuthUrl(idp.issuer, { state: randomState(), nonce: 'n', challenge: pkcePair().challenge });
      const first = await idpLogin(url(), { username: 'alice', password: 'alice-pw', jar });
      assert.ok(first.loginPage);
      const second = await idpLogin(url(), { jar });
      assert.equal(second.loginPage, null);
      assert.ok(parseRedirect(second.callbackUrl).code);
    } finally {
      assertCleanExit(idp.proc, await idp.stop());
    }
  });

  test('--id-token-alg ES256 and extra users', async () => {
    const idp = await startIdp({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      idTokenAlg: 'ES256',
      extraUsers: { zed: { password: 'zed-pw', claims: { email: 'zed@example.com', roles: ['r1'] } } },
    });
    try {
      const { tok } = await loginAndExchange(idp, 'zed');
      assert.equal(tok.status, 200, tok.text);
      await verifyJwt(tok.json.id_token, idp.issuer);
      const { header, payload } = decodeJwt(tok.json.id_token);
      assert.equal(header.alg, 'ES256');
      assert.equal(payload.sub, 'zed');
      assert.deepEqual(payload.roles, ['r1']);
    } finally {
      assertCleanExit(idp.proc, await idp.stop());
    }
  });
});

describe('MCP upstream peer (MCP SDK)', () => {
  let up;
  before(async () => { up = await startUpstream(); });
  after(async () => {
    const info = await up?.stop();
    if (info) assertCleanExit(up.proc, info);
  });

  test('SDK client: initialize, list tools, echo, whoami sees the headers', async () => {
    await up.reset();
    const conn = await connectMcp(up.url, {
      headers: { 'x-user-sub': 'alice', 'x-user-email': 'alice@example.com', 'x-user-groups': 'mcp-users,dev' },
    });
    try {
      assert.ok(conn.sessionId());
      const tools = (await conn.client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(tools, ['echo', 'notify', 'sleep', 'slow_progress', 'whoami']);
      const echo = await conn.client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } });
      assert.equal(resultText(echo), 'héllo ✓');
      const who = JSON.parse(resultText(await conn.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.sub, 'alice');
      assert.equal(who.email, 'alice@example.com');
      assert.equal(who.groups, 'mcp-users,dev');
      assert.equal(who.authorizationPresent, false);
      assert.equal(who.authorization, null);

      const reqs = await up.requests();
      const posts = reqs.filter((r) => r.method === 'POST' && r.path === '/mcp');
      assert.ok(posts.length >= 4, `recorded ${posts.length} POSTs`);
      assert.equal(posts[0].mcpMethod, 'initialize');
      assert.ok(posts.every((r) => r.headers['x-user-sub'] === 'alice'));
      assert.ok(posts.slice(1).every((r) => r.headers['mcp-session-id'] === conn.sessionId()));
      const call = posts.find((r) => r.mcpTool === 'echo');
      assert.ok(call);
      assert.equal(JSON.parse(call.body).params.arguments.text, 'héllo ✓');
      assert.ok(reqs.some((r) => r.method === 'GET' && r.path === '/mcp'), 'standalone GET SSE stream opened');
    } finally {
      await conn.terminate();
      await conn.close();
    }
    const del = (await up.requests()).filter((r) => r.method === 'DELETE');
    assert.equal(del.length, 1);
    assert.deepEqual(await up.sessions(), []);
  });

  test('slow_progress: every progress notification arrives before the result', async () => {
    const conn = await connectMcp(up.url);
    try {
      const progress = [];
      const started = Date.now();
      const res = await conn.client.callTool(
        { name: 'slow_progress', arguments: { count: 4, intervalMs: 150 } },
        undefined,
        { onprogress: (p) => progress.push({ ...p, at: Date.now() }) },
      );
      const resultAt = Date.now();
      assert.equal(resultText(res), 'done 4');
      assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
      // Streamed, not batched: the server sends the result >= 450 ms after the
      // first notification, so an incremental stream shows a wide gap here.
      assert.ok(resultAt - progress[0].at >= 300, `progress was not delivered incrementally (first after ${progress[0].at - started} ms)`);
      assert.ok(progress.every((p) => p.at <= resultAt));
    } finally {
      await conn.close();
    }
  });

  test('notify: a notification reaches the client over the standalone GET stream', async () => {
    const conn = await connectMcp(up.url);
    try {
      // The SDK opens the GET stream right after initialization; wait for it.
      const deadline = Date.now() + 5000;
      let out;
      while (Date.now() < deadline) {
        out = JSON.parse(resultText(await conn.client.callTool({ name: 'notify', arguments: { text: 'hi' } })));
        if (out.standaloneStreamOpen) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(out.standaloneStreamOpen, true);
      await waitForNotification(conn, (ns) => ns.some((n) => n.method === 'notifications/message' && n.params.data.text === 'hi'));
    } finally {
      await conn.close();
    }
  });

  test('raw routes: redirects, status, echo-body, echo-headers, bytes, sse-raw timing', async () => {
    const r307 = await request(`${up.url}/redirect307?to=${encodeURIComponent('/mcp/echo-body')}`, { method: 'POST', body: 'x' });
    assert.equal(r307.status, 307);
    assert.equal(new URL(r307.location).pathname, '/mcp/echo-body');
    const r308 = await request(`${up.url}/redirect308?to=http://example.invalid/x`);
    assert.equal(r308.status, 308);
    assert.equal(r308.location, 'http://example.invalid/x');
    const chain = await request(`${up.url}/redirect-chain?n=2`);
    assert.equal(chain.status, 307);
    assert.match(chain.location, /redirect-chain\?n=1&code=307$/);

    const s = await request(`${up.url}/status/429?header=${encodeURIComponent('X-RateLimit-Limit: 5')}`);
    assert.equal(s.status, 429);
    assert.deepEqual(s.json, { status: 429 });
    assert.equal(s.headers.get('x-ratelimit-limit'), '5');
    assert.equal((await request(`${up.url}/status/204`)).status, 204);

    const body = crypto.randomBytes(3000).toString('base64');
    const e = await request(`${up.url}/echo-body`, { method: 'PUT', body, headers: { 'content-type': 'text/plain' } });
    assert.equal(e.json.method, 'PUT');
    assert.equal(e.json.length, body.length);
    assert.equal(e.json.body, body);
    assert.equal(e.json.sha256, crypto.createHash('sha256').update(body).digest('hex'));

    const eh = await request(`${up.url}/echo-headers?a=1`, { headers: { 'x-test': 'v' } });
    assert.equal(eh.json.headers['x-test'], 'v');
    assert.equal(eh.json.url, '/mcp/echo-headers?a=1');

    const bytes = await request(`${up.url}/bytes?n=100000&chunk=1000`);
    assert.equal(bytes.text.length, 100000);

    // SSE events must arrive one by one, not as one final blob.
    const res = await fetch(`${up.url}/sse-raw?n=3&gap=200`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const arrivals = [];
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        arrivals.push({ at: Date.now(), data: JSON.parse(ev.match(/^data: (.*)$/m)[1]) });
      }
    }
    assert.deepEqual(arrivals.map((a) => a.data.i), [0, 1, 2]);
    assert.ok(arrivals[2].at - arrivals[0].at >= 350, 'events were not spaced');

    const nf = await request(`${up.url}/nope`);
    assert.equal(nf.status, 404);
  });

  test('a client that disconnects mid-request is recorded in /__closed', async () => {
    await up.reset();
    const ac = new AbortController();
    const p = fetch(`${up.url}/slow-headers?ms=5000`, { signal: ac.signal }).catch((err) => err);
    // Let the request arrive, then hang up.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !(await up.requests()).some((r) => r.path === '/mcp/slow-headers')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ac.abort();
    assert.equal((await p).name, 'AbortError');
    let closed = [];
    while (Date.now() < deadline + 2000 && closed.length === 0) {
      closed = await up.closed();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(closed.length, 1);
    assert.equal(closed[0].path, '/mcp/slow-headers');
    const rec = (await up.requests()).find((r) => r.path === '/mcp/slow-headers');
    assert.equal(rec.closedEarly, true);
  });

  test('--path moves the MCP endpoint and the raw routes', async () => {
    const other = await startUpstream({ path: '/api/v1/mcp' });
    try {
      assert.match(other.url, /\/api\/v1\/mcp$/);
      const conn = await connectMcp(other.url);
      assert.equal(resultText(await conn.client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'x');
      await conn.close();
      assert.equal((await request(`${other.url}/status/500`)).status, 500);
      assert.equal((await request(`${other.origin}/mcp/status/500`)).status, 404);
    } finally {
      assertCleanExit(other.proc, await other.stop());
    }
  });
});

describe('Redis and process helpers', () => {
  test('startRedis answers PING and stops cleanly', async () => {
    const redis = await startRedis();
    try {
      const reply = await new Promise((resolve, reject) => {
        const sock = net.connect(redis.port, '127.0.0.1');
        sock.setTimeout(3000, () => { sock.destroy(); reject(new Error('timeout')); });
        sock.on('error', reject);
        sock.on('data', (d) => { resolve(d.toString()); sock.end(); });
        sock.write('*1\r\n$4\r\nPING\r\n');
      });
      assert.equal(reply, '+PONG\r\n');
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    } finally {
      assertCleanExit(redis.proc, await redis.stop());
    }
  });

  test('ports: free and distinct', async () => {
    const p = await getFreePort();
    assert.ok(p > 0 && p < 65536);
    const ps = await getFreePorts(5);
    assert.equal(new Set(ps).size, 5);
  });

  test('spawnProcess: ready line, stop by SIGTERM, forced kill when ignored', async () => {
    const g = await spawnProcess({
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM',()=>process.exit(0));console.log('READY 42');setInterval(()=>{},1000)"],
      readyLine: /^READY (\d+)$/,
    });
    assert.equal(g.readyMatch[1], '42');
    const info = await g.stop();
    assert.deepEqual(info, { code: 0, signal: null, forced: false });
    assertCleanExit(g, info);

    const stubborn = await spawnProcess({
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM',()=>{});console.log('UP');setInterval(()=>{},1000)"],
      readyLine: 'UP',
    });
    const forced = await stubborn.stop({ timeoutMs: 300 });
    assert.equal(forced.forced, true);
    assert.equal(forced.signal, 'SIGKILL');
    assert.throws(() => assertCleanExit(stubborn, forced), /SIGKILL/);
  });

  test('assertCleanExit catches sanitizer output and bad exits; readiness failures are reported', async () => {
    assert.deepEqual(findSanitizerReports('ok\nsrc/x.c:3:5: runtime error: signed integer overflow\n'), [
      'src/x.c:3:5: runtime error: signed integer overflow',
    ]);
    const noisy = await spawnProcess({
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM',()=>process.exit(0));console.error('==1==ERROR: AddressSanitizer: heap-use-after-free');console.log('UP');setInterval(()=>{},1000)"],
      readyLine: 'UP',
    });
    const info = await noisy.stop();
    assert.throws(() => assertCleanExit(noisy, info), /sanitizer/);

    const r = await runToExit({ command: process.execPath, args: ['-e', "console.error('config: bad');process.exit(1)"] });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /config: bad/);

    await assert.rejects(
      spawnProcess({ command: process.execPath, args: ['-e', 'process.exit(3)'], readyLine: 'NEVER', readyTimeoutMs: 3000 }),
      /did not become ready[\s\S]*code 3/,
    );
    await assert.rejects(
      startProxy({ binary: '/nonexistent/mcp-auth-proxy', env: {} }),
      /cannot start mcp-auth-proxy/,
    );
  });

  test('startProxy / startStack wiring, with a fake binary standing in for the C proxy', async () => {
    const fake = new URL('./fixtures/fake-proxy-bin.mjs', import.meta.url).pathname;
    process.env.E2E_LEAK_CHECK = 'must-not-reach-the-proxy';
    try {
      const stack = await startStack({ binary: fake, redis: true, proxyEnv: { LOG_LEVEL: 'debug' } });
      try {
        const env = (await request(`${stack.proxy.url}/env`)).json;
        assert.equal(env.PROXY_BASE_URL, stack.base);
        assert.equal(env.LISTEN_ADDR, `127.0.0.1:${stack.proxy.port}`);
        assert.match(env.METRICS_ADDR, /^127\.0\.0\.1:\d+$/);
        assert.equal(env.OIDC_ISSUER_URL, stack.idp.issuer);
        assert.equal(env.OIDC_CLIENT_ID, stack.clientId);
        assert.equal(env.OIDC_CLIENT_SECRET, stack.clientSecret);
        assert.equal(env.UPSTREAM_MCP_URL, stack.upstream.url);
        assert.equal(env.REDIS_URL, stack.redis.url);
        assert.equal(env.TOKEN_SIGNING_SECRET.length, 64);
        assert.equal(env.LOG_LEVEL, 'debug');
        assert.equal(env.E2E_LEAK_CHECK, undefined, 'the test runner environment leaked into the proxy');
        assert.equal((await request(`${stack.proxy.url}/discovery`)).json.issuer, stack.idp.issuer);
        await stack.proxy.waitForLog('listening');
      } finally {
        await stack.stop();
      }

      const bad = await startProxy({ binary: fake, env: { FAKE_EXIT_CODE: '2' } });
      await assert.rejects(bad.stop(), /exited with status 2/);
      const noisy = await startProxy({ binary: fake, env: { FAKE_STDERR: 'x.c:1:1: runtime error: load of null pointer' } });
      await assert.rejects(noisy.stop(), /sanitizer/);
      const tolerated = await startProxy({ binary: fake, env: { FAKE_EXIT_CODE: '2' } });
      assert.equal((await tolerated.stop({ expectClean: false })).code, 2);
    } finally {
      delete process.env.E2E_LEAK_CHECK;
    }
  });

  test('HTML helpers: consent page and interstitial parsing', () => {
    const consent = `<form method="POST" action="http://127.0.0.1:1/consent">
      <input type="hidden" name="consent_token" value="a&amp;b">
      <button type="submit" name="action" value="deny">Deny</button>
      <button type="submit" name="action" value="approve">Approve &amp; sign in</button></form>`;
    assert.deepEqual(parseConsentPage(consent), {
      consentToken: 'a&b', formAction: 'http://127.0.0.1:1/consent', formMethod: 'POST',
      actions: ['deny', 'approve'], replayNotice: false,
    });
    const target = 'http://127.0.0.1:2/auth?a=1&b=%22x%22';
    const esc = target.replace(/&/g, '&amp;');
    const inter = parseInterstitial(`<meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${esc}"><a href="${esc}">continue</a>`);
    assert.equal(inter.target, target);
    assert.equal(inter.href, target);
    assert.equal(inter.metaRaw, inter.hrefRaw);
    assert.equal(htmlUnescape('&lt;&#x27;&#39;&quot;&gt;'), `<''">`);
  });
});

// The C binary may not exist yet: fixtures/stand-in-proxy.mjs walks the same
// flow (SPEC §3) just far enough to prove the client helpers work end to end.
describe('client helpers against a stand-in proxy', () => {
  let idp;
  let up;
  let proxy;
  let catcher;
  before(async () => {
    const port = await getFreePort();
    catcher = await startRedirectCatcher();
    idp = await startIdp({ clients: [{ clientId: 'proxy', clientSecret: 'proxy-secret', redirectUris: [`http://127.0.0.1:${port}/callback`] }] });
    up = await startUpstream();
    proxy = await startStandInProxy({ idpIssuer: idp.issuer, clientId: 'proxy', clientSecret: 'proxy-secret', upstreamUrl: up.url, port });
  });
  after(async () => {
    await proxy?.close();
    await catcher?.close();
    if (up) assertCleanExit(up.proc, await up.stop());
    if (idp) assertCleanExit(idp.proc, await idp.stop());
  });

  test('login() then the SDK client through the mount with the bearer token', async () => {
    const r = await login(proxy.url, { username: 'alice', password: 'alice-pw' });
    assert.deepEqual(r.consent.actions, ['deny', 'approve']);
    assert.equal(r.redirect.iss, proxy.url);
    assert.equal(r.tokens.token_type, 'Bearer');
    const conn = await connectMcp(`${proxy.url}/mcp`, { token: r.tokens.access_token });
    try {
      const who = JSON.parse(resultText(await conn.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.sub, 'alice');
      assert.equal(who.groups, 'mcp-users,dev');
      assert.equal(who.authorizationPresent, false);
      const progress = [];
      const res = await conn.client.callTool({ name: 'slow_progress', arguments: { count: 3, intervalMs: 150 } }, undefined, {
        onprogress: (p) => progress.push({ ...p, at: Date.now() }),
      });
      const doneAt = Date.now();
      assert.equal(resultText(res), 'done 3');
      assert.equal(progress.length, 3);
      assert.ok(doneAt - progress[0].at >= 200, 'progress was buffered by the stand-in');
    } finally {
      await conn.close();
    }
    const unauth = await request(`${proxy.url}/mcp`, { method: 'POST', json: {} });
    assert.equal(unauth.status, 401);
  });

  test('step by step: deny at consent, consent replay, IdP cancel', async () => {
    const redirectUri = 'http://127.0.0.1:9/cb';
    const client = (await register(proxy.url, { redirect_uris: [redirectUri], client_name: 'stepper' })).json;
    const start = async (state) => {
      const page = await request(authorizeUrl(proxy.url, { client_id: client.client_id, redirect_uri: redirectUri, state, code_challenge: pkcePair().challenge }));
      assert.equal(page.status, 200);
      return parseConsentPage(page.text);
    };

    const c1 = await start('s1');
    const deny = await submitConsent({ ...c1, action: 'deny' });
    const t1 = parseRedirect(parseInterstitial(deny.text).target);
    assert.equal(t1.error, 'access_denied');
    assert.equal(t1.state, 's1');

    const replay = await submitConsent({ ...c1, action: 'approve' });
    const again = parseConsentPage(replay.text);
    assert.equal(again.replayNotice, true);
    assert.notEqual(again.consentToken, c1.consentToken);

    const c2 = await start('s2');
    const approve = await submitConsent({ ...c2 });
    const idpUrl = parseInterstitial(approve.text).target;
    assert.equal(new URL(idpUrl).origin, idp.issuer);
    const cancelled = await idpLogin(idpUrl, { action: 'cancel' });
    assert.equal(new URL(cancelled.callbackUrl).pathname, '/callback');
    const cb = await followCallback(cancelled.callbackUrl);
    assert.equal(cb.response.status, 302);
    assert.equal(cb.redirect.error, 'access_denied');
    assert.equal(cb.redirect.state, 's2');
  });

  test('browser: consent page, interstitial, IdP login, back to the client, no CSP violation', { skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
    const client = (await register(proxy.url, { redirect_uris: [catcher.url], client_name: 'browser client' })).json;
    const pkce = pkcePair();
    const browser = await launchBrowser();
    try {
      const rec = await browser.newPage();
      await rec.page.goto(authorizeUrl(proxy.url, { client_id: client.client_id, redirect_uri: catcher.url, state: 'b1', code_challenge: pkce.challenge }));
      assert.match(await rec.page.content(), /browser client/);
      await rec.page.click('#approve');
      await rec.page.waitForURL((u) => u.toString().startsWith(idp.issuer));
      await rec.page.fill('#login', 'alice');
      await rec.page.fill('#password', 'alice-pw');
      await Promise.all([rec.page.waitForURL((u) => u.toString().startsWith(catcher.url)), rec.page.click('#submit')]);
      const hit = await catcher.next();
      assert.equal(hit.searchParams.get('state'), 'b1');
      assert.equal(hit.searchParams.get('iss'), proxy.url);
      const tok = await exchangeCode(proxy.url, {
        code: hit.searchParams.get('code'), redirect_uri: catcher.url, client_id: client.client_id, code_verifier: pkce.verifier,
      });
      assert.equal(tok.status, 200, tok.text);
      assert.deepEqual(rec.cspViolations, []);
      assert.deepEqual(rec.consoleErrors, []);
      await rec.close();
    } finally {
      await browser.close();
    }
  });
});

describe('browser (Debian chromium + playwright-core)', { skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, () => {
  test('a person logs in at the IdP login page and lands on the redirect URI', async () => {
    const catcher = await startRedirectCatcher();
    const idp = await startIdp({ clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [catcher.url] }] });
    const browser = await launchBrowser();
    try {
      const rec = await browser.newPage();
      const state = randomState();
      const pkce = pkcePair();
      await rec.page.goto(idpAuthUrl(idp.issuer, { state, nonce: 'n1', challenge: pkce.challenge, redirectUri: catcher.url }));
      await rec.page.fill('#login', 'alice');
      await rec.page.fill('#password', 'alice-pw');
      await Promise.all([rec.page.waitForURL((u) => u.toString().startsWith(catcher.url)), rec.page.click('#submit')]);
      const hit = await catcher.next();
      assert.equal(hit.searchParams.get('state'), state);
      assert.equal(hit.searchParams.get('iss'), idp.issuer);
      const code = hit.searchParams.get('code');
      assert.ok(code);
      const tok = await tokenRequest(`${idp.issuer}/token`, {
        grant_type: 'authorization_code', code, redirect_uri: catcher.url, code_verifier: pkce.verifier,
      }, { clientAuth: { method: 'client_secret_basic', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
      assert.equal(tok.status, 200, tok.text);
      assert.equal(decodeJwt(tok.json.id_token).payload.sub, 'alice');
      assert.deepEqual(rec.cspViolations, []);
      assert.deepEqual(rec.pageErrors, []);
      await rec.close();
    } finally {
      await browser.close();
      assertCleanExit(idp.proc, await idp.stop());
      await catcher.close();
    }
  });

  test('CSP violations are collected', async () => {
    const browser = await launchBrowser();
    try {
      const rec = await browser.newPage();
      // A page whose CSP forbids inline script: the script is blocked and reported.
      const srv = await import('node:http').then((h) => h.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "default-src 'none'" });
        res.end('<!doctype html><p>x</p><script>document.title="ran"</script>');
      }));
      await new Promise((r) => srv.listen(0, '127.0.0.1', r));
      try {
        await rec.page.goto(`http://127.0.0.1:${srv.address().port}/`);
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && !rec.cspViolations.some((v) => v.source === 'event')) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.notEqual(await rec.page.title(), 'ran');
        assert.ok(rec.cspViolations.some((v) => v.source === 'event' && /script-src/.test(v.directive)), JSON.stringify(rec.cspViolations));
        assert.ok(rec.consoleErrors.some((e) => /Content Security Policy/.test(e.text)));
      } finally {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
      await rec.close();
    } finally {
      await browser.close();
    }
  });
});
