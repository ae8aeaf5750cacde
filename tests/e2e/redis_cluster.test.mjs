// The replay store on a real Redis Cluster (issue 14, item 2): three
// primaries and three replicas on loopback (lib/redis_cluster.mjs), two
// proxy replicas given two seeds in a redis+cluster:// URL.
//
// - Logins, refreshes and replays across the replicas; the keys of one
//   refresh family (claim keys and the revocation marker) share one slot,
//   read back from the cluster itself.
// - A slot migrated while the proxies run: mid-migration the proxy follows
//   ASK (the new claim key is written on the importing node), after it
//   MOVED (the next one lands on the new owner).
// - Revocation (issue 14 item 5) in Cluster mode: POST /revoke on replica A
//   -> the access token refused on replica B within 1 s (median and max
//   printed), by B's subscriber on a cluster node (a PUBLISH reaches every
//   node); `mcp-auth-proxy revoke --subject` with the same cluster config.
// - Failover under REDIS_MIN_REPLICAS_ACK=1 (every claim waits for a replica
//   before it counts): authorization codes and refresh tokens are redeemed,
//   the primary holding most of their claims is killed (SIGKILL) at once,
//   and after the election every one of them is presented again on both
//   replicas: the number accepted twice is counted and must be 0. Until the
//   replica is promoted /token answers 503 replay_store_unavailable for the
//   dead primary's slots (the window is measured and printed), then it
//   recovers without a restart.
// - After the failover a revocation still reaches the other replica (the
//   subscriber and the set reader move to live nodes by themselves).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mcpStatus, untilRefused } from './lib/mcp-probe.mjs';
import { startStack } from './lib/peers.mjs';
import { startProxy, runToExit, proxyBinary } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { startRedisCluster, cli } from './lib/redis_cluster.mjs';
import {
  request, register, authorizeUrl, parseConsentPage, submitConsent, CookieJar,
  parseInterstitial, idpLogin, pkcePair, randomState, exchangeCode, refreshGrant, login,
} from './lib/oauth-client.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const REDIRECT = 'http://127.0.0.1:9/cb';
const PREFIX = 'mcp-auth-proxy:';

async function toCode(base) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [REDIRECT], client_name: 'cluster' });
  assert.equal(reg.status, 201, reg.text);
  const pkce = pkcePair();
  const authz = await request(authorizeUrl(base, {
    client_id: reg.json.client_id, redirect_uri: REDIRECT, state: randomState(), code_challenge: pkce.challenge,
  }), { jar });
  assert.equal(authz.status, 200, authz.text);
  const consent = parseConsentPage(authz.text);
  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  assert.equal(post.status, 200, post.text);
  const idp = await idpLogin(parseInterstitial(post.text).target, { username: 'alice', password: 'alice-pw', jar });
  const cb = await request(idp.callbackUrl, { jar });
  assert.equal(cb.status, 302, cb.text);
  return { client: reg.json, pkce, code: new URL(cb.location).searchParams.get('code') };
}

const exchangeAt = (origin, f, verifier = f.pkce.verifier) => exchangeCode(origin, {
  code: f.code, redirect_uri: REDIRECT, client_id: f.client.client_id, code_verifier: verifier,
});
const refreshAt = (origin, f, rt) => refreshGrant(origin, { refresh_token: rt, client_id: f.client.client_id });

// The family tag of the claim keys that appeared since `before` (a Set of keys).
async function newClaimKeys(cluster, before) {
  const all = await cluster.scan(`${PREFIX}{*}refresh:*`);
  return all.filter(({ key }) => !before.has(key));
}
const revokeAt = (origin, fields) => request(`${origin}/revoke`, { method: 'POST', form: fields });

const keySet = async (cluster) => new Set((await cluster.scan(`${PREFIX}*`)).map(({ key }) => key));
const tagOf = (key) => key.slice(key.indexOf('{') + 1, key.indexOf('}'));

describe('two replicas on a Redis Cluster', { timeout: 240000 }, () => {
  let cluster;
  let stack;
  let b;
  before(async () => {
    cluster = await startRedisCluster();
    stack = await startStack({
      proxyEnv: {
        REDIS_URL: cluster.seedsUrl, REDIS_REQUIRED: 'true', REDIS_MIN_REPLICAS_ACK: '1',
        REFRESH_RACE_GRACE_SEC: '0', REFRESH_RETRY_GRACE: '0s', RATE_LIMIT_ENABLED: 'false',
      },
    });
    b = await startProxy({
      env: {
        ...stack.proxy.env,
        LISTEN_ADDR: `127.0.0.1:${await getFreePort()}`,
        METRICS_ADDR: `127.0.0.1:${await getFreePort()}`,
      },
    });
    await stack.proxy.waitForLog(/"msg":"replay_store_enabled".*"backend":"redis-cluster"/);
    await b.waitForLog(/"msg":"revocation_subscriber_connected"/);
    await stack.proxy.waitForLog(/"msg":"revocation_subscriber_connected"/);
  });
  after(async () => {
    await b?.stop();
    await stack?.stop();
    await cluster?.stop();
  });

  test('logins, refreshes and replays across replicas; a family\'s keys share one slot', async () => {
    const f = await toCode(stack.base);
    // A code redeemed on A is refused on B with another verifier, and its
    // key is an ordinary (untagged) key.
    const t = await exchangeAt(stack.base, f);
    assert.equal(t.status, 200, t.text);
    const wrong = await exchangeAt(b.url, f, pkcePair().verifier);
    assert.equal(wrong.status, 400, wrong.text);
    const codes = await cluster.scan(`${PREFIX}authz_code:*`);
    assert.ok(codes.length >= 1, 'the code claim is in the cluster, untagged');

    const before0 = await keySet(cluster);
    const r1 = await refreshAt(b.url, f, t.json.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    const r2 = await refreshAt(stack.base, f, r1.json.refresh_token);
    assert.equal(r2.status, 200, r2.text);
    // Reuse of the first token on the other replica revokes the family.
    const reuse = await refreshAt(stack.base, f, t.json.refresh_token);
    assert.equal(reuse.status, 400, reuse.text);
    assert.equal(reuse.json.error_code, 'refresh_reuse_detected', reuse.text);
    const revoked = await refreshAt(b.url, f, r2.json.refresh_token);
    assert.equal(revoked.status, 400, revoked.text);
    assert.equal(revoked.json.error_code, 'refresh_family_revoked', revoked.text);

    const fresh = (await cluster.scan(`${PREFIX}*`)).filter(({ key }) => !before0.has(key));
    const claims = fresh.filter(({ key }) => /\}refresh:/.test(key));
    const marker = fresh.filter(({ key }) => /\}refresh_family_revoked:/.test(key));
    assert.equal(claims.length, 2, JSON.stringify(fresh)); // the reuse claims nothing
    assert.equal(marker.length, 1, JSON.stringify(fresh));
    const fam = tagOf(marker[0].key);
    assert.equal(marker[0].key, `${PREFIX}{${fam}}refresh_family_revoked:${fam}`);
    const slot = await cluster.keyslot(marker[0].key);
    for (const c of claims) {
      assert.equal(tagOf(c.key), fam, c.key);
      assert.equal(await cluster.keyslot(c.key), slot, c.key);
      assert.equal(c.port, marker[0].port, 'one node holds the whole family');
    }
    // Read back through the cluster (redis-cli -c follows MOVED itself).
    assert.equal(await cli(cluster.ports[0], ['EXISTS', marker[0].key], { cluster: true }), '1');
  });

  test('slots migrated under the proxies: ASK followed mid-migration, MOVED after', async () => {
    const idOf = async (port) => cli(port, ['CLUSTER', 'MYID']);
    const migrate = async (slot, finish) => {
      const source = await cluster.ownerOf(slot);
      const target = (await cluster.primaries()).find((p) => p !== source);
      const [sourceId, targetId] = [await idOf(source), await idOf(target)];
      assert.equal(await cli(target, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId]), 'OK');
      assert.equal(await cli(source, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId]), 'OK');
      if (!finish) return { source, target, targetId };
      const keys = (await cli(source, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])).split(/\r?\n/).filter(Boolean);
      if (keys.length) {
        assert.equal(await cli(source, ['MIGRATE', '127.0.0.1', String(target), '', '0', '5000', 'KEYS', ...keys]), 'OK');
      }
      for (const p of cluster.alive()) {
        await cli(p, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId]).catch(() => {});
      }
      return { source, target, targetId };
    };

    // ASK: the readiness probe's key (one key, one fixed slot) while its
    // slot is being migrated. The key is absent on the source, so every
    // probe is answered -ASK and must be resent as ASKING + EXISTS to the
    // importing node; /readyz (cached 250 ms) stays 200 throughout.
    const probeSlot = await cluster.keyslot(`${PREFIX}__readyz_probe__`);
    const m = await migrate(probeSlot, false);
    const end = Date.now() + 1500;
    let probes = 0;
    while (Date.now() < end) {
      for (const metrics of [stack.proxy.metricsUrl, b.metricsUrl]) {
        const r = await request(`${metrics}/readyz`);
        assert.equal(r.status, 200, `readyz during the migration: ${r.text}`);
        probes++;
      }
      await sleep(100);
    }
    assert.ok(probes >= 10);
    for (const p of cluster.alive()) {
      await cli(p, ['CLUSTER', 'SETSLOT', String(probeSlot), 'NODE', m.targetId]).catch(() => {});
    }

    // MOVED: a family's slot moved (keys and all) to another primary; the
    // proxies' maps still name the old owner.
    const f = await toCode(stack.base);
    const t = (await exchangeAt(stack.base, f)).json;
    const before0 = await keySet(cluster);
    const r1 = await refreshAt(stack.base, f, t.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    const [claim1] = await newClaimKeys(cluster, before0);
    const slot = await cluster.keyslot(claim1.key);
    const moved = await migrate(slot, true);
    const r2 = await refreshAt(stack.base, f, r1.json.refresh_token);
    assert.equal(r2.status, 200, r2.text);
    const r3 = await refreshAt(b.url, f, r2.json.refresh_token);
    assert.equal(r3.status, 200, r3.text);
    const fam = tagOf(claim1.key);
    const onTarget = await cli(moved.target, ['--scan', '--pattern', `${PREFIX}{${fam}}refresh:*`]);
    assert.equal(onTarget.split(/\r?\n/).filter(Boolean).length, 3, `the family lives on the new owner: ${onTarget}`);
    // The migrated claim still refuses a replay, from the new owner's data.
    const replay = await refreshAt(b.url, f, r1.json.refresh_token);
    assert.equal(replay.status, 400, replay.text);
    assert.equal(replay.json.error_code, 'refresh_reuse_detected', replay.text);
  });

  test('revoke on A -> the access token refused on B within 1 s, in Cluster mode (10 revocations)', async () => {
    const times = [];
    for (let i = 0; i < 10; i++) {
      const sess = await login(stack.base, { username: 'alice', password: 'alice-pw' });
      const at = sess.tokens.access_token;
      assert.equal(await mcpStatus(b.url, at), 200, 'accepted on B before the revocation');
      const start = Date.now();
      const r = await revokeAt(stack.base, { token: at, client_id: sess.client.client_id });
      assert.equal(r.status, 200, r.text);
      // Generous per-revocation bound (shared CPUs, sanitizer builds); the
      // issue's 1 s is asserted on the median.
      times.push(await untilRefused(b.url, at, start, 5000));
      assert.equal(await mcpStatus(stack.base, at), 401);
    }
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    process.stdout.write(`# cluster propagation revoke on A -> refused on B: median ${median} ms, max ${times[times.length - 1]} ms over ${times.length}\n`);
    assert.ok(median <= 1000, `median ${median} ms`);
    // The set is the cluster's: one sorted set, on the node owning its slot.
    const sets = await cluster.scan(`${PREFIX}revocations`);
    assert.equal(sets.length, 1, JSON.stringify(sets));
    assert.equal(sets[0].port, await cluster.ownerOf(await cluster.keyslot(sets[0].key)));
    assert.ok(Number(await cli(sets[0].port, ['ZCARD', sets[0].key])) >= 10);
    assert.ok(!b.logLines().join('\n').includes('revocation_propagation_unavailable'));
  });

  test('`revoke --subject` against the cluster configuration logs the user out on both replicas', async () => {
    const s1 = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    const sub = 'alice';
    for (const base of [stack.base, b.url]) assert.equal(await mcpStatus(base, s1.tokens.access_token), 200);
    const r = await runToExit({
      command: proxyBinary(), args: ['revoke', '--subject', sub],
      env: stack.proxy.env, timeoutMs: 20000, name: 'revoke-cli',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^revoked subject .* at \d+.*redis\+cluster:\/\//);
    for (const base of [stack.base, b.url]) await untilRefused(base, s1.tokens.access_token, Date.now(), 3000);
    // Whole-second token times: a login in the revocation's second reads as before it.
    await sleep(1100);
    const again = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    assert.equal(await mcpStatus(b.url, again.tokens.access_token), 200);
  });

  test('failover with REDIS_MIN_REPLICAS_ACK=1: codes and refresh tokens accepted twice counted (0); 503 during the election, recovery without a restart', async () => {
    // Codes to redeem, and families whose first refresh token is rotated.
    const codes = [];
    const fams = [];
    for (let i = 0; i < 8; i++) {
      const f = await toCode(stack.base);
      const t = await exchangeAt(stack.base, f);
      assert.equal(t.status, 200, t.text);
      fams.push({ f, rt: t.json.refresh_token });
    }
    // Every code and refresh token accepted once, on either replica; each
    // 200 was answered only after a replica acknowledged the claim. The
    // refreshes go one by one so that each family's claim key (and so its
    // primary) is known.
    for (const [i, x] of fams.entries()) {
      const seen = await keySet(cluster);
      const r = await refreshAt(i % 2 ? b.url : stack.base, x.f, x.rt);
      assert.equal(r.status, 200, r.text);
      x.next = r.json.refresh_token;
      const [claim] = await newClaimKeys(cluster, seen);
      x.port = claim.port;
    }
    // Codes last: they live a minute.
    for (let i = 0; i < 8; i++) codes.push(await toCode(i % 2 ? b.url : stack.base));
    const before0 = await keySet(cluster);
    const codeOk = await Promise.all(codes.map((f, i) => exchangeAt(i % 2 ? stack.base : b.url, f)));
    for (const r of codeOk) assert.equal(r.status, 200, r.text);
    const codeClaims = (await cluster.scan(`${PREFIX}authz_code:*`)).filter(({ key }) => !before0.has(key));
    assert.equal(codeClaims.length, codes.length, JSON.stringify(codeClaims));
    // Kill, with no WAIT of the test's own, the primary holding most claims
    // among those holding a family (its refresh measures the 503 window).
    const per = new Map();
    for (const { port } of [...codeClaims, ...fams]) per.set(port, (per.get(port) ?? 0) + 1);
    const victim = [...per.entries()].filter(([port]) => fams.some((x) => x.port === port))
      .sort((x, y) => y[1] - x[1])[0][0];
    const codesOnVictim = codeClaims.filter((c) => c.port === victim).length;
    const famsOnVictim = fams.filter((x) => x.port === victim).length;
    const killedAt = Date.now();
    cluster.kill(victim);
    // The promoted replica has no replica of its own, so WAIT 1 cannot be
    // met and its slots stay 503 (fail closed) until one is back: the dead
    // node is restarted once the election is over, as an orchestrator
    // would, and rejoins as the new primary's replica (docs/redis.md).
    const rejoined = (async () => {
      // Promoted first (three primaries among the live nodes): a node
      // restarted before the election would come back empty as primary.
      while ((await cluster.primaries().catch(() => [])).length < 3) await sleep(100);
      await cluster.waitOk();
      await cluster.restart(victim);
    })();

    // Refresh a family of the dead primary's slots until it succeeds: every
    // failure in between must be a 503, never a decision -- except one: a
    // write the promoted primary took while it had no replica yet was
    // answered 503 (WAIT short) but stands, so presenting that token again
    // is a reuse and refused (fail closed; REFRESH_RETRY_GRACE is 0 here).
    // Then the next family of that primary carries on the probe.
    const probes = fams.filter((x) => x.port === victim);
    let probe = probes.shift();
    let firstOk = null;
    let unavailable = 0;
    let burnt = 0;
    let sawUnavailable = false;
    let lastUnavailableAt = killedAt;
    const end = killedAt + 60000;
    while (Date.now() < end && probe) {
      const r = await refreshAt(Date.now() % 2 ? stack.base : b.url, probe.f, probe.next);
      if (r.status === 200) { firstOk = Date.now(); break; }
      if (r.status === 400 && sawUnavailable) {
        assert.match(r.json?.error_code ?? '', /^refresh_(reuse_detected|family_revoked)$/, r.text);
        burnt++;
        probe = probes.shift();
        sawUnavailable = false;
        continue;
      }
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json?.error_code, 'replay_store_unavailable', r.text);
      unavailable++;
      sawUnavailable = true;
      lastUnavailableAt = Date.now();
      await sleep(50);
    }
    assert.ok(firstOk || burnt > 0, 'the dead primary\'s slots answered a decision within 60 s');
    await rejoined;
    process.stdout.write(`# cluster failover (REDIS_MIN_REPLICAS_ACK=1, dead node restarted after the election): ${unavailable} answers 503 over ${lastUnavailableAt - killedAt} ms; first 200 ${firstOk ? `${firstOk - killedAt} ms after the kill` : 'not seen (probe families used up)'}; ${burnt} probe families refused after an unacknowledged write\n`);
    await cluster.waitOk();

    // Present every code and every rotated refresh token again, on both
    // replicas. A 503 decides nothing (a replica may still be reading the
    // new map): ask again until the answer is a decision.
    const decided = async (fn) => {
      for (let i = 0; ; i++) {
        const r = await fn();
        if (r.status !== 503 || i >= 100) return r;
        await sleep(50);
      }
    };
    let codesTwice = 0;
    let refreshTwice = 0;
    for (const base of [stack.base, b.url]) {
      for (const [i, f] of codes.entries()) {
        const r = await decided(() => exchangeAt(base, f));
        assert.notEqual(r.status, 503, r.text);
        // A code presented again may be answered with the tokens its first
        // exchange got (the retry path: nothing new is issued); only new
        // tokens would be a second redemption.
        if (r.status === 200 && r.json.refresh_token !== codeOk[i].json.refresh_token) codesTwice++;
      }
      for (const { f, rt } of fams) {
        const r = await decided(() => refreshAt(base, f, rt));
        assert.notEqual(r.status, 503, r.text);
        if (r.status === 200) refreshTwice++;
      }
    }
    process.stdout.write(`# cluster failover double redemptions (REDIS_MIN_REPLICAS_ACK=1): authorization codes ${codesTwice}, refresh tokens ${refreshTwice} (of ${codes.length} codes and ${fams.length} refresh tokens; ${codesOnVictim} code and ${famsOnVictim} refresh claims were on the killed primary)\n`);
    assert.equal(codesTwice, 0, 'no authorization code accepted twice across the failover');
    assert.equal(refreshTwice, 0, 'no refresh token accepted twice across the failover');

    // Both replicas serve every slot again, without a restart of theirs
    // (the restarted node may still be syncing: bounded retries).
    for (const base of [stack.base, b.url]) {
      const until = Date.now() + 30000;
      for (;;) {
        const x = await toCode(base).then((g) => exchangeAt(base, g)).catch((e) => ({ status: 0, text: String(e) }));
        if (x.status === 200) break;
        if (Date.now() > until) assert.fail(`no login on ${base} after the failover: ${x.text}`);
        await sleep(200);
      }
    }
  });

  test('after the failover a revocation on A still reaches B', async () => {
    for (let i = 0; i < 3; i++) {
      const sess = await login(b.url, { username: 'alice', password: 'alice-pw' });
      const at = sess.tokens.access_token;
      assert.equal(await mcpStatus(stack.base, at), 200);
      const start = Date.now();
      const r = await revokeAt(b.url, { token: at, client_id: sess.client.client_id });
      assert.equal(r.status, 200, r.text);
      // The subscribers may be moving off the dead node (backoff up to 5 s).
      await untilRefused(stack.base, at, start, 15000);
    }
  });
});
