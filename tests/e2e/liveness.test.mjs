// Liveness of client connections (the connection-layer issue, item 1): a
// client that vanishes without a FIN, a client that stops reading, and a
// quiet stream that must live on.
//
// The dead client is real: a node process inside a network namespace the
// test creates (a veth pair, the proxy listening on the root side's
// address), holding an SSE stream of a user whose MCP_PER_SUBJECT_CONCURRENCY
// is 1. Then a packet filter cuts it off: a `pfifo limit 0` qdisc on the
// client's veth drops every packet the client sends, its ACKs and its
// keep-alive answers included, so its socket simply stops acknowledging --
// what a laptop that went to sleep or an expired NAT entry looks like to
// the proxy. (tc's netem would do the same; this kernel has no sch_netem,
// while pfifo is built into every kernel with traffic control.) The proxy
// runs with short TCP keep-alive and TCP_USER_TIMEOUT values, so the
// kernel declares the peer dead within seconds; the test asserts the slot
// is released (the user's next request gets through), the upstream saw its
// connection closed, and the drop was counted.
//
// The other two need no namespace: a loopback client that stops reading
// (paused socket) is closed by CLIENT_WRITE_STALL_TIMEOUT, and a quiet
// stream outlives several stall timeouts and keep-alive rounds.
//
// Needs root for `ip netns` (CI runs as root); without it the dead-peer
// test is skipped with the reason, the others still run.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack } from './lib/peers.mjs';
import { spawnProcess, E2E_DIR } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';
import { mintAccessToken } from './lib/seal-mint.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// ---------------------------------------------------------------- the namespace

const tag = `${process.pid % 100000}`;
const NS = `map-live-${tag}`;
const VETH_HOST = `mlh${tag}`;
const VETH_NS = `mln${tag}`;
// A random /30 in 10.213.0.0/16: host .1, client .2.
const octet = crypto.randomInt(0, 256);
const quad = crypto.randomInt(0, 64) * 4;
const HOST_IP = `10.213.${octet}.${quad + 1}`;
const CLIENT_IP = `10.213.${octet}.${quad + 2}`;

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
}

let netnsError = null;

function setUpNamespace() {
  try {
    ip('netns', 'add', NS);
    ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', VETH_HOST);
    ip('link', 'set', VETH_HOST, 'up');
    ip('-n', NS, 'addr', 'add', `${CLIENT_IP}/30`, 'dev', VETH_NS);
    ip('-n', NS, 'link', 'set', VETH_NS, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
  } catch (err) {
    netnsError = `ip netns is not usable here (${(err.stderr?.toString() || err.message).trim()})`;
    tearDownNamespace();
  }
}

function tearDownNamespace() {
  // Deleting the namespace deletes its end of the veth pair, and the pair
  // with it.
  try { ip('netns', 'del', NS); } catch { /* never created */ }
  try { ip('link', 'del', VETH_HOST); } catch { /* gone with the namespace */ }
}

// Every packet the client sends is dropped from now on.
function cutClientOff() {
  execFileSync('ip', ['netns', 'exec', NS, 'tc', 'qdisc', 'add', 'dev', VETH_NS, 'root', 'pfifo', 'limit', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
}

// ---------------------------------------------------------------- the stack

let stack;
let listenHost;
let port;
let url; // where requests go: the listener's address
let base; // PROXY_BASE_URL: tokens' audience (http:// must name loopback)
let client;

before(async () => {
  setUpNamespace();
  listenHost = netnsError ? '127.0.0.1' : HOST_IP;
  port = await getFreePort();
  url = `http://${listenHost}:${port}`;
  base = `http://127.0.0.1:${port}`;
  stack = await startStack({
    proxyEnv: {
      LISTEN_ADDR: `${listenHost}:${port}`,
      PROXY_BASE_URL: base,
      TOKEN_SIGNING_SECRET: SECRET,
      MCP_PER_SUBJECT_CONCURRENCY: '1',
      // Seconds, not the production minute: probes after 1 s of silence,
      // 1 s apart, two unanswered ones, and unacknowledged data for 3 s.
      TCP_KEEPALIVE_IDLE: '1s',
      TCP_KEEPALIVE_INTERVAL: '1s',
      TCP_KEEPALIVE_COUNT: '2',
      TCP_USER_TIMEOUT: '3s',
      CLIENT_WRITE_STALL_TIMEOUT: '2s',
      RATE_LIMIT_ENABLED: 'false',
    },
  });
});

after(async () => {
  if (client) await client.stop({ signal: 'SIGKILL', timeoutMs: 5000 }).catch(() => {});
  if (stack) await stack.stop();
  tearDownNamespace();
});

function tokenFor(sub) {
  return mintAccessToken({
    secret: SECRET, base, resource: `${base}/mcp`, sub, email: `${sub}@example.com`,
  });
}

async function status(pathname, token) {
  const r = await fetch(`${url}${pathname}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10000),
  });
  await r.arrayBuffer();
  return r.status;
}

// Polls until the user's next request is admitted; returns the ms it took.
async function slotFreeWithin(token, limitMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (await status('/mcp/status/200', token) === 200) return Date.now() - t0;
    await sleep(200);
  }
  throw new Error(`the subject slot was still held after ${limitMs} ms`);
}

async function metric(series) {
  const text = await (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function upstreamClosed(pathPrefix, limitMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    const closed = await stack.upstream.closed();
    const hit = closed.find((c) => c.path.startsWith(pathPrefix));
    if (hit) return hit;
    await sleep(100);
  }
  throw new Error(`the upstream never saw ${pathPrefix} closed`);
}

// ---------------------------------------------------------------- tests

test('a client that stops acknowledging is detected and its subject slot released', async (t) => {
  if (netnsError) {
    t.skip(netnsError);
    return;
  }
  const token = tokenFor('dead-peer');
  // One event now, the next in ten minutes: a quiet stream, nothing queued.
  const streamPath = '/mcp/sse-raw?n=2&gap=600000';
  client = await spawnProcess({
    name: 'stream-client',
    command: 'ip',
    args: ['netns', 'exec', NS, process.execPath, path.join(E2E_DIR, 'fixtures/stream-client.mjs'),
      HOST_IP, String(port), streamPath, token],
    readyLine: /^STATUS (\d+)$/,
    readyTimeoutMs: 15000,
  });
  assert.equal(client.readyMatch[1], '200');
  await client.waitForLine(/^DATA [1-9]/, { timeoutMs: 10000 });
  // The stream holds the user's only slot.
  assert.equal(await status('/mcp/status/200', token), 503);
  const dropped = await metric('mcp_auth_client_connections_dropped_total{reason="peer_timeout"}');

  cutClientOff();
  const cutAt = Date.now();
  // Keep-alive: 1 s idle + 2 probes 1 s apart, TCP_USER_TIMEOUT 3 s: a few
  // seconds; 30 s is a generous bound on a loaded machine.
  const tookMs = await slotFreeWithin(token, 30000);
  const closed = await upstreamClosed('/mcp/sse-raw', 10000);
  assert.ok(closed.at >= cutAt, 'the upstream connection closed after the client was cut off');
  assert.ok(await metric('mcp_auth_client_connections_dropped_total{reason="peer_timeout"}') > dropped);
  t.diagnostic(`slot released ${tookMs} ms after the client stopped acknowledging`);
  const line = await stack.proxy.waitForLog(/"path":"\/mcp\/sse-raw".*"aborted":true/, { timeoutMs: 5000 });
  assert.ok(line);
});

test('a client that stops reading is closed by the write-stall timeout and releases its slot', async () => {
  const token = tokenFor('stops-reading');
  const sock = net.connect({ host: listenHost, port });
  let got = 0;
  let closed = false;
  let reading = true;
  sock.on('data', (d) => {
    got += d.length;
    if (reading) {
      reading = false;
      sock.pause(); // read the first bytes, then nothing until the end
    }
  });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  sock.write(`GET /mcp/bytes?n=${1024 * 1024 * 1024}&chunk=65536 HTTP/1.1\r\nHost: x\r\n`
    + `Authorization: Bearer ${token}\r\n\r\n`);
  const stalls = await metric('mcp_auth_client_connections_dropped_total{reason="write_stall"}');
  const t0 = Date.now();
  while (got === 0 && Date.now() - t0 < 10000) await sleep(50);
  assert.ok(got > 0, 'the response started');
  assert.equal(await status('/mcp/status/200', token), 503);
  // The kernel buffers fill, then nothing drains: closed after the 2 s
  // stall timeout (bounded generously).
  await slotFreeWithin(token, 30000);
  await upstreamClosed('/mcp/bytes', 10000);
  assert.ok(await metric('mcp_auth_client_connections_dropped_total{reason="write_stall"}') > stalls);
  sock.resume();
  const t1 = Date.now();
  while (!closed && Date.now() - t1 < 10000) await sleep(50);
  assert.ok(closed, 'the proxy closed the connection');
  sock.destroy();
});

test('a quiet stream outlives the stall timeout and keep-alive rounds', async () => {
  const token = tokenFor('quiet');
  const stalls = await metric('mcp_auth_client_connections_dropped_total{reason="write_stall"}');
  const t0 = Date.now();
  // Two events 5 s apart: 2.5 stall timeouts and several keep-alive rounds
  // of silence in between, which a live client answers.
  const r = await fetch(`${url}/mcp/sse-raw?n=2&gap=5000`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30000),
  });
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.ok(Date.now() - t0 >= 4900);
  assert.match(text, /id: 0\n/);
  assert.match(text, /id: 1\n/);
  assert.equal(await metric('mcp_auth_client_connections_dropped_total{reason="write_stall"}'), stalls);
});
