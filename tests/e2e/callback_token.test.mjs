// GET /callback and POST /token (SPEC.md 3.7, 3.8) against the built binary,
// a real OpenID Provider (oidc-provider) and, where named, a real Redis:
// the whole login flow without a browser, every denial path a user or an
// attacker can reach, the replay defences (callback state, code, refresh
// rotation with its grace window, family revocation), the IdP faults
// (token endpoint errors, a missing id_token, a forged nonce, throttling)
// and the counters each path moves.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent,
  parseInterstitial, idpLogin, followCallback, parseRedirect, pkcePair, randomState,
  exchangeCode, refreshGrant, login, tokenRequest,
} from './lib/oauth-client.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const REDIRECT = 'http://127.0.0.1:9/cb';

// Every test registers its own client, far more than /register's 10 per
// minute per IP; the limiter is tested elsewhere.
const stackWith = ({ proxyEnv = {}, ...o } = {}) => startStack({ ...o, proxyEnv: { RATE_LIMIT_ENABLED: 'false', ...proxyEnv } });

// Register → authorize → consent → IdP, stopping at the IdP's redirect to
// the proxy's /callback (returned unfetched).
async function toCallback(base, {
  username = 'alice', password, action = 'login', error, errorDescription,
  redirectUri = REDIRECT, authorizeRedirectUri, usePkce = true, resource,
} = {}) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [redirectUri], client_name: 'e2e' });
  assert.equal(reg.status, 201, reg.text);
  const client = reg.json;
  const pkce = usePkce ? pkcePair() : null;
  const state = randomState();
  const authz = await request(authorizeUrl(base, {
    client_id: client.client_id, redirect_uri: authorizeRedirectUri ?? redirectUri, state,
    code_challenge: pkce?.challenge, resource,
  }), { jar });
  assert.equal(authz.status, 200, authz.text);
  const consent = parseConsentPage(authz.text);
  const post = await submitConsent({
    formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar,
  });
  assert.equal(post.status, 200, post.text);
  const { target } = parseInterstitial(post.text);
  const idp = await idpLogin(target, {
    username, password: password ?? `${username}-pw`, action, error, errorDescription, jar,
  });
  assert.ok(idp.callbackUrl, `IdP did not redirect: ${idp.last.status}`);
  assert.ok(idp.callbackUrl.startsWith(`${base}/callback?`), idp.callbackUrl);
  return { jar, client, pkce, state, callbackUrl: idp.callbackUrl, redirectUri };
}

// The whole flow up to a code at the client (no /token).
async function toCode(base, opts = {}) {
  const f = await toCallback(base, opts);
  const cb = await followCallback(f.callbackUrl, { jar: f.jar });
  assert.equal(cb.response.status, 302, cb.response.text);
  assert.ok(cb.redirect.code, cb.response.location);
  return { ...f, redirect: cb.redirect, code: cb.redirect.code };
}

function exchange(base, f, extra = {}) {
  return exchangeCode(base, {
    code: f.code, redirect_uri: f.redirectUri, client_id: f.client.client_id,
    code_verifier: f.pkce?.verifier, ...extra,
  });
}

function refresh(base, f, refreshToken, extra = {}) {
  return refreshGrant(base, { refresh_token: refreshToken, client_id: f.client.client_id, ...extra });
}

// One counter from the metrics listener (0 when the series does not exist).
async function counter(stack, name, labels = '') {
  const r = await request(`${stack.proxy.metricsUrl}/metrics`);
  assert.equal(r.status, 200);
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of r.text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return 0;
}

function assertOAuthError(r, status, error, description, errorCode) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(r.json?.error, error, r.text);
  if (description !== undefined) assert.equal(r.json.error_description, description, r.text);
  assert.equal(r.json.error_code, errorCode, r.text);
  assert.equal(r.headers.get('cache-control'), null, 'errors carry no Cache-Control');
}

function assertTokenSuccess(r) {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('pragma'), 'no-cache');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  // Keys sorted, exactly these four, one trailing newline (SPEC.md 3.8).
  assert.match(r.text,
    /^\{"access_token":"[A-Za-z0-9_-]+","expires_in":3600,"refresh_token":"[A-Za-z0-9_-]+","token_type":"Bearer"\}\n$/);
  assert.notEqual(r.json.access_token, r.json.refresh_token);
  return r.json;
}

// ---------------------------------------------------------------------------

describe('login flow, in-process replay store', () => {
  let stack;
  before(async () => { stack = await stackWith(); });
  after(() => stack?.stop());

  test('register → authorize → consent → IdP → callback → token → refresh rotation', async () => {
    const codes0 = await counter(stack, 'mcp_auth_tokens_issued_total', 'grant_type="authorization_code"');
    const refr0 = await counter(stack, 'mcp_auth_tokens_issued_total', 'grant_type="refresh_token"');
    const f = await toCallback(stack.base);
    const cb = await followCallback(f.callbackUrl, { jar: f.jar });
    assert.equal(cb.response.status, 302);
    // /callback never carries CORS (SPEC preface fix 10).
    assert.equal(cb.response.headers.get('access-control-allow-origin'), null);
    const rd = cb.redirect;
    assert.equal(`${rd.url.origin}${rd.url.pathname}`, REDIRECT);
    assert.equal(rd.state, f.state);
    assert.equal(rd.iss, stack.base);
    assert.ok(rd.code);
    assert.equal(rd.error, null);
    // Sorted query: code, iss, state.
    assert.deepEqual([...rd.url.searchParams.keys()], ['code', 'iss', 'state']);

    const t1 = assertTokenSuccess(await exchange(stack.base, { ...f, code: rd.code }));
    const r1 = assertTokenSuccess(await refresh(stack.base, f, t1.refresh_token));
    assert.notEqual(r1.access_token, t1.access_token);
    assert.notEqual(r1.refresh_token, t1.refresh_token);
    // The rotated token rotates again.
    const r2 = assertTokenSuccess(await refresh(stack.base, f, r1.refresh_token));
    assert.notEqual(r2.refresh_token, r1.refresh_token);

    assert.equal(await counter(stack, 'mcp_auth_tokens_issued_total', 'grant_type="authorization_code"'), codes0 + 1);
    assert.equal(await counter(stack, 'mcp_auth_tokens_issued_total', 'grant_type="refresh_token"'), refr0 + 2);
    await stack.proxy.waitForLog(/"msg":"callback_success"/);
    await stack.proxy.waitForLog(/"msg":"token_refreshed"/);
  });

  test('a replayed callback URL is refused once the state was used', async () => {
    const before0 = await counter(stack, 'mcp_auth_replay_detected_total', 'kind="callback_state"');
    const f = await toCallback(stack.base);
    // The same browser sending the URL twice (a reload racing the first
    // answer, which clears the callback cookie).
    const twin = f.jar.clone();
    const first = await request(f.callbackUrl, { jar: f.jar });
    assert.equal(first.status, 302);
    assert.deepEqual(f.jar.find(/^mcp_callback_/), [], 'the spent callback cookie is cleared');
    const second = await request(f.callbackUrl, { jar: twin });
    assertOAuthError(second, 400, 'invalid_request', 'callback state already used', 'callback_state_replay');
    // Anyone else holding the URL is refused before the replay check.
    assert.equal((await request(f.callbackUrl)).status, 403);
    assert.equal(await counter(stack, 'mcp_auth_replay_detected_total', 'kind="callback_state"'), before0 + 1);
  });

  test('a tampered state is an unknown state', async () => {
    const f = await toCallback(stack.base);
    const u = new URL(f.callbackUrl);
    const st = u.searchParams.get('state');
    const flipped = (st[10] === 'A' ? 'B' : 'A');
    u.searchParams.set('state', st.slice(0, 10) + flipped + st.slice(11));
    assertOAuthError(await request(u.toString()), 400, 'invalid_request', 'unknown or expired state');
    // The untouched URL still works: the tampered one claimed nothing.
    assert.equal((await request(f.callbackUrl, { jar: f.jar })).status, 302);
  });

  test('missing code or state, repeated parameters, a foreign iss', async () => {
    const f = await toCallback(stack.base);
    const u = new URL(f.callbackUrl);
    const code = u.searchParams.get('code');
    const state = u.searchParams.get('state');
    const cb = (q) => request(`${stack.base}/callback?${q}`);
    const e = encodeURIComponent;
    assertOAuthError(await cb(`state=${e(state)}`), 400, 'invalid_request', 'missing code or state');
    assertOAuthError(await cb(`code=${e(code)}`), 400, 'invalid_request', 'missing code or state');
    assertOAuthError(await cb(`code=${e(code)}&state=`), 400, 'invalid_request', 'missing code or state');
    for (const name of ['code', 'state', 'error', 'error_description', 'iss']) {
      assertOAuthError(await cb(`code=${e(code)}&state=${e(state)}&${name}=x&${name}=y`),
        400, 'invalid_request', `${name} must not be repeated`);
    }
    // RFC 9207 (SPEC preface fix 6): the IdP sends iss; another value is refused.
    assert.equal(u.searchParams.get('iss'), stack.idp.issuer);
    assertOAuthError(await cb(`code=${e(code)}&state=${e(state)}&iss=${e('http://127.0.0.1:1')}`),
      400, 'invalid_request', "iss does not match the identity provider's issuer");
    // None of those consumed the state.
    assert.equal((await request(f.callbackUrl, { jar: f.jar })).status, 302);
  });

  test('IdP errors go back to the client with a fixed description', async () => {
    const cases = [
      { username: 'deny', want: 'access_denied' },
      { action: 'cancel', want: 'access_denied' },
      { action: 'error', error: 'temporarily_unavailable', want: 'temporarily_unavailable' },
      { action: 'error', error: 'login_required', want: 'server_error' },
      {
        action: 'error', error: 'access_denied', want: 'access_denied',
        errorDescription: 'Your account is locked, call +1-555 <script>\r\nSet-Cookie: x',
      },
    ];
    for (const c of cases) {
      const f = await toCallback(stack.base, c);
      const idpParams = new URL(f.callbackUrl).searchParams;
      assert.ok(idpParams.get('error'));
      const r = await request(f.callbackUrl, { jar: f.jar });
      assert.equal(r.status, 302, r.text);
      const rd = parseRedirect(r.location);
      assert.equal(`${rd.url.origin}${rd.url.pathname}`, REDIRECT);
      assert.equal(rd.error, c.want, JSON.stringify(c));
      assert.equal(rd.error_description, 'authorization denied by identity provider');
      assert.equal(rd.state, f.state);
      assert.equal(rd.iss, stack.base);
      assert.equal(rd.code, null);
    }
  });

  test('an IdP error without a known session is answered on the proxy', async () => {
    const r = await request(`${stack.base}/callback?error=access_denied&error_description=${encodeURIComponent('click evil.example')}&state=forged`);
    assertOAuthError(r, 400, 'access_denied', 'authorization request could not be matched to a known session');
    assert.equal(r.location, null);
    const r2 = await request(`${stack.base}/callback?error=weird`);
    assertOAuthError(r2, 400, 'server_error', 'authorization request could not be matched to a known session');
  });

  test('identity rules: unverified email, odd claims, invalid group names', async () => {
    const unv0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="email_unverified"');
    for (const username of ['bob', 'heidi']) {
      const f = await toCallback(stack.base, { username });
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'access_denied', 'email address is not verified', 'email_not_verified');
    }
    assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="email_unverified"'), unv0 + 2);

    const gi0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="group_invalid"');
    const f = await toCallback(stack.base, { username: 'frank' });
    assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'access_denied', 'group name contains invalid characters', 'group_invalid');
    assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="group_invalid"'), gi0 + 1);

    // leo: a TAB in a group name (X-User-Groups could carry it, but no group
    // name needs one): refused like a comma, no code.
    const lf = await toCallback(stack.base, { username: 'leo' });
    const lr = await request(lf.callbackUrl, { jar: lf.jar });
    assertOAuthError(lr, 403, 'access_denied', 'group name contains invalid characters', 'group_invalid');
    assert.equal(lr.location, null);
    assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="group_invalid"'), gi0 + 2);

    // dave: groups is a string → counted, logged, login goes on without groups.
    const sm0 = await counter(stack, 'mcp_auth_groups_claim_shape_mismatch_total');
    const d = await toCode(stack.base, { username: 'dave' });
    assertTokenSuccess(await exchange(stack.base, d));
    assert.equal(await counter(stack, 'mcp_auth_groups_claim_shape_mismatch_total'), sm0 + 1);
    await stack.proxy.waitForLog(/"msg":"groups_claim_shape_mismatch"/);
    // erin (no email_verified, no groups) and grace ("true" as a string) get in.
    for (const username of ['erin', 'grace']) {
      const g = await toCode(stack.base, { username });
      assertTokenSuccess(await exchange(stack.base, g));
    }
  });

  test('control bytes in sub or email are refused at login, never sealed into tokens', async () => {
    // Before this rule such a login got a code and 7-day tokens that
    // proxy/headers then refused to forward: 502 on every MCP request.
    const ci0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="claim_invalid"');
    const cases = [
      { username: 'ivan', description: 'subject claim contains invalid characters', claim: 'sub' },
      { username: 'kate', description: 'subject claim contains invalid characters', claim: 'sub' },
      { username: 'judy', description: 'email claim contains invalid characters', claim: 'email' },
    ];
    for (const c of cases) {
      const f = await toCallback(stack.base, { username: c.username });
      const r = await request(f.callbackUrl, { jar: f.jar });
      assertOAuthError(r, 403, 'access_denied', c.description, 'claim_invalid');
      assert.equal(r.location, null, 'no redirect, so no code reaches the client');
      assert.ok(!r.text.includes('\u0001') && !r.text.includes('\u001b'), 'the bad value is not echoed');
    }
    assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="claim_invalid"'), ci0 + 3);
    await stack.proxy.waitForLog(/"msg":"access_denied_claim_invalid".*"claim":"email"/);
  });

  test('a code redeemed again with the same verifier gets the same tokens; the family lives', async () => {
    // docs/internals/rotation.md: a retry (lost answer, 503 after the claim)
    // is not a replay when the client proves the verifier again.
    const rc0 = await counter(stack, 'mcp_auth_replay_detected_total', 'kind="code"');
    const f = await toCode(stack.base);
    const first = await exchange(stack.base, f);
    const t1 = assertTokenSuccess(first);
    const r1 = assertTokenSuccess(await refresh(stack.base, f, t1.refresh_token));
    const again = await exchange(stack.base, f);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, first.text, 'byte-identical token response');
    assert.equal(await counter(stack, 'mcp_auth_replay_detected_total', 'kind="code"'), rc0);
    await stack.proxy.waitForLog(/"msg":"authorization_code_retry"/);
    assertTokenSuccess(await refresh(stack.base, f, r1.refresh_token));
  });

  test('PKCE: a wrong verifier fails without burning the code', async () => {
    const f = await toCode(stack.base);
    const wrong = pkcePair().verifier;
    assertOAuthError(await exchange(stack.base, f, { code_verifier: wrong }), 400, 'invalid_grant', 'PKCE verification failed');
    assertOAuthError(await exchange(stack.base, f, { code_verifier: undefined }), 400, 'invalid_grant', 'code_verifier is required');
    assertOAuthError(await exchange(stack.base, f, { code_verifier: 'short' }), 400, 'invalid_request', 'code_verifier must be 43-128 unreserved characters');
    assertTokenSuccess(await exchange(stack.base, f));
  });

  test('redirect_uri at /token is byte-exact (no loopback port echo)', async () => {
    // /authorize accepts another loopback port (RFC 8252 7.3); /token wants the one sent there.
    const f = await toCode(stack.base, { redirectUri: REDIRECT, authorizeRedirectUri: 'http://127.0.0.1:8123/cb' });
    assert.equal(f.redirect.url.port, '8123');
    assertOAuthError(await exchange(stack.base, f, { redirect_uri: REDIRECT }), 400, 'invalid_grant', 'redirect_uri mismatch');
    assertTokenSuccess(await exchange(stack.base, f, { redirect_uri: 'http://127.0.0.1:8123/cb' }));
  });

  test('resource values must name this server; the grant keeps its own', async () => {
    const f = await toCode(stack.base);
    assertOAuthError(await exchange(stack.base, f, { resource: 'https://evil.example/mcp' }), 400, 'invalid_target', 'resource does not identify this authorization server');
    assertOAuthError(await exchange(stack.base, f, { resource: [`${stack.base}/mcp`, 'https://evil.example'] }), 400, 'invalid_target');
    const t = assertTokenSuccess(await exchange(stack.base, f, { resource: [stack.base, `${stack.base}/mcp`] }));
    assertOAuthError(await refresh(stack.base, f, t.refresh_token, { resource: 'http://127.0.0.1:1/mcp' }), 400, 'invalid_target');
  });

  test('/token front checks: query, Authorization, repeats, grant type, body size', async () => {
    const tok = `${stack.base}/token`;
    assertOAuthError(await request(`${tok}?grant_type=refresh_token`, { method: 'POST', form: { grant_type: 'refresh_token' } }),
      400, 'invalid_request', 'token endpoint parameters must be in the request body, not the URL query');
    const desc = 'this token endpoint does not authenticate clients (token_endpoint_auth_method=none); remove the Authorization header';
    for (const auth of ['Basic YTpi', 'Bearer abc']) {
      const r = await request(tok, { method: 'POST', headers: { authorization: auth }, form: { grant_type: 'refresh_token' } });
      assertOAuthError(r, 401, 'invalid_client', desc);
      assert.equal(r.headers.get('www-authenticate'),
        `Basic realm="token", error="invalid_client", error_description="${desc}"`);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
    }
    for (const name of ['grant_type', 'code', 'redirect_uri', 'client_id', 'code_verifier', 'refresh_token']) {
      const body = new URLSearchParams([['grant_type', 'authorization_code'], [name, 'a'], [name, 'b']]);
      assertOAuthError(await request(tok, { method: 'POST', form: body }), 400, 'invalid_request', `${name} must not be repeated`);
    }
    const gt = 'grant_type must be authorization_code or refresh_token';
    assertOAuthError(await request(tok, { method: 'POST', form: { grant_type: 'client_credentials' } }), 400, 'unsupported_grant_type', gt);
    // Another content type is an empty form (SPEC.md 3.0.7).
    assertOAuthError(await request(tok, { method: 'POST', json: { grant_type: 'refresh_token' } }), 400, 'unsupported_grant_type', gt);
    assertOAuthError(await request(tok, { method: 'POST', body: 'a=1;b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400, 'invalid_request', 'malformed form body');
    const many = `grant_type=refresh_token${'&x=1'.repeat(1000)}`;
    assertOAuthError(await request(tok, { method: 'POST', body: many, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400, 'invalid_request', 'too many form parameters');
    const big = await request(tok, { method: 'POST', body: `grant_type=refresh_token&x=${'a'.repeat(1024 * 1024)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertOAuthError(big, 413, 'invalid_request', 'request body exceeds the 64 KiB cap');
    assert.equal(big.headers.get('access-control-allow-origin'), '*');
    assertOAuthError(await request(tok, { method: 'POST', form: { grant_type: 'authorization_code', code: 'x', client_id: 'y' } }),
      400, 'invalid_request', 'missing required parameters');
    assertOAuthError(await request(tok, { method: 'POST', form: { grant_type: 'refresh_token', refresh_token: 'x' } }),
      400, 'invalid_request', 'missing required parameters');
    assertOAuthError(await request(tok, { method: 'POST', form: { grant_type: 'refresh_token', refresh_token: 'garbage', client_id: 'y' } }),
      400, 'invalid_grant', 'invalid or expired refresh token');
    assertOAuthError(await request(tok, { method: 'POST', form: { grant_type: 'authorization_code', code: 'garbage', client_id: 'y', redirect_uri: REDIRECT } }),
      400, 'invalid_grant', 'invalid or expired authorization code');
  });

  test('client checks: unusable client_id is 401 invalid_client; another client is a mismatch', async () => {
    const f = await toCode(stack.base);
    // A token of another type (the code itself) as client_id.
    assertOAuthError(await exchange(stack.base, f, { client_id: f.code }), 401, 'invalid_client');
    assertOAuthError(await exchange(stack.base, f, { client_id: 'nonsense' }), 401, 'invalid_client');
    const other = await register(stack.base, { redirect_uris: [REDIRECT] });
    assertOAuthError(await exchange(stack.base, f, { client_id: other.json.client_id }), 400, 'invalid_grant', 'client_id mismatch');
    const t = assertTokenSuccess(await exchange(stack.base, f));
    assertOAuthError(await refresh(stack.base, f, t.refresh_token, { client_id: other.json.client_id }), 400, 'invalid_grant', 'client_id mismatch');
    // A token of the wrong type as refresh_token.
    assertOAuthError(await refresh(stack.base, f, t.access_token), 400, 'invalid_grant', 'invalid or expired refresh token');
  });

  test('a client that leaves during the IdP exchange costs nothing and breaks nothing', async () => {
    await stack.idp.setFaults({ tokenDelayMs: 1500 });
    try {
      const f = await toCallback(stack.base);
      const ac = new AbortController();
      const pending = fetch(f.callbackUrl, {
        redirect: 'manual', signal: ac.signal, headers: { cookie: f.jar.header(f.callbackUrl) },
      }).catch((e) => e);
      await sleep(300);
      ac.abort();
      assert.equal((await pending).name, 'AbortError');
      await sleep(1600); // the IdP answers into a cancelled exchange, or never reaches us
    } finally {
      await stack.idp.setFaults({});
    }
    const g = await toCode(stack.base);
    assertTokenSuccess(await exchange(stack.base, g));
  });
});

describe('IdP faults', () => {
  let stack;
  before(async () => { stack = await stackWith(); });
  after(() => stack?.stop());

  test('token endpoint failure → 502 upstream authentication failed', async () => {
    await stack.idp.setFaults({ tokenError: { status: 500, error: 'server_error', error_description: 'boom' } });
    try {
      const f = await toCallback(stack.base);
      const twin = f.jar.clone();
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 502, 'server_error', 'upstream authentication failed');
      await stack.proxy.waitForLog(/"msg":"upstream_token_exchange_failed"/);
      // The claim stands even though the exchange failed (SPEC.md 3.7 step 8).
      await stack.idp.setFaults({});
      assertOAuthError(await request(f.callbackUrl, { jar: twin }), 400, 'invalid_request', 'callback state already used', 'callback_state_replay');
    } finally {
      await stack.idp.setFaults({});
    }
  });

  test('no id_token in the token response → 502', async () => {
    await stack.idp.setFaults({ dropIdToken: true });
    try {
      const f = await toCallback(stack.base);
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 502, 'server_error', 'no id_token in upstream response');
    } finally {
      await stack.idp.setFaults({});
    }
  });

  test('a forged or missing nonce → 403; a bad id_token → 502', async () => {
    const m0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="id_token_verification_failed"');
    try {
      await stack.idp.setFaults({ idTokenClaims: { nonce: 'not-the-session-nonce' } });
      let f = await toCallback(stack.base);
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'server_error', 'id token nonce mismatch', 'id_token_verification_failed');
      await stack.proxy.waitForLog(/"msg":"id_token_nonce_mismatch".*"reason":"nonce_mismatch"/);

      await stack.idp.setFaults({ idTokenClaims: { nonce: null } });
      f = await toCallback(stack.base);
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'server_error', 'id token nonce mismatch', 'id_token_verification_failed');
      await stack.proxy.waitForLog(/"msg":"id_token_nonce_mismatch".*"reason":"nonce_missing"/);

      await stack.idp.setFaults({ idTokenClaims: { aud: 'someone-else' } });
      f = await toCallback(stack.base);
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 502, 'server_error', 'id token verification failed', 'id_token_verification_failed');

      await stack.idp.setFaults({ idTokenClaims: { sub: '' } });
      f = await toCallback(stack.base);
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'access_denied', 'id token missing subject claim', 'subject_missing');
    } finally {
      await stack.idp.setFaults({});
    }
    assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="id_token_verification_failed"'), m0 + 3);
  });
});

describe('policy knobs', () => {
  test('ALLOWED_GROUPS refuses users outside the list', async () => {
    const stack = await stackWith({ proxyEnv: { ALLOWED_GROUPS: 'mcp-users' } });
    try {
      const g0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="group"');
      const f = await toCallback(stack.base, { username: 'carol' });
      assertOAuthError(await request(f.callbackUrl, { jar: f.jar }), 403, 'access_denied', 'user not in any allowed group');
      assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="group"'), g0 + 1);
      await stack.proxy.waitForLog(/"msg":"access_denied_group".*"user_groups":\["outsiders"\]/);
      const a = await toCode(stack.base, { username: 'alice' });
      assertTokenSuccess(await exchange(stack.base, a));
    } finally {
      await stack.stop();
    }
  });

  test('REVOKE_BEFORE in the future refuses every refresh of older families', async () => {
    const cutoff = new Date(Date.now() + 3600 * 1000).toISOString();
    const stack = await stackWith({ proxyEnv: { REVOKE_BEFORE: cutoff } });
    try {
      const f = await toCode(stack.base);
      const t = assertTokenSuccess(await exchange(stack.base, f));
      const denied0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_family_revoked"');
      assertOAuthError(await refresh(stack.base, f, t.refresh_token), 400, 'invalid_grant', 'refresh token revoked');
      // Not metered (SPEC.md 10.1 item 13).
      assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_family_revoked"'), denied0);
    } finally {
      await stack.stop();
    }
  });

  test('an expired client registration is 401 invalid_client at /token', async () => {
    const stack = await stackWith({ proxyEnv: { CLIENT_REGISTRATION_TTL: '3s' } });
    try {
      const started = Date.now();
      const f = await toCode(stack.base);
      assert.ok(Date.now() - started < 2500, 'the login took too long for a 3 s registration');
      const t = assertTokenSuccess(await exchange(stack.base, f));
      await sleep(Math.max(0, started + 4000 - Date.now()));
      const e0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="client_registration_expired"');
      assertOAuthError(await refresh(stack.base, f, t.refresh_token), 401, 'invalid_client', 'client registration expired');
      assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="client_registration_expired"'), e0 + 1);
    } finally {
      await stack.stop();
    }
  });

  test('PKCE_REQUIRED=false: the server-side verifier stands in for the client; its code replay revokes the family, rotated descendants included', async () => {
    const stack = await stackWith({ proxyEnv: { PKCE_REQUIRED: 'false' } });
    try {
      const f = await toCode(stack.base, { usePkce: false });
      assertOAuthError(await exchange(stack.base, f, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant', 'PKCE verification failed');
      const t1 = assertTokenSuccess(await exchange(stack.base, f));
      // No verifier of the client's own: nothing tells a retry from a thief,
      // so a second redemption is a replay (docs/internals/rotation.md).
      const rc0 = await counter(stack, 'mcp_auth_replay_detected_total', 'kind="code"');
      const fr0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_family_revoked"');
      const r1 = assertTokenSuccess(await refresh(stack.base, f, t1.refresh_token));
      assertOAuthError(await exchange(stack.base, f), 400, 'invalid_grant', 'authorization code already used', 'code_replay');
      assert.equal(await counter(stack, 'mcp_auth_replay_detected_total', 'kind="code"'), rc0 + 1);
      assertOAuthError(await refresh(stack.base, f, r1.refresh_token), 400, 'invalid_grant', 'refresh token revoked', 'refresh_family_revoked');
      assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_family_revoked"'), fr0 + 1);
      await stack.proxy.waitForLog(/"msg":"authorization_code_replay"/);
    } finally {
      await stack.stop();
    }
  });

  test('IDP_EXCHANGE_RATE_PER_SEC: an empty bucket answers 503 before the claim', async () => {
    const stack = await stackWith({ proxyEnv: { IDP_EXCHANGE_RATE_PER_SEC: '0.001', IDP_EXCHANGE_BURST: '1' } });
    try {
      const th0 = await counter(stack, 'mcp_auth_idp_exchange_throttled_total');
      const a = await toCode(stack.base);
      assertTokenSuccess(await exchange(stack.base, a));
      const f = await toCallback(stack.base);
      for (let i = 0; i < 2; i += 1) {
        // The same URL again: still throttled, never "already used".
        const r = await request(f.callbackUrl, { jar: f.jar });
        assertOAuthError(r, 503, 'temporarily_unavailable', 'upstream IdP exchange throttled; retry shortly', 'idp_exchange_throttled');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      assert.equal(await counter(stack, 'mcp_auth_idp_exchange_throttled_total'), th0 + 2);
      await stack.proxy.waitForLog(/"msg":"idp_exchange_throttled"/);
    } finally {
      await stack.stop();
    }
  });
});

for (const redis of [false, true]) {
  describe(`refresh rotation (${redis ? 'Redis' : 'in-process store'})`, () => {
    test('reuse after the grace revokes the family (REFRESH_RACE_GRACE_SEC=0, REFRESH_RETRY_GRACE=0)', async () => {
      const stack = await stackWith({ redis, proxyEnv: { REFRESH_RACE_GRACE_SEC: '0', REFRESH_RETRY_GRACE: '0' } });
      try {
        const rr0 = await counter(stack, 'mcp_auth_replay_detected_total', 'kind="refresh"');
        const f = await toCode(stack.base);
        const t = assertTokenSuccess(await exchange(stack.base, f));
        const r1 = assertTokenSuccess(await refresh(stack.base, f, t.refresh_token));
        const reuse = await refresh(stack.base, f, t.refresh_token);
        assertOAuthError(reuse, 400, 'invalid_grant', 'refresh token reuse detected  family revoked', 'refresh_reuse_detected');
        assert.ok(reuse.text.includes('"refresh token reuse detected  family revoked"'));
        assert.equal(await counter(stack, 'mcp_auth_replay_detected_total', 'kind="refresh"'), rr0 + 1);
        // The sibling minted before the reuse dies with its family.
        assertOAuthError(await refresh(stack.base, f, r1.refresh_token), 400, 'invalid_grant', 'refresh token revoked', 'refresh_family_revoked');
      } finally {
        await stack.stop();
      }
    });

    test('a token several rotations old is reuse; the newest dies with its family', async () => {
      // The in-process store keeps one record per family and tells used
      // tokens by their rotation generation: an old generation, not only the
      // previous one, must still be caught.
      const stack = await stackWith({ redis, proxyEnv: { REFRESH_RACE_GRACE_SEC: '0', REFRESH_RETRY_GRACE: '0' } });
      try {
        const f = await toCode(stack.base);
        const t = assertTokenSuccess(await exchange(stack.base, f));
        const chain = [t.refresh_token];
        for (let i = 0; i < 4; i += 1) {
          chain.push(assertTokenSuccess(await refresh(stack.base, f, chain.at(-1))).refresh_token);
        }
        assertOAuthError(await refresh(stack.base, f, chain[1]), 400, 'invalid_grant',
          'refresh token reuse detected  family revoked', 'refresh_reuse_detected');
        assertOAuthError(await refresh(stack.base, f, chain.at(-1)), 400, 'invalid_grant',
          'refresh token revoked', 'refresh_family_revoked');
        // Another login's family is untouched.
        const g = await toCode(stack.base);
        const u = assertTokenSuccess(await exchange(stack.base, g));
        assertTokenSuccess(await refresh(stack.base, g, u.refresh_token));
      } finally {
        await stack.stop();
      }
    });

    test('two refreshes at once (default REFRESH_RETRY_GRACE): both 200, byte-identical, family intact', async () => {
      const stack = await stackWith({ redis });
      try {
        const f = await toCode(stack.base);
        const t = assertTokenSuccess(await exchange(stack.base, f));
        const both = await Promise.all([refresh(stack.base, f, t.refresh_token), refresh(stack.base, f, t.refresh_token)]);
        assert.deepEqual(both.map((r) => r.status), [200, 200], both.map((r) => r.text).join(' | '));
        assert.equal(both[1].text, both[0].text);
        assertTokenSuccess(await refresh(stack.base, f, both[0].json.refresh_token));
      } finally {
        await stack.stop();
      }
    });

    test('REFRESH_RETRY_GRACE=0: two refreshes inside the race grace: one 200, one 429 Retry-After 2, family intact', async () => {
      const stack = await stackWith({ redis, proxyEnv: { REFRESH_RACE_GRACE_SEC: '5', REFRESH_RETRY_GRACE: '0' } });
      try {
        const c0 = await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_concurrent_submit"');
        const f = await toCode(stack.base);
        const t = assertTokenSuccess(await exchange(stack.base, f));
        const both = await Promise.all([refresh(stack.base, f, t.refresh_token), refresh(stack.base, f, t.refresh_token)]);
        const ok = both.filter((r) => r.status === 200);
        const racing = both.filter((r) => r.status === 429);
        assert.equal(ok.length, 1, both.map((r) => r.text).join(' | '));
        assert.equal(racing.length, 1, both.map((r) => r.text).join(' | '));
        assertOAuthError(racing[0], 429, 'invalid_grant',
          'refresh token concurrent submit; the legitimate peer is rotating, retry after the new refresh lands',
          'refresh_concurrent_submit');
        assert.equal(racing[0].headers.get('retry-after'), '2');
        assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="refresh_concurrent_submit"'), c0 + 1);
        // The winner's refresh token still rotates: nothing was revoked.
        assertTokenSuccess(await refresh(stack.base, f, ok[0].json.refresh_token));
      } finally {
        await stack.stop();
      }
    });

    test('a code redeemed twice with its verifier: the same tokens, and the first redemption\'s refresh works', async () => {
      const stack = await stackWith({ redis });
      try {
        const f = await toCode(stack.base);
        const first = await exchange(stack.base, f);
        const t = assertTokenSuccess(first);
        const again = await exchange(stack.base, f);
        assert.equal(again.text, first.text);
        assertTokenSuccess(await refresh(stack.base, f, t.refresh_token));
      } finally {
        await stack.stop();
      }
    });
  });
}

describe('login() helper end to end', () => {
  test('the library\'s one-call flow yields working tokens', async () => {
    const stack = await stackWith();
    try {
      const r = await login(stack.base, { username: 'alice', password: 'alice-pw' });
      assert.equal(r.redirect.iss, stack.base);
      // RFC 9207: exactly the issuer of the AS metadata the client fetched.
      const meta = await request(`${stack.base}/.well-known/oauth-authorization-server`);
      assert.equal(meta.json.authorization_response_iss_parameter_supported, true);
      assert.equal(r.redirect.iss, meta.json.issuer);
      assertTokenSuccess(r.token);
      assertTokenSuccess(await tokenRequest(`${stack.base}/token`, {
        grant_type: 'refresh_token', refresh_token: r.tokens.refresh_token, client_id: r.client.client_id,
      }));

      // The MCP SDKs' shape: no state, an S256 challenge (OAuth 2.1 lets PKCE
      // carry the CSRF protection; STATE_REQUIRED defaults to false). The
      // redirect back carries code and iss, and no state at all.
      const before = await counter(stack, 'mcp_auth_access_denied_total', 'reason="state_missing"');
      const s = await login(stack.base, { username: 'alice', password: 'alice-pw', sendState: false });
      assert.deepEqual([...s.redirect.url.searchParams.keys()], ['code', 'iss']);
      assert.equal(s.redirect.iss, meta.json.issuer);
      assertTokenSuccess(s.token);
      assert.equal(await counter(stack, 'mcp_auth_access_denied_total', 'reason="state_missing"'), before);
    } finally {
      await stack.stop();
    }
  });
});
