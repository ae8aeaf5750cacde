// Fleet-wide rate limits (issue 14): RATE_LIMIT_STORE=redis shares the
// per-endpoint budgets of two proxy replicas through one real redis-server.
// /token is keyed by client address AND the form's client_id, so two
// clients behind one address have separate budgets; a named client_id and a
// CIDR get their own budgets. Redis stopped: each replica falls back to its
// local limiter (counted in mcp_auth_rate_limit_fallback_total, one warning
// per outage); Redis back on the same port: shared again, and the recovery
// is logged.
//
// The requests are POST /token with a code that does not open: the limiter
// judges them before the handler (which answers 400 invalid_grant), so a
// pass is "anything but 429". Each phase uses client_ids of its own (fresh
// keys) and starts with at least 20 s left in the UTC minute, so no window
// boundary moves an estimate under it.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack, startRedis } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { request } from './lib/oauth-client.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const N = 5; // RATE_LIMIT_TOKEN_PER_MIN
const NAMED = 8;
const CIDR = 3;

async function counter(metricsUrl, name, labels = '') {
  const r = await request(`${metricsUrl}/metrics`);
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of r.text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return 0;
}

// Waits until at least `needMs` are left in the current UTC minute.
async function roomInMinute(needMs = 20000) {
  const left = 60000 - (Date.now() % 60000);
  if (left < needMs) await sleep(left + 200);
}

const uniq = (name) => `${name}-${crypto.randomBytes(4).toString('hex')}`;

function tokenAt(replica, clientId, headers = {}) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'http://127.0.0.1:9/cb',
    client_id: clientId, code_verifier: 'v'.repeat(43),
  }).toString();
  return request(`${replica.url}/token`, {
    method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

function assertLimited(r) {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.headers.get('retry-after'), '60');
  assert.equal(r.json?.error, 'temporarily_unavailable', r.text);
  assert.equal(r.json?.error_description, 'rate limit exceeded', r.text);
  // /token's CORS answer (SPEC preface fix 10) stays on the 429
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
}

// `count` requests alternating A, B, A, ... all allowed; returns nothing.
async function spend(replicas, clientId, count, headers) {
  for (let i = 0; i < count; i++) {
    const r = await tokenAt(replicas[i % replicas.length], clientId, headers);
    assert.notEqual(r.status, 429, `request ${i + 1} of ${count} for ${clientId}: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_grant', r.text);
  }
}

const logCount = (replica, msg) => replica.logLines().filter((l) => l.includes(`"msg":"${msg}"`)).length;

describe('fleet-wide rate limits: two replicas, one Redis', () => {
  let stack;
  let a;
  let b;
  let redis2; // the Redis started again on the same port
  before(async () => {
    stack = await startStack({
      redis: true,
      proxyEnv: {
        RATE_LIMIT_STORE: 'redis',
        RATE_LIMIT_TOKEN_PER_MIN: String(N),
        RATE_LIMIT_CLIENT_BUDGETS: `https://client.example/meta%2Cdata.json=${NAMED},other=1`,
        RATE_LIMIT_CIDR_BUDGETS: `198.51.100.0/24=${CIDR}`,
        // The test's requests come from 127.0.0.1; a trusted X-Forwarded-For
        // puts a request in the CIDR range.
        TRUSTED_PROXY_CIDRS: '127.0.0.0/8',
      },
    });
    a = { url: stack.proxy.url, metrics: stack.proxy.metricsUrl, logLines: stack.proxy.logLines };
    const bp = await startProxy({
      env: {
        ...stack.proxy.env,
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
    b = { proc: bp, url: bp.url, metrics: bp.metricsUrl, logLines: bp.logLines };
  });
  after(async () => {
    let first;
    for (const s of [() => b?.proc.stop(), () => stack?.stop(), () => redis2?.stop()]) {
      try { await s(); } catch (err) { first ??= err; }
    }
    if (first) throw first;
  });

  test('N requests over both replicas pass, the N+1th on either is 429', async () => {
    await roomInMinute();
    const before429 = await counter(b.metrics, 'mcp_auth_rate_limited_total', 'endpoint="token"');
    const cid = uniq('fleet');
    await spend([a, b], cid, N);
    assertLimited(await tokenAt(b, cid));
    assertLimited(await tokenAt(a, cid));
    assert.equal(await counter(b.metrics, 'mcp_auth_rate_limited_total', 'endpoint="token"'), before429 + 1);
    // The budget is shared: a replica that saw only half of them refuses too.
    assert.equal(await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"'), 0);
  });

  test('two client_ids from one address have separate budgets', async () => {
    await roomInMinute();
    const one = uniq('alpha');
    const two = uniq('beta');
    await spend([a, b], one, N);
    assertLimited(await tokenAt(a, one));
    await spend([b, a], two, N);
    assertLimited(await tokenAt(b, two));
  });

  test('a named client_id has its own budget (percent-escaped comma in the list)', async () => {
    await roomInMinute();
    // The named budget is per address: this test's fresh address key
    // comes from a trusted X-Forwarded-For outside the CIDR range.
    const headers = { 'x-forwarded-for': `203.0.113.${crypto.randomInt(1, 250)}` };
    const cid = 'https://client.example/meta,data.json';
    await spend([a, b], cid, NAMED, headers);
    assertLimited(await tokenAt(a, cid, headers));
    // "other=1": the smallest budget, a second request is refused
    const headers2 = { 'x-forwarded-for': `203.0.113.${crypto.randomInt(1, 250)}` };
    if (headers2['x-forwarded-for'] !== headers['x-forwarded-for']) {
      await spend([b], 'other', 1, headers2);
      assertLimited(await tokenAt(a, 'other', headers2));
    }
  });

  test('a CIDR budget applies to addresses in the range; a named client_id wins over it', async () => {
    await roomInMinute();
    const headers = { 'x-forwarded-for': '198.51.100.7' };
    const cid = uniq('cidr');
    await spend([a, b], cid, CIDR, headers);
    assertLimited(await tokenAt(b, cid, headers));
    // the same client from outside the range: the endpoint budget
    await spend([a, b], cid, N);
    // a named client_id ("other=1") in the range: its own budget, not the CIDR's
    const inRange = { 'x-forwarded-for': '198.51.100.9' };
    await spend([a], 'other', 1, inRange);
    assertLimited(await tokenAt(b, 'other', inRange));
  });

  test('a client that leaves while its check waits on a stalled Redis cancels cleanly', async () => {
    // SIGSTOP is the stall real peers cannot produce on demand otherwise.
    process.kill(stack.redis.proc.pid, 'SIGSTOP');
    try {
      const aborts = [];
      for (let i = 0; i < 4; i++) {
        const ac = new AbortController();
        const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: uniq('gone') });
        aborts.push(fetch(`${(i % 2 ? b : a).url}/token`, {
          method: 'POST', body, signal: ac.signal,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }).catch((err) => err));
        setTimeout(() => ac.abort(), 200);
      }
      const results = await Promise.all(aborts);
      for (const r of results) assert.equal(r?.name, 'AbortError', String(r?.status));
    } finally {
      process.kill(stack.redis.proc.pid, 'SIGCONT');
    }
    // Both replicas are alive and answer from the shared window again.
    await roomInMinute();
    const cid = uniq('after-stall');
    const deadline = Date.now() + 15000;
    for (;;) {
      const r = await tokenAt(a, uniq('probe'));
      assert.notEqual(r.status, 429);
      if (logCount(a, 'rate_limit_store_unavailable') === 0) break;
      // a timed-out check may have logged an outage: wait for its recovery line
      if (logCount(a, 'rate_limit_store_recovered') >= 1 && logCount(b, 'rate_limit_store_recovered') >= 1) break;
      assert.ok(Date.now() < deadline, 'no recovery within 15 s after the stall');
      await tokenAt(b, uniq('probe'));
      await sleep(200);
    }
    await spend([a, b], cid, N);
    assertLimited(await tokenAt(a, cid));
  });

  test('Redis stopped: the local limiter judges, the fallback is counted, one warning; Redis back: shared again', async () => {
    const port = stack.redis.port;
    await stack.redis.stop();
    {
      const warnA = logCount(a, 'rate_limit_store_unavailable');
      const warnB = logCount(b, 'rate_limit_store_unavailable');
      const recA = logCount(a, 'rate_limit_store_recovered');
      const recB = logCount(b, 'rate_limit_store_recovered');
      await roomInMinute(30000);
      const fbBefore = await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"');
      const cid = uniq('outage');
      // Each replica counts its own: N pass on A alone, the N+1th is 429.
      await spend([a], cid, N);
      assertLimited(await tokenAt(a, cid));
      // B's own table has not seen this key: its local budget is whole.
      await spend([b], cid, N);
      assertLimited(await tokenAt(b, cid));
      const fbAfter = await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"');
      assert.equal(fbAfter - fbBefore, N + 1);
      assert.ok(await counter(b.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"') >= N + 1);
      // One warning per outage, not one per request (the log writer is a
      // moment behind the answer).
      await sleep(300);
      assert.equal(logCount(a, 'rate_limit_store_unavailable'), warnA + 1);
      assert.equal(logCount(b, 'rate_limit_store_unavailable'), warnB + 1);
      assert.equal(logCount(a, 'rate_limit_store_recovered'), recA);

      redis2 = await startRedis({ port });
      // The replicas reconnect by themselves (backoff); wait for the
      // shared answers to come back on both.
      const deadline = Date.now() + 20000;
      while (logCount(a, 'rate_limit_store_recovered') < recA + 1 || logCount(b, 'rate_limit_store_recovered') < recB + 1) {
        assert.ok(Date.now() < deadline, 'no rate_limit_store_recovered within 20 s');
        await tokenAt(a, uniq('probe'));
        await tokenAt(b, uniq('probe'));
        await sleep(200);
      }
      // The recovery line is the process's first worker back. Each worker
      // has its own link and reconnects on its own backoff (at most
      // BOUNDS_REDIS_BACKOFF_MAX_MS, 5 s), so a second worker can still
      // judge locally for a few seconds: wait until a round of probes on
      // both replicas, one full backoff apart, adds no fallback.
      for (;;) {
        const fbA = await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"');
        const fbB = await counter(b.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"');
        await sleep(5500);
        for (let i = 0; i < 4; i++) {
          await tokenAt(a, uniq('probe'));
          await tokenAt(b, uniq('probe'));
        }
        if (await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"') === fbA &&
            await counter(b.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"') === fbB) break;
        assert.ok(Date.now() < deadline + 20000, 'a worker still judged locally 40 s after Redis came back');
      }
      await roomInMinute();
      const shared = uniq('back');
      const fb = await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"');
      await spend([a, b], shared, N);
      assertLimited(await tokenAt(a, shared));
      assertLimited(await tokenAt(b, shared));
      assert.equal(await counter(a.metrics, 'mcp_auth_rate_limit_fallback_total', 'endpoint="token"'), fb);
      await sleep(300);
      assert.equal(logCount(a, 'rate_limit_store_unavailable'), warnA + 1);
    }
  });
});
