// A second, independently written, OpenID-certified IdP: Glewlwyd (C,
// Debian's `glewlwyd` package, installed by scripts/install-deps.sh), set up
// by lib/glewlwyd.mjs in a temp dir on 127.0.0.1 and stopped by PID. Every
// other e2e file uses oidc-provider; this one runs the whole login, the
// refresh and the group checks through the real proxy against Glewlwyd, so
// what the proxy assumes of an IdP is not only what one library happens to do
// (issuer with a path, its own subject identifiers, its own JWKS and token
// endpoint answers).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGlewlwyd, loginThroughProxy, glewlwydAvailable } from './lib/glewlwyd.mjs';
import { startUpstream } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { request, refreshGrant } from './lib/oauth-client.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';

const IDP_CLIENT = 'mcp-auth-proxy';
const USERS = {
  alice: { password: 'alice-glewlwyd-pw', name: 'Alice Example', email: 'alice@example.com', groups: ['mcp-users', 'dev'] },
  carol: { password: 'carol-glewlwyd-pw', name: 'Carol Example', email: 'carol@example.com', groups: ['outsiders'] },
  // Keycloak-style path groups reach ALLOWED_GROUPS verbatim from this IdP too.
  paul: { password: 'paul-glewlwyd-pw', name: 'Paul Example', email: 'paul@example.com', groups: ['/team/mcp'] },
};

async function counter(metricsUrl, name, labels) {
  const r = await request(`${metricsUrl}/metrics`);
  const want = `${name}{${labels}}`;
  const line = r.text.split('\n').find((l) => l.startsWith(`${want} `));
  return line ? Number(line.slice(want.length + 1)) : 0;
}

describe('Glewlwyd as the IdP', () => {
  let glew;
  let upstream;
  let proxy;
  let base;

  before(async () => {
    // Never skipped: a missing package fails here, saying so.
    assert.ok(glewlwydAvailable(), 'glewlwyd is not installed: run scripts/install-deps.sh');
    const port = await getFreePort();
    base = `http://127.0.0.1:${port}`;
    const clientSecret = crypto.randomBytes(24).toString('hex');
    glew = await startGlewlwyd({
      client: { clientId: IDP_CLIENT, clientSecret, redirectUris: [`${base}/callback`] }, users: USERS,
    });
    upstream = await startUpstream();
    proxy = await startProxy({
      env: {
        LISTEN_ADDR: `127.0.0.1:${port}`, PROXY_BASE_URL: base, OIDC_ISSUER_URL: glew.issuer,
        OIDC_CLIENT_ID: IDP_CLIENT, OIDC_CLIENT_SECRET: clientSecret, UPSTREAM_MCP_URL: upstream.url,
        TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'), SHUTDOWN_TIMEOUT: '5s',
        PROD_MODE: 'false', REDIS_REQUIRED: 'false', ALLOWED_GROUPS: 'mcp-users,/team/mcp',
      },
    });
  });

  after(async () => {
    let first;
    for (const s of [proxy, upstream, glew]) {
      try { await s?.stop(); } catch (err) { first ??= err; }
    }
    if (first) throw first;
  });

  test('login, MCP call with the identity, refresh, and the refreshed token works', async () => {
    const f = await loginThroughProxy(base, { ...USERS.alice, username: 'alice', idpClientId: IDP_CLIENT });
    assert.ok(f.idp.callbackUrl?.startsWith(`${base}/callback?`), `glewlwyd did not send the user back: ${f.idp.last.status}`);
    assert.equal(new URL(glew.issuer).pathname, '/api/oidc', 'an issuer with a path');
    assert.equal(f.token?.status, 200, f.token?.text ?? f.callback?.response.text);
    const { access_token: at, refresh_token: rt } = f.tokens;
    assert.ok(at && rt);

    const conn = await connectMcp(`${base}/mcp`, { token: at });
    try {
      const who = JSON.parse(resultText(await conn.client.callTool({ name: 'whoami', arguments: {} })));
      // sub is Glewlwyd's own subject identifier, not the username.
      assert.match(who.sub, /^\S+$/);
      assert.notEqual(who.sub, '');
      assert.equal(who.email, 'alice@example.com');
      assert.equal(who.groups, 'mcp-users,dev');
    } finally {
      await conn.close();
    }

    const r = await refreshGrant(base, { refresh_token: rt, client_id: f.client.client_id });
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.json.refresh_token, rt, 'refresh tokens rotate');
    const again = await connectMcp(`${base}/mcp`, { token: r.json.access_token });
    try {
      const who = JSON.parse(resultText(await again.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.email, 'alice@example.com');
      assert.equal(who.groups, 'mcp-users,dev');
    } finally {
      await again.close();
    }
  });

  test('a user outside ALLOWED_GROUPS is refused at /callback with 403 access_denied', async () => {
    const before = await counter(proxy.metricsUrl, 'mcp_auth_access_denied_total', 'reason="group"');
    const f = await loginThroughProxy(base, { ...USERS.carol, username: 'carol', idpClientId: IDP_CLIENT });
    assert.ok(f.callback, 'glewlwyd did not send carol back');
    const r = f.callback.response;
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json?.error, 'access_denied');
    assert.equal(r.json.error_description, 'user not in any allowed group');
    assert.equal(f.tokens, null);
    assert.equal(await counter(proxy.metricsUrl, 'mcp_auth_access_denied_total', 'reason="group"'), before + 1);
    await proxy.waitForLog(/"msg":"access_denied_group".*"user_groups":\["outsiders"\]/);
  });

  test('a path-shaped group (/team/mcp) matches ALLOWED_GROUPS exactly', async () => {
    const f = await loginThroughProxy(base, { ...USERS.paul, username: 'paul', idpClientId: IDP_CLIENT });
    assert.equal(f.token?.status, 200, f.token?.text ?? f.callback?.response.text);
    const conn = await connectMcp(`${base}/mcp`, { token: f.tokens.access_token });
    try {
      const who = JSON.parse(resultText(await conn.client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(who.groups, '/team/mcp');
    } finally {
      await conn.close();
    }
  });

  test('a wrong password never reaches the proxy', async () => {
    const f = await loginThroughProxy(base, { username: 'alice', password: 'not-the-password', idpClientId: IDP_CLIENT });
    assert.equal(f.idp.callbackUrl, null);
    assert.equal(f.idp.last.status, 401);
  });
});
