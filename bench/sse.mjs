#!/usr/bin/env node
// SSE measurements for bench/run.sh. Node built-ins only.
//
// One process is both the SSE upstream (listening on --listen) and the
// client, so the send and receive timestamps come from the same monotonic
// clock (process.hrtime.bigint(), nanoseconds) and no cross-process clock
// error enters the numbers.
//
//   node bench/sse.mjs latency --listen PORT --events N --gap-ms G \
//        --target NAME=URL[@TOKEN] ...
//     For each target in turn: open one stream (GET, Accept:
//     text/event-stream, Authorization: Bearer TOKEN when given), then
//     N times: the upstream writes one small event and the client times
//     its arrival; G ms between events (ping-pong: the next event is only
//     written once the previous one arrived). Prints one line per target:
//     "sse_latency NAME events=N p50_us=.. p90_us=.. p99_us=.. max_us=.."
//
//   node bench/sse.mjs streams --listen PORT --count C --target URL[@TOKEN]
//        --pids PID[,PID...] [--hold-ms 2000]
//     Reads the summed VmRSS of the PIDs (idle), opens C streams through
//     URL (at most 100 connecting at a time), waits until every stream got
//     its first event, waits --hold-ms, reads VmRSS again, closes the
//     streams, waits --settle-ms (default 2500: the proxy checks once a
//     second whether to give memory back) and reads VmRSS again; then a
//     second round. Prints "sse_streams count=C rss_idle_kib=..
//     rss_open_kib=.. kib_per_stream=.. rss_after_close_kib=.. ..." and the
//     same for the anonymous (heap, stacks: not the mapped binaries) part,
//     anon_*_kib, summed from /proc/PID/smaps_rollup.
//
// The upstream answers GET <any path> with 200 text/event-stream and an
// immediate `: hello` comment plus an event `id: 0`; later events are
// `id: i` / `data: {"i":i}`. Every wait is bounded (--timeout-ms, default
// 120000); exit 1 on any failure.

import http from 'node:http';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string' },
    events: { type: 'string', default: '500' },
    'gap-ms': { type: 'string', default: '2' },
    target: { type: 'string', multiple: true, default: [] },
    count: { type: 'string', default: '1000' },
    pids: { type: 'string', default: '' },
    'hold-ms': { type: 'string', default: '2000' },
    'settle-ms': { type: 'string', default: '2500' },
    rounds: { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '120000' },
  },
});
const mode = positionals[0];
if (!['latency', 'streams'].includes(mode) || !opt.listen) {
  console.error('usage: sse.mjs latency|streams --listen PORT ... (see the header of bench/sse.mjs)');
  process.exit(2);
}
const guard = setTimeout(() => { console.error(`sse.mjs: not done within ${opt['timeout-ms']} ms`); process.exit(1); },
  Number(opt['timeout-ms']));
guard.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ upstream

const streams = new Set(); // server-side responses still open
let onStream = null;
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': hello\n\nid: 0\ndata: {"i":0}\n\n');
  streams.add(res);
  res.on('close', () => streams.delete(res));
  onStream?.(res);
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(opt.listen), '127.0.0.1', resolve);
});

// ------------------------------------------------------------ client

function parseTarget(t) {
  const at = t.lastIndexOf('@');
  return at > t.indexOf('://') + 2 ? { url: t.slice(0, at), token: t.slice(at + 1) } : { url: t, token: '' };
}

// Opens one stream; onEvent(id) for every complete event. Resolves with
// {req, res} once headers arrived.
function openStream(target, onEvent) {
  const { url, token } = parseTarget(target);
  const headers = { accept: 'text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => reject(new Error(`${url}: ${res.statusCode} ${body.slice(0, 200)}`)));
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const m = ev.match(/^id: (\d+)$/m);
          if (m) onEvent(Number(m[1]));
        }
      });
      res.on('error', () => {});
      resolve({ req, res });
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${url}: no answer within 30 s`)));
    req.on('error', reject);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function latency() {
  const n = Number(opt.events);
  const gap = Number(opt['gap-ms']);
  for (const spec of opt.target) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const target = spec.slice(eq + 1);
    let serverSide = null;
    const gotStream = new Promise((r) => { onStream = r; });
    let waiting = null;
    let sentAt = 0n;
    const delays = [];
    const first = new Promise((r) => { waiting = { id: 0, done: r }; });
    const conn = await openStream(target, (id) => {
      if (waiting && id === waiting.id) {
        if (id > 0) delays.push(Number(process.hrtime.bigint() - sentAt) / 1000);
        const w = waiting;
        waiting = null;
        w.done();
      }
    });
    serverSide = await gotStream;
    await first;
    for (let i = 1; i <= n; i += 1) {
      const arrived = new Promise((r) => { waiting = { id: i, done: r }; });
      sentAt = process.hrtime.bigint();
      serverSide.write(`id: ${i}\ndata: {"i":${i}}\n\n`);
      await arrived;
      if (gap > 0) await sleep(gap);
    }
    conn.req.destroy();
    serverSide.end();
    delays.sort((a, b) => a - b);
    const f = (x) => x.toFixed(0);
    console.log(`sse_latency ${name} events=${n} p50_us=${f(pct(delays, 50))} p90_us=${f(pct(delays, 90))} `
      + `p99_us=${f(pct(delays, 99))} max_us=${f(delays[delays.length - 1])}`);
  }
}

// The anonymous part of the RSS (heap, thread stacks, libraries' writable
// data), i.e. what the process itself allocated: shared library text is the
// rest and does not depend on load.
function anonKiB(pids) {
  let sum = 0;
  for (const pid of pids) {
    const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Anonymous:\s+(\d+) kB$/m);
    if (!m) throw new Error(`no Anonymous in smaps_rollup for pid ${pid}`);
    sum += Number(m[1]);
  }
  return sum;
}

function rssKiB(pids) {
  let sum = 0;
  for (const pid of pids) {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
    if (!m) throw new Error(`no VmRSS for pid ${pid}`);
    sum += Number(m[1]);
  }
  return sum;
}

async function streamsMode() {
  const count = Number(opt.count);
  const target = opt.target[0];
  const pids = opt.pids.split(',').filter(Boolean).map(Number);
  // Warm the path once (first-use allocations are not per-stream cost).
  {
    const c = await openStream(target, () => {});
    await sleep(100);
    c.req.destroy();
    await sleep(200);
  }
  await sleep(Number(opt['settle-ms']));
  const idle = rssKiB(pids);
  const idleAnon = anonKiB(pids);
  // Opens `count` streams, holds them, closes them: {open, upstreamOpen, closed} RSS.
  async function round() {
    const conns = [];
    let firstEvents = 0;
    let next = 0;
    async function opener() {
      while (next < count) {
        next += 1;
        let seen = false;
        conns.push(await openStream(target, () => { if (!seen) { seen = true; firstEvents += 1; } }));
      }
    }
    await Promise.all(Array.from({ length: Math.min(100, count) }, opener));
    for (let i = 0; i < 600 && firstEvents < count; i += 1) await sleep(50);
    if (firstEvents < count) throw new Error(`only ${firstEvents} of ${count} streams got their first event`);
    await sleep(Number(opt['hold-ms']));
    const open = rssKiB(pids);
    const openAnon = anonKiB(pids);
    const upstreamOpen = streams.size;
    // One more event on every stream: proves they are all still live.
    for (const s of streams) s.write('id: 1\ndata: {"i":1}\n\n');
    await sleep(500);
    for (const c of conns) c.req.destroy();
    for (let i = 0; i < 100 && streams.size > 0; i += 1) await sleep(50);
    await sleep(Number(opt['settle-ms']));
    return { open, openAnon, upstreamOpen, closed: rssKiB(pids), closedAnon: anonKiB(pids) };
  }
  // Two rounds: memory kept after the first close that the second round
  // reuses is the allocator's cache; memory that grows again is a leak.
  const rounds = [];
  for (let i = 0; i < Math.max(2, Number(opt.rounds)); i += 1) rounds.push(await round());
  const [r1, r2] = rounds;
  if (rounds.length > 2) {
    console.error(`sse.mjs: rounds (open/closed KiB): ${rounds.map((r) => `${r.open}/${r.closed}`).join(' ')}`);
  }
  console.log(`sse_streams count=${count} upstream_streams=${r1.upstreamOpen} rss_idle_kib=${idle} rss_open_kib=${r1.open} `
    + `kib_per_stream=${((r1.open - idle) / count).toFixed(1)} rss_after_close_kib=${r1.closed} `
    + `rss_round2_open_kib=${r2.open} rss_round2_close_kib=${r2.closed} `
    + `anon_idle_kib=${idleAnon} anon_open_kib=${r1.openAnon} anon_after_close_kib=${r1.closedAnon} `
    + `anon_round2_close_kib=${r2.closedAnon}`);
}

try {
  if (mode === 'latency') await latency(); else await streamsMode();
  for (const s of streams) s.destroy();
  server.closeAllConnections();
  server.close();
  process.exit(0);
} catch (err) {
  console.error(`sse.mjs: ${err?.stack ?? err}`);
  process.exit(1);
}
