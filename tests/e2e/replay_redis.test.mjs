// The replay store shared through Redis (SPEC.md 5): two proxy replicas on
// different ports, one redis-server, one secret and one PROXY_BASE_URL, as a
// load balancer would run them. Whatever one replica has consumed (a code, a
// refresh token, a consent, a callback state) the other refuses. Then the
// faults: Redis stopped under a running proxy (fail closed at /token,
// /readyz 503, bearer traffic unaffected) and Redis back on the same port
// (the proxy reconnects by itself).
//
// Retries (docs/internals/rotation.md): a refresh token sent again within
// REFRESH_RETRY_GRACE, or a code redeemed again with the same verifier, gets
// the same tokens byte for byte from either replica; reuse after the grace
// revokes the family. The same holds for the in-process store of a single
// replica, and across a Redis stall (SIGSTOP) that turned the first answer
// into a 503 after the claim had run.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startRedis } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import {
  CookieJar, request, register, authorizeUrl, parseConsentPage, submitConsent,
  parseInterstitial, idpLogin, pkcePair, randomState, exchangeCode, refreshGrant,
} from './lib/oauth-client.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const REDIRECT = 'http://127.0.0.1:9/cb';

// The same request on replica B: same path and query, B's origin.
const onReplica = (url, replica) => {
  const u = new URL(url);
  return `${replica.url}${u.pathname}${u.search}`;
};

async function counter(metricsUrl, name, labels = '') {
  const r = await request(`${metricsUrl}/metrics`);
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of r.text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return 0;
}

function assertOAuthError(r, status, error, description, errorCode) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error, error, r.text);
  if (description !== undefined) assert.equal(r.json.error_description, description, r.text);
  assert.equal(r.json.error_code, errorCode, r.text);
}

// Register and authorize on `base` (replica A), returning the consent form.
async function toConsent(base) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [REDIRECT], client_name: 'replicas' });
  assert.equal(reg.status, 201, reg.text);
  const pkce = pkcePair();
  const state = randomState();
  const authz = await request(authorizeUrl(base, {
    client_id: reg.json.client_id, redirect_uri: REDIRECT, state, code_challenge: pkce.challenge,
  }), { jar });
  assert.equal(authz.status, 200, authz.text);
  const consent = parseConsentPage(authz.text);
  return { jar, client: reg.json, pkce, state, consent, formAction: new URL(consent.formAction, base).toString() };
}

async function toCallback(base) {
  const c = await toConsent(base);
  const post = await submitConsent({ formAction: c.formAction, consentToken: c.consent.consentToken, jar: c.jar });
  assert.equal(post.status, 200, post.text);
  const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar: c.jar });
  assert.ok(idp.callbackUrl);
  return { ...c, callbackUrl: idp.callbackUrl };
}

async function toCode(base) {
  const f = await toCallback(base);
  const r = await request(f.callbackUrl, { jar: f.jar });
  assert.equal(r.status, 302, r.text);
  return { ...f, code: new URL(r.location).searchParams.get('code') };
}

const exchangeAt = (origin, f) => exchangeCode(origin, {
  code: f.code, redirect_uri: REDIRECT, client_id: f.client.client_id, code_verifier: f.pkce.verifier,
});
const refreshAt = (origin, f, rt) => refreshGrant(origin, { refresh_token: rt, client_id: f.client.client_id });

async function waitStatus(url, status, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { last = (await request(url, { timeoutMs: 2000 })).status; } catch { last = 'error'; }
    if (last === status) return Date.now();
    await sleep(50);
  }
  assert.fail(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

describe('two replicas, one Redis', () => {
  let stack;
  let b;
  before(async () => {
    // A 12 s retry grace: long enough for the "again 10 s later" retry,
    // short enough to wait out in the reuse test.
    stack = await startStack({ redis: true, proxyEnv: { REFRESH_RACE_GRACE_SEC: '1', REFRESH_RETRY_GRACE: '12s', RATE_LIMIT_ENABLED: 'false' } });
    b = await startProxy({
      env: {
        ...stack.proxy.env,
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
    assert.equal(b.env.PROXY_BASE_URL, stack.base);
  });
  after(async () => {
    await b?.stop();
    await stack?.stop();
  });

  test('a code redeemed on A and again on B with the same verifier gets the same tokens', async () => {
    const r0 = await counter(b.metricsUrl, 'mcp_auth_replay_detected_total', 'kind="code"');
    const f = await toCode(stack.base);
    const t = await exchangeAt(stack.base, f);
    assert.equal(t.status, 200, t.text);
    const again = await exchangeAt(b.url, f);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, t.text, 'byte-identical token response');
    await b.waitForLog(/"msg":"authorization_code_retry"/);
    assert.equal(await counter(b.metricsUrl, 'mcp_auth_replay_detected_total', 'kind="code"'), r0);
    // Another verifier is refused and gets nothing; the family lives.
    const wrong = await exchangeCode(b.url, {
      code: f.code, redirect_uri: REDIRECT, client_id: f.client.client_id, code_verifier: pkcePair().verifier,
    });
    assertOAuthError(wrong, 400, 'invalid_grant', 'PKCE verification failed', undefined);
    // So does another client with the right verifier.
    const other = await register(stack.base, { redirect_uris: [REDIRECT], client_name: 'other' });
    const foreign = await exchangeCode(b.url, {
      code: f.code, redirect_uri: REDIRECT, client_id: other.json.client_id, code_verifier: f.pkce.verifier,
    });
    assertOAuthError(foreign, 400, 'invalid_grant', 'client_id mismatch', undefined);
    const r = await refreshAt(stack.base, f, t.json.refresh_token);
    assert.equal(r.status, 200, r.text);
  });

  test('the same refresh token on A and B at once, and again 10 s later: the same tokens, the family lives', async () => {
    const f = await toCode(stack.base);
    const t = (await exchangeAt(stack.base, f)).json;
    const n0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_token_retries_total', 'grant_type="refresh_token"')
      + await counter(b.metricsUrl, 'mcp_auth_token_retries_total', 'grant_type="refresh_token"');
    const [ra, rb] = await Promise.all([refreshAt(stack.base, f, t.refresh_token), refreshAt(b.url, f, t.refresh_token)]);
    assert.equal(ra.status, 200, ra.text);
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.text, ra.text, 'byte-identical token response on both replicas');
    await sleep(10000);
    const later = await refreshAt(b.url, f, t.refresh_token);
    assert.equal(later.status, 200, later.text);
    assert.equal(later.text, ra.text, 'the same tokens 10 s later');
    const n1 = await counter(stack.proxy.metricsUrl, 'mcp_auth_token_retries_total', 'grant_type="refresh_token"')
      + await counter(b.metricsUrl, 'mcp_auth_token_retries_total', 'grant_type="refresh_token"');
    assert.equal(n1, n0 + 2, 'one of the pair and the later one were retries');
    // The successor works: nothing was revoked.
    const next = await refreshAt(stack.base, f, ra.json.refresh_token);
    assert.equal(next.status, 200, next.text);
    assert.notEqual(next.json.refresh_token, ra.json.refresh_token);
    const mcp = await request(`${stack.base}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${later.json.access_token}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } } }),
    });
    assert.notEqual(mcp.status, 401, mcp.text.slice(0, 200));
  });

  test('a refresh rotated on A and replayed on B after the retry grace revokes the family', async () => {
    const f = await toCode(stack.base);
    const t = (await exchangeAt(stack.base, f)).json;
    const r1 = await refreshAt(stack.base, f, t.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    await sleep(12500); // past REFRESH_RETRY_GRACE=12s
    assertOAuthError(await refreshAt(b.url, f, t.refresh_token), 400, 'invalid_grant', 'refresh token reuse detected  family revoked', 'refresh_reuse_detected');
    assertOAuthError(await refreshAt(stack.base, f, r1.json.refresh_token), 400, 'invalid_grant', 'refresh token revoked', 'refresh_family_revoked');
  });

  test('a consent submitted on A is a replay on B (re-rendered, not an error)', async () => {
    const c = await toConsent(stack.base);
    // A double submit: the second POST carries the consent cookie that the
    // first one's answer clears.
    const twin = c.jar.clone();
    const first = await submitConsent({ formAction: c.formAction, consentToken: c.consent.consentToken, jar: c.jar });
    assert.equal(first.status, 200);
    assert.ok(parseInterstitial(first.text).target);
    const r0 = await counter(b.metricsUrl, 'mcp_auth_replay_detected_total', 'kind="consent"');
    const again = await submitConsent({ formAction: onReplica(c.formAction, b), consentToken: c.consent.consentToken, jar: twin });
    assert.equal(again.status, 200, again.text);
    const page = parseConsentPage(again.text);
    assert.ok(page.consentToken, 'a fresh consent page');
    assert.notEqual(page.consentToken, c.consent.consentToken);
    assert.equal(parseInterstitial(again.text).target ?? null, null, 'no second trip to the IdP');
    assert.equal(await counter(b.metricsUrl, 'mcp_auth_replay_detected_total', 'kind="consent"'), r0 + 1);
  });

  test('a callback used on A is a replay on B', async () => {
    const f = await toCallback(stack.base);
    const twin = f.jar.clone(); // the same browser, before A's answer cleared its cookie
    assert.equal((await request(f.callbackUrl, { jar: f.jar })).status, 302);
    assertOAuthError(await request(onReplica(f.callbackUrl, b), { jar: twin }), 400, 'invalid_request', 'callback state already used', 'callback_state_replay');
  });
});

describe('Redis goes away and comes back', () => {
  test('fail closed while down, /readyz 503, bearer traffic unaffected, reconnect by itself', async () => {
    const stack = await startStack({ redis: true });
    let redis = stack.redis;
    let redisStopped = false;
    try {
      const ready = `${stack.proxy.metricsUrl}/readyz`;
      assert.equal((await request(ready)).status, 200);
      const f = await toCode(stack.base);
      const t = (await exchangeAt(stack.base, f)).json;
      assert.ok(t.access_token);
      const g = await toCode(stack.base);           // redeemed while Redis is down
      const h = await toCallback(stack.base);       // followed while Redis is down

      const u0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_access_denied_total', 'reason="replay_store_unavailable"');
      await redis.stop();
      redisStopped = true;
      const stoppedAt = Date.now();
      const readyAt = await waitStatus(ready, 503, 5000);
      assert.ok(readyAt - stoppedAt < 2000, `/readyz took ${readyAt - stoppedAt} ms to notice`);

      assertOAuthError(await exchangeAt(stack.base, g), 503, 'server_error', 'replay store unavailable', 'replay_store_unavailable');
      assertOAuthError(await refreshAt(stack.base, f, t.refresh_token), 503, 'server_error', 'replay store unavailable', 'replay_store_unavailable');
      assertOAuthError(await request(h.callbackUrl, { jar: h.jar }), 503, 'server_error', 'replay store unavailable', 'replay_store_unavailable');
      assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_access_denied_total', 'reason="replay_store_unavailable"'), u0 + 3);
      await stack.proxy.waitForLog(/"msg":"replay_store_error".*"op":"claim_authz_code"/);
      await stack.proxy.waitForLog(/"msg":"replay_store_error".*"op":"claim_refresh_family"/);
      await stack.proxy.waitForLog(/"msg":"replay_store_error".*"op":"claim_callback_state"/);

      // Bearer validation never touches the store (SPEC.md 5.4): whatever the
      // mount answers, it is not a store failure nor an auth refusal.
      const mcp = await request(`${stack.base}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.access_token}`,
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          jsonrpc: '2.0', id: 1, method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } },
        }),
      });
      assert.ok(![401, 503].includes(mcp.status), `mount answered ${mcp.status} ${mcp.text.slice(0, 200)}`);
      // Where the MCP mount is served (an anonymous request is challenged
      // with 401), the authenticated one reaches the upstream.
      if ((await request(`${stack.base}/mcp`)).status === 401) {
        assert.equal(mcp.status, 200, mcp.text.slice(0, 200));
      }

      redis = await startRedis({ port: stack.redis.port });
      redisStopped = false;
      await waitStatus(ready, 200, 15000);
      // Nothing was claimed while down: the same code and refresh work now.
      assert.equal((await exchangeAt(stack.base, g)).status, 200);
      assert.equal((await refreshAt(stack.base, f, t.refresh_token)).status, 200);
      assert.equal((await request(h.callbackUrl, { jar: h.jar })).status, 302);
    } finally {
      // Everything is stopped even if one stop fails; the first failure wins.
      let first;
      const stops = [() => stack.proxy.stop(), () => stack.idp.stop(), () => stack.upstream.stop()];
      if (!redisStopped) stops.push(() => redis.stop());
      for (const s of stops) {
        try { await s(); } catch (err) { first ??= err; }
      }
      if (first) throw first;
    }
  });
});

describe('one replica, the in-process store', () => {
  let stack;
  before(async () => {
    stack = await startStack({ proxyEnv: { REFRESH_RETRY_GRACE: '3s', RATE_LIMIT_ENABLED: 'false' } });
  });
  after(async () => { await stack?.stop(); });

  test('retries get the same tokens; reuse after the grace revokes', async () => {
    const f = await toCode(stack.base);
    const [c1, c2] = await Promise.all([exchangeAt(stack.base, f), exchangeAt(stack.base, f)]);
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c2.text, c1.text);
    const t = c1.json;
    const [r1, r2] = await Promise.all([refreshAt(stack.base, f, t.refresh_token), refreshAt(stack.base, f, t.refresh_token)]);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r2.text, r1.text);
    const again = await refreshAt(stack.base, f, t.refresh_token);
    assert.equal(again.text, r1.text);
    await sleep(3300); // past REFRESH_RETRY_GRACE=3s
    assertOAuthError(await refreshAt(stack.base, f, t.refresh_token), 400, 'invalid_grant', undefined, 'refresh_reuse_detected');
    assertOAuthError(await refreshAt(stack.base, f, r1.json.refresh_token), 400, 'invalid_grant', 'refresh token revoked', 'refresh_family_revoked');
  });
});

// A stalled Redis (SIGSTOP: the only way to make a real redis-server hold a
// command without answering) turns /token into a 503 after the proxy's
// command timeout, yet Redis runs the queued claim once it resumes. The
// client's retry must get tokens, not a replay verdict.
describe('Redis stalls during /token', () => {
  let stack;
  before(async () => {
    // One worker: each worker has its own Redis connection, and a worker
    // still reconnecting after the previous stall answers 503 at once
    // without sending the claim, so the stall would not be tested (CI saw
    // exactly that under ASan). With one, /readyz speaks for the connection
    // every request uses.
    stack = await startStack({ redis: true, proxyEnv: { RATE_LIMIT_ENABLED: 'false', WORKERS: '1' } });
  });
  after(async () => {
    try { process.kill(stack?.redis?.proc?.pid, 'SIGCONT'); } catch { /* not stopped */ }
    await stack?.stop();
  });

  // A client's retry loop: each worker has its own Redis connection, and
  // one may still be reconnecting after /readyz (another's) says ready.
  async function retryWhile503(fn) {
    const end = Date.now() + 15000;
    for (;;) {
      const r = await fn();
      if (r.status !== 503 || Date.now() > end) return r;
      await sleep(200);
    }
  }

  async function stalled(fn) {
    const pid = stack.redis.proc.pid;
    assert.ok(pid, 'redis-server pid');
    process.kill(pid, 'SIGSTOP');
    let r;
    try {
      r = await fn();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitStatus(`${stack.proxy.metricsUrl}/readyz`, 200, 15000);
    return r;
  }

  test('a code redeemed during the stall: 503, then the retry gets tokens', async () => {
    const f = await toCode(stack.base);
    const first = await stalled(() => exchangeAt(stack.base, f));
    assertOAuthError(first, 503, 'server_error', 'replay store unavailable', 'replay_store_unavailable');
    const retry = await retryWhile503(() => exchangeAt(stack.base, f));
    assert.equal(retry.status, 200, retry.text);
    // The claim had run: this answer came from the retry path.
    await stack.proxy.waitForLog(/"msg":"authorization_code_retry"/);
    const r = await retryWhile503(() => refreshAt(stack.base, f, retry.json.refresh_token));
    assert.equal(r.status, 200, r.text);
  });

  test('a refresh during the stall: 503, then the retry gets tokens and the family lives', async () => {
    const f = await toCode(stack.base);
    const t = (await retryWhile503(() => exchangeAt(stack.base, f))).json;
    const first = await stalled(() => refreshAt(stack.base, f, t.refresh_token));
    assertOAuthError(first, 503, 'server_error', 'replay store unavailable', 'replay_store_unavailable');
    const retry = await retryWhile503(() => refreshAt(stack.base, f, t.refresh_token));
    assert.equal(retry.status, 200, retry.text);
    await stack.proxy.waitForLog(/"msg":"refresh_token_retry"/);
    const next = await retryWhile503(() => refreshAt(stack.base, f, retry.json.refresh_token));
    assert.equal(next.status, 200, next.text);
  });
});
