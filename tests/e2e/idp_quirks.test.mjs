// The IdP-quirk matrix (docs/idps.md): the real proxy against oidc-provider
// playing what Microsoft Entra ID, Keycloak, Okta/Auth0 and Google put in
// their discovery and id_tokens (profiles in peers/idp-quirks.mjs). One
// stack per profile, each with the settings docs/idps.md gives for it; the
// login is the whole browserless flow (DCR, consent, IdP form, /callback,
// /token) and the identity is read back from the MCP upstream's whoami.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import {
  CookieJar, request, register, pkcePair, randomState, authorizeUrl, parseConsentPage, submitConsent,
  parseInterstitial, idpLogin, login,
} from './lib/oauth-client.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';
import {
  PROFILES, ENTRA_TENANT, ENTRA_GROUP_MCP, ENTRA_GROUP_OTHER, OKTA_GROUPS_CLAIM,
} from './peers/idp-quirks.mjs';

const REDIRECT = 'http://127.0.0.1:9/cb';

function stackFor(profile, proxyEnv) {
  const p = PROFILES[profile];
  return startStack({ proxyEnv, idp: { issuerPath: p.issuerPath || undefined, extraUsers: p.users } });
}

async function whoami(base, accessToken) {
  const conn = await connectMcp(`${base}/mcp`, { token: accessToken });
  try {
    return JSON.parse(resultText(await conn.client.callTool({ name: 'whoami', arguments: {} })));
  } finally {
    await conn.close();
  }
}

// The flow up to the proxy's answer at /callback (a denial answers there).
async function callbackAnswer(base, username, password) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [REDIRECT], client_name: 'quirks' });
  assert.equal(reg.status, 201, reg.text);
  const pkce = pkcePair();
  const authz = await request(authorizeUrl(base, {
    client_id: reg.json.client_id, redirect_uri: REDIRECT, state: randomState(), code_challenge: pkce.challenge,
  }), { jar });
  assert.equal(authz.status, 200, authz.text);
  const consent = parseConsentPage(authz.text);
  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  const { target } = parseInterstitial(post.text);
  const idp = await idpLogin(target, { username, password, jar });
  assert.ok(idp.callbackUrl?.startsWith(`${base}/callback?`), `IdP did not redirect: ${idp.last.status}`);
  return request(idp.callbackUrl, { jar });
}

async function counter(stack, labels) {
  const r = await request(`${stack.proxy.metricsUrl}/metrics`);
  const want = `mcp_auth_access_denied_total{${labels}}`;
  const line = r.text.split('\n').find((l) => l.startsWith(`${want} `));
  return line ? Number(line.slice(want.length + 1)) : 0;
}

function assertDenied(r, description, errorCode) {
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json?.error, 'access_denied', r.text);
  assert.equal(r.json.error_description, description);
  assert.equal(r.json.error_code, errorCode);
}

describe('Microsoft Entra ID', () => {
  let stack;
  before(async () => {
    stack = await stackFor('entra', { EMAIL_CLAIM: 'preferred_username', ALLOWED_GROUPS: ENTRA_GROUP_MCP });
  });
  after(async () => { await stack?.stop(); });

  test('tenant-path issuer, preferred_username as the email, GUID groups, and no `resource` ever sent upstream', async () => {
    assert.equal(new URL(stack.idp.issuer).pathname, `/${ENTRA_TENANT}/v2.0`);
    const d = await stack.idp.discovery();
    assert.equal(d.issuer, stack.idp.issuer);
    assert.ok(d.authorization_endpoint.startsWith(`${stack.idp.issuer}/`), d.authorization_endpoint);
    await stack.idp.reset();

    // The client names the resource (RFC 8707, as MCP clients must) at the
    // proxy's /authorize and /token; the proxy keeps it to itself.
    const resource = `${stack.base}/mcp`;
    const f = await login(stack.base, { username: 'ann', password: 'ann-pw', resource });
    const who = await whoami(stack.base, f.tokens.access_token);
    assert.equal(who.email, 'ann@contoso.example');
    assert.equal(who.groups, `${ENTRA_GROUP_MCP},${ENTRA_GROUP_OTHER}`);
    assert.equal(who.sub, 'ann');

    const seen = await stack.idp.requests();
    const auth = seen.filter((r) => r.path === '/auth');
    const token = seen.filter((r) => r.path === '/token');
    assert.equal(auth.length, 1, JSON.stringify(seen.map((r) => r.path)));
    assert.equal(token.length, 1);
    assert.equal(token[0].status, 200);
    assert.ok(!('resource' in auth[0].query), `resource sent to the IdP's authorize: ${JSON.stringify(auth[0].query)}`);
    assert.ok(!('resource' in token[0].form), `resource sent to the IdP's token endpoint: ${JSON.stringify(token[0].form)}`);
    assert.ok(!Object.values(auth[0].query).some((v) => String(v).includes(resource)));
  });

  test('groups overage with ALLOWED_GROUPS: refused with its own error, never passed with no groups', async () => {
    const before = await counter(stack, 'reason="groups_overage"');
    const r = await callbackAnswer(stack.base, 'olga', 'olga-pw');
    assertDenied(r, "the identity provider sent a reference to the user's groups instead of the groups "
      + '(groups overage); configure it to emit the groups in the id_token (docs/idps.md)', 'groups_overage');
    assert.equal(await counter(stack, 'reason="groups_overage"'), before + 1);
    await stack.proxy.waitForLog(/"msg":"access_denied_groups_overage".*"subject":"olga"/);
  });
});

describe('Microsoft Entra ID without group checks', () => {
  let stack;
  before(async () => { stack = await stackFor('entra', {}); });
  after(async () => { await stack?.stop(); });

  test('groups overage with no group rule: the login goes on with no groups and a warning', async () => {
    const f = await login(stack.base, { username: 'olga', password: 'olga-pw' });
    const who = await whoami(stack.base, f.tokens.access_token);
    assert.equal(who.groups ?? '', '');
    // EMAIL_CLAIM unset: Entra's token has no `email`, so none upstream.
    assert.equal(who.email ?? '', '');
    await stack.proxy.waitForLog(/"msg":"groups_claim_overage".*"subject":"olga"/);
  });
});

describe('Keycloak', () => {
  let stack;
  before(async () => { stack = await stackFor('keycloak', { ALLOWED_GROUPS: '/team/sub' }); });
  after(async () => { await stack?.stop(); });

  test('groups as full paths match ALLOWED_GROUPS whole; a prefix or the last segment does not', async () => {
    assert.equal(new URL(stack.idp.issuer).pathname, '/realms/mcp');
    const f = await login(stack.base, { username: 'kim', password: 'kim-pw' });
    const who = await whoami(stack.base, f.tokens.access_token);
    assert.equal(who.groups, '/team/sub,/team');
    assert.equal(who.email, 'kim@example.com');
    const r = await callbackAnswer(stack.base, 'kurt', 'kurt-pw');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error_description, 'user not in any allowed group');
  });
});

describe('Okta / Auth0', () => {
  let stack;
  before(async () => {
    stack = await stackFor('okta', { GROUPS_CLAIM: OKTA_GROUPS_CLAIM, ALLOWED_GROUPS: 'mcp-users' });
  });
  after(async () => { await stack?.stop(); });

  test('groups under a namespaced claim (GROUPS_CLAIM=https://example.com/groups)', async () => {
    const f = await login(stack.base, { username: 'oscar', password: 'oscar-pw' });
    const who = await whoami(stack.base, f.tokens.access_token);
    assert.equal(who.groups, 'mcp-users,Everyone');
    // `groups` is not read once GROUPS_CLAIM names another claim.
    const r = await callbackAnswer(stack.base, 'otto', 'otto-pw');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error_description, 'user not in any allowed group');
  });
});

describe('Google', () => {
  let stack;
  before(async () => { stack = await stackFor('google', { ALLOWED_HOSTED_DOMAINS: 'Example.COM' }); });
  after(async () => { await stack?.stop(); });

  test('issuer without path or trailing slash; hd in ALLOWED_HOSTED_DOMAINS signs in, others are refused', async () => {
    assert.equal(new URL(stack.idp.issuer).pathname, '/');
    assert.ok(!stack.idp.issuer.endsWith('/'));
    const f = await login(stack.base, { username: 'gina', password: 'gina-pw' });
    const who = await whoami(stack.base, f.tokens.access_token);
    assert.equal(who.email, 'gina@example.com');

    const before = await counter(stack, 'reason="hosted_domain"');
    for (const [user, hd] of [['pete', ''], ['hank', 'other.example']]) {
      const r = await callbackAnswer(stack.base, user, `${user}-pw`);
      assertDenied(r, 'hosted domain not allowed', 'hosted_domain_not_allowed');
      await stack.proxy.waitForLog(new RegExp(`"msg":"access_denied_hosted_domain".*"subject":"${user}".*"hd":"${hd}"`));
    }
    assert.equal(await counter(stack, 'reason="hosted_domain"'), before + 2);
  });
});
