// Client connection caps at accept (the connection-layer issue, item 1):
// MAX_CLIENT_CONNECTIONS_PER_IP closes a source's connection over its
// share, MAX_CLIENT_CONNECTIONS closes the longest-idle connection to admit
// a newcomer, and running out of file descriptors pauses accepting instead
// of spinning on accept() failures.
//
// Client addresses: all of 127/8 is loopback, so a test picks its source
// address (127.0.0.2, ...) with localAddress.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import crypto from 'node:crypto';
import { startStack, startIdp, startUpstream } from './lib/peers.mjs';
import { startProxy, proxyBinary } from './lib/proc.mjs';
import { getFreePort } from './lib/ports.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// A connection from localAddress; resolves once connected. `closed` says
// whether the server closed it; `get()` sends GET /healthz and resolves
// with the status (0 when the connection closed first).
function connect(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    const c = { sock, closed: false, data: '' };
    sock.on('data', (d) => { c.data += d.toString('latin1'); });
    sock.on('close', () => { c.closed = true; });
    sock.on('error', () => {});
    c.get = () => new Promise((res) => {
      const seen = c.data.length;
      const t = setInterval(() => {
        const m = /^HTTP\/1\.1 (\d+) /.exec(c.data.slice(seen));
        if (m || c.closed) { clearInterval(t); res(m ? Number(m[1]) : 0); }
      }, 10);
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}

async function closedWithin(c, ms) {
  const t0 = Date.now();
  while (!c.closed && Date.now() - t0 < ms) await sleep(20);
  return c.closed;
}

async function metric(stack, series) {
  const text = await (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('connection caps', () => {
  let stack;
  before(async () => {
    stack = await startStack({
      proxyEnv: {
        WORKERS: '1', // one idle list: which connection is evicted is deterministic
        MAX_CLIENT_CONNECTIONS: '8',
        MAX_CLIENT_CONNECTIONS_PER_IP: '5',
      },
    });
  });
  after(async () => { if (stack) await stack.stop(); });

  const open = [];
  after(() => { for (const c of open) c.sock.destroy(); });

  test('a sixth connection from one address is closed at once; other addresses are served', async () => {
    const port = stack.proxy.port;
    for (let i = 0; i < 5; i++) open.push(await connect(port, '127.0.0.2'));
    assert.equal(await open[0].get(), 200);
    const sixth = await connect(port, '127.0.0.2');
    assert.ok(await closedWithin(sixth, 5000), 'the sixth connection is closed');
    assert.equal(sixth.data, '', 'without a response');
    assert.ok(open.every((c) => !c.closed));
    const other = await connect(port, '127.0.0.3');
    open.push(other);
    assert.equal(await other.get(), 200);
    assert.equal(await metric(stack, 'mcp_auth_client_connections_refused_total{reason="ip_limit"}'), 1);
    await stack.proxy.waitForLog(/"msg":"client_connection_ip_limit".*"cap":5/, { timeoutMs: 5000 });
  });

  test('at the process cap the longest-idle connection makes room for a newcomer', async () => {
    const port = stack.proxy.port;
    // 6 open; two more fill the cap of 8.
    open.push(await connect(port, '127.0.0.3'));
    open.push(await connect(port, '127.0.0.3'));
    await sleep(100);
    assert.equal(await metric(stack, 'mcp_auth_client_connections'), 8);
    // (Filling the cap may already have closed an idle keep-alive
    // connection left by the start-up readiness check.)
    const evicted = await metric(stack, 'mcp_auth_client_connections_evicted_total');
    // open[1] has been idle the longest: open[0] was accepted before it
    // but answered a request since, which makes it idle only from then.
    const newcomer = await connect(port, '127.0.0.4');
    assert.ok(await closedWithin(open[1], 5000), 'the longest-idle connection was closed');
    assert.equal(await newcomer.get(), 200);
    open.push(newcomer);
    assert.ok(open.filter((c) => c !== open[1]).every((c) => !c.closed), 'only one connection was closed');
    assert.equal(await metric(stack, 'mcp_auth_client_connections_evicted_total'), evicted + 1);
    assert.equal(await metric(stack, 'mcp_auth_client_connections'), 8);
  });
});

// Out of descriptors: a proxy started under `prlimit --nofile=N:N` (it
// cannot raise its own soft limit past the hard one) gets EMFILE from
// accept(). It must pause accepting, not spin, and serve the waiting
// connections once descriptors free up.
describe('out of file descriptors', () => {
  const FD_LIMIT = 96;
  let idp;
  let upstream;
  let proxy;
  before(async () => {
    idp = await startIdp({ clients: [{ clientId: 'p', clientSecret: 's', redirectUris: ['http://127.0.0.1:9/callback'] }] });
    upstream = await startUpstream();
    const port = await getFreePort();
    proxy = await startProxy({
      binary: '/usr/bin/prlimit',
      args: [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, proxyBinary()],
      port,
      env: {
        OIDC_ISSUER_URL: idp.issuer,
        OIDC_CLIENT_ID: 'p',
        OIDC_CLIENT_SECRET: 's',
        UPSTREAM_MCP_URL: upstream.url,
        TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'),
        PROD_MODE: 'false',
        REDIS_REQUIRED: 'false',
        WORKERS: '1',
        MAX_CLIENT_CONNECTIONS: '10000', // the descriptor limit must bite first
        SHUTDOWN_TIMEOUT: '5s',
      },
    });
  });
  after(async () => {
    if (proxy) await proxy.stop();
    if (upstream) await upstream.stop();
    if (idp) await idp.stop();
  });

  function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  }

  test('accept pauses on EMFILE without spinning, and serves the waiting clients later', async () => {
    const pid = proxy.proc.pid;
    const conns = [];
    for (let i = 0; i < FD_LIMIT + 20; i++) {
      const c = await connect(proxy.port, '127.0.0.5'); // the kernel completes the handshake
      c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      conns.push(c);
    }
    await proxy.waitForLog(/"msg":"accept_failed"/, { timeoutMs: 10000 });
    const cpu0 = cpuSeconds(pid);
    await sleep(2000);
    const spent = cpuSeconds(pid) - cpu0;
    // A spinning loop burns the whole 2 s; paused, it retries ten times a
    // second. Half a second is a generous bound on a loaded machine.
    assert.ok(spent < 0.5, `the proxy used ${spent} s of CPU in 2 s at EMFILE`);
    const answered = () => conns.filter((c) => /^HTTP\/1\.1 200 /.test(c.data)).length;
    assert.ok(answered() < conns.length, 'some clients wait in the backlog');
    // Free descriptors: the waiting clients are accepted and answered.
    const served = conns.filter((c) => /^HTTP\/1\.1 200 /.test(c.data));
    for (const c of served.slice(0, 40)) c.sock.destroy();
    const rest = conns.filter((c) => !served.slice(0, 40).includes(c));
    const t0 = Date.now();
    while (rest.some((c) => !/^HTTP\/1\.1 200 /.test(c.data)) && Date.now() - t0 < 15000) await sleep(50);
    assert.ok(rest.every((c) => /^HTTP\/1\.1 200 /.test(c.data)),
      `${rest.filter((c) => !/^HTTP\/1\.1 200 /.test(c.data)).length} clients never served`);
    for (const c of conns) c.sock.destroy();
    // Only now: while it was out of descriptors the metrics listener could
    // not accept a scrape either.
    const text = await (await fetch(`${proxy.metricsUrl}/metrics`, { signal: AbortSignal.timeout(10000) })).text();
    assert.match(text, /mcp_auth_accept_paused_total\{reason="descriptors"\} [1-9]/);
  });
});
