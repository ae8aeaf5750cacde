// Client ID Metadata Documents (issue 11 item 1, docs/cimd.md) against the
// built binary: an https client_id resolved by fetching its document from a
// real HTTPS server on loopback (a throw-away CA made with the openssl CLI,
// trusted through CIMD_CA_FILE; CIMD_ALLOW_PRIVATE_ADDRESSES=true because
// the server is on 127.0.0.1), the whole login through the real IdP and
// tools called with the token; each document error refused with its
// reason; the cache (a hit makes no second request at the document
// server), last-known-good when a refetch fails, a pinned document used
// without any fetch; and, in a second proxy without the override, the SSRF
// guard refusing the loopback address.
//
// The document server is this test's own https.Server: it is the real peer
// of a CIMD fetch (any HTTPS server publishing JSON), and it lets the test
// produce on demand the faults real vendors' CDNs have shown (403 HTML,
// redirects, slow answers, oversized bodies).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './lib/peers.mjs';
import { makeCerts } from './lib/test-ca.mjs';
import {
  CookieJar, request, authorizeUrl, parseConsentPage, submitConsent, parseInterstitial,
  idpLogin, followCallback, pkcePair, randomState, exchangeCode, refreshGrant,
} from './lib/oauth-client.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import { startRedirectCatcher } from './lib/oauth-client.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import * as v2 from '@modelcontextprotocol/client';

const noBrowser = !chromiumAvailable() && 'no /usr/bin/chromium';

// The official SDK v1 client's OAuthClientProvider with clientMetadataUrl
// (it then uses the URL as client_id and never calls /register, when the
// AS metadata says client_id_metadata_document_supported); its "open the
// browser" step drives Chromium through the consent page and the IdP form.
class CimdChromiumProvider {
  constructor({ clientMetadataUrl, redirectUrl, page }) {
    Object.assign(this, { clientMetadataUrl, _redirectUrl: redirectUrl, page });
    this.saved = undefined;
    this.consentHtml = '';
  }

  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() {
    return { client_name: 'SDK v1 via CIMD', redirect_uris: [this._redirectUrl], token_endpoint_auth_method: 'none' };
  }

  state() { this.expectedState = randomState(); return this.expectedState; }
  clientInformation() { return this.saved; }
  saveClientInformation(info) { this.saved = info; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }

  async redirectToAuthorization(url) {
    this.authorizeUrl = url;
    const { page } = this;
    const consent = await page.goto(url.toString());
    assert.equal(consent.status(), 200);
    this.consentHtml = await page.content();
    const landed = (u) => u.toString().startsWith(this._redirectUrl);
    await Promise.all([
      page.waitForURL((u) => landed(u) || u.pathname.startsWith('/interaction/'), { timeout: 15000 }),
      page.getByRole('button', { name: 'Approve & sign in' }).click(),
    ]);
    if (!landed(new URL(page.url()))) {
      await page.fill('#login', 'alice');
      await page.fill('#password', 'alice-pw');
      await Promise.all([page.waitForURL(landed, { timeout: 15000 }), page.click('#submit')]);
    }
  }
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const REDIRECT = 'http://127.0.0.1:9/cb';

// routes: path -> (req, res, url) => void; hits counts requests per path.
async function startDocServer(cert) {
  const routes = new Map();
  const hits = new Map();
  const accepts = [];
  const server = https.createServer({ cert: fs.readFileSync(cert('doc.pem')), key: fs.readFileSync(cert('doc.key')) }, (req, res) => {
    const p = req.url.split('?')[0];
    hits.set(p, (hits.get(p) ?? 0) + 1);
    accepts.push(req.headers.accept);
    const h = routes.get(p);
    if (!h) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('no'); return; }
    h(req, res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: (p) => `https://127.0.0.1:${port}${p}`,
    routes,
    hits: (p) => hits.get(p) ?? 0,
    accepts,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const json = (res, body, headers = {}) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

const doc = (url, extra = {}) => ({
  client_id: url, client_name: 'CIMD e2e client', redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
  response_types: ['code'], token_endpoint_auth_method: 'none', ...extra,
});

async function authorize(base, clientId, { redirectUri = REDIRECT, jar = new CookieJar() } = {}) {
  const pkce = pkcePair();
  const state = randomState();
  const r = await request(authorizeUrl(base, {
    client_id: clientId, redirect_uri: redirectUri, state, code_challenge: pkce.challenge,
  }), { jar, timeoutMs: 20000 });
  return { r, pkce, state, jar };
}

// authorize → consent → IdP → callback → token, with a document client_id.
async function loginWith(base, clientId) {
  const { r, pkce, state, jar } = await authorize(base, clientId);
  assert.equal(r.status, 200, r.text);
  const consent = parseConsentPage(r.text);
  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  assert.equal(post.status, 200, post.text);
  const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar });
  assert.ok(idp.callbackUrl, 'IdP redirected back');
  const cb = await followCallback(idp.callbackUrl, { jar });
  assert.ok(cb.redirect?.code, cb.response?.text);
  assert.equal(cb.redirect.state, state);
  const tok = await exchangeCode(base, { code: cb.redirect.code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: pkce.verifier });
  assert.equal(tok.status, 200, tok.text);
  return tok.json;
}

describe('client ID metadata documents', () => {
  let dir;
  let cert;
  let docs;
  let stack;
  let pinnedUrl;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-cimd-'));
    cert = makeCerts(dir, 'mcp-auth-proxy cimd e2e CA');
    docs = await startDocServer(cert);
    const pinDir = path.join(dir, 'pinned');
    fs.mkdirSync(pinDir);
    pinnedUrl = docs.url('/pinned/client.json');
    fs.writeFileSync(path.join(pinDir, 'pinned.json'), JSON.stringify(doc(pinnedUrl, { client_name: 'Pinned client' })));
    stack = await startStack({
      proxyEnv: {
        RATE_LIMIT_ENABLED: 'false',
        CIMD_ALLOW_PRIVATE_ADDRESSES: 'true',
        CIMD_CA_FILE: cert('ca.pem'),
        CIMD_PINNED_DIR: pinDir,
        CIMD_CACHE_TTL_MIN: '0s',
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await docs?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('AS metadata advertises CIMD and keeps "none" first', async () => {
    const r = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 200);
    assert.equal(r.json.client_id_metadata_document_supported, true);
    assert.deepEqual(r.json.token_endpoint_auth_methods_supported, ['none', 'private_key_jwt']);
    assert.equal(r.json.registration_endpoint, `${stack.base}/register`);
  });

  test('login end to end with a document client_id, tools called, refresh works', async () => {
    const url = docs.url('/clients/e2e.json');
    docs.routes.set('/clients/e2e.json', (req, res) => json(res, doc(url), { 'cache-control': 'max-age=3600' }));
    const { r, pkce, state, jar } = await authorize(stack.base, url);
    assert.equal(r.status, 200, r.text);
    // The consent page names the document's host and the redirect's host.
    assert.match(r.text, /id="client-host">127\.0\.0\.1<\/strong>/);
    assert.match(r.text, /Will redirect to<\/dt>\s*<dd>127\.0\.0\.1:9<\/dd>/);
    assert.match(r.text, /CIMD e2e client/);
    // A loopback redirect: the host cannot vouch for the local app.
    assert.match(r.text, /id="local-redirect-warning"/);
    assert.equal(docs.accepts.at(-1), 'application/json');
    const consent = parseConsentPage(r.text);
    const post = await submitConsent({ formAction: new URL(consent.formAction, stack.base).toString(), consentToken: consent.consentToken, jar });
    assert.equal(post.status, 200, post.text);
    const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar });
    assert.ok(idp.callbackUrl, 'IdP redirected back');
    const cb = await followCallback(idp.callbackUrl, { jar });
    assert.ok(cb.redirect?.code, cb.response?.text);
    assert.equal(cb.redirect.state, state);
    const tok = await exchangeCode(stack.base, { code: cb.redirect.code, redirect_uri: REDIRECT, client_id: url, code_verifier: pkce.verifier });
    assert.equal(tok.status, 200, tok.text);
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: tok.json.access_token });
    try {
      const echo = await mcp.client.callTool({ name: 'echo', arguments: { text: 'via a metadata document' } });
      assert.equal(resultText(echo), 'via a metadata document');
    } finally {
      await mcp.close();
    }
    const ref = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: url });
    assert.equal(ref.status, 200, ref.text);
    // /authorize, /token and the refresh all resolved it: one fetch (cache hit).
    assert.equal(docs.hits('/clients/e2e.json'), 1);
  });

  test('a document changed into an invalid one: /token refuses the refresh (no last-known-good)', async () => {
    const url = docs.url('/clients/changed.json');
    let good = true;
    docs.routes.set('/clients/changed.json', (req, res) => json(res, good ? doc(url) : doc(`${url}?other`), { 'cache-control': 'max-age=1' }));
    const tok = await loginWith(stack.base, url);
    good = false;
    await sleep(1500);
    const ref = await refreshGrant(stack.base, { refresh_token: tok.refresh_token, client_id: url });
    assert.equal(ref.status, 401, ref.text);
    assert.equal(ref.json.error, 'invalid_client');
    assert.equal(ref.json.error_description, 'client metadata document client_id does not match its URL');
  });

  test('the SDK v1 client logs in with clientMetadataUrl in Chromium and calls tools', { skip: noBrowser }, async () => {
    const app = await startRedirectCatcher({ path: '/oauth/callback' });
    const browser = await launchBrowser();
    const tab = await browser.newPage();
    try {
      const url = docs.url('/clients/sdk-v1.json');
      docs.routes.set('/clients/sdk-v1.json', (req, res) => json(res, doc(url, {
        client_name: 'SDK v1 via CIMD', redirect_uris: [app.url],
      }), { 'cache-control': 'max-age=600' }));
      const provider = new CimdChromiumProvider({ clientMetadataUrl: url, redirectUrl: app.url, page: tab.page });
      const transport = new StreamableHTTPClientTransport(new URL(`${stack.base}/mcp`), { authProvider: provider });
      const first = new Client({ name: 'e2e-cimd-sdk', version: '1.0.0' }, { capabilities: {} });
      await assert.rejects(first.connect(transport), (err) => err instanceof UnauthorizedError);
      await first.close();
      assert.equal(provider.authorizeUrl.searchParams.get('client_id'), url);
      // The consent page as Chromium rendered it names both hosts.
      assert.match(provider.consentHtml, /id="client-host">127\.0\.0\.1<\/strong>/);
      assert.match(provider.consentHtml, new RegExp(`<dd>127\\.0\\.0\\.1:${new URL(app.url).port}</dd>`));
      const deadline = Date.now() + 15000;
      let hit;
      while (!(hit = app.hits.find((u) => u.searchParams.get('state') === provider.expectedState))) {
        if (Date.now() > deadline) throw new Error('no redirect to the SDK client');
        await sleep(50);
      }
      assert.equal(hit.searchParams.get('iss'), stack.base);
      await transport.finishAuth(hit.searchParams.get('code'));
      const client = new Client({ name: 'e2e-cimd-sdk', version: '1.0.0' }, { capabilities: {} });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.base}/mcp`), { authProvider: provider }));
      const who = JSON.parse((await client.callTool({ name: 'whoami', arguments: {} })).content[0].text);
      assert.equal(who.sub, 'alice');
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'echo'));
      await client.close();
      assert.equal(docs.hits('/clients/sdk-v1.json'), 1);
    } finally {
      await tab.close?.();
      await browser.close();
      await app.close();
    }
  });

  // The v2 client (@modelcontextprotocol/client, pinned in package.json;
  // runs on Node 20): the same login, and it checks RFC 9207 iss itself
  // when given the callback's parameters.
  test('the SDK v2 client logs in with clientMetadataUrl in Chromium and calls tools', { skip: noBrowser }, async () => {
    const app = await startRedirectCatcher({ path: '/oauth/callback' });
    const browser = await launchBrowser();
    const tab = await browser.newPage();
    try {
      const url = docs.url('/clients/sdk-v2.json');
      docs.routes.set('/clients/sdk-v2.json', (req, res) => json(res, doc(url, {
        client_name: 'SDK v2 via CIMD', redirect_uris: [app.url], application_type: 'native',
      }), { 'cache-control': 'max-age=600' }));
      const provider = new CimdChromiumProvider({ clientMetadataUrl: url, redirectUrl: app.url, page: tab.page });
      const transport = new v2.StreamableHTTPClientTransport(new URL(`${stack.base}/mcp`), { authProvider: provider });
      const first = new v2.Client({ name: 'e2e-cimd-sdk-v2', version: '1.0.0' }, { capabilities: {} });
      await assert.rejects(first.connect(transport), (err) => err instanceof v2.UnauthorizedError);
      await first.close();
      assert.equal(provider.authorizeUrl.searchParams.get('client_id'), url);
      assert.match(provider.consentHtml, /id="client-host">127\.0\.0\.1<\/strong>/);
      const deadline = Date.now() + 15000;
      let hit;
      while (!(hit = app.hits.find((u) => u.searchParams.get('state') === provider.expectedState))) {
        if (Date.now() > deadline) throw new Error('no redirect to the SDK client');
        await sleep(50);
      }
      await transport.finishAuth(hit.searchParams);
      const client = new v2.Client({ name: 'e2e-cimd-sdk-v2', version: '1.0.0' }, { capabilities: {} });
      await client.connect(new v2.StreamableHTTPClientTransport(new URL(`${stack.base}/mcp`), { authProvider: provider }));
      const echo = await client.callTool({ name: 'echo', arguments: { text: 'v2 via CIMD' } });
      assert.equal(echo.content[0].text, 'v2 via CIMD');
      await client.close();
      assert.equal(docs.hits('/clients/sdk-v2.json'), 1);
    } finally {
      await tab.close?.();
      await browser.close();
      await app.close();
    }
  });

  test('a cached document is served without a second fetch', async () => {
    const url = docs.url('/clients/cached.json');
    docs.routes.set('/clients/cached.json', (req, res) => json(res, doc(url), { 'cache-control': 'public, max-age=600' }));
    for (let i = 0; i < 3; i++) {
      const { r } = await authorize(stack.base, url);
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(docs.hits('/clients/cached.json'), 1);
  });

  test('concurrent first lookups share one fetch', async () => {
    const url = docs.url('/clients/coalesced.json');
    docs.routes.set('/clients/coalesced.json', (req, res) => {
      setTimeout(() => json(res, doc(url), { 'cache-control': 'max-age=600' }), 500);
    });
    const all = await Promise.all([1, 2, 3, 4].map(() => authorize(stack.base, url)));
    for (const { r } of all) assert.equal(r.status, 200, r.text);
    assert.equal(docs.hits('/clients/coalesced.json'), 1);
  });

  test('last-known-good is served when a refetch fails', async () => {
    const url = docs.url('/clients/lkg.json');
    let up = true;
    docs.routes.set('/clients/lkg.json', (req, res) => {
      if (up) { json(res, doc(url, { client_name: 'LKG client' }), { 'cache-control': 'max-age=1' }); return; }
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end('<html>Access denied</html>');
    });
    assert.equal((await authorize(stack.base, url)).r.status, 200);
    up = false;
    await sleep(1500); // past max-age=1 (CIMD_CACHE_TTL_MIN=0s here)
    const { r } = await authorize(stack.base, url);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /LKG client/);
    assert.equal(docs.hits('/clients/lkg.json'), 2);
    // The refusal is logged with its reason, never the document's bytes.
    assert.ok(!stack.proxy.logLines().some((l) => l.includes('Access denied</html>')));
    await stack.proxy.waitForLog('cimd_fetch_failed_stale_served', { timeoutMs: 5000 });
  });

  test('a pinned document is used without fetching', async () => {
    const { r } = await authorize(stack.base, pinnedUrl);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /Pinned client/);
    assert.equal(docs.hits('/pinned/client.json'), 0);
  });

  // Each bad document, the reason the client is told.
  const cases = [
    ['client_id mismatch', (url) => (req, res) => json(res, doc(`${url}x`)),
      'client metadata document client_id does not match its URL'],
    ['missing client_name', (url) => (req, res) => json(res, { client_id: url, redirect_uris: [REDIRECT] }),
      'client metadata document has no client_name'],
    ['missing redirect_uris', (url) => (req, res) => json(res, { client_id: url, client_name: 'x' }),
      'client metadata document has no redirect_uris'],
    ['bad redirect', (url) => (req, res) => json(res, doc(url, { redirect_uris: ['javascript:alert(1)'] })),
      'redirect_uri scheme is not allowed'],
    ['http redirect on a public host', (url) => (req, res) => json(res, doc(url, { redirect_uris: ['http://evil.example/cb'] })),
      'redirect_uri must use HTTPS for non-loopback addresses'],
    ['too large', (url) => (req, res) => json(res, doc(url, { pad: 'x'.repeat(6000) })),
      'client metadata document exceeds 5 KiB'],
    ['HTML', () => (req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><p>Just a moment...</p>'); },
      'client metadata document is not served as application/json'],
    ['a 3xx redirect', (url) => (req, res) => { res.writeHead(302, { location: url.replace('/bad/', '/clients/') }); res.end(); },
      'client metadata document URL answered with a redirect'],
    ['a 404', () => (req, res) => { res.writeHead(404); res.end(); },
      'client metadata document URL did not answer 200'],
    ['a shared-secret method', (url) => (req, res) => json(res, doc(url, { token_endpoint_auth_method: 'client_secret_basic' })),
      'client metadata document must not use a shared-secret token_endpoint_auth_method'],
    ['slow', (url) => (req, res) => { setTimeout(() => { if (!res.destroyed) json(res, doc(url)); }, 8000); },
      'client metadata document fetch timed out'],
  ];
  for (const [name, handler, reason] of cases) {
    test(`refused: ${name}`, async () => {
      const p = `/bad/${name.replace(/\W+/g, '-')}.json`;
      const url = docs.url(p);
      docs.routes.set(p, handler(url));
      const { r } = await authorize(stack.base, url);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_client');
      assert.equal(r.json.error_description, reason);
      // Within the failure back-off a second lookup does not refetch.
      const before = docs.hits(p);
      assert.equal((await authorize(stack.base, url)).r.status, 400);
      assert.equal(docs.hits(p), before);
    });
  }

  test('refused: a malformed client_id URL, without any fetch', async () => {
    for (const [id, reason] of [
      [docs.url('/a/../b.json'), 'client_id URL must not contain dot segments'],
      [`https://u:p@127.0.0.1:${docs.port}/c.json`, 'client_id URL must not contain userinfo'],
      [`https://127.0.0.1:${docs.port}/`, 'client_id URL must have a path'],
    ]) {
      const { r } = await authorize(stack.base, id);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error_description, reason);
    }
  });
});

describe('client ID metadata documents: SSRF guard and switches', () => {
  let dir;
  let cert;
  let docs;
  let stack;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-e2e-cimd2-'));
    cert = makeCerts(dir, 'mcp-auth-proxy cimd e2e CA');
    docs = await startDocServer(cert);
    stack = await startStack({
      proxyEnv: { RATE_LIMIT_ENABLED: 'false', CIMD_CA_FILE: cert('ca.pem'), DCR_ENABLED: 'false' },
    });
  });
  after(async () => {
    await stack?.stop();
    await docs?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('refused: a private address without CIMD_ALLOW_PRIVATE_ADDRESSES, never connected', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const url = `https://${host}:${docs.port}/clients/private.json`;
      docs.routes.set('/clients/private.json', (req, res) => json(res, doc(url)));
      const { r } = await authorize(stack.base, url);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error_description,
        'client metadata document host resolves to a private or special-use address');
    }
    assert.equal(docs.hits('/clients/private.json'), 0);
    const m = await request(`${stack.proxy.metricsUrl}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.text, /mcp_auth_cimd_fetch_total\{result="address_refused"\} 2/);
    assert.match(m.text, /mcp_auth_access_denied_total\{reason="client_metadata_invalid"\} 2/);
    await stack.proxy.waitForLog('access_denied_client_metadata_invalid');
  });

  test('DCR_ENABLED=false: /register explains, metadata drops registration_endpoint', async () => {
    const r = await request(`${stack.base}/register`, { method: 'POST', json: { redirect_uris: [REDIRECT] } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(r.json.error_description, /dynamic client registration is disabled/);
    const md = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.equal(md.json.registration_endpoint, undefined);
    assert.equal(md.json.client_id_metadata_document_supported, true);
  });
});
