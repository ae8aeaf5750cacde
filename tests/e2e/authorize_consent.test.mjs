// GET /authorize and POST /consent against the built binary (SPEC.md 3.3-3.6,
// 5.4, 7.1), with a real IdP (oidc-provider), the MCP upstream, the in-process
// replay store or Redis, and headless Chromium for the page itself.
//
// Each stack runs with RATE_LIMIT_ENABLED=false except the one that tests
// the authorize/consent buckets: every request here comes from 127.0.0.1,
// and the suite makes far more than 30 authorize calls a minute.
//
// The browser test stops at the IdP's login page; the rest of the login
// (/callback, /token) belongs to the callback and token suite.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent, parseInterstitial,
  parseRedirect, pkcePair, randomState, idpLogin,
} from './lib/oauth-client.mjs';
import { chromiumAvailable, launchBrowser } from './lib/browser.mjs';

const CONSENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const INTERSTITIAL_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
const REDIRECT = 'http://127.0.0.1:9/cb';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** Counter values from the metrics listener: {"name{labels}": value}. */
async function metrics(proxy) {
  const r = await request(`${proxy.metricsUrl}/metrics`);
  assert.equal(r.status, 200);
  const out = {};
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}
const metric = (m, name) => m[name] ?? 0;

async function newClient(base, { name = 'e2e client', redirectUris = [REDIRECT] } = {}) {
  const r = await register(base, { redirect_uris: redirectUris, client_name: name });
  assert.equal(r.status, 201, r.text);
  return r.json.client_id;
}

/** A complete, valid authorization request; `over` replaces or removes (undefined) fields. */
function goodParams(clientId, over = {}) {
  const pkce = pkcePair();
  return {
    params: {
      client_id: clientId, redirect_uri: REDIRECT, state: randomState(),
      code_challenge: pkce.challenge, code_challenge_method: 'S256', ...over,
    },
    pkce,
  };
}

/**
 * /authorize → consent page → {page, consent, state, jar}. The jar is the
 * browser: it holds the consent cookie the page set, which POST /consent
 * requires (the browser binding, docs/threat-model.md).
 */
async function consentPage(base, clientId, over = {}, jar = new CookieJar()) {
  const { params } = goodParams(clientId, over);
  const page = await request(authorizeUrl(base, params), { jar });
  assert.equal(page.status, 200, page.text);
  return { page, consent: parseConsentPage(page.text), state: params.state, jar };
}

// ---------------------------------------------------------------- the default stack

describe('consent flow (in-process replay store)', () => {
  let stack;
  before(async () => {
    stack = await startStack({ proxyEnv: { RATE_LIMIT_ENABLED: 'false', MCP_RESOURCE_NAME: 'Acme Tools' } });
  });
  after(async () => { await stack?.stop(); });

  test('consent page: content, headers, no script', async () => {
    const clientId = await newClient(stack.base, { name: 'Claude Desktop' });
    const { page, consent } = await consentPage(stack.base, clientId);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('content-security-policy'), CONSENT_CSP);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('pragma'), 'no-cache');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('referrer-policy'), 'same-origin');
    for (const d of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
      "style-src 'unsafe-inline'", "form-action 'self'"]) {
      assert.ok(page.headers.get('content-security-policy').includes(d), d);
    }
    assert.ok(!page.headers.get('content-security-policy').includes("script-src 'unsafe-inline'"));
    assert.ok(page.text.includes('Claude Desktop'));
    assert.ok(page.text.includes('Acme Tools'));
    assert.ok(page.text.includes('127.0.0.1:9'), 'redirect host shown');
    assert.ok(!/<script/i.test(page.text));
    // same-origin, not no-referrer: under no-referrer the form's own POST
    // would carry Origin: null, which POST /consent refuses.
    assert.ok(/<meta name="referrer" content="same-origin">/.test(page.text));
    // The browser binding: one Strict, HttpOnly cookie for this flow
    // (plain-http loopback: no __Host- prefix, no Secure).
    const setCookie = page.headers.getSetCookie();
    assert.equal(setCookie.length, 1, setCookie.join(' | '));
    // Max-Age is what is left of the consent token's 300 s (flow.c): 299
    // when a second turned between minting the token and writing the head,
    // which CI saw under ASan.
    assert.match(setCookie[0], /^mcp_consent_[A-Za-z0-9_-]{8}=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=(300|299); HttpOnly; SameSite=Strict$/);
    assert.ok(consent.consentToken && consent.consentToken.length > 100);
    assert.equal(consent.formAction, `${stack.base}/consent`);
    assert.equal(consent.formMethod, 'POST');
    assert.deepEqual(consent.actions, ['deny', 'approve'], 'Deny comes first: Enter denies');
    assert.equal(consent.replayNotice, false);
  });

  test('an attacker-chosen client name is escaped', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const clientId = await newClient(stack.base, { name: evil });
    const { page } = await consentPage(stack.base, clientId);
    assert.ok(!page.text.includes('<script>alert'));
    assert.ok(!page.text.includes('<img src=x'));
    assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  test('an internationalized redirect host is shown as its xn-- name, Unicode beside it', async () => {
    // Whole-script Cyrillic "аррӏе.com" is allowed (one script per label),
    // but the page must never show it as if it were apple.com.
    const raw = 'https://\u0430\u0440\u0440\u04cf\u0435.com/cb';
    for (const uri of [raw, 'https://xn--80ak6aa92e.com/cb']) {
      const clientId = await newClient(stack.base, { redirectUris: [uri] });
      const { page } = await consentPage(stack.base, clientId, { redirect_uri: uri });
      const dd = page.text.match(/<dt>Will redirect to<\/dt>\n<dd>([^<]*)<\/dd>/);
      assert.ok(dd, page.text);
      assert.equal(dd[1], 'xn--80ak6aa92e.com (Unicode: \u0430\u0440\u0440\u04cf\u0435.com)');
    }
  });

  test('HEAD /authorize answers like GET, without a body', async () => {
    const clientId = await newClient(stack.base);
    const { params } = goodParams(clientId);
    const r = await request(authorizeUrl(stack.base, params), { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('content-security-policy'), CONSENT_CSP);
  });

  test('approve → interstitial to the IdP with a sealed session as state', async () => {
    const clientId = await newClient(stack.base);
    const { consent, state, jar } = await consentPage(stack.base, clientId);
    const before = await metrics(stack.proxy);
    const post = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken });
    assert.equal(post.status, 200, post.text);
    assert.equal(post.headers.get('content-security-policy'), INTERSTITIAL_CSP);
    assert.equal(post.headers.get('cache-control'), 'no-store');
    assert.equal(post.headers.get('pragma'), 'no-cache');
    assert.ok(!/<script|<form/i.test(post.text));
    const inter = parseInterstitial(post.text);
    assert.equal(inter.metaRaw, inter.hrefRaw, 'meta refresh and link carry the identical text');
    assert.equal(inter.target, inter.href);
    const target = new URL(inter.target);
    const disc = await stack.idp.discovery();
    assert.equal(`${target.origin}${target.pathname}`, disc.authorization_endpoint);
    const q = target.searchParams;
    assert.equal(q.get('client_id'), stack.clientId);
    assert.equal(q.get('redirect_uri'), `${stack.base}/callback`);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('response_mode'), 'query');
    assert.equal(q.get('scope'), 'openid email profile');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('nonce'), /^[0-9a-f]{32}$/);
    assert.ok(q.get('state').length > 100, 'state is the sealed session');
    assert.notEqual(q.get('state'), state);
    assert.ok(!q.get('state').includes(state));
    assert.deepEqual([...q.keys()], [...q.keys()].sort(), 'parameters sorted');

    const after = await metrics(stack.proxy);
    const k = 'mcp_auth_consent_decisions_total{decision="approved"}';
    assert.equal(metric(after, k) - metric(before, k), 1);

    // The IdP accepts the request: its login page comes up.
    const idp = await idpLogin(inter.target, { username: 'nobody', password: 'wrong' });
    assert.equal(idp.callbackUrl, null);
    assert.equal(idp.loginPage.status, 200);
  });

  test('deny → interstitial to redirect_uri with access_denied, state and iss', async () => {
    const clientId = await newClient(stack.base);
    const { consent, state, jar } = await consentPage(stack.base, clientId);
    const before = await metrics(stack.proxy);
    const post = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken, action: 'deny' });
    assert.equal(post.status, 200);
    assert.equal(post.headers.get('content-security-policy'), INTERSTITIAL_CSP);
    const inter = parseInterstitial(post.text);
    assert.equal(inter.metaRaw, inter.hrefRaw);
    const r = parseRedirect(inter.target);
    assert.equal(`${r.url.origin}${r.url.pathname}`, REDIRECT);
    assert.equal(r.error, 'access_denied');
    assert.equal(r.error_description, 'user declined to authorize this client');
    assert.equal(r.state, state);
    assert.equal(r.iss, stack.base);
    assert.ok(inter.metaRaw.includes('&amp;'), 'the target is attribute-escaped');
    const after = await metrics(stack.proxy);
    const k = 'mcp_auth_consent_decisions_total{decision="denied"}';
    assert.equal(metric(after, k) - metric(before, k), 1);
    for (const key of Object.keys(after).filter((x) => x.startsWith('mcp_auth_access_denied_total'))) {
      assert.equal(metric(after, key), metric(before, key), `${key} unchanged by a deny`);
    }
  });

  test('a replayed consent POST re-renders with a fresh token that works once', async () => {
    const clientId = await newClient(stack.base);
    const { consent, jar } = await consentPage(stack.base, clientId);
    const before = await metrics(stack.proxy);
    // A double submit: the second POST leaves with the cookie the first
    // one's answer then clears.
    const twin = jar.clone();
    const first = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken });
    assert.equal(first.status, 200);
    assert.ok(parseInterstitial(first.text).target);
    assert.deepEqual(jar.find(/^mcp_consent_/), [], 'the spent consent cookie is cleared');
    assert.equal(jar.find(/^mcp_callback_/).length, 1, 'the callback cookie is set');

    const again = await submitConsent({ jar: twin, formAction: consent.formAction, consentToken: consent.consentToken, action: 'deny' });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('content-security-policy'), CONSENT_CSP);
    const re = parseConsentPage(again.text);
    assert.equal(re.replayNotice, true);
    assert.ok(re.consentToken && re.consentToken !== consent.consentToken);

    // The re-render set the same cookie again, so its page works, once.
    const twin2 = twin.clone();
    const fresh = await submitConsent({ jar: twin, formAction: re.formAction, consentToken: re.consentToken });
    assert.equal(fresh.status, 200);
    assert.ok(parseInterstitial(fresh.text).target.startsWith(stack.idp.issuer));
    const freshAgain = await submitConsent({ jar: twin2, formAction: re.formAction, consentToken: re.consentToken });
    assert.equal(parseConsentPage(freshAgain.text).replayNotice, true);
    // From the browser whose cookie the decision cleared, a replay is
    // refused outright (the refusal page, nothing re-rendered).
    const late = await submitConsent({ jar, formAction: re.formAction, consentToken: re.consentToken });
    assert.equal(late.status, 403);

    const after = await metrics(stack.proxy);
    const d = (k) => metric(after, k) - metric(before, k);
    assert.equal(d('mcp_auth_replay_detected_total{kind="consent"}'), 2);
    assert.equal(d('mcp_auth_consent_decisions_total{decision="approved"}'), 2);
    assert.equal(d('mcp_auth_consent_decisions_total{decision="denied"}'), 0);
  });

  test('a consent POST from another site or without the flow cookie: 403 page, nothing consumed', async () => {
    const clientId = await newClient(stack.base);
    const { consent, jar } = await consentPage(stack.base, clientId);
    const before = await metrics(stack.proxy);
    const post = (o = {}) => submitConsent({ formAction: consent.formAction, consentToken: consent.consentToken, ...o });
    const refused = (r) => {
      assert.equal(r.status, 403, r.text);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(r.headers.get('content-security-policy'), INTERSTITIAL_CSP);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('location'), null);
      assert.deepEqual(r.headers.getSetCookie(), []);
      assert.match(r.text, /start the sign-in again/);
    };
    // Another browser: no cookie, or another flow's.
    refused(await post());
    const other = (await consentPage(stack.base, clientId)).jar;
    refused(await post({ jar: other }));
    await stack.proxy.waitForLog(/"level":"warn","msg":"access_denied_consent_browser_mismatch".*"reason":"cookie_missing"/);
    // Another site, even carrying the cookie (Origin or Sec-Fetch-Site).
    refused(await post({ jar, headers: { origin: 'http://[::1]:9' } }));
    refused(await post({ jar, headers: { origin: 'null' } }));
    refused(await post({ jar, headers: { 'sec-fetch-site': 'cross-site' } }));
    await stack.proxy.waitForLog(/"level":"warn","msg":"access_denied_consent_cross_site".*"reason":"origin_mismatch"/);
    const mid = await metrics(stack.proxy);
    const d = (m, k) => metric(m, k) - metric(before, k);
    assert.equal(d(mid, 'mcp_auth_access_denied_total{reason="consent_browser_mismatch"}'), 2);
    assert.equal(d(mid, 'mcp_auth_access_denied_total{reason="consent_cross_site"}'), 3);
    assert.equal(d(mid, 'mcp_auth_consent_decisions_total{decision="approved"}'), 0);
    assert.equal(d(mid, 'mcp_auth_token_seals_total{purpose="session"}'), 0);
    // The browser that saw the page, from the page's origin: not a replay.
    const ok = await post({ jar, headers: { origin: stack.base } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(parseInterstitial(ok.text).target.startsWith(stack.idp.issuer));
    const after = await metrics(stack.proxy);
    assert.equal(d(after, 'mcp_auth_replay_detected_total{kind="consent"}'), 0);
    assert.equal(d(after, 'mcp_auth_consent_decisions_total{decision="approved"}'), 1);
    // No cookie value ever reaches the log.
    const secret = jar.cookies.find((c) => c.name.startsWith('mcp_callback_')).value;
    assert.ok(!stack.proxy.logLines().join('\n').includes(secret));
  });

  test('consent input errors', async () => {
    const clientId = await newClient(stack.base);
    const { consent, jar } = await consentPage(stack.base, clientId);
    const tok = consent.consentToken;
    // A tampered token (one character changed in the middle).
    const mid = Math.floor(tok.length / 2);
    const tampered = tok.slice(0, mid) + (tok[mid] === 'A' ? 'B' : 'A') + tok.slice(mid + 1);
    let r = await submitConsent({ jar, formAction: consent.formAction, consentToken: tampered });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'consent token invalid or expired' });
    r = await request(`${stack.base}/consent?consent_token=${tok}`, { method: 'POST', form: { action: 'approve' } });
    assert.equal(r.status, 400);
    assert.match(r.json.error_description, /must be in the request body/);
    r = await submitConsent({ jar, formAction: consent.formAction, consentToken: tok, headers: { authorization: 'Bearer x' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'),
      'Basic realm="consent", error="invalid_client", error_description="this consent endpoint does not authenticate clients"');
    r = await request(`${stack.base}/consent`, { method: 'POST', form: { consent_token: [tok, tok] } });
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'consent_token must not be repeated' });
    r = await request(`${stack.base}/consent`, { method: 'POST', json: { consent_token: tok, action: 'approve' } });
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'consent_token is required' });
    r = await request(`${stack.base}/consent`, { method: 'POST', body: 'a=%zz', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'malformed form body' });
    r = await request(`${stack.base}/consent`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 413);
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'request body exceeds the 64 KiB cap' });
    // Nothing above spent the token; an unknown action does (the claim comes first).
    const twin = jar.clone();
    r = await submitConsent({ jar, formAction: consent.formAction, consentToken: tok, action: 'maybe' });
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'action must be approve or deny' });
    r = await submitConsent({ jar: twin, formAction: consent.formAction, consentToken: tok });
    assert.equal(parseConsentPage(r.text).replayNotice, true);
    // No CORS on /consent (SPEC preface fix 10).
    r = await request(`${stack.base}/consent`, { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('/authorize errors in SPEC order: JSON on the proxy, then 302 to the client', async () => {
    const clientId = await newClient(stack.base, { redirectUris: [REDIRECT, 'http://127.0.0.1:8765/callback'] });
    const json = async (params, status, body) => {
      const r = await request(authorizeUrl(stack.base, params));
      assert.equal(r.status, status, `${JSON.stringify(params)} → ${r.status} ${r.text}`);
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.deepEqual(r.json, body);
      return r;
    };
    const m0 = await metrics(stack.proxy);

    // 1. repeated singletons (even before client_id).
    let r = await request(`${stack.base}/authorize?state=a&state=b`);
    assert.equal(r.status, 400);
    assert.equal(r.text, '{"error":"invalid_request","error_description":"state must not be repeated"}\n');
    r = await request(`${authorizeUrl(stack.base, goodParams(clientId).params)}&response_type=code`);
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'response_type must not be repeated' });
    // 3-7.
    await json(goodParams(undefined).params, 400, { error: 'invalid_request', error_description: 'client_id is required' });
    await json(goodParams('garbage').params, 400, { error: 'invalid_client', error_description: 'unknown client_id' });
    // 8, 9.
    await json(goodParams(clientId, { redirect_uri: undefined }).params, 400,
      { error: 'invalid_request', error_description: 'redirect_uri is required' });
    await json(goodParams(clientId, { redirect_uri: 'http://127.0.0.1:9/other' }).params, 400,
      { error: 'invalid_request', error_description: 'redirect_uri does not match registered URIs' });
    await json(goodParams(clientId, { redirect_uri: 'http://localhost:8765/callback' }).params, 400,
      { error: 'invalid_request', error_description: 'redirect_uri does not match registered URIs' });
    // RFC 8252 7.3: a loopback redirect may change port.
    const relaxed = await consentPage(stack.base, clientId, { redirect_uri: 'http://127.0.0.1:50123/callback' });
    assert.ok(relaxed.page.text.includes('127.0.0.1:50123'));

    const m1 = await metrics(stack.proxy);
    const d = (k) => metric(m1, k) - metric(m0, k);
    assert.equal(d('mcp_auth_access_denied_total{reason="client_id_missing"}'), 1);
    assert.equal(d('mcp_auth_access_denied_total{reason="client_id_invalid"}'), 1);

    // 10-13: 302 to the requested redirect_uri with error, description, state, iss.
    // RFC 9207: iss is exactly the issuer of the AS metadata.
    const meta = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.equal(meta.json.authorization_response_iss_parameter_supported, true);
    const redirectError = async (over, error, description, { stateless = false, base = stack.base } = {}) => {
      const { params } = goodParams(clientId, over);
      const res = await request(authorizeUrl(base, params));
      assert.equal(res.status, 302, `${JSON.stringify(over)} → ${res.status} ${res.text}`);
      const p = parseRedirect(res.location);
      assert.equal(`${p.url.origin}${p.url.pathname}`, REDIRECT);
      assert.equal(p.error, error);
      assert.equal(p.error_description, description);
      assert.equal(p.iss, stack.base);
      assert.equal(p.iss, meta.json.issuer);
      if (stateless) assert.ok(!p.url.searchParams.has('state'), res.location);
      else assert.equal(p.state, params.state);
    };
    await redirectError({ response_type: 'token' }, 'unsupported_response_type', "response_type must be 'code'");
    await redirectError({ resource: [stack.base, `${stack.base}/mcp`, 'https://evil.example/mcp'] },
      'invalid_target', 'resource does not identify this authorization server');
    await redirectError({ resource: '' }, 'invalid_target', 'resource does not identify this authorization server');
    await redirectError({ code_challenge_method: 'plain' }, 'invalid_request', 'code_challenge_method must be S256');
    await redirectError({ code_challenge: '!'.repeat(43) }, 'invalid_request', 'code_challenge must be 43-128 unreserved characters');
    await redirectError({ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request', 'code_challenge is required');
    // 13: no state beside an S256 challenge is accepted (OAuth 2.1 CSRF
    // section; STATE_REQUIRED=false by default), not counted as a denial.
    await consentPage(stack.base, clientId, { state: undefined });
    // An error redirect of such a request carries no state at all.
    await redirectError({ state: undefined, code_challenge_method: 'plain' }, 'invalid_request',
      'code_challenge_method must be S256', { stateless: true });
    // Accepted resources: base, base/, base{mount}.
    await consentPage(stack.base, clientId, { resource: [stack.base, `${stack.base}/`, `${stack.base}/mcp`] });

    const m2 = await metrics(stack.proxy);
    assert.equal(metric(m2, 'mcp_auth_access_denied_total{reason="state_missing"}')
      - metric(m1, 'mcp_auth_access_denied_total{reason="state_missing"}'), 0);
    // Only the three consent pages above entered the funnel.
    assert.equal(metric(m2, 'mcp_auth_authorize_initiated_total{path="consent"}')
      - metric(m0, 'mcp_auth_authorize_initiated_total{path="consent"}'), 3);
    assert.equal(metric(m2, 'mcp_auth_authorize_initiated_total{path="silent"}'), 0);
  });

  test('STATE_REQUIRED=true: state required even beside S256 (same secret, second proxy)', async () => {
    const { LISTEN_ADDR, METRICS_ADDR, ...shared } = stack.proxy.env;
    void LISTEN_ADDR; void METRICS_ADDR;
    const strict = await startProxy({ env: { ...shared, STATE_REQUIRED: 'true' } });
    try {
      const clientId = await newClient(stack.base);
      const { params } = goodParams(clientId, { state: undefined });
      const res = await request(authorizeUrl(strict.url, params));
      assert.equal(res.status, 302, res.text);
      const p = parseRedirect(res.location);
      assert.equal(p.error, 'invalid_request');
      assert.equal(p.error_description, 'state is required');
      assert.equal(p.iss, stack.base);
      assert.ok(!p.url.searchParams.has('state'), res.location);
      await strict.waitForLog(/access_denied_state_missing/);
      // With state, the same proxy proceeds.
      const ok = await request(authorizeUrl(strict.url, goodParams(clientId).params));
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await strict.stop();
    }
  });

  test('client registered for another audience or expired (same secret, second proxy)', async () => {
    // Proxy B shares the secret. One instance with another PROXY_BASE_URL
    // (foreign audience); one with ours but CLIENT_REGISTRATION_TTL=1s.
    const { LISTEN_ADDR, METRICS_ADDR, PROXY_BASE_URL, ...shared } = stack.proxy.env;
    void LISTEN_ADDR; void METRICS_ADDR; void PROXY_BASE_URL;
    const foreign = await startProxy({ env: { ...shared } });
    const short = await startProxy({ env: { ...shared, PROXY_BASE_URL: stack.base, CLIENT_REGISTRATION_TTL: '1s' } });
    try {
      const m0 = await metrics(stack.proxy);
      const foreignId = await newClient(foreign.url);
      let r = await request(authorizeUrl(stack.base, goodParams(foreignId).params));
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'invalid_client', error_description: 'client registered for a different audience' });

      const shortId = await newClient(short.url);
      await consentPage(stack.base, shortId); // valid now
      await sleep(2100);
      r = await request(authorizeUrl(stack.base, goodParams(shortId).params));
      assert.equal(r.status, 400);
      assert.equal(r.text, '{"error":"invalid_client","error_description":"client registration expired"}\n');
      const m1 = await metrics(stack.proxy);
      const d = (k) => metric(m1, k) - metric(m0, k);
      assert.equal(d('mcp_auth_access_denied_total{reason="client_audience_mismatch"}'), 1);
      assert.equal(d('mcp_auth_access_denied_total{reason="client_registration_expired"}'), 1);
      await stack.proxy.waitForLog(/access_denied_client_registration_expired.*expired_at/);
    } finally {
      await foreign.stop();
      await short.stop();
    }
  });

  test('headless Chromium: consent page → Approve → IdP login page, no console errors or CSP violations', { skip: !chromiumAvailable() }, async () => {
    const clientId = await newClient(stack.base, { name: 'Browser client' });
    const { params } = goodParams(clientId);
    const browser = await launchBrowser();
    try {
      const rec = await browser.newPage();
      const { page } = rec;
      const resp = await page.goto(authorizeUrl(stack.base, params));
      assert.equal(resp.status(), 200);
      assert.equal(await page.locator('h1').count(), 1);
      assert.ok((await page.content()).includes('Browser client'));
      const buttons = await page.locator('button[name="action"]').evaluateAll((els) => els.map((e) => e.value));
      assert.deepEqual(buttons, ['deny', 'approve']);
      await Promise.all([
        page.waitForURL((u) => u.toString().startsWith(`${stack.idp.issuer}/interaction/`), { timeout: 15000 }),
        page.locator('button[value="approve"]').click(),
      ]);
      assert.ok(await page.locator('#login').count() === 1, 'the IdP login form is shown');
      assert.deepEqual(rec.cspViolations, []);
      assert.deepEqual(rec.consoleErrors, []);
      assert.deepEqual(rec.pageErrors, []);
      await rec.close();
    } finally {
      await browser.close();
    }
  });
});

// ---------------------------------------------------------------- Redis

describe('consent single use with Redis', () => {
  let stack;
  before(async () => { stack = await startStack({ redis: true, proxyEnv: { RATE_LIMIT_ENABLED: 'false' } }); });
  after(async () => { await stack?.stop(); });

  test('replay re-renders; the fresh token works exactly once', async () => {
    const clientId = await newClient(stack.base);
    const { consent, jar } = await consentPage(stack.base, clientId);
    const before = await metrics(stack.proxy);
    const twin = jar.clone(); // a double submit (see the in-process test)
    const first = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken, action: 'deny' });
    assert.equal(parseRedirect(parseInterstitial(first.text).target).error, 'access_denied');
    const again = await submitConsent({ jar: twin, formAction: consent.formAction, consentToken: consent.consentToken });
    const re = parseConsentPage(again.text);
    assert.equal(again.status, 200);
    assert.equal(re.replayNotice, true);
    const twin2 = twin.clone();
    const fresh = await submitConsent({ jar: twin, formAction: re.formAction, consentToken: re.consentToken });
    assert.ok(parseInterstitial(fresh.text).target.startsWith(stack.idp.issuer));
    const twice = await submitConsent({ jar: twin2, formAction: re.formAction, consentToken: re.consentToken });
    assert.equal(parseConsentPage(twice.text).replayNotice, true);
    const after = await metrics(stack.proxy);
    const d = (k) => metric(after, k) - metric(before, k);
    assert.equal(d('mcp_auth_replay_detected_total{kind="consent"}'), 2);
    assert.equal(d('mcp_auth_consent_decisions_total{decision="denied"}'), 1);
    assert.equal(d('mcp_auth_consent_decisions_total{decision="approved"}'), 1);
  });

  test('Redis gone: the consent claim fails closed with 503', async () => {
    const clientId = await newClient(stack.base);
    const { consent, jar } = await consentPage(stack.base, clientId); // /authorize never touches Redis
    await stack.redis.stop();
    const r = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken });
    assert.equal(r.status, 503);
    assert.deepEqual(r.json, {
      error: 'server_error', error_description: 'replay store unavailable', error_code: 'replay_store_unavailable',
    });
    const m = await metrics(stack.proxy);
    assert.ok(metric(m, 'mcp_auth_access_denied_total{reason="replay_store_unavailable"}') >= 1);
    await stack.proxy.waitForLog(/replay_store_error.*claim_consent/);
    // /authorize still works without Redis.
    await consentPage(stack.base, clientId);
  });
});

// ---------------------------------------------------------------- other configurations

describe('silent fork and compat mode', () => {
  let stack;
  before(async () => {
    stack = await startStack({
      proxyEnv: {
        RATE_LIMIT_ENABLED: 'false', RENDER_CONSENT_PAGE: 'false', COMPAT_ALLOW_STATELESS: 'true', PKCE_REQUIRED: 'false',
      },
    });
  });
  after(async () => { await stack?.stop(); });

  test('RENDER_CONSENT_PAGE=false: 302 straight to the IdP, counted as silent', async () => {
    const clientId = await newClient(stack.base);
    const before = await metrics(stack.proxy);
    const { params } = goodParams(clientId);
    const r = await request(authorizeUrl(stack.base, params));
    assert.equal(r.status, 302);
    const u = new URL(r.location);
    assert.equal(`${u.origin}${u.pathname}`, (await stack.idp.discovery()).authorization_endpoint);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.notEqual(u.searchParams.get('state'), params.state);
    // No consent page, so the 302 binds the callback to this browser.
    const setCookie = r.headers.getSetCookie();
    assert.equal(setCookie.length, 1, setCookie.join(' | '));
    assert.match(setCookie[0], /^mcp_callback_[A-Za-z0-9_-]{8}=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const idp = await idpLogin(r.location, { username: 'nobody', password: 'wrong' });
    assert.equal(idp.loginPage.status, 200);
    const after = await metrics(stack.proxy);
    assert.equal(metric(after, 'mcp_auth_authorize_initiated_total{path="silent"}')
      - metric(before, 'mcp_auth_authorize_initiated_total{path="silent"}'), 1);
    assert.equal(metric(after, 'mcp_auth_authorize_initiated_total{path="consent"}'), 0);
  });

  test('COMPAT_ALLOW_STATELESS: a missing state is counted, synthesized, and the flow goes on', async () => {
    const clientId = await newClient(stack.base);
    const before = await metrics(stack.proxy);
    const r = await request(authorizeUrl(stack.base, { client_id: clientId, redirect_uri: REDIRECT }));
    assert.equal(r.status, 302, r.text);
    assert.ok(r.location.startsWith(stack.idp.issuer));
    const after = await metrics(stack.proxy);
    assert.equal(metric(after, 'mcp_auth_access_denied_total{reason="state_missing"}')
      - metric(before, 'mcp_auth_access_denied_total{reason="state_missing"}'), 1);
    // plain is refused even with PKCE optional.
    const plain = await request(authorizeUrl(stack.base, {
      client_id: clientId, redirect_uri: REDIRECT, state: 's', code_challenge: pkcePair().challenge, code_challenge_method: 'plain',
    }));
    assert.equal(plain.status, 302);
    assert.equal(parseRedirect(plain.location).error_description, 'code_challenge_method must be S256');
  });
});

describe('rate-limit buckets of /authorize and /consent', () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  test('30 per minute each, independent; 429 counted per endpoint', async () => {
    // A window boundary in the middle would let a few more through; start
    // early in a minute so all 62 requests fall into one window.
    const sec = new Date().getUTCSeconds();
    if (sec > 45) await sleep((61 - sec) * 1000);
    const clientId = await newClient(stack.base);
    let ok = 0;
    let last;
    for (let i = 0; i < 31; i += 1) {
      last = await request(authorizeUrl(stack.base, goodParams(clientId).params));
      if (last.status === 200) ok += 1;
    }
    assert.equal(ok, 30);
    assert.equal(last.status, 429);
    assert.equal(last.headers.get('retry-after'), '60');
    assert.deepEqual(last.json, { error: 'temporarily_unavailable', error_description: 'rate limit exceeded' });
    // /consent has its own bucket.
    let consentOk = 0;
    for (let i = 0; i < 31; i += 1) {
      const r = await request(`${stack.base}/consent`, { method: 'POST', form: { consent_token: 'x' } });
      if (r.status === 400) consentOk += 1;
      else last = r;
    }
    assert.equal(consentOk, 30);
    assert.equal(last.status, 429);
    const m = await metrics(stack.proxy);
    assert.equal(metric(m, 'mcp_auth_rate_limited_total{endpoint="authorize"}'), 1);
    assert.equal(metric(m, 'mcp_auth_rate_limited_total{endpoint="consent"}'), 1);
  });
});
