// Request bodies and pipelined requests cannot exhaust memory (the
// connection-layer issue, items 2 and 3), measured on the real binary.
//
// The proxy's RSS is sampled from /proc/<pid>/status every 25 ms while the
// attacks run and after they stop:
//   - 40 authenticated uploads of 16 MiB stopped one byte short, one real
//     access token (a login through the IdP), from two client addresses
//     (127.0.0.2, 127.0.0.3: all of 127/8 is loopback);
//   - 300 unauthenticated bodies stopped one byte short at /token,
//     /consent and /register (each address's rate-limit budget: 60 + 30 +
//     10 a minute), from three addresses;
//   - 50 connections each writing 58 KB of tiny pipelined requests.
// The budgets are set low (REQUEST_BODY_BUFFER_MAX 48 MiB, 16 MiB per
// address) so the bound is tight and the test light: RSS must stay within
// the baseline plus the budget plus a fixed allowance for connection
// buffers, and another user's request with a body must be served while
// the uploads are stalled. Before the fixes these cost 658 MiB, 305 MiB and
// 64 MiB (87 MiB peak) of RSS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startStack } from './lib/peers.mjs';
import { login, register } from './lib/oauth-client.mjs';

const MiB = 1024 * 1024;
const BODY_BUDGET = 48 * MiB;
const BODY_BUDGET_PER_IP = 16 * MiB;
// RSS a burst may add beyond the bodies themselves: connection and request
// structures, socket read buffers, glibc arenas per worker.
const ALLOWANCE = 40 * MiB;
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

let stack;

before(async () => {
  stack = await startStack({
    proxyEnv: {
      REQUEST_BODY_BUFFER_MAX: String(BODY_BUDGET),
      REQUEST_BODY_BUFFER_PER_IP_MAX: String(BODY_BUDGET_PER_IP),
      LOG_LEVEL: 'warn', // thousands of access-log lines would only slow the test
    },
  });
});

after(async () => {
  if (stack) await stack.stop();
});

// ---------------------------------------------------------------- RSS

function rss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

function startSampler(pid) {
  const s = { max: rss(pid) };
  const timer = setInterval(() => { s.max = Math.max(s.max, rss(pid)); }, 25);
  s.stop = () => clearInterval(timer);
  return s;
}

// RSS once it has settled: the lowest of a few samples over ~1 s.
async function settledRss(pid) {
  let low = Infinity;
  for (let i = 0; i < 5; i++) {
    low = Math.min(low, rss(pid));
    await sleep(200);
  }
  return low;
}

const mb = (n) => `${(n / MiB).toFixed(1)} MiB`;

// Under AddressSanitizer freed memory sits in a quarantine (256 MiB) and
// every allocation has redzones, so RSS says nothing about our bounds: the
// attacks still run (for leaks, crashes and the functional checks) but the
// RSS assertions are the plain build's.
function sanitized(pid) {
  return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');
}

function assertRss(pid, cond, message) {
  if (!sanitized(pid)) assert.ok(cond, message);
}

async function metric(series) {
  const text = await (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

// ---------------------------------------------------------------- stalled uploads

const ZEROS = Buffer.alloc(MiB, 0x20); // one shared chunk: the test's own memory stays small

// Opens a connection from localAddress, sends head and then `send` body
// bytes (fewer than announced), and keeps the socket open. `done` settles
// with the status of whatever response arrives (or 0 when none did) once
// the server answers or closes.
function stalledUpload({ localAddress, head, send }) {
  const sock = net.connect({ host: '127.0.0.1', port: stack.proxy.port, localAddress });
  sock.on('error', () => {});
  let answer = '';
  let sent = 0;
  const done = new Promise((resolve) => {
    sock.on('data', (d) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n\r\n')) resolve(Number(answer.split(' ')[1]));
    });
    sock.on('close', () => resolve(answer ? Number(answer.split(' ')[1]) : 0));
  });
  const drained = () => new Promise((r) => {
    const go = () => { sock.off('drain', go); sock.off('close', go); r(); };
    sock.on('drain', go);
    sock.on('close', go);
  });
  const pump = async () => {
    if (!sock.write(head)) await drained();
    while (sent < send && !sock.destroyed && !answer) {
      const n = Math.min(ZEROS.length, send - sent);
      sent += n;
      if (!sock.write(ZEROS.subarray(0, n))) await drained();
    }
  };
  sock.once('connect', () => { pump().catch(() => {}); });
  return { sock, done, sentBytes: () => sent };
}

// Waits until every upload has either been settled (answered, or closed by
// the proxy: a refused upload that keeps sending is cut after a lingering
// close, and the reset may take the unread answer with it) or sent all it
// meant to, and at least minSettled have settled (the proxy has read and
// judged what reached it). Returns the settled ones.
async function allSettled(uploads, send, limitMs, minSettled = 0) {
  const t0 = Date.now();
  const answered = new Set();
  for (const u of uploads) u.done.then(() => answered.add(u));
  while (Date.now() - t0 < limitMs) {
    if (answered.size >= minSettled
        && uploads.every((u) => answered.has(u) || u.sentBytes() >= send)) return answered;
    await sleep(50);
  }
  throw new Error(`the uploads did not settle (${answered.size} answered)`);
}

function statusCounts(statuses) {
  const c = {};
  for (const s of statuses) c[s] = (c[s] || 0) + 1;
  return c;
}

// Another user's (carol's) small MCP request, while the attack holds its memory.
async function otherUserIsServed(token) {
  const r = await fetch(`${stack.base}/mcp/echo-body`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hello: 'car' }),
    signal: AbortSignal.timeout(10000),
  });
  const j = await r.json();
  assert.equal(r.status, 200);
  assert.equal(j.length, 15);
}

// First, on a fresh process: a heap already grown by an earlier test would
// absorb the burst and hide it.
test('50 connections of 58 KB pipelined requests cost little memory', async (t) => {
  const pid = stack.proxy.proc.pid;
  const baseline = await settledRss(pid);
  const sampler = startSampler(pid);
  const one = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const count = Math.floor((58 * 1024) / one.length);
  const payload = Buffer.from(one.repeat(count));
  const conns = await Promise.all(Array.from({ length: 50 }, (_, i) => new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: stack.proxy.port, localAddress: `127.0.1.${i + 1}` });
    let seen = 0;
    let tail = '';
    const marker = 'HTTP/1.1 200 ';
    sock.on('error', () => resolve(seen));
    sock.on('data', (d) => {
      // The tail carried to the next chunk is one byte shorter than the
      // marker: a marker cut by a chunk boundary is counted once, and a
      // whole one is never counted twice.
      const s = tail + d.toString('latin1');
      seen += s.split(marker).length - 1;
      tail = s.slice(-(marker.length - 1));
      if (seen >= count) { sock.destroy(); resolve(seen); }
    });
    sock.on('close', () => resolve(seen));
    sock.write(payload);
  })));
  sampler.stop();
  const after = await settledRss(pid);
  t.diagnostic(`${count} requests x 50 connections: RSS baseline ${mb(baseline)}, `
    + `peak ${mb(sampler.max)} (+${mb(sampler.max - baseline)}), after ${mb(after)}`);
  assert.ok(conns.every((n) => n === count), `answers: ${conns.join(',')}`);
  assertRss(pid, sampler.max - baseline < 16 * MiB, `RSS grew by ${mb(sampler.max - baseline)}`);
});

let aliceToken;
let otherToken;

test('40 stalled 16 MiB uploads on one real token stay within the body budget', async (t) => {
  const alice = await login(stack.base, { username: 'alice', password: 'alice-pw' });
  const carol = await login(stack.base, { username: 'carol', password: 'carol-pw' });
  aliceToken = alice.tokens.access_token;
  otherToken = carol.tokens.access_token;
  const pid = stack.proxy.proc.pid;
  const baseline = await settledRss(pid);
  const refusedIp = await metric('mcp_auth_request_body_refused_total{scope="ip"}');
  const refusedProcess = await metric('mcp_auth_request_body_refused_total{scope="process"}');
  const busy = await metric('mcp_auth_access_denied_total{reason="subject_concurrency_exceeded"}');
  const sampler = startSampler(pid);

  const announced = 16 * MiB;
  const send = announced - 1;
  const uploads = [];
  for (let i = 0; i < 40; i++) {
    uploads.push(stalledUpload({
      localAddress: i % 2 ? '127.0.0.3' : '127.0.0.2',
      head: `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${aliceToken}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${announced}\r\n\r\n`,
      send,
    }));
  }
  // Two addresses, a 16 MiB share each: at most one upload per address can
  // hold all its 16 MiB - 1; every other one is answered (503), 24 of them
  // before a body byte (the subject slot), the rest mid-body (the share).
  // 20 s bounds the proxy's reading of what the kernel buffered.
  const settled = await allSettled(uploads, send, 60000, 38);
  await sleep(300);
  const stillOpen = uploads.filter((u) => !settled.has(u)).length;
  await otherUserIsServed(otherToken);
  const during = sampler.max;
  // The other user's request gives its few body bytes back when it is
  // freed, just after its answer reached the socket -- which the client can
  // read (and ask the metric) a moment before: read until the two stalled
  // shares are all that is left, bounded.
  let buffered = await metric('mcp_auth_request_body_buffered_bytes');
  for (let i = 0; i < 20 && buffered > 2 * BODY_BUDGET_PER_IP; i++) {
    await sleep(100);
    buffered = await metric('mcp_auth_request_body_buffered_bytes');
  }
  for (const u of uploads) u.sock.destroy();
  const statuses = await Promise.all(uploads.map((u) => Promise.race([u.done, sleep(2000).then(() => -1)])));
  sampler.stop();
  const after = await settledRss(pid);
  const counts = statusCounts(statuses);
  t.diagnostic(`RSS baseline ${mb(baseline)}, peak ${mb(during)} (+${mb(during - baseline)}), `
    + `after ${mb(after)}; bodies buffered at the end ${mb(buffered)}; ${stillOpen} uploads still `
    + `open, the others answered ${JSON.stringify(counts)} (0: cut after the refusal)`);

  assert.ok(stillOpen <= 2, `${stillOpen} uploads still open`);
  assert.ok(counts[503] > 0, JSON.stringify(counts));
  // Each refused upload was refused once, for its subject's slot (before
  // a body byte) or for its address's share (mid-body). How many fall on
  // each side depends on how far the proxy got with the first bodies
  // before the last heads arrived (an upload refused for its share frees
  // its slot for a later one), so only the sum is fixed. The share is
  // always reached (every admitted upload sends almost a whole share); the
  // subject's slot may never be, when the proxy reads and refuses bodies
  // faster than the heads arrive (seen in 2 of 14 runs once its request
  // path got faster).
  const bySubject = await metric('mcp_auth_access_denied_total{reason="subject_concurrency_exceeded"}') - busy;
  const byShare = await metric('mcp_auth_request_body_refused_total{scope="ip"}') - refusedIp;
  const byProcess = await metric('mcp_auth_request_body_refused_total{scope="process"}') - refusedProcess;
  t.diagnostic(`refused for the subject's slot ${bySubject}, for the address's share ${byShare}, `
    + `for the process budget ${byProcess}; answered ${JSON.stringify(counts)}`);
  assert.ok(byShare > 0, `subject ${bySubject}, share ${byShare}`);
  assert.ok(bySubject + byShare >= 40 - stillOpen - 1, `subject ${bySubject} + share ${byShare}, ${stillOpen} open`);
  assert.ok(buffered <= 2 * BODY_BUDGET_PER_IP, `buffered ${buffered}`);
  assertRss(pid, during - baseline < 2 * BODY_BUDGET_PER_IP + ALLOWANCE,
    `RSS grew by ${mb(during - baseline)}`);
  // Memory goes back once the clients leave (malloc_trim after the burst).
  const t0 = Date.now();
  let now = after;
  while (!sanitized(pid) && now - baseline > 24 * MiB && Date.now() - t0 < 10000) {
    await sleep(500);
    now = await settledRss(pid);
  }
  assertRss(pid, now - baseline <= 24 * MiB, `RSS stayed ${mb(now - baseline)} above the baseline`);
  assert.equal(await metric('mcp_auth_request_body_buffered_bytes'), 0);
});

test('300 stalled unauthenticated bodies at /token, /consent and /register stay small', async (t) => {
  const pid = stack.proxy.proc.pid;
  const baseline = await settledRss(pid);
  const sampler = startSampler(pid);
  const cap = 64 * 1024;
  const routes = [
    ['/token', 60, 'application/x-www-form-urlencoded'],
    ['/consent', 30, 'application/x-www-form-urlencoded'],
    ['/register', 10, 'application/json'],
  ];
  const uploads = [];
  for (const addr of ['127.0.0.4', '127.0.0.5', '127.0.0.6']) {
    for (const [path, n, type] of routes) {
      for (let i = 0; i < n; i++) {
        uploads.push(stalledUpload({
          localAddress: addr,
          head: `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${cap}\r\n\r\n`,
          send: cap - 1,
        }));
      }
    }
  }
  // One more asks for 1 MiB: refused from the head (413).
  const big = stalledUpload({
    localAddress: '127.0.0.7',
    head: `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${MiB}\r\n\r\n`,
    send: 0,
  });
  assert.equal(await big.done, 413);
  await allSettled(uploads, cap - 1, 60000);
  await sleep(300);
  await otherUserIsServed(otherToken);
  const buffered = await metric('mcp_auth_request_body_buffered_bytes');
  const during = sampler.max;
  for (const u of [...uploads, big]) u.sock.destroy();
  sampler.stop();
  const after = await settledRss(pid);
  t.diagnostic(`RSS baseline ${mb(baseline)}, peak ${mb(during)} (+${mb(during - baseline)}), `
    + `after ${mb(after)}; bodies buffered while stalled ${mb(buffered)}`);
  // Every stalled body is held (none is over the 64 KiB cap or a share):
  // 300 x 64 KiB, where the 1 MiB cap cost 300 MiB.
  assert.ok(buffered >= 290 * (cap - 1) && buffered <= 300 * cap, mb(buffered));
  assertRss(pid, during - baseline < 300 * cap + ALLOWANCE, `RSS grew by ${mb(during - baseline)}`);
});

test('the largest legitimate OAuth requests fit the 64 KiB caps with room to spare', async (t) => {
  // A registration at every limit: 5 redirect URIs of 512 bytes and a
  // 512-byte name; then the /token form such a client would send with a
  // code and a refresh token at the sealed-token maximum (16384 chars).
  const uris = Array.from({ length: 5 }, (_, i) => `https://c${i}.example/${'p'.repeat(512 - 22)}`);
  const metadata = {
    redirect_uris: uris,
    client_name: 'n'.repeat(512),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: 'openid email profile offline_access',
  };
  const regBody = JSON.stringify(metadata);
  const reg = await register(stack.base, metadata);
  assert.equal(reg.status, 201, reg.text);
  const clientId = reg.json.client_id;
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: 'c'.repeat(16384),
    refresh_token: 'r'.repeat(16384),
    redirect_uri: uris[0],
    client_id: clientId,
    code_verifier: 'v'.repeat(128),
    resource: `${stack.base}/mcp`,
  }).toString();
  t.diagnostic(`largest /register body ${regBody.length} bytes, its client_id ${clientId.length} chars, `
    + `largest /token form ${form.length} bytes (cap 65536)`);
  assert.ok(regBody.length * 2 < 64 * 1024);
  assert.ok(form.length * 1.5 < 64 * 1024);
  // And the proxy reads (not 413s) such a /token body.
  const r = await fetch(`${stack.base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  assert.notEqual(r.status, 413);
  await r.arrayBuffer();
});
