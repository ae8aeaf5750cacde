// MCP_SCOPES_SUPPORTED (issue 11 item 7) against the built binary and a
// real OpenID Provider (oidc-provider): both metadata documents, the grant
// at /authorize through the consent page and the silent fork, the token
// response's `scope`, refresh narrowing (a superset is invalid_scope), the
// offline_access rule for refresh tokens, the mount's 401 `scope=`, and the
// default configuration unchanged. The rules are docs/conformance.md
// "Scopes".

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent,
  parseInterstitial, idpLogin, followCallback, parseRedirect, pkcePair, randomState,
  exchangeCode, refreshGrant,
} from './lib/oauth-client.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';
const WITH_OFFLINE = 'mcp:read mcp:write offline_access';

const stackWith = (proxyEnv = {}) => startStack({ proxyEnv: { RATE_LIMIT_ENABLED: 'false', ...proxyEnv } });

// Register, then GET /authorize with `scope` (undefined = none sent).
async function authorize(base, scope, jar) {
  const reg = await register(base, { redirect_uris: [REDIRECT], client_name: 'scopes e2e' });
  assert.equal(reg.status, 201, reg.text);
  const client = reg.json;
  const pkce = pkcePair();
  const state = randomState();
  const authz = await request(authorizeUrl(base, {
    client_id: client.client_id, redirect_uri: REDIRECT, state, code_challenge: pkce.challenge, scope,
  }), { jar });
  return { client, pkce, state, authz };
}

// The whole flow to the token response. consent=false: the stack runs the
// silent fork (RENDER_CONSENT_PAGE=false), so /authorize is a 302 to the IdP.
async function loginWithScope(base, scope, { consent = true } = {}) {
  const jar = new CookieJar();
  const { client, pkce, authz } = await authorize(base, scope, jar);
  let target;
  if (consent) {
    assert.equal(authz.status, 200, authz.location || authz.text);
    const page = parseConsentPage(authz.text);
    const post = await submitConsent({
      formAction: new URL(page.formAction, base).toString(), consentToken: page.consentToken, jar,
    });
    assert.equal(post.status, 200, post.text);
    target = parseInterstitial(post.text).target;
  } else {
    assert.equal(authz.status, 302, authz.text);
    target = authz.location;
  }
  const idp = await idpLogin(target, { username: 'alice', password: 'alice-pw', jar });
  assert.ok(idp.callbackUrl, `IdP did not redirect: ${idp.last.status}`);
  const cb = await followCallback(idp.callbackUrl, { jar });
  assert.equal(cb.response.status, 302, cb.response.text);
  assert.ok(cb.redirect.code, cb.response.location);
  const tok = await exchangeCode(base, {
    code: cb.redirect.code, redirect_uri: REDIRECT, client_id: client.client_id, code_verifier: pkce.verifier,
  });
  assert.equal(tok.status, 200, tok.text);
  return { client, tokens: tok.json };
}

describe('scopes with offline_access supported', () => {
  let stack;
  before(async () => { stack = await stackWith({ MCP_SCOPES_SUPPORTED: 'mcp:read,mcp:write offline_access' }); });
  after(() => stack?.stop());

  test('AS metadata lists every scope; neither PRM lists offline_access', async () => {
    const as = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.equal(as.status, 200);
    assert.deepEqual(as.json.scopes_supported, ['mcp:read', 'mcp:write', 'offline_access']);
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const prm = await request(`${stack.base}${path}`);
      assert.equal(prm.status, 200, path);
      assert.deepEqual(prm.json.scopes_supported, ['mcp:read', 'mcp:write'], path);
      assert.ok(!prm.text.includes('offline_access'), path);
    }
  });

  test('the 401 on the mount carries scope= without offline_access', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }]) {
      const r = await request(`${stack.base}/mcp`, { method: 'POST', json: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers });
      assert.equal(r.status, 401);
      const www = r.headers.get('www-authenticate');
      assert.match(www, /^Bearer /);
      assert.match(www, /, scope="mcp:read mcp:write"(,|$)/, www);
      assert.match(www, /resource_metadata="/, www);
      assert.ok(!www.includes('offline_access'), www);
    }
  });

  test('a subset is granted as asked; no offline_access means no refresh token', async () => {
    const { tokens } = await loginWithScope(stack.base, 'mcp:read');
    assert.equal(tokens.scope, 'mcp:read');
    assert.equal(tokens.refresh_token, undefined, JSON.stringify(Object.keys(tokens)));
    assert.equal(tokens.token_type, 'Bearer');
    // The token works on the mount.
    const r = await request(`${stack.base}/mcp`, {
      method: 'POST',
      json: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } } },
      headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json, text/event-stream' },
    });
    assert.notEqual(r.status, 401, r.text);
  });

  test('no scope asked: every supported scope but offline_access, and no refresh token', async () => {
    const { tokens } = await loginWithScope(stack.base, undefined);
    assert.equal(tokens.scope, 'mcp:read mcp:write');
    assert.equal(tokens.refresh_token, undefined);
  });

  test('unknown scopes are dropped; asking offline_access gets a refresh token', async () => {
    const { tokens } = await loginWithScope(stack.base, 'openid offline_access mcp:write');
    assert.equal(tokens.scope, 'mcp:write offline_access');
    assert.ok(tokens.refresh_token);
  });

  test('only unknown scopes: invalid_scope back to the client, with iss', async () => {
    const { state, authz } = await authorize(stack.base, 'openid profile', new CookieJar());
    assert.equal(authz.status, 302, authz.text);
    const back = parseRedirect(authz.location);
    assert.ok(authz.location.startsWith(REDIRECT), authz.location);
    assert.equal(back.error, 'invalid_scope');
    assert.equal(back.error_description, 'none of the requested scopes is supported');
    assert.equal(back.state, state);
    assert.equal(back.iss, stack.base);
  });

  test('a malformed scope is invalid_scope', async () => {
    const { authz } = await authorize(stack.base, 'mcp:read "x"', new CookieJar());
    assert.equal(authz.status, 302, authz.text);
    assert.equal(parseRedirect(authz.location).error, 'invalid_scope');
  });

  test('refresh keeps the scope, narrows on request, refuses a superset without spending the token', async () => {
    const { client, tokens } = await loginWithScope(stack.base, 'mcp:read offline_access');
    assert.equal(tokens.scope, 'mcp:read offline_access');
    // A superset: 400 invalid_scope, and the refresh token still works after.
    const wider = await refreshGrant(stack.base, {
      refresh_token: tokens.refresh_token, client_id: client.client_id, extra: { scope: 'mcp:read mcp:write offline_access' },
    });
    assert.equal(wider.status, 400, wider.text);
    assert.equal(wider.json.error, 'invalid_scope');
    const same = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.scope, 'mcp:read offline_access');
    assert.ok(same.json.refresh_token);
    // Narrowed to mcp:read: offline_access dropped, so no refresh token.
    const narrow = await refreshGrant(stack.base, {
      refresh_token: same.json.refresh_token, client_id: client.client_id, extra: { scope: 'mcp:read' },
    });
    assert.equal(narrow.status, 200, narrow.text);
    assert.equal(narrow.json.scope, 'mcp:read');
    assert.equal(narrow.json.refresh_token, undefined);
  });
});

describe('scopes without offline_access, silent fork', () => {
  let stack;
  before(async () => { stack = await stackWith({ MCP_SCOPES_SUPPORTED: 'mcp:read mcp:write', RENDER_CONSENT_PAGE: 'false' }); });
  after(() => stack?.stop());

  test('every grant gets a refresh token; the scope survives the silent fork and a refresh', async () => {
    const { client, tokens } = await loginWithScope(stack.base, 'mcp:write', { consent: false });
    assert.equal(tokens.scope, 'mcp:write');
    assert.ok(tokens.refresh_token);
    const r = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, 'mcp:write');
    assert.ok(r.json.refresh_token);
    const as = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.deepEqual(as.json.scopes_supported, ['mcp:read', 'mcp:write']);
  });
});

describe('scopes unset (default)', () => {
  let stack;
  before(async () => { stack = await stackWith(); });
  after(() => stack?.stop());

  test('no scopes advertised, none granted, scope ignored, refresh token as before, bare challenge', async () => {
    const as = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.deepEqual(as.json.scopes_supported, []);
    const prm = await request(`${stack.base}/.well-known/oauth-protected-resource/mcp`);
    assert.deepEqual(prm.json.scopes_supported, []);
    const { client, tokens } = await loginWithScope(stack.base, 'openid "junk"');
    assert.equal(tokens.scope, undefined);
    assert.ok(tokens.refresh_token);
    const r = await refreshGrant(stack.base, {
      refresh_token: tokens.refresh_token, client_id: client.client_id, extra: { scope: 'anything' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, undefined);
    const unauth = await request(`${stack.base}/mcp`, { method: 'POST', json: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    assert.equal(unauth.status, 401);
    assert.ok(!unauth.headers.get('www-authenticate').includes('scope='));
  });
});
