// Revocation that reaches every replica (issue 14 item 5, the propagation
// half; docs/internals/revocation.md): two proxy replicas and one real
// redis-server. A revocation is written the way the proxy writes it -- the
// one script of store/redis_proto.c (ZADD GT + ZREMRANGEBYSCORE + PUBLISH),
// sent here over a raw RESP socket because /revoke and the `revoke` CLI
// live on the producer's branch -- and the access token must be refused on
// replica B within 1 s, with no request to Redis on the bearer path:
//  - propagation: median and max over 20 revocations (printed);
//  - a replica started after the revocation refuses at once (start-up fill);
//  - a replica whose subscription was killed (CLIENT KILL TYPE pubsub) and
//    that missed the message heals by the resync on reconnect;
//  - a subject revocation refuses tokens issued before it, accepts later ones.
// Access tokens are minted with the replicas' sealing secret (lib/seal-mint)
// so each test names its own subject.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startStack } from './lib/peers.mjs';
import { startProxy } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { mintAccessToken } from './lib/seal-mint.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const PREFIX = 'mcp-auth-proxy:';
const KEY = `${PREFIX}revocations`;
const WEEK_MS = 7 * 24 * 3600 * 1000;
// The script store_redis_proto_revocation sends (src/store/redis_proto.c).
const SCRIPT = "redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])\n"
  + "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])\n"
  + "return redis.call('PUBLISH', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])\n";

// One RESP command on a fresh connection; resolves with the raw reply text.
function redisCmd(port, args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('redis timeout')); }, 3000);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      out += d.toString('utf8');
      if (out.endsWith('\r\n')) { clearTimeout(timer); s.end(); resolve(out); }
    });
    let cmd = `*${args.length}\r\n`;
    for (const a of args) cmd += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
    s.write(cmd);
  });
}

async function revokeFamily(port, fam) {
  const now = Date.now();
  const reply = await redisCmd(port, ['EVAL', SCRIPT, '1', KEY, String(now + WEEK_MS), `f:${fam}`, String(now)]);
  assert.match(reply, /^:\d+\r\n$/, reply);
}

async function revokeSubject(port, sub, atMs = Date.now()) {
  const reply = await redisCmd(port, ['EVAL', SCRIPT, '1', KEY, String(atMs + WEEK_MS), `s:${atMs}:${sub}`, String(Date.now())]);
  assert.match(reply, /^:\d+\r\n$/, reply);
  return atMs;
}

async function gauge(metricsUrl, name) {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function mcpStatus(replica, token) {
  const r = await fetch(`${replica.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    signal: AbortSignal.timeout(3000),
  });
  await r.arrayBuffer();
  return { status: r.status, challenge: r.headers.get('www-authenticate') };
}

// Polls until the replica refuses token; returns the ms it took or fails.
async function untilRefused(replica, token, startMs, limitMs) {
  for (;;) {
    const r = await mcpStatus(replica, token);
    if (r.status === 401) {
      assert.match(r.challenge, /error="invalid_token"/);
      return Date.now() - startMs;
    }
    if (Date.now() - startMs > limitMs) assert.fail(`still accepted after ${limitMs} ms (status ${r.status})`);
    await sleep(5);
  }
}

describe('revocation across two replicas', () => {
  let stack;
  let b;
  let secret;
  const replicaEnv = async () => ({
    ...stack.proxy.env,
    LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
    METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
  });
  const token = (sub, extra = {}) => mintAccessToken({
    secret, base: stack.base, resource: `${stack.base}/mcp`, sub, iat: Math.floor(Date.now() / 1000) - 5, ...extra,
  });

  before(async () => {
    stack = await startStack({ redis: true, proxyEnv: { RATE_LIMIT_ENABLED: 'false' } });
    secret = stack.proxy.env.TOKEN_SIGNING_SECRET;
    b = await startProxy({ env: await replicaEnv() });
    await b.waitForLog(/"msg":"revocation_subscriber_connected"/);
  });
  after(async () => {
    await b?.stop();
    await stack?.stop();
  });

  test('a subject revoked through the script is refused on B within 1 s (20 revocations)', async () => {
    const times = [];
    for (let i = 0; i < 20; i++) {
      const sub = `prop-${i}-${Date.now()}`;
      const t = token(sub);
      assert.notEqual((await mcpStatus(b, t)).status, 401, 'accepted before the revocation');
      const start = Date.now();
      await revokeSubject(stack.redis.port, sub);
      // A generous bound per revocation (shared CPUs, sanitizer builds);
      // the 1 s is asserted on the median below.
      times.push(await untilRefused(b, t, start, 5000));
      // A is refused too (its own subscriber, which may hear the message a
      // little after B's), and another subject is not.
      await untilRefused(stack.proxy, t, start, 5000);
      assert.notEqual((await mcpStatus(b, token(`other-${i}`))).status, 401);
    }
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    console.log(`# propagation revoke -> refused on B: median ${median} ms, max ${times[times.length - 1]} ms over ${times.length}`);
    assert.ok(median <= 1000, `median ${median} ms`);
    assert.ok(await gauge(b.metricsUrl, 'mcp_auth_revocation_entries') >= 20);
    assert.ok(await gauge(b.metricsUrl, 'mcp_auth_revocation_messages_applied_total') >= 20);
    assert.equal(await gauge(b.metricsUrl, 'mcp_auth_revocation_subscriber_connected'), 1);
    const text = await (await fetch(`${b.metricsUrl}/metrics`)).text();
    assert.match(text, /mcp_auth_access_denied_total\{reason="token_revoked_subject"\} [1-9]/);
  });

  test('a revoked family refuses its access tokens on B, a token B has cached included', async () => {
    const fam = crypto.randomUUID();
    const t = token('fam-user', { fam });
    const sibling = token('fam-user', { fam: crypto.randomUUID() });
    // Twice: the second use answers from B's bearer cache.
    assert.notEqual((await mcpStatus(b, t)).status, 401);
    assert.notEqual((await mcpStatus(b, t)).status, 401);
    const start = Date.now();
    await revokeFamily(stack.redis.port, fam);
    await untilRefused(b, t, start, 1000);
    assert.equal((await mcpStatus(stack.proxy, t)).status, 401);
    // The same user's other family is untouched.
    assert.notEqual((await mcpStatus(b, sibling)).status, 401);
    const text = await (await fetch(`${b.metricsUrl}/metrics`)).text();
    assert.match(text, /mcp_auth_access_denied_total\{reason="token_revoked_family"\} [1-9]/);
  });

  test('a subject revocation refuses tokens issued before it and accepts later ones', async () => {
    const sub = `later-${Date.now()}`;
    const before = mintAccessToken({ secret, base: stack.base, resource: `${stack.base}/mcp`, sub, iat: Math.floor(Date.now() / 1000) - 60 });
    const at = await revokeSubject(stack.redis.port, sub);
    await untilRefused(b, before, Date.now(), 1000);
    // The revocation's own second counts as before it: wait for the next.
    await sleep(1000 - (at % 1000) + 50);
    const after = mintAccessToken({ secret, base: stack.base, resource: `${stack.base}/mcp`, sub });
    assert.ok(Math.floor(Date.now() / 1000) > Math.floor(at / 1000));
    assert.notEqual((await mcpStatus(b, after)).status, 401);
    assert.notEqual((await mcpStatus(stack.proxy, after)).status, 401);
    assert.equal((await mcpStatus(b, before)).status, 401);
  });

  test('a replica started after the revocation refuses it from its first request', async () => {
    const sub = `restart-${Date.now()}`;
    const t = token(sub);
    await b.stop();
    b = null;
    await revokeSubject(stack.redis.port, sub);
    b = await startProxy({ env: await replicaEnv() });
    // No wait: the start-up fill ran before the replica reported ready.
    assert.equal((await mcpStatus(b, t)).status, 401);
    assert.ok(await gauge(b.metricsUrl, 'mcp_auth_revocation_resyncs_total') >= 1);
    await b.waitForLog(/"msg":"revocation_subscriber_connected"/);
  });

  test('a subscriber that lost its connection and missed the message heals by resync', async () => {
    const sub = `heal-${Date.now()}`;
    const t = token(sub);
    const resyncs = await gauge(b.metricsUrl, 'mcp_auth_revocation_resyncs_total');
    // Kill every pub/sub client, then publish at once: B is reconnecting
    // (backoff >= 50 ms) and cannot receive this message.
    const killed = await redisCmd(stack.redis.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    assert.match(killed, /^:[1-9]/, killed);
    await revokeSubject(stack.redis.port, sub);
    await untilRefused(b, t, Date.now(), 10000);
    await b.waitForLog(/"msg":"revocation_subscriber_lost"/);
    assert.ok(await gauge(b.metricsUrl, 'mcp_auth_revocation_resyncs_total') > resyncs);
    // And it is subscribed again: the next revocation arrives as a message.
    const sub2 = `heal2-${Date.now()}`;
    const t2 = token(sub2);
    const start = Date.now();
    await revokeSubject(stack.redis.port, sub2);
    await untilRefused(b, t2, start, 1000);
  });
});
