// RFC 7009 POST /revoke and the `revoke` command (issue 14), against real
// peers: two proxy replicas sharing one redis-server (as a load balancer
// would run them), oidc-provider as the IdP, the MCP SDK's example server
// upstream. A revocation on one replica must be refused on the other by
// the revoked set it keeps (pub/sub), without a round trip per request.
//
// MCP_AUTH_PROXY_BIN selects the binary (default ../../build/src/mcp-auth-proxy).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mcpStatus, waitMcp } from './lib/mcp-probe.mjs';
import { startStack } from './lib/peers.mjs';
import { startProxy, runToExit, proxyBinary } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { request, login, exchangeCode, refreshGrant, register } from './lib/oauth-client.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

async function counter(metricsUrl, name, labels = '') {
  const r = await request(`${metricsUrl}/metrics`);
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of r.text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return 0;
}

const revoke = (origin, fields, headers = {}) =>
  request(`${origin}/revoke`, { method: 'POST', form: fields, headers });

describe('POST /revoke and `revoke` across two replicas sharing Redis', () => {
  let stack;
  let b;
  before(async () => {
    stack = await startStack({ redis: true, proxyEnv: { RATE_LIMIT_ENABLED: 'false' } });
    b = await startProxy({
      env: {
        ...stack.proxy.env,
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
  });
  after(async () => {
    await b?.stop();
    await stack?.stop();
  });

  const alice = () => login(stack.base, { username: 'alice', password: 'alice-pw' });

  test('AS metadata advertises the revocation endpoint and how clients authenticate there', async () => {
    const r = await request(`${stack.base}/.well-known/oauth-authorization-server`);
    assert.equal(r.json.revocation_endpoint, `${stack.base}/revoke`);
    assert.deepEqual(r.json.revocation_endpoint_auth_methods_supported,
      r.json.token_endpoint_auth_methods_supported);
  });

  test('revoking a refresh token on A: refresh refused, the family access token refused on A and B', async () => {
    const s = await alice();
    const { access_token: at, refresh_token: rt } = s.tokens;
    assert.equal(await mcpStatus(stack.base, at), 200);
    assert.equal(await mcpStatus(b.url, at), 200);
    const n0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="revoked_family"');
    const r = await revoke(stack.base, { token: rt, token_type_hint: 'refresh_token', client_id: s.client.client_id });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="revoked_family"'), n0 + 1);
    assert.equal(await mcpStatus(stack.base, at), 401);
    await waitMcp(b.url, at, 401);
    const ref = await refreshGrant(b.url, { refresh_token: rt, client_id: s.client.client_id });
    assert.equal(ref.status, 400, ref.text);
    assert.equal(ref.json.error, 'invalid_grant');
    await stack.proxy.waitForLog(/"msg":"token_revoked"/);
    assert.ok(!stack.proxy.logLines().join('\n').includes(rt), 'the token is never logged');
  });

  test('revoking an access token (with a wrong hint) revokes its family', async () => {
    const s = await alice();
    const { access_token: at, refresh_token: rt } = s.tokens;
    const r = await revoke(b.url, { token: at, token_type_hint: 'refresh_token', client_id: s.client.client_id });
    assert.equal(r.status, 200, r.text);
    assert.equal(await mcpStatus(b.url, at), 401);
    await waitMcp(stack.base, at, 401);
    const ref = await refreshGrant(stack.base, { refresh_token: rt, client_id: s.client.client_id });
    assert.equal(ref.status, 400, ref.text);
  });

  test('unknown, garbage and unsupported-hint tokens: 200, nothing revoked', async () => {
    const s = await alice();
    const n0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="unknown_token"');
    for (const token of ['garbage', 'v1.' + 'A'.repeat(80), s.redirect.code]) {
      const r = await revoke(stack.base, { token, token_type_hint: 'id_token', client_id: s.client.client_id });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="unknown_token"'), n0 + 3);
    assert.equal(await mcpStatus(stack.base, s.tokens.access_token), 200);
    const missing = await revoke(stack.base, { client_id: s.client.client_id });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error, 'invalid_request');
  });

  test("another public client's token: 200 and nothing revoked", async () => {
    const s = await alice();
    const other = await register(stack.base, { redirect_uris: ['http://127.0.0.1:9/cb'], client_name: 'other' });
    assert.equal(other.status, 201);
    const n0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="client_mismatch"');
    const r = await revoke(stack.base, { token: s.tokens.refresh_token, client_id: other.json.client_id });
    assert.equal(r.status, 200, r.text);
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="client_mismatch"'), n0 + 1);
    assert.equal(await mcpStatus(stack.base, s.tokens.access_token), 200);
    const ref = await refreshGrant(stack.base, { refresh_token: s.tokens.refresh_token, client_id: s.client.client_id });
    assert.equal(ref.status, 200, ref.text);
  });

  test('failed client authentication is 401 invalid_client, as at /token, and revokes nothing', async () => {
    const s = await alice();
    const basic = await revoke(stack.base, { token: s.tokens.refresh_token, client_id: s.client.client_id },
      { authorization: `Basic ${Buffer.from(`${s.client.client_id}:wrong-secret`).toString('base64')}` });
    assert.equal(basic.status, 401, basic.text);
    assert.equal(basic.json.error, 'invalid_client');
    assert.match(basic.headers.get('www-authenticate'), /^Basic realm="revoke"/);
    const assertion = await revoke(stack.base, {
      token: s.tokens.refresh_token, client_id: s.client.client_id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'not.a.jwt',
    });
    assert.equal(assertion.status, 401, assertion.text);
    assert.equal(assertion.json.error, 'invalid_client');
    const unknown = await revoke(stack.base, { token: s.tokens.refresh_token, client_id: 'no-such-client' });
    assert.equal(unknown.status, 401, unknown.text);
    assert.equal(unknown.json.error, 'invalid_client');
    assert.equal(await mcpStatus(stack.base, s.tokens.access_token), 200);
  });

  test('a replayed authorization code revokes the access token the first exchange got', async () => {
    // A replay needs a code whose verifier the proxy holds (PKCE_REQUIRED=
    // false, server-side PKCE): with the client's own verifier a second
    // redemption is a retry (docs/internals/rotation.md). So a third
    // replica, C, sharing the same Redis and secret, authorizes without a
    // client challenge; C redeems and sees the replay, A must refuse too.
    const c = await startProxy({
      env: {
        ...stack.proxy.env,
        PKCE_REQUIRED: 'false',
        PROD_MODE: 'false',
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
    try {
      const s = await login(c.url, { username: 'alice', password: 'alice-pw', exchange: false, usePkce: false });
      const fields = { code: s.redirect.code, redirect_uri: 'http://127.0.0.1:9/cb', client_id: s.client.client_id };
      const first = await exchangeCode(c.url, fields);
      assert.equal(first.status, 200, first.text);
      const at = first.json.access_token;
      assert.equal(await mcpStatus(stack.base, at), 200);
      assert.equal(await mcpStatus(c.url, at), 200);
      const replay = await exchangeCode(c.url, fields);
      assert.equal(replay.status, 400, replay.text);
      assert.equal(replay.json.error_code, 'code_replay');
      assert.equal(await mcpStatus(c.url, at), 401);
      await waitMcp(stack.base, at, 401);
      await waitMcp(b.url, at, 401);
      const ref = await refreshGrant(stack.base, { refresh_token: first.json.refresh_token, client_id: s.client.client_id });
      assert.equal(ref.status, 400, ref.text);
    } finally {
      await c.stop();
    }
  });

  test('`revoke --subject` logs the user out on both replicas; a new login works', async () => {
    const s1 = await alice();
    const s2 = await alice();
    for (const s of [s1, s2]) {
      assert.equal(await mcpStatus(stack.base, s.tokens.access_token), 200);
      assert.equal(await mcpStatus(b.url, s.tokens.access_token), 200);
    }
    const r = await runToExit({
      command: proxyBinary(), args: ['revoke', '--subject', 'alice'],
      env: stack.proxy.env, timeoutMs: 20000, name: 'revoke-cli',
    });
    assert.equal(r.code, 0, `${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stdout, /^revoked subject alice at \d+/);
    for (const s of [s1, s2]) {
      await waitMcp(stack.base, s.tokens.access_token, 401);
      await waitMcp(b.url, s.tokens.access_token, 401);
      const ref = await refreshGrant(b.url, { refresh_token: s.tokens.refresh_token, client_id: s.client.client_id });
      assert.equal(ref.status, 400, ref.text);
    }
    // Token times are whole seconds: a login in the same second as the
    // revocation reads as issued before it.
    await sleep(1100);
    const again = await alice();
    assert.equal(await mcpStatus(stack.base, again.tokens.access_token), 200);
    assert.equal(await mcpStatus(b.url, again.tokens.access_token), 200);
  });
});

// RFC 7009 2.2.1: the server may answer 503 when it cannot revoke now.
// With Redis stopped the revocation cannot reach the other replicas, so
// /revoke must say so (503 replay_store_unavailable) rather than 200, and
// the `revoke` command exits 1 with a sentence; the replica that took the
// request still refuses the family at once (its own set is written first).
describe('POST /revoke and `revoke` with Redis down', () => {
  let stack;
  before(async () => {
    stack = await startStack({ redis: true, proxyEnv: { RATE_LIMIT_ENABLED: 'false' } });
  });
  after(async () => { await stack?.stop(); });

  test('503 replay_store_unavailable, counted and logged; this replica refuses the family; the CLI exits 1', async () => {
    const s = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    const { access_token: at, refresh_token: rt } = s.tokens;
    assert.equal(await mcpStatus(stack.base, at), 200);
    await stack.redis.stop();
    const n0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="store_unavailable"');
    const r = await revoke(stack.base, { token: rt, client_id: s.client.client_id });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error, 'server_error'); // as /token answers it (SPEC.md 5.4)
    assert.equal(r.json.error_code, 'replay_store_unavailable');
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_revoke_total', 'outcome="store_unavailable"'), n0 + 1);
    await stack.proxy.waitForLog(/"msg":"token_revoke_failed"/);
    assert.equal(await mcpStatus(stack.base, at), 401);
    const cli = await runToExit({
      command: proxyBinary(), args: ['revoke', '--family', 'fam-redis-down'],
      env: stack.proxy.env, timeoutMs: 20000, name: 'revoke-cli',
    });
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /redis/i);
    assert.ok(!stack.proxy.logLines().join('\n').includes(rt), 'the token is never logged');
  });
});
