// Step-up to a stronger or fresher login through the IdP (issue 12 item 4,
// docs/step-up.md), against the built binary, the test IdP (oidc-provider
// with a one-time-code second factor), the SDK upstream and the official
// MCP SDK v1 client driving headless Chromium.
//
// The policy file makes `echo` need the step-up scope mcp:mfa (acr = the
// IdP's MFA value) and `whoami` need mcp:fresh (a login at most 300 s old).
// The SDK client (1.32.x) answers a 403 insufficient_scope by authorizing
// again with the challenge's scope on its own (StreamableHTTPClientTransport
// send(): "upscoping"); like every interactive SDK flow it then throws
// UnauthorizedError after the browser step, and the application -- this
// test -- hands it the code (finishAuth) and retries the call.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { startStack } from './lib/peers.mjs';
import { launchBrowser, chromiumAvailable, idpSignIn } from './lib/browser.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent, parseInterstitial,
  idpLogin, followCallback, pkcePair, randomState, exchangeCode, refreshGrant, startRedirectCatcher,
} from './lib/oauth-client.mjs';
import { mintAccessToken, unseal } from './lib/seal-mint.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';
const WAIT_MS = 20000;
const MFA = 'urn:mcp-auth-proxy:test:mfa';
const PWD = 'urn:mcp-auth-proxy:test:pwd';
const REDIRECT = 'http://127.0.0.1:9/cb';

const POLICY = `# step-up e2e (docs/step-up.md)
default: allow
step_up:
  mcp:mfa:
    acr: [${MFA}]
  mcp:fresh:
    max_age: 300
rules:
  - name: echo-needs-mfa
    match: {name: [echo]}
    require: {step_up: mcp:mfa}
    effect: allow
  - name: whoami-needs-fresh-login
    match: {name: [whoami]}
    require: {step_up: mcp:fresh}
    effect: allow
`;

/**
 * The SDK's OAuthClientProvider whose browser step runs in Chromium: the
 * proxy's consent page, then the IdP's password form and -- when asked --
 * its one-time-code page (idpSignIn), then the client's redirect URI.
 */
class ChromiumProvider {
  constructor({ redirectUrl, page, idpIssuer, tokens, clientInformation }) {
    Object.assign(this, { _redirectUrl: redirectUrl, page, idpIssuer });
    this._client = clientInformation;
    this._tokens = tokens;
    this._verifier = undefined;
    this.expectedState = undefined;
    this.browserSteps = []; // one {otpShown, authUrl} per redirectToAuthorization
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() {
    return {
      client_name: 'SDK step-up client', redirect_uris: [this._redirectUrl],
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
    const consent = await page.goto(url.toString());
    assert.equal(consent.status(), 200, 'the consent page');
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(this.idpIssuer), { timeout: WAIT_MS }),
      page.getByRole('button', { name: 'Approve & sign in' }).click(),
    ]);
    const { otpShown } = await idpSignIn(page, this.idpIssuer, { timeoutMs: WAIT_MS });
    await page.waitForURL((u) => u.toString().startsWith(this._redirectUrl), { timeout: WAIT_MS });
    this.browserSteps.push({ otpShown, authUrl: url.toString() });
  }
}

/** The code (and state) the catcher received for this provider's last state. */
async function codeFor(catcher, provider) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const hit = catcher.hits.find((u) => u.searchParams.get('state') === provider.expectedState);
    if (hit) {
      assert.equal(hit.searchParams.get('error'), null, hit.search);
      return hit.searchParams.get('code');
    }
    if (Date.now() > deadline) throw new Error('no redirect with the expected state');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fetch that records every response's status and WWW-Authenticate. */
function recordingFetch(log) {
  return async (input, init) => {
    const res = await fetch(input, init);
    log.push({ status: res.status, wwwAuthenticate: res.headers.get('www-authenticate') });
    return res;
  };
}

async function connect(base, provider, log) {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    authProvider: provider, fetch: recordingFetch(log),
  });
  const client = new Client({ name: 'e2e-stepup', version: '1.0.0' }, { capabilities: {} });
  return { transport, client };
}

// The whole non-browser login to a token response (oauth-client helpers),
// scope as asked at /authorize. IdP faults set beforehand shape the id_token.
async function plainLogin(stack, scope, { otp } = {}) {
  const jar = new CookieJar();
  const reg = await register(stack.base, { redirect_uris: [REDIRECT], client_name: 'step-up plain' });
  assert.equal(reg.status, 201, reg.text);
  const pkce = pkcePair();
  const authz = await request(authorizeUrl(stack.base, {
    client_id: reg.json.client_id, redirect_uri: REDIRECT, state: randomState(), code_challenge: pkce.challenge, scope,
  }), { jar });
  assert.equal(authz.status, 200, authz.location || authz.text);
  const page = parseConsentPage(authz.text);
  const post = await submitConsent({
    formAction: new URL(page.formAction, stack.base).toString(), consentToken: page.consentToken, jar,
  });
  const target = parseInterstitial(post.text).target;
  const idp = await idpLogin(target, { username: 'alice', password: 'alice-pw', otp, jar });
  assert.ok(idp.callbackUrl, `IdP did not redirect: ${idp.last.status}`);
  const cb = await followCallback(idp.callbackUrl, { jar });
  assert.equal(cb.response.status, 302, cb.response.text);
  const tok = await exchangeCode(stack.base, {
    code: cb.redirect.code, redirect_uri: REDIRECT, client_id: reg.json.client_id, code_verifier: pkce.verifier,
  });
  assert.equal(tok.status, 200, tok.text);
  return { clientId: reg.json.client_id, tokens: tok.json, idp, idpUrl: new URL(target) };
}

/** The HTTP answer to one tools/call with a bearer token, no SDK. */
async function rawCall(base, token, name) {
  const init = await request(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream' },
    json: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
  });
  assert.equal(init.status, 200, init.text);
  const sid = init.headers.get('mcp-session-id');
  return request(`${base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream',
      ...(sid ? { 'mcp-session-id': sid } : {}),
    },
    json: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: name === 'echo' ? { text: 'x' } : {} } },
  });
}

describe('step-up through the IdP (policy file, SDK client in Chromium)', { skip }, () => {
  let stack;
  let catcher;
  let browser;
  let tmp;
  const secret = crypto.randomBytes(32).toString('hex');

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stepup-e2e-'));
    const policyFile = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policyFile, POLICY);
    stack = await startStack({
      proxyEnv: {
        RATE_LIMIT_ENABLED: 'false',
        TOKEN_SIGNING_SECRET: secret,
        MCP_SCOPES_SUPPORTED: 'mcp:read mcp:mfa mcp:fresh offline_access',
        MCP_POLICY_FILE: policyFile,
      },
    });
    catcher = await startRedirectCatcher({ path: '/oauth/callback' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await catcher?.close();
    await stack?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('MFA: logged in with a password, the call is challenged for mcp:mfa, the SDK re-authorizes through the one-time-code page, then it is allowed', async () => {
    const rec = await browser.newPage();
    const log = [];
    const provider = new ChromiumProvider({ redirectUrl: catcher.url, page: rec.page, idpIssuer: stack.idp.issuer });

    // 1. First login: the 401's scope names no step-up scope, so the IdP
    //    asks for the password only.
    let { transport, client } = await connect(stack.base, provider, log);
    await assert.rejects(client.connect(transport), (err) => err instanceof UnauthorizedError);
    assert.equal(provider.browserSteps.length, 1);
    assert.equal(provider.browserSteps[0].otpShown, false, 'no second factor for the first login');
    await transport.finishAuth(await codeFor(catcher, provider));
    await client.close();
    let access = unseal(secret, 'access', provider.tokens().access_token);
    assert.equal(access.acr, PWD);
    assert.ok(!` ${access.scp ?? ''} `.includes(' mcp:mfa '), access.scp);

    ({ transport, client } = await connect(stack.base, provider, log));
    await client.connect(transport);
    // 2. The MFA tool: 403 insufficient_scope naming mcp:mfa; the SDK goes
    //    through the browser again, and the IdP asks for the one-time code.
    log.length = 0;
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'hi' } }),
      (err) => err instanceof UnauthorizedError);
    const challenge = log.find((r) => r.status === 403);
    assert.ok(challenge, JSON.stringify(log));
    assert.match(challenge.wwwAuthenticate, /error="insufficient_scope"/);
    assert.match(challenge.wwwAuthenticate, /scope="[^"]*\bmcp:mfa\b[^"]*"/);
    assert.match(challenge.wwwAuthenticate, /resource_metadata="/);
    assert.equal(provider.browserSteps.length, 2);
    assert.equal(provider.browserSteps[1].otpShown, true, 'the IdP asked for the one-time code');
    const upstreamAuth = new URL(provider.browserSteps[1].authUrl);
    assert.match(upstreamAuth.searchParams.get('scope'), /\bmcp:mfa\b/);
    await transport.finishAuth(await codeFor(catcher, provider));
    await client.close();
    access = unseal(secret, 'access', provider.tokens().access_token);
    assert.equal(access.acr, MFA);
    assert.match(access.scp, /\bmcp:mfa\b/);
    assert.ok(Math.abs(access.atm - Date.now() / 1000) < 120, `auth_time ${access.atm}`);

    // 3. Now allowed.
    ({ transport, client } = await connect(stack.base, provider, log));
    await client.connect(transport);
    const r = await client.callTool({ name: 'echo', arguments: { text: 'after step-up' } });
    assert.match(JSON.stringify(r.content), /after step-up/);
    await client.close();

    // The IdP saw acr_values with the MFA value on the second authorization only.
    const auths = (await (await fetch(`${stack.idp.issuer}/__requests`)).json()).filter((q) => q.path === '/auth');
    assert.ok(auths.some((q) => (q.query.acr_values ?? '').split(' ').includes(MFA)), JSON.stringify(auths.map((q) => q.query)));
    await rec.close();
  });

  test('max_age: a login older than max_age is challenged, the re-login is a fresh password login with max_age sent, then allowed', async () => {
    const rec = await browser.newPage();
    const log = [];
    const now = Math.floor(Date.now() / 1000);
    // A token from a login 4000 s ago that was granted mcp:fresh then: the
    // flow cannot produce one on demand, so it is minted (lib/seal-mint.mjs).
    const old = mintAccessToken({
      secret, base: stack.base, resource: `${stack.base}/mcp`, scope: 'mcp:read mcp:fresh', acr: PWD, authTime: now - 4000,
    });
    const provider = new ChromiumProvider({
      redirectUrl: catcher.url, page: rec.page, idpIssuer: stack.idp.issuer,
      tokens: { access_token: old, token_type: 'Bearer' },
    });
    await fetch(`${stack.idp.issuer}/__reset`, { method: 'POST' });
    let { transport, client } = await connect(stack.base, provider, log);
    await client.connect(transport);
    await assert.rejects(client.callTool({ name: 'whoami', arguments: {} }), (err) => err instanceof UnauthorizedError);
    const challenge = log.find((r) => r.status === 403);
    assert.ok(challenge, JSON.stringify(log));
    assert.match(challenge.wwwAuthenticate, /scope="[^"]*\bmcp:fresh\b[^"]*"/);
    assert.equal(provider.browserSteps.length, 1);
    assert.equal(provider.browserSteps[0].otpShown, false);
    const auths = (await (await fetch(`${stack.idp.issuer}/__requests`)).json()).filter((q) => q.path === '/auth');
    assert.equal(auths.length, 1);
    assert.equal(auths[0].query.max_age, '300');
    await transport.finishAuth(await codeFor(catcher, provider));
    await client.close();
    const access = unseal(secret, 'access', provider.tokens().access_token);
    assert.ok(access.atm >= now - 5, `a fresh auth_time, got ${access.atm} (test began ${now})`);
    assert.match(access.scp, /\bmcp:fresh\b/);

    ({ transport, client } = await connect(stack.base, provider, log));
    await client.connect(transport);
    const who = JSON.parse((await client.callTool({ name: 'whoami', arguments: {} })).content[0].text);
    assert.equal(who.sub ?? who['x-user-sub'] ?? 'alice', 'alice');
    await client.close();
    await rec.close();
  });

  test('a refresh never upgrades: a password family cannot refresh into mcp:mfa, and keeps acr and auth_time', async () => {
    const { clientId, tokens } = await plainLogin(stack, 'mcp:read offline_access');
    const first = unseal(secret, 'access', tokens.access_token);
    assert.equal(first.acr, PWD);
    assert.ok(first.atm > 0);
    const up = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: clientId, extra: { scope: 'mcp:read mcp:mfa offline_access' } });
    assert.equal(up.status, 400, up.text);
    assert.equal(up.json.error, 'invalid_scope');
    const ref = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: clientId });
    assert.equal(ref.status, 200, ref.text);
    const again = unseal(secret, 'access', ref.json.access_token);
    assert.equal(again.acr, PWD);
    assert.equal(again.atm, first.atm, 'auth_time is the login\'s, not the refresh\'s');
    const call = await rawCall(stack.base, ref.json.access_token, 'echo');
    assert.equal(call.status, 403, call.text);
    assert.match(call.headers.get('www-authenticate'), /insufficient_scope/);
  });

  test('an MFA family refreshes with its acr and auth_time unchanged', async () => {
    const { clientId, tokens } = await plainLogin(stack, 'mcp:read mcp:mfa offline_access', { otp: '123456' });
    const first = unseal(secret, 'access', tokens.access_token);
    assert.equal(first.acr, MFA);
    assert.match(first.scp, /\bmcp:mfa\b/);
    await new Promise((r) => setTimeout(r, 1100)); // a later second: a refresh must not move auth_time
    const ref = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: clientId });
    assert.equal(ref.status, 200, ref.text);
    const again = unseal(secret, 'access', ref.json.access_token);
    assert.equal(again.acr, MFA);
    assert.equal(again.atm, first.atm);
    assert.ok(again.iat > first.iat);
    const rtok = unseal(secret, 'refresh', ref.json.refresh_token);
    assert.equal(rtok.acr, MFA);
    assert.equal(rtok.atm, first.atm);
  });

  test('a step-up scope asked without the second factor is dropped from the grant: the IdP answers a password acr', async () => {
    // An IdP that ignores acr_values (the fault re-signs the id_token with the
    // IdP's own key: a real IdP's answer, not a forgery).
    await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: JSON.stringify({ idTokenClaims: { acr: PWD, amr: ['pwd'] } }) });
    try {
      const { tokens, idpUrl } = await plainLogin(stack, 'mcp:read mcp:mfa offline_access', { otp: '123456' });
      assert.ok((idpUrl.searchParams.get('acr_values') ?? '').split(' ').includes(MFA));
      assert.equal(tokens.scope, 'mcp:read offline_access');
      const access = unseal(secret, 'access', tokens.access_token);
      assert.equal(access.acr, PWD);
      assert.ok(!/\bmcp:mfa\b/.test(access.scp));
      await stack.proxy.waitForLog('"stepup_not_proven"', { timeoutMs: 5000 });
    } finally {
      await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: '{}' });
    }
  });

  test('a forged or unlisted acr proves nothing; max_age without auth_time grants no step-up scope', async () => {
    await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: JSON.stringify({ idTokenClaims: { acr: `${MFA} ` } }) });
    try {
      const { tokens } = await plainLogin(stack, 'mcp:read mcp:mfa', { otp: '123456' });
      assert.equal(tokens.scope, 'mcp:read');
    } finally {
      await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: '{}' });
    }
    await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: JSON.stringify({ idTokenClaims: { auth_time: null } }) });
    try {
      const { tokens, idpUrl } = await plainLogin(stack, 'mcp:read mcp:fresh');
      assert.equal(idpUrl.searchParams.get('max_age'), '300');
      assert.equal(tokens.scope, 'mcp:read');
    } finally {
      await fetch(`${stack.idp.issuer}/__faults`, { method: 'POST', body: '{}' });
    }
    // A forged access token cannot carry a better acr: without the sealing
    // secret it does not open (401).
    const forged = mintAccessToken({
      secret: crypto.randomBytes(32).toString('hex'), base: stack.base, resource: `${stack.base}/mcp`,
      scope: 'mcp:read mcp:mfa', acr: MFA, authTime: Math.floor(Date.now() / 1000),
    });
    const r = await request(`${stack.base}/mcp`, {
      method: 'POST', headers: { authorization: `Bearer ${forged}`, accept: 'application/json, text/event-stream' },
      json: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } },
    });
    assert.equal(r.status, 401);
  });
});
