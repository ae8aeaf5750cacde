// Nothing secret ever reaches the proxy's output (docs/threat-model.md,
// "Secret leakage in logs and output"). The proxy runs at LOG_LEVEL=debug
// -- the most it ever says -- through everything a deployment does: start-
// up, a full login (consent page, consent, IdP, callback), the code
// exchange, refresh rotation, a replayed code and refresh token, MCP calls
// with the real token and with refused ones, a failed client registration,
// and shutdown. Then every line it wrote, stdout and stderr, is searched
// for every credential that went by.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from './lib/peers.mjs';
import { login, exchangeCode, refreshGrant, register, request } from './lib/oauth-client.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';

const SIGNING_SECRET = crypto.randomBytes(32).toString('hex');
const PREVIOUS_SECRET = crypto.randomBytes(32).toString('hex');
const UPSTREAM_AUTH = `Bearer upstream-${crypto.randomBytes(16).toString('hex')}`;
const REDIS_PASSWORD = `redis-${crypto.randomBytes(12).toString('hex')}`;

let stack;
before(async () => {
  stack = await startStack({
    redis: { password: REDIS_PASSWORD },
    proxyEnv: {
      LOG_LEVEL: 'debug',
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      TOKEN_SIGNING_SECRETS_PREVIOUS: PREVIOUS_SECRET,
      UPSTREAM_AUTHORIZATION_HEADER: UPSTREAM_AUTH,
      // Short, so the replay below is reuse after the retry grace.
      REFRESH_RETRY_GRACE: '3s',
    },
  });
});
after(async () => { await stack?.stop(); });

test('a whole deployment\'s life at debug level writes no token, code, cookie or secret', async () => {
  const secrets = new Map(); // what -> value
  const keep = (what, value) => { if (value) secrets.set(what, String(value)); };
  keep('TOKEN_SIGNING_SECRET', SIGNING_SECRET);
  keep('TOKEN_SIGNING_SECRETS_PREVIOUS', PREVIOUS_SECRET);
  keep('OIDC_CLIENT_SECRET', stack.clientSecret);
  keep('UPSTREAM_AUTHORIZATION_HEADER', UPSTREAM_AUTH.slice('Bearer '.length));
  keep('the Redis password', REDIS_PASSWORD);

  // A full login, stopped before the exchange so the code can be replayed.
  const flow = await login(stack.base, { username: 'alice', password: 'alice-pw', exchange: false });
  keep('consent token', flow.consent.consentToken);
  const idpCallback = new URL(flow.idp.callbackUrl);
  keep('IdP code', idpCallback.searchParams.get('code'));
  keep('IdP state (sealed session)', idpCallback.searchParams.get('state'));
  keep('authorization code', flow.redirect.code);
  for (const c of flow.jar.cookies) keep(`cookie ${c.name}`, c.value);

  const exchange = () => exchangeCode(stack.base, {
    code: flow.redirect.code, redirect_uri: 'http://127.0.0.1:9/cb',
    client_id: flow.client.client_id, code_verifier: flow.pkce.verifier,
  });
  const tok = await exchange();
  assert.equal(tok.status, 200, tok.text);
  keep('access token', tok.json.access_token);
  keep('refresh token', tok.json.refresh_token);
  keep('PKCE verifier', flow.pkce.verifier);

  const rot = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: flow.client.client_id });
  assert.equal(rot.status, 200, rot.text);
  keep('rotated access token', rot.json.access_token);
  keep('rotated refresh token', rot.json.refresh_token);
  // A retry inside REFRESH_RETRY_GRACE: the same answer (and a log line).
  const again = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: flow.client.client_id });
  assert.equal(again.text, rot.text);

  // MCP calls: the real token, then refused ones (a wrong one is echoed
  // nowhere either).
  const mcp = await connectMcp(`${stack.base}/mcp`, { token: rot.json.access_token });
  assert.equal(resultText(await mcp.client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'x');
  await mcp.close();
  const forged = `${rot.json.access_token.slice(0, -4)}AAAA`;
  keep('a forged bearer token', forged);
  const refused = await request(`${stack.base}/mcp`, {
    method: 'POST', json: { jsonrpc: '2.0', id: 1, method: 'ping' },
    headers: { authorization: `Bearer ${forged}`, accept: 'application/json, text/event-stream' },
  });
  assert.equal(refused.status, 401);

  // The code again: a retry (logged, never with a token). Past
  // REFRESH_RETRY_GRACE, the first refresh token is reuse
  // (revokes the family), and the rotated one is refused.
  const retried = await exchange();
  assert.equal(retried.status, 200, retried.text);
  await new Promise((r) => { setTimeout(r, 3200); });
  const reuse = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: flow.client.client_id });
  assert.equal(reuse.status, 400, reuse.text);
  const revoked = await refreshGrant(stack.base, { refresh_token: rot.json.refresh_token, client_id: flow.client.client_id });
  assert.equal(revoked.status, 400, revoked.text);

  // A registration refused for its redirect URI (plain http off loopback), carrying a secret-looking query.
  const badReg = await register(stack.base, { redirect_uris: ['http://evil.example/cb?token=leak-me-please'] });
  assert.equal(badReg.status, 400, badReg.text);
  keep('a query value sent to /register', 'leak-me-please');

  await stack.stop();
  const out = stack.proxy.logLines().join('\n');
  stack = null;
  assert.ok(out.includes('"msg":"startup_config"') || out.includes('"msg":"listening"'), 'the proxy did log');
  const leaks = [];
  for (const [what, value] of secrets) {
    if (value.length >= 8 && out.includes(value)) leaks.push(what);
  }
  assert.deepEqual(leaks, [], `secrets found in the proxy's output: ${leaks.join(', ')}`);
  // And no Authorization or Cookie value in any shape.
  assert.doesNotMatch(out, /Bearer [A-Za-z0-9_-]{20,}/);
  assert.doesNotMatch(out, /mcp_(consent|callback)_[A-Za-z0-9_-]{8}=[A-Za-z0-9_-]{20,}/);
});
