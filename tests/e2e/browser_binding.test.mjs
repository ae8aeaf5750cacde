// The browser binding of the login flow, attacked in real Chromium
// (docs/threat-model.md "Consent CSRF", "Login CSRF").
//
// Three sites, as in production, so SameSite behaves as it does there: the
// proxy at http://127.0.0.1:P, the IdP at http://localhost:Q (peers/idp.mjs
// --host localhost; it listens on 127.0.0.1) and the attacker's page at
// http://[::1]:R. The IdP runs with --sso: once the victim has signed in,
// every later authorization request signs in silently, which is what made
// the attacks work.
//
//  1. Honest flows through the official MCP SDK client, its browser step in
//     Chromium: approve (the victim signs in at the IdP; the SDK redeems the
//     code and calls the upstream as alice) and deny.
//  2. The attacker registers a client with its own redirect URI, calls
//     /authorize itself, copies the consent_token and serves a page that
//     auto-submits it to /consent: 403, no IdP round trip, no code.
//  3. The attacker approves its own consent page and hands the victim the
//     IdP link from the interstitial; the victim's IdP session redirects
//     straight to /callback with a code: /callback refuses, nothing is
//     exchanged, no code reaches the attacker.
//  4. Login CSRF: the attacker's own callback URL (its code and state)
//     opened in the victim's browser is refused.
//  5. Two sign-ins in two tabs of one browser both complete.
//
// "No IdP round trip" is read from the IdP's own request log
// (GET /__requests), "no code" from the attacker's redirect-URI listener.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { startStack } from './lib/peers.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent, parseInterstitial,
  idpLogin, pkcePair, randomState, exchangeCode, startRedirectCatcher, htmlUnescape,
} from './lib/oauth-client.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';
const WAIT_MS = 15000;
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// ---------------------------------------------------------------- helpers

async function metrics(stack) {
  const r = await request(`${stack.proxy.metricsUrl}/metrics`);
  assert.equal(r.status, 200);
  const out = {};
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}
const denied = (m, reason) => m[`mcp_auth_access_denied_total{reason="${reason}"}`] ?? 0;

/** The highest request sequence number the IdP has logged so far. */
async function idpMark(stack) {
  const all = await stack.idp.requests();
  return all.reduce((m, r) => Math.max(m, r.seq), 0);
}
/** The IdP requests logged after `mark`. */
async function idpSince(stack, mark) {
  return (await stack.idp.requests()).filter((r) => r.seq > mark);
}

/**
 * The redirect-URI hit carrying `state` (bounded wait). Chromium also asks
 * the listener for /favicon.ico, so hits are matched, not counted.
 */
async function hitWithState(catcher, state) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const hit = catcher.hits.find((u) => u.searchParams.get('state') === state);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no redirect with state ${state} at ${catcher.url}`);
    await sleep(50);
  }
}
/** Hits that carry an OAuth answer (a code or an error), favicon requests aside. */
const oauthHits = (catcher) => catcher.hits.filter((u) => u.searchParams.has('code') || u.searchParams.has('error'));

/** The binding cookies the browser holds for the proxy (names only). */
async function bindingCookies(context) {
  return (await context.cookies())
    .filter((c) => /^(__Host-)?mcp_(consent|callback)_/.test(c.name))
    .map((c) => c.name);
}

/** A page that auto-submits a form to `action` (the attacker's site). */
function csrfPage(action, fields) {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${String(v).replace(/"/g, '&quot;')}">`)
    .join('');
  return `<!doctype html><title>You won a prize</title>
<form method="POST" action="${action}">${inputs}</form>
<script>document.forms[0].submit();</script>`;
}

/** The attacker's web server on [::1]: serves whatever page it was given. */
async function startAttackerSite() {
  let body = '';
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::1', resolve);
  });
  return {
    url: `http://[::1]:${server.address().port}/`,
    serve(html) { body = html; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * An MCP SDK OAuthClientProvider whose "open the browser" step drives
 * Chromium: the consent page (approve or deny), the IdP login form when the
 * IdP shows one, and the landing on the client's loopback redirect URI.
 */
class ChromiumProvider {
  constructor({ redirectUrl, page, decision = 'approve', username = 'alice', password = 'alice-pw' }) {
    Object.assign(this, { _redirectUrl: redirectUrl, page, decision, username, password });
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this.expectedState = undefined;
    this.consentPost = null; // the POST /consent request Chromium sent
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() {
    return {
      client_name: 'SDK client in Chromium', redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() { this.expectedState = crypto.randomBytes(16).toString('base64url'); return this.expectedState; }
  clientInformation() { return this._client; }
  saveClientInformation(info) { this._client = info; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }

  async redirectToAuthorization(url) {
    const { page } = this;
    const proxyOrigin = url.origin;
    const seen = (req) => {
      if (req.method() === 'POST' && req.url() === `${proxyOrigin}/consent`) this.consentPost = req;
    };
    page.on('request', seen);
    try {
      const consent = await page.goto(url.toString());
      assert.equal(consent.status(), 200);
      const landed = (u) => u.toString().startsWith(this._redirectUrl);
      const button = this.decision === 'deny' ? 'Deny' : 'Approve & sign in';
      // Approve: the interstitial leads to the IdP, which shows its login
      // form (first sign-in) or signs in silently and lands on the client.
      await Promise.all([
        page.waitForURL((u) => landed(u) || u.pathname.startsWith('/interaction/'), { timeout: WAIT_MS }),
        page.getByRole('button', { name: button }).click(),
      ]);
      if (!landed(new URL(page.url()))) {
        await page.fill('#login', this.username);
        await page.fill('#password', this.password);
        await Promise.all([page.waitForURL(landed, { timeout: WAIT_MS }), page.click('#submit')]);
      }
    } finally {
      page.off('request', seen);
    }
  }
}

/** Runs the SDK against the MCP endpoint until it asks for the browser. */
async function sdkAuthorize(mcpUrl, provider) {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'e2e-sdk-chromium', version: '1.0.0' }, { capabilities: {} });
  await assert.rejects(client.connect(transport), (err) => err instanceof UnauthorizedError);
  await client.close();
  return transport;
}

// ---------------------------------------------------------------- the suite

describe('browser binding in Chromium (proxy 127.0.0.1, IdP localhost, attacker [::1])', { skip }, () => {
  let stack;
  let browser;
  let victim; // the victim's browser context and its first page
  let app; // the honest MCP client's redirect URI
  let attackerCb; // the attacker's redirect URI
  let site; // the attacker's web site

  before(async () => {
    stack = await startStack({
      idp: { sso: true, host: 'localhost' },
      proxyEnv: { RATE_LIMIT_ENABLED: 'false' },
    });
    assert.ok(stack.idp.issuer.startsWith('http://localhost:'), stack.idp.issuer);
    app = await startRedirectCatcher({ path: '/oauth/callback' });
    attackerCb = await startRedirectCatcher({ path: '/steal' });
    site = await startAttackerSite();
    browser = await launchBrowser();
    victim = await browser.newPage();
  });
  after(async () => {
    await victim?.close();
    await browser?.close();
    await site?.close();
    await attackerCb?.close();
    await app?.close();
    await stack?.stop();
  });

  test('honest approve through the MCP SDK client, the browser step in Chromium', async () => {
    const provider = new ChromiumProvider({ redirectUrl: app.url, page: victim.page });
    const transport = await sdkAuthorize(`${stack.base}/mcp`, provider);
    const hit = await hitWithState(app, provider.expectedState);
    assert.equal(hit.searchParams.get('iss'), stack.base);
    const code = hit.searchParams.get('code');
    assert.ok(code, hit.search);

    // Our own page's POST carried our Origin (the page's referrer policy
    // is same-origin, not no-referrer, which would send Origin: null).
    const h = await provider.consentPost.allHeaders();
    assert.equal(h.origin, stack.base);
    assert.equal(h['sec-fetch-site'], 'same-origin');
    assert.match(h.cookie ?? '', /(^|; )mcp_consent_[A-Za-z0-9_-]{8}=/);
    // Both cookies were spent and cleared on the way.
    assert.deepEqual(await bindingCookies(victim.context), []);

    await transport.finishAuth(code);
    const client = new Client({ name: 'e2e-sdk-chromium', version: '1.0.0' }, { capabilities: {} });
    const t2 = new StreamableHTTPClientTransport(new URL(`${stack.base}/mcp`), { authProvider: provider });
    await client.connect(t2);
    const who = JSON.parse((await client.callTool({ name: 'whoami', arguments: {} })).content[0].text);
    assert.equal(who.sub, 'alice');
    await client.close();
    const onProxy = (u) => (u ?? '').startsWith(stack.base);
    assert.deepEqual(victim.cspViolations.filter((v) => onProxy(v.documentURI)), []);
    assert.deepEqual(victim.pageErrors, []);
  });

  test('honest deny through the MCP SDK client: access_denied at the client, no IdP round trip', async () => {
    const mark = await idpMark(stack);
    const provider = new ChromiumProvider({ redirectUrl: app.url, page: victim.page, decision: 'deny' });
    await sdkAuthorize(`${stack.base}/mcp`, provider);
    const hit = await hitWithState(app, provider.expectedState);
    assert.equal(hit.searchParams.get('error'), 'access_denied');
    assert.equal(hit.searchParams.get('code'), null);
    assert.deepEqual((await idpSince(stack, mark)).map((r) => r.path), []);
    assert.deepEqual(await bindingCookies(victim.context), []);
  });

  test('attack 1: the attacker\'s page auto-submits a consent token it minted: 403, no IdP round trip, no code', async () => {
    // The attacker's own client, its own redirect URI, its own /authorize.
    const reg = await register(stack.base, { redirect_uris: [attackerCb.url], client_name: 'Totally Legit App' });
    assert.equal(reg.status, 201, reg.text);
    const attackerJar = new CookieJar();
    const authz = await request(authorizeUrl(stack.base, {
      client_id: reg.json.client_id, redirect_uri: attackerCb.url, state: randomState(),
      code_challenge: pkcePair().challenge,
    }), { jar: attackerJar });
    assert.equal(authz.status, 200, authz.text);
    const { consentToken } = parseConsentPage(authz.text);
    assert.ok(consentToken);
    site.serve(csrfPage(`${stack.base}/consent`, { consent_token: consentToken, action: 'approve' }));

    const m0 = await metrics(stack);
    const mark = await idpMark(stack);
    const { page } = victim;
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${stack.base}/consent`, { timeout: WAIT_MS }),
      page.goto(site.url),
    ]);
    assert.equal(resp.status(), 403);
    const sent = await resp.request().allHeaders();
    assert.equal(sent.origin, new URL(site.url).origin);
    assert.equal(sent['sec-fetch-site'], 'cross-site');
    await page.waitForURL(`${stack.base}/consent`, { timeout: WAIT_MS });
    assert.match(await page.textContent('body'), /start the sign-in again/);
    assert.equal(resp.headers()['content-type'], 'text/html; charset=utf-8');

    await sleep(1000); // a refresh or redirect would have happened by now; none may
    assert.equal(page.url(), `${stack.base}/consent`);
    assert.deepEqual((await idpSince(stack, mark)).map((r) => r.path), [], 'no IdP round trip');
    assert.deepEqual(oauthHits(attackerCb), [], 'no code at the attacker');
    const m1 = await metrics(stack);
    assert.equal(denied(m1, 'consent_cross_site') - denied(m0, 'consent_cross_site'), 1);
    assert.equal((m1['mcp_auth_consent_decisions_total{decision="approved"}'] ?? 0)
      - (m0['mcp_auth_consent_decisions_total{decision="approved"}'] ?? 0), 0);
    await stack.proxy.waitForLog(/"level":"warn","msg":"access_denied_consent_cross_site"/);
  });

  test('attack 2: the IdP link from the attacker\'s interstitial, opened by the victim: /callback refuses, no code', async () => {
    const reg = await register(stack.base, { redirect_uris: [attackerCb.url], client_name: 'Totally Legit App' });
    const attackerJar = new CookieJar();
    const authz = await request(authorizeUrl(stack.base, {
      client_id: reg.json.client_id, redirect_uri: attackerCb.url, state: randomState(),
      code_challenge: pkcePair().challenge,
    }), { jar: attackerJar });
    const consent = parseConsentPage(authz.text);
    // The attacker approves its own consent page (its cookie, its Origin).
    const post = await submitConsent({
      formAction: consent.formAction, consentToken: consent.consentToken, jar: attackerJar,
      headers: { origin: stack.base },
    });
    assert.equal(post.status, 200, post.text);
    const idpLink = parseInterstitial(post.text).target;
    assert.ok(idpLink.startsWith(`${stack.idp.issuer}/`), idpLink);

    const m0 = await metrics(stack);
    const tokenCalls0 = (await stack.idp.tokenRequests()).length;
    const { page } = victim;
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${stack.base}/callback?`), { timeout: WAIT_MS }),
      page.goto(idpLink),
    ]);
    // The victim's live IdP session signed in silently: the IdP sent the
    // browser back with a code for the attacker's flow...
    assert.ok(new URL(resp.url()).searchParams.get('code'), 'the IdP answered with a code');
    // ...and the proxy refused it in this browser.
    assert.equal(resp.status(), 403);
    assert.match(await page.textContent('body'), /start the sign-in again/);
    await sleep(1000);
    assert.deepEqual(oauthHits(attackerCb), [], 'no code at the attacker');
    assert.equal((await stack.idp.tokenRequests()).length, tokenCalls0, 'the IdP code was never exchanged');
    const m1 = await metrics(stack);
    assert.equal(denied(m1, 'callback_browser_mismatch') - denied(m0, 'callback_browser_mismatch'), 1);
    await stack.proxy.waitForLog(/"level":"warn","msg":"access_denied_callback_browser_mismatch".*"reason":"cookie_missing"/);

    // Should that URL (the victim's IdP code, the attacker's state) ever
    // reach the attacker, whose browser holds the flow's cookie, it is
    // spent: the refusal claimed the state.
    const late = await request(resp.url(), { jar: attackerJar });
    assert.equal(late.status, 400, late.text);
    assert.equal(late.json?.error_description, 'callback state already used');
    await sleep(500);
    assert.deepEqual(oauthHits(attackerCb), [], 'still no code at the attacker');
    assert.equal((await stack.idp.tokenRequests()).length, tokenCalls0, 'the victim\'s IdP code was never exchanged');
  });

  test('login CSRF: the attacker\'s callback URL (its code and state) opened by the victim is refused', async () => {
    // The attacker signs in as itself for the victim's app and stops at
    // the IdP's redirect to /callback.
    const reg = await register(stack.base, { redirect_uris: [app.url], client_name: 'The Victim App' });
    const attackerJar = new CookieJar();
    const authz = await request(authorizeUrl(stack.base, {
      client_id: reg.json.client_id, redirect_uri: app.url, state: randomState(),
      code_challenge: pkcePair().challenge,
    }), { jar: attackerJar });
    const consent = parseConsentPage(authz.text);
    const post = await submitConsent({ formAction: consent.formAction, consentToken: consent.consentToken, jar: attackerJar });
    const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'grace', password: 'grace-pw', jar: attackerJar });
    assert.ok(idp.callbackUrl?.startsWith(`${stack.base}/callback?code=`), idp.callbackUrl);

    const hits0 = oauthHits(app).length;
    const tokenCalls0 = (await stack.idp.tokenRequests()).length;
    const resp = await victim.page.goto(idp.callbackUrl);
    assert.equal(resp.status(), 403);
    assert.match(await victim.page.textContent('body'), /start the sign-in again/);
    await sleep(1000);
    assert.equal(oauthHits(app).length, hits0, 'the victim\'s app got no code');
    assert.equal((await stack.idp.tokenRequests()).length, tokenCalls0);
  });

  test('two sign-ins in two tabs of one browser both complete, in either order', async () => {
    const reg = await register(stack.base, { redirect_uris: [app.url], client_name: 'Two Tabs' });
    const clientId = reg.json.client_id;
    const tabs = [];
    for (let i = 0; i < 2; i += 1) {
      const page = i === 0 ? victim.page : await victim.context.newPage();
      const pkce = pkcePair();
      const state = randomState();
      const r = await page.goto(authorizeUrl(stack.base, {
        client_id: clientId, redirect_uri: app.url, state, code_challenge: pkce.challenge,
      }));
      assert.equal(r.status(), 200);
      tabs.push({ page, pkce, state });
    }
    const names = await bindingCookies(victim.context);
    assert.equal(names.length, 2, names.join(', '));
    assert.notEqual(names[0], names[1]);

    // The second tab first, then the first; the IdP signs in silently.
    const codes = {};
    for (const t of [tabs[1], tabs[0]]) {
      await Promise.all([
        t.page.waitForURL((u) => u.toString().startsWith(app.url), { timeout: WAIT_MS }),
        t.page.getByRole('button', { name: 'Approve & sign in' }).click(),
      ]);
      const hit = new URL(t.page.url());
      assert.equal(hit.searchParams.get('state'), t.state);
      codes[t.state] = hit.searchParams.get('code');
      assert.ok(codes[t.state]);
    }
    for (const t of tabs) {
      const tok = await exchangeCode(stack.base, {
        code: codes[t.state], redirect_uri: app.url, client_id: clientId, code_verifier: t.pkce.verifier,
      });
      assert.equal(tok.status, 200, tok.text);
    }
    assert.deepEqual(await bindingCookies(victim.context), []);
    await tabs[1].page.close();
  });

  test('the refusal page is plain: no script, no link, its CSP, nothing cached', async () => {
    // (Seen by the victim in attacks 1 and 2; checked here on its own.)
    const r = await request(`${stack.base}/consent`, { method: 'POST', form: { consent_token: 'x'.repeat(10) }, headers: { origin: 'null' } });
    assert.equal(r.status, 403);
    assert.ok(!/<script|<a |<form|http-equiv/i.test(r.text));
    assert.match(htmlUnescape(r.text), /This sign-in can.t continue here/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
  });
});
