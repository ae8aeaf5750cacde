// The signed identity for the upstream (UPSTREAM_IDENTITY_ASSERTION,
// docs/identity-assertion.md), end to end: the real binary between the
// official MCP SDK client and the SDK upstream, which runs in its
// verification mode (peers/mcp-upstream.mjs --verify-identity): every
// request must carry an X-MCP-Identity-Assertion that `jose` verifies
// against the proxy's /.well-known/jwks.json, with the upstream's own
// origin as audience -- the pattern the docs give operators.
//
// Access tokens are minted with lib/seal-mint.mjs (the route, not the
// login, is under test; proxy.test.mjs explains why).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  SignJWT, createRemoteJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt, importPKCS8, exportJWK,
  calculateJwkThumbprint, createLocalJWKSet,
} from 'jose';
import { startIdp, startUpstream } from './lib/peers.mjs';
import { startProxy, runProxyToExit } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';
import { mintAccessToken, seal } from './lib/seal-mint.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const HEADER = 'x-mcp-identity-assertion';

// A P-256 (or other) private key in PEM, written with openssl as an
// operator would.
function genKey(dir, name, curve = 'P-256') {
  const file = path.join(dir, name);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', file]);
  return file;
}

async function kidOf(pemFile) {
  const pub = crypto.createPublicKey(fs.readFileSync(pemFile));
  return calculateJwkThumbprint(await exportJWK(pub), 'sha256');
}

async function stackWith({ proxyEnv = {} } = {}) {
  const proxyPort = await getFreePort();
  const base = `http://127.0.0.1:${proxyPort}`;
  const clientSecret = crypto.randomBytes(24).toString('hex');
  const idp = await startIdp({ clients: [{ clientId: 'mcp-auth-proxy', clientSecret, redirectUris: [`${base}/callback`] }] });
  const upstream = await startUpstream({
    extraArgs: ['--verify-identity', `${base}/.well-known/jwks.json`, '--identity-issuer', base],
  });
  const proxy = await startProxy({
    env: {
      LISTEN_ADDR: `127.0.0.1:${proxyPort}`, PROXY_BASE_URL: base, OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: 'mcp-auth-proxy', OIDC_CLIENT_SECRET: clientSecret, UPSTREAM_MCP_URL: upstream.url,
      TOKEN_SIGNING_SECRET: SECRET, SHUTDOWN_TIMEOUT: '5s', PROD_MODE: 'false', REDIS_REQUIRED: 'false',
      UPSTREAM_IDENTITY_ASSERTION: 'true', ...proxyEnv,
    },
  });
  return {
    base, idp, upstream, proxy,
    token: (extra = {}) => mintAccessToken({ secret: SECRET, base, resource: `${base}/mcp`, ...extra }),
    async stop() {
      let first;
      for (const s of [proxy, upstream, idp]) {
        try { await s.stop(); } catch (err) { first ??= err; }
      }
      if (first) throw first;
    },
  };
}

async function lastIdentityRecord(upstream) {
  const reqs = await upstream.requests();
  // The proxy's own (verified) ones; the tests' forged ones are recorded too.
  const withHeader = reqs.filter((r) => r.headers[HEADER] && r.identity?.ok);
  assert.ok(withHeader.length > 0, 'no request reached the upstream with a verified assertion');
  return withHeader.at(-1);
}

async function postJson(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

describe('identity assertion, generated key', () => {
  let s;
  before(async () => { s = await stackWith(); });
  after(async () => { await s?.stop(); });

  test('GET /.well-known/jwks.json: one ES256 P-256 public key, CORS, short public cache', async () => {
    const r = await fetch(`${s.base}/.well-known/jwks.json`, { headers: { origin: 'https://inspector.example' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
    const doc = await r.json();
    assert.deepEqual(Object.keys(doc), ['keys']);
    assert.equal(doc.keys.length, 1);
    const [k] = doc.keys;
    assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(k.kty, 'EC');
    assert.equal(k.crv, 'P-256');
    assert.equal(k.alg, 'ES256');
    assert.equal(k.use, 'sig');
    assert.equal(k.kid, await calculateJwkThumbprint(k, 'sha256'));
    const line = s.proxy.logLines().find((l) => l.includes('"identity_assertion_keys"'));
    assert.ok(line, 'start-up line naming the signing kid');
    assert.equal(JSON.parse(line).signing_kid, k.kid);
    const pre = await fetch(`${s.base}/.well-known/jwks.json`, { method: 'OPTIONS', headers: { origin: 'https://x.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 204);
  });

  test('the SDK client calls a tool; the upstream verified the assertion with jose, claims exact', async () => {
    const conn = await connectMcp(`${s.base}/mcp`, { token: s.token({ sub: 'alice', email: 'alice@example.com', groups: ['mcp-users', 'dev'] }) });
    try {
      const res = await conn.client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      assert.equal(resultText(res), 'hi');
    } finally {
      await conn.close();
    }
    const reqs = await s.upstream.requests();
    assert.ok(reqs.length >= 2);
    for (const r of reqs) assert.equal(r.identity?.ok, true, `request ${r.seq} not verified: ${JSON.stringify(r.identity)}`);
    const rec = await lastIdentityRecord(s.upstream);
    const token = rec.headers[HEADER];
    const h = decodeProtectedHeader(token);
    const jwks = await (await fetch(`${s.base}/.well-known/jwks.json`)).json();
    assert.deepEqual(h, { alg: 'ES256', kid: jwks.keys[0].kid, typ: 'JWT' });
    const c = rec.identity.claims;
    assert.deepEqual(Object.keys(c).sort(),
      ['aud', 'client_id', 'email', 'exp', 'groups', 'iat', 'iss', 'jti', 'scope', 'sub']);
    assert.equal(c.iss, s.base);
    assert.equal(c.aud, s.upstream.origin);
    assert.equal(c.sub, 'alice');
    assert.equal(c.email, 'alice@example.com');
    assert.deepEqual(c.groups, ['mcp-users', 'dev']);
    assert.equal(c.scope, '');
    assert.match(c.client_id, /^[0-9a-f-]{36}$/);
    assert.equal(c.exp - c.iat, 60);
    assert.ok(Math.abs(c.iat - Date.now() / 1000) < 30);
    assert.match(c.jti, /^[A-Za-z0-9_-]{22}$/);
    // Every request got its own assertion.
    const jtis = new Set(reqs.map((r) => r.identity.claims.jti));
    assert.equal(jtis.size, reqs.length);
  });

  test('scope and client_id come from the access token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = seal(SECRET, 'access', {
      tid: crypto.randomUUID(), typ: 'access', aud: s.base, res: `${s.base}/mcp`, scp: 'mcp:read mcp:write',
      sub: 'bob', email: 'bob@example.com', cid: 'client-42', iat: now, exp: now + 600,
    });
    await s.upstream.reset();
    const r = await fetch(`${s.base}/mcp/echo-headers`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const c = (await lastIdentityRecord(s.upstream)).identity.claims;
    assert.equal(c.scope, 'mcp:read mcp:write');
    assert.equal(c.client_id, 'client-42');
    assert.equal(c.sub, 'bob');
    assert.deepEqual(c.groups, []);
  });

  test('a client cannot send its own X-MCP-Identity-Assertion through the proxy', async () => {
    // A genuine assertion of another user, replayed by a client: dropped,
    // replaced by the proxy's own for the caller's token.
    const stolen = (await lastIdentityRecord(s.upstream)).headers[HEADER];
    await s.upstream.reset();
    const r = await fetch(`${s.base}/mcp/echo-headers`, {
      headers: { authorization: `Bearer ${s.token({ sub: 'mallory' })}`, 'X-MCP-Identity-Assertion': stolen, 'x_mcp_identity_assertion': 'forged' },
    });
    assert.equal(r.status, 200);
    const echoed = await r.json();
    const names = echoed.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase().replace(/_/g, '-'));
    assert.equal(names.filter((n) => n === HEADER).length, 1);
    assert.notEqual(echoed.headers[HEADER], stolen);
    assert.equal(decodeJwt(echoed.headers[HEADER]).sub, 'mallory');
  });

  test('the upstream refuses a request that reaches it directly: no assertion, or one signed by another key', async () => {
    const direct = await fetch(s.upstream.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-user-sub': 'admin' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(direct.status, 401);
    assert.deepEqual(await direct.json(), { error: 'invalid_identity_assertion', code: 'missing' });

    // Right claims and the proxy's kid, but an attacker's key.
    const jwks = await (await fetch(`${s.base}/.well-known/jwks.json`)).json();
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT({ email: 'admin@example.com', groups: ['admins'], jti: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0].kid, typ: 'JWT' })
      .setIssuer(s.base).setAudience(s.upstream.origin).setSubject('admin')
      .setIssuedAt().setExpirationTime('60s').sign(privateKey);
    const r = await fetch(`${s.upstream.url}/echo-headers`, { headers: { [HEADER]: forged } });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('a replayed assertion past exp fails verification', async () => {
    const token = (await lastIdentityRecord(s.upstream)).headers[HEADER];
    const { exp } = decodeJwt(token);
    const ok = await postJson(`${s.upstream.origin}/__verify`, { token, currentDate: exp - 1 });
    assert.equal(ok.body.ok, true);
    const late = await postJson(`${s.upstream.origin}/__verify`, { token, currentDate: exp + 1 });
    assert.deepEqual(late.body, { ok: false, code: 'ERR_JWT_EXPIRED', claim: 'exp' });
    // And with jose in the test itself, against the proxy's JWKS.
    const jwks = createRemoteJWKSet(new URL(`${s.base}/.well-known/jwks.json`));
    await assert.rejects(
      jwtVerify(token, jwks, { issuer: s.base, audience: s.upstream.origin, currentDate: new Date((exp + 1) * 1000) }),
      (err) => err.code === 'ERR_JWT_EXPIRED',
    );
  });

  test('an assertion for another upstream (foreign audience) fails verification there', async () => {
    // A second SDK upstream in the same verification mode: another origin,
    // so another audience. An assertion minted for the first one is refused.
    const other = await startUpstream({
      extraArgs: ['--verify-identity', `${s.base}/.well-known/jwks.json`, '--identity-issuer', s.base],
    });
    try {
      const token = (await lastIdentityRecord(s.upstream)).headers[HEADER];
      const r = await fetch(`${other.url}/echo-headers`, { headers: { [HEADER]: token } });
      assert.equal(r.status, 401);
      assert.equal((await r.json()).code, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      const v = await postJson(`${other.origin}/__verify`, { token });
      assert.equal(v.body.claim, 'aud');
      // The same token is still good where it was meant to go.
      assert.equal((await postJson(`${s.upstream.origin}/__verify`, { token })).body.ok, true);
    } finally {
      await other.stop();
    }
  });

  test('the assertion never appears in the proxy log', async () => {
    const reqs = await s.upstream.requests();
    const tokens = reqs.map((r) => r.headers[HEADER]).filter(Boolean);
    assert.ok(tokens.length > 0);
    await new Promise((r) => { setTimeout(r, 300); }); // the log writer thread
    const log = s.proxy.logLines().join('\n');
    for (const t of tokens) {
      assert.equal(log.includes(t), false);
      assert.equal(log.includes(t.split('.')[2]), false);
    }
  });
});

describe('identity assertion, key files', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-identity-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('rotation: UPSTREAM_IDENTITY_KEY_FILE=new,old publishes both and signs with the first', async () => {
    const oldKey = genKey(dir, 'old.pem');
    const newKey = genKey(dir, 'new.pem');
    const s = await stackWith({ proxyEnv: { UPSTREAM_IDENTITY_KEY_FILE: `${newKey},${oldKey}` } });
    try {
      const doc = await (await fetch(`${s.base}/.well-known/jwks.json`)).json();
      assert.deepEqual(doc.keys.map((k) => k.kid), [await kidOf(newKey), await kidOf(oldKey)]);
      const r = await fetch(`${s.base}/mcp/echo-headers`, { headers: { authorization: `Bearer ${s.token()}` } });
      assert.equal(r.status, 200);
      const rec = await lastIdentityRecord(s.upstream);
      assert.equal(rec.identity.ok, true);
      assert.equal(decodeProtectedHeader(rec.headers[HEADER]).kid, await kidOf(newKey));
      // An assertion signed with the old key (a replica not yet restarted)
      // still verifies against the published set.
      const oldPriv = await importPKCS8(fs.readFileSync(oldKey, 'utf8'), 'ES256');
      const fromOld = await new SignJWT({ jti: 'j' }).setProtectedHeader({ alg: 'ES256', kid: await kidOf(oldKey), typ: 'JWT' })
        .setIssuer(s.base).setAudience(s.upstream.origin).setSubject('alice').setIssuedAt().setExpirationTime('60s')
        .sign(oldPriv);
      await jwtVerify(fromOld, createLocalJWKSet(doc), { issuer: s.base, audience: s.upstream.origin });
      assert.equal((await postJson(`${s.upstream.origin}/__verify`, { token: fromOld })).body.ok, true);
    } finally {
      await s.stop();
    }
  });

  test('--check-config names a bad key file: wrong curve, not a private key, unreadable', async () => {
    const p384 = genKey(dir, 'p384.pem', 'P-384');
    const pub = path.join(dir, 'pub.pem');
    execFileSync('openssl', ['pkey', '-in', genKey(dir, 'k.pem'), '-pubout', '-out', pub]);
    const env = {
      OIDC_ISSUER_URL: 'https://idp.example.com', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's',
      PROXY_BASE_URL: 'https://auth.example.com', UPSTREAM_MCP_URL: 'http://127.0.0.1:9/mcp',
      TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'), REDIS_URL: 'redis://127.0.0.1:6379',
      UPSTREAM_IDENTITY_ASSERTION: 'true',
    };
    const cases = [
      [p384, 'holds an EC key on another curve; ES256 needs P-256'],
      [pub, 'holds no unencrypted PEM private key'],
      [path.join(dir, 'missing.pem'), 'cannot be read'],
    ];
    for (const [file, phrase] of cases) {
      const r = await runProxyToExit({ env: { ...env, UPSTREAM_IDENTITY_KEY_FILE: file }, args: ['--check-config'] });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.ok(out.includes(`UPSTREAM_IDENTITY_KEY_FILE: ${file} ${phrase}`), out);
      assert.equal(out.includes('PRIVATE KEY'), false);
    }
  });

  test('off (the default): no /.well-known/jwks.json and no assertion upstream', async () => {
    const proxyPort = await getFreePort();
    const base = `http://127.0.0.1:${proxyPort}`;
    const idp = await startIdp({ clients: [{ clientId: 'c', clientSecret: 's'.repeat(32), redirectUris: [`${base}/callback`] }] });
    const upstream = await startUpstream();
    const proxy = await startProxy({
      env: {
        LISTEN_ADDR: `127.0.0.1:${proxyPort}`, PROXY_BASE_URL: base, OIDC_ISSUER_URL: idp.issuer,
        OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's'.repeat(32), UPSTREAM_MCP_URL: upstream.url,
        TOKEN_SIGNING_SECRET: SECRET, SHUTDOWN_TIMEOUT: '5s', PROD_MODE: 'false', REDIS_REQUIRED: 'false',
      },
    });
    try {
      assert.equal((await fetch(`${base}/.well-known/jwks.json`)).status, 404);
      const token = mintAccessToken({ secret: SECRET, base, resource: `${base}/mcp` });
      const r = await fetch(`${base}/mcp/echo-headers`, { headers: { authorization: `Bearer ${token}`, [HEADER]: 'forged' } });
      assert.equal(r.status, 200);
      const echoed = await r.json();
      assert.equal(echoed.headers[HEADER], undefined);
    } finally {
      await proxy.stop();
      await upstream.stop();
      await idp.stop();
    }
  });
});
