// REDIS_MIN_REPLICAS_ACK (docs/redis.md, "WAIT"): every replay-store write
// is followed by WAIT N in the same write and counts only when N replicas
// have it. A real primary and a real replica (redis-server --replicaof),
// two proxy replicas on the same primary: A with REDIS_MIN_REPLICAS_ACK=1,
// B without.
//
// - Before the replica is attached, A answers /token 503
//   replay_store_unavailable (fail closed) and counts it; the claim stands
//   on the primary, so once the replica is there the client's retry of the
//   same code gets tokens (the retry path), never a replay verdict.
// - With the replica attached, logins and refreshes work on A, and what A
//   claimed is on the replica.
// - The cost: N refresh grants on A and N on B, interleaved, in the same
//   run; the mean wall time per /token of each is printed (docs/redis.md
//   quotes it). Wall time is noisy on a shared machine, so the test asserts
//   nothing about it.

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

// The same request on `base` (form actions and the IdP's redirect name
// PROXY_BASE_URL, which is A).
const onBase = (url, base) => {
  const u = new URL(url);
  return `${base}${u.pathname}${u.search}`;
};

async function counter(metricsUrl, name) {
  const r = await request(`${metricsUrl}/metrics`);
  for (const line of r.text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0 && line.slice(0, sp) === name) return Number(line.slice(sp + 1));
  }
  return 0;
}

async function toCode(base) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [REDIRECT], client_name: 'wait' });
  assert.equal(reg.status, 201, reg.text);
  const pkce = pkcePair();
  const authz = await request(authorizeUrl(base, {
    client_id: reg.json.client_id, redirect_uri: REDIRECT, state: randomState(), code_challenge: pkce.challenge,
  }), { jar });
  assert.equal(authz.status, 200, authz.text);
  const consent = parseConsentPage(authz.text);
  const post = await submitConsent({ formAction: onBase(new URL(consent.formAction, base).toString(), base), consentToken: consent.consentToken, jar });
  assert.equal(post.status, 200, post.text);
  const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar });
  const cb = await request(onBase(idp.callbackUrl, base), { jar });
  assert.equal(cb.status, 302, cb.text);
  return { client: reg.json, pkce, code: new URL(cb.location).searchParams.get('code') };
}

const exchangeAt = (origin, f) => exchangeCode(origin, {
  code: f.code, redirect_uri: REDIRECT, client_id: f.client.client_id, code_verifier: f.pkce.verifier,
});
const refreshAt = (origin, f, rt) => refreshGrant(origin, { refresh_token: rt, client_id: f.client.client_id });

describe('REDIS_MIN_REPLICAS_ACK=1 with a primary and a replica', () => {
  let stack;
  let b;
  let replica;
  before(async () => {
    // Logins happen on A before the replica exists, so consent and callback
    // claims run without WAIT there: B (no WAIT) drives the logins and A
    // only redeems.
    stack = await startStack({
      redis: true,
      proxyEnv: { RATE_LIMIT_ENABLED: 'false', REDIS_MIN_REPLICAS_ACK: '1', REDIS_REPLICAS_ACK_TIMEOUT: '200ms', WORKERS: '1' },
    });
    b = await startProxy({
      env: {
        ...stack.proxy.env,
        REDIS_MIN_REPLICAS_ACK: '0',
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
  });
  after(async () => {
    let first;
    for (const s of [() => b?.stop(), () => stack?.stop(), () => replica?.stop()]) {
      try { await s(); } catch (err) { first ??= err; }
    }
    if (first) throw first;
  });

  test('no replica: 503 and counted; with one: the retry gets tokens, claims reach the replica, and the cost per /token', async () => {
    const f = await toCode(b.url);
    const s0 = await counter(stack.proxy.metricsUrl, 'mcp_auth_redis_replica_ack_short_total');
    const r = await exchangeAt(stack.base, f);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error_code, 'replay_store_unavailable', r.text);
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_redis_replica_ack_short_total'), s0 + 1);

    replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(stack.redis.port)] });
    // Bounded wait until the primary counts the replica (WAIT answers 1).
    const end = Date.now() + 20000;
    let again;
    for (;;) {
      again = await exchangeAt(stack.base, f);
      if (again.status !== 503 || Date.now() > end) break;
      await sleep(200);
    }
    assert.equal(again.status, 200, `the retry after the replica came: ${again.text}`);
    const s1 = await counter(stack.proxy.metricsUrl, 'mcp_auth_redis_replica_ack_short_total');
    assert.ok(s1 >= s0 + 1);

    // What A wrote is on the replica: the refresh claim is a key there.
    const g = await toCode(b.url);
    const t = await exchangeAt(stack.base, g);
    assert.equal(t.status, 200, t.text);
    const { createConnection } = await import('node:net');
    const keys = await new Promise((resolve, reject) => {
      const sock = createConnection(replica.port, '127.0.0.1');
      let data = '';
      sock.on('data', (d) => { data += d; if (/\r\n$/.test(data) && data.includes('authz_code')) { sock.end(); } });
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
      setTimeout(() => { sock.destroy(); resolve(data); }, 2000);
      sock.write('KEYS *authz_code:*\r\n');
    });
    assert.ok((keys.match(/authz_code:/g) || []).length >= 2, `replica keys: ${keys}`);

    // The cost: N refreshes on A (WAIT 1) and N on B (no WAIT), interleaved.
    const N = 40;
    let rtA = t.json.refresh_token;
    const h = await toCode(b.url);
    const tb = await exchangeAt(b.url, h);
    assert.equal(tb.status, 200, tb.text);
    let rtB = tb.json.refresh_token;
    let msA = 0;
    let msB = 0;
    for (let i = 0; i < N; i++) {
      let t0 = process.hrtime.bigint();
      const ra = await refreshAt(stack.base, g, rtA);
      msA += Number(process.hrtime.bigint() - t0) / 1e6;
      assert.equal(ra.status, 200, ra.text);
      rtA = ra.json.refresh_token;
      t0 = process.hrtime.bigint();
      const rb = await refreshAt(b.url, h, rtB);
      msB += Number(process.hrtime.bigint() - t0) / 1e6;
      assert.equal(rb.status, 200, rb.text);
      rtB = rb.json.refresh_token;
    }
    // eslint-disable-next-line no-console
    console.log(`# WAIT cost: ${N} refresh grants each, mean wall time per /token: `
      + `with REDIS_MIN_REPLICAS_ACK=1 ${(msA / N).toFixed(2)} ms, without ${(msB / N).toFixed(2)} ms`);
    // Every write with the replica attached was acknowledged.
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_redis_replica_ack_short_total'), s1);
  });
});
