// RFC 7523 private_key_jwt for CIMD clients (issue 11 item 1, docs/cimd.md)
// against the built binary. The client is this test: its metadata
// document, and its JWK Set behind jwks_uri, are served by the test's own
// HTTPS server on loopback (a throw-away CA from the openssl CLI, trusted
// through CIMD_CA_FILE; CIMD_ALLOW_PRIVATE_ADDRESSES=true for 127.0.0.1),
// exactly as cimd.test.mjs serves documents; it signs its assertions with
// `jose` (already a dependency of the MCP SDK). The login goes through the
// real IdP. Attacks: a bad signature, a foreign audience, a replayed
// assertion, an unknown kid, an assertion from a client without keys
// (DCR) -- each 401 invalid_client, and the code stays redeemable by a
// correct request afterwards. Run with the memory store and with Redis.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { startStack } from './lib/peers.mjs';
import { makeCerts } from './lib/test-ca.mjs';
import {
  CookieJar, request, authorizeUrl, parseConsentPage, submitConsent, parseInterstitial,
  idpLogin, followCallback, pkcePair, randomState, exchangeCode, refreshGrant, login,
} from './lib/oauth-client.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';
const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function startDocServer(cert) {
  const routes = new Map();
  const hits = new Map();
  const server = https.createServer({ cert: fs.readFileSync(cert('doc.pem')), key: fs.readFileSync(cert('doc.key')) }, (req, res) => {
    const p = req.url.split('?')[0];
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const body = routes.get(p);
    if (!body) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('no'); return; }
    const text = JSON.stringify(body.json);
    res.writeHead(200, { 'content-type': body.type ?? 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'max-age=600' });
    res.end(text);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    url: (p) => `https://127.0.0.1:${port}${p}`,
    routes,
    hits: (p) => hits.get(p) ?? 0,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const doc = (url, extra = {}) => ({
  client_id: url, client_name: 'private_key_jwt e2e client', redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', ...extra,
});

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

// A signed assertion; o overrides claims (undefined deletes) and header bits.
async function assertion(key, clientId, aud, o = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...o.claims };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: key.alg, kid: o.kid ?? key.kid, typ: 'client-authentication+jwt' })
    .sign(o.signWith ?? key.privateKey);
}

const auth = (a) => ({ client_assertion_type: TYPE, client_assertion: a });

// authorize -> consent -> IdP -> callback: a code and its verifier.
async function codeFor(base, clientId) {
  const jar = new CookieJar();
  const pkce = pkcePair();
  const state = randomState();
  const r = await request(authorizeUrl(base, { client_id: clientId, redirect_uri: REDIRECT, state, code_challenge: pkce.challenge }), { jar, timeoutMs: 20000 });
  assert.equal(r.status, 200, r.text);
  const consent = parseConsentPage(r.text);
  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  assert.equal(post.status, 200, post.text);
  const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar });
  const cb = await followCallback(idp.callbackUrl, { jar });
  assert.ok(cb.redirect?.code, cb.response?.text);
  return { code: cb.redirect.code, verifier: pkce.verifier };
}

function assertRefused(r, description) {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json.error, 'invalid_client');
  if (description) assert.match(r.json.error_description, description);
}

async function metric(stack, name, label) {
  const r = await request(`${stack.proxy.metricsUrl}/metrics`);
  const line = r.text.split('\n').find((l) => l.startsWith(`${name}{result="${label}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

for (const store of ['memory', 'redis']) {
  describe(`private_key_jwt for CIMD clients (${store} store)`, () => {
    let dir;
    let docs;
    let stack;
    let rsa;
    let other;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-pkjwt-'));
      const cert = makeCerts(dir, 'mcp-auth-proxy pkjwt e2e CA');
      docs = await startDocServer(cert);
      rsa = await keyPair('RS256', 'rsa-1');
      other = await keyPair('RS256', 'rsa-1'); // the attacker's key, same kid
      stack = await startStack({
        redis: store === 'redis',
        proxyEnv: { RATE_LIMIT_ENABLED: 'false', CIMD_ALLOW_PRIVATE_ADDRESSES: 'true', CIMD_CA_FILE: cert('ca.pem'), PROD_MODE: 'false' },
      });
    });
    after(async () => {
      await stack?.stop();
      await docs?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('AS metadata lists none first, then private_key_jwt and its algs', { skip: store === 'redis' }, async () => {
      const r = await request(`${stack.base}/.well-known/oauth-authorization-server`);
      assert.deepEqual(r.json.token_endpoint_auth_methods_supported, ['none', 'private_key_jwt']);
      assert.deepEqual(r.json.token_endpoint_auth_signing_alg_values_supported, ['RS256', 'PS256', 'ES256']);
    });

    test('jwks_uri: bad signature, foreign aud, unknown kid and replay refused, code and refresh grants work', async () => {
      const url = docs.url('/clients/jwks-uri.json');
      const jwksPath = '/keys/jwks-uri.json';
      docs.routes.set('/clients/jwks-uri.json', { json: doc(url, { jwks_uri: docs.url(jwksPath) }) });
      docs.routes.set(jwksPath, { json: { keys: [rsa.jwk] }, type: 'application/jwk-set+json' });
      const tokenEp = `${stack.base}/token`;
      const { code, verifier } = await codeFor(stack.base, url);
      const grant = { code, redirect_uri: REDIRECT, client_id: url, code_verifier: verifier };
      const badSigBefore = await metric(stack, 'mcp_auth_client_assertion_total', 'bad_signature');

      // Signed by another key under the client's kid.
      assertRefused(await exchangeCode(stack.base, { ...grant, extra: auth(await assertion(rsa, url, tokenEp, { signWith: other.privateKey })) }),
        /signature does not verify/);
      assert.equal(await metric(stack, 'mcp_auth_client_assertion_total', 'bad_signature'), badSigBefore + 1);
      // Meant for another authorization server, alone and next to ours.
      assertRefused(await exchangeCode(stack.base, { ...grant, extra: auth(await assertion(rsa, url, 'https://other-as.example/token')) }), /aud/);
      assertRefused(await exchangeCode(stack.base, { ...grant, extra: auth(await assertion(rsa, url, [tokenEp, 'https://other-as.example'])) }), /aud/);
      // A kid the set lacks: refused, and (inside the refetch floor) no new fetch.
      const fetches = docs.hits(jwksPath);
      assertRefused(await exchangeCode(stack.base, { ...grant, extra: auth(await assertion(rsa, url, tokenEp, { kid: 'rsa-9' })) }), /kid/);
      assert.equal(docs.hits(jwksPath), fetches);
      // A present but bad assertion is never read as "none".
      assertRefused(await exchangeCode(stack.base, { ...grant, extra: { client_assertion_type: TYPE, client_assertion: 'not.a.jws' } }));

      // None of that spent the code: the correct request gets tokens.
      const good = await assertion(rsa, url, stack.base); // aud = the issuer
      const tok = await exchangeCode(stack.base, { ...grant, extra: auth(good) });
      assert.equal(tok.status, 200, tok.text);
      assert.ok(tok.json.access_token);

      // The same assertion again (the refresh grant): its jti is spent.
      assertRefused(await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: url, extra: auth(good) }), /already used/);
      // A fresh one refreshes (the refused replay did not spend the refresh token).
      const ref = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: url, extra: auth(await assertion(rsa, url, tokenEp)) });
      assert.equal(ref.status, 200, ref.text);
      assert.ok(ref.json.refresh_token);
      assert.equal(docs.hits(jwksPath), 1, 'the key set is cached like the document');
    });

    test('inline jwks (ES256) without a client_id field, and no assertion still works as none', { skip: store === 'redis' }, async () => {
      const ec = await keyPair('ES256', 'ec-1');
      const url = docs.url('/clients/inline.json');
      docs.routes.set('/clients/inline.json', { json: doc(url, { jwks: { keys: [ec.jwk] }, token_endpoint_auth_signing_alg: 'ES256' }) });
      const { code, verifier } = await codeFor(stack.base, url);
      // A client_id naming another client than iss: refused.
      assertRefused(await exchangeCode(stack.base, {
        code, redirect_uri: REDIRECT, client_id: docs.url('/clients/jwks-uri.json'), code_verifier: verifier,
        extra: auth(await assertion(ec, url, `${stack.base}/token`)),
      }), /client_id does not match/);
      // RFC 7521 4.2: client_id may be left out; iss names the client.
      const tok = await exchangeCode(stack.base, {
        code, redirect_uri: REDIRECT, client_id: undefined, code_verifier: verifier,
        extra: auth(await assertion(ec, url, `${stack.base}/token`)),
      });
      assert.equal(tok.status, 200, tok.text);
      // ChatGPT's case: the document names private_key_jwt, the request sends none.
      const plain = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: url });
      assert.equal(plain.status, 200, plain.text);
      // An RS256 assertion against an EC-only set: refused, not downgraded.
      assertRefused(await refreshGrant(stack.base, { refresh_token: plain.json.refresh_token, client_id: url, extra: auth(await assertion(rsa, url, `${stack.base}/token`)) }));
      const again = await refreshGrant(stack.base, { refresh_token: plain.json.refresh_token, client_id: url, extra: auth(await assertion(ec, url, `${stack.base}/token`)) });
      assert.equal(again.status, 200, again.text);
    });

    test('a DCR-registered client sending an assertion gets invalid_client', { skip: store === 'redis' }, async () => {
      const flow = await login(stack.base, { username: 'alice', password: 'alice-pw', exchange: false });
      const cid = flow.client.client_id;
      const r = await exchangeCode(stack.base, {
        code: flow.redirect.code, redirect_uri: REDIRECT, client_id: cid, code_verifier: flow.pkce.verifier,
        extra: { client_assertion_type: TYPE, client_assertion: await assertion(rsa, cid, `${stack.base}/token`) },
      });
      assertRefused(r, /no registered keys/);
      // The code was not spent: the public client redeems it.
      const ok = await exchangeCode(stack.base, { code: flow.redirect.code, redirect_uri: REDIRECT, client_id: cid, code_verifier: flow.pkce.verifier });
      assert.equal(ok.status, 200, ok.text);
    });
  });
}
