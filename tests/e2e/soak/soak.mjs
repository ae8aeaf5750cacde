#!/usr/bin/env node
// The soak: `make soak` (scripts/soak.sh) runs this file. Never part of CI.
//
// For SOAK_MINUTES (default 30), on loopback only, the proxy carries a
// steady mixed load while faults arrive on a schedule, and the run ends
// with a table that says whether anything went wrong that should not have.
//
// Load (all against the real peers: oidc-provider, the MCP SDK upstream,
// Debian's redis-server, headless Chromium):
//   - logins in Chromium (consent page, IdP form, /callback, the client's
//     redirect URI) and logins through the same HTTP steps without a
//     browser, each followed by the code exchange and one replay of the
//     code, which must be refused;
//   - refresh rotation over a pool of token families, with an occasional
//     replay of a rotated refresh token past the grace window, which must
//     be refused;
//   - MCP POSTs: JSON-RPC bodies through the mount, and tool calls through
//     the official SDK client;
//   - SOAK_SSE_STREAMS (default 1000) open SSE streams;
//   - disconnect storms: a third of the streams and a burst of in-flight
//     requests dropped by the client at once, then reopened.
// Faults, in turn, every few minutes: Redis restarted, Redis paused
// (SIGSTOP) past the command timeout, the IdP stopped for 30 s, the
// upstream restarted, the log sink stalled (the proxy's stdout not read).
//
// Every operation is recorded with its start and end. A failure is
// "expected" only if a fault that explains it (see EXPECTED) was active,
// or had just ended (its grace), while it ran; anything else is
// unexpected. Invariants checked on the side: no authorization code and no
// refresh token is redeemed twice; no token is issued while the replay
// store cannot answer (Redis paused or down); RSS, descriptors and threads
// flat after the warm-up.
//
// Environment:
//   SOAK_MINUTES (30)  SOAK_SSE_STREAMS (1000)  SOAK_MCP_LOOPS (6)
//   SOAK_BROWSER_EVERY_S (20)  SOAK_LOGIN_EVERY_S (3)
//   SOAK_FAULTS  comma-separated subset and order of the faults (default: all)
//   SOAK_REPORT  where the markdown report goes (default .soak/report.md)
//   MCP_AUTH_PROXY_BIN  the binary (default build/src/mcp-auth-proxy)
// Exit status 0 when every check passed.

import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { getFreePort } from '../lib/ports.mjs';
import { startIdp, startUpstream, startRedis } from '../lib/peers.mjs';
import { proxyBinary, waitForHttp, E2E_DIR } from '../lib/proc.mjs';
import { launchBrowser, chromiumAvailable } from '../lib/browser.mjs';
import {
  login, register, authorizeUrl, pkcePair, randomState, exchangeCode, refreshGrant,
  startRedirectCatcher,
} from '../lib/oauth-client.mjs';
import { connectMcp, resultText } from '../lib/mcp-client.mjs';

const MINUTES = Number(process.env.SOAK_MINUTES || 30);
const SSE_STREAMS = Number(process.env.SOAK_SSE_STREAMS || 1000);
const MCP_LOOPS = Number(process.env.SOAK_MCP_LOOPS || 6);
const BROWSER_EVERY_S = Number(process.env.SOAK_BROWSER_EVERY_S || 20);
const LOGIN_EVERY_S = Number(process.env.SOAK_LOGIN_EVERY_S || 3);
const REPO = path.resolve(E2E_DIR, '../..');
const REPORT = process.env.SOAK_REPORT || path.join(REPO, '.soak', 'report.md');

const TOTAL_MS = MINUTES * 60_000;
const WARMUP_MS = Math.min(120_000, TOTAL_MS / 6);
const SAMPLE_MS = 10_000;
const T0 = Date.now();
const since = () => Date.now() - T0;
const fmtT = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor((ms % 60000) / 1000)).padStart(2, '0')}`;
const log = (...a) => console.log(`[soak ${fmtT(since())}]`, ...a);

// ------------------------------------------------------------ faults

// Which operations a fault may make fail, and how long after it ends its
// effects may last (reconnect backoff, the JWKS refresh after the IdP came
// back with new keys, sessions the upstream forgot).
const EXPECTED = {
  'redis-restart': { ops: ['login_browser', 'login_http', 'token_code', 'token_refresh'], graceMs: 8000 },
  'redis-pause': { ops: ['login_browser', 'login_http', 'token_code', 'token_refresh'], graceMs: 8000 },
  'idp-stop': { ops: ['login_browser', 'login_http'], graceMs: 45000 },
  'upstream-restart': { ops: ['mcp_post', 'mcp_tool', 'sse_open', 'sse_stream', 'storm_request'], graceMs: 8000 },
  'log-stall': { ops: [], graceMs: 0 },
};
// SOAK_FAULTS="log-stall,redis-pause" picks and orders them (short runs).
const FAULT_KINDS = process.env.SOAK_FAULTS ? process.env.SOAK_FAULTS.split(',') : Object.keys(EXPECTED);
for (const k of FAULT_KINDS) if (!EXPECTED[k]) throw new Error(`SOAK_FAULTS: unknown fault ${k}; known: ${Object.keys(EXPECTED).join(', ')}`);
/** @type {{kind: string, start: number, end: number|null}[]} */
const faults = [];

function explainingFault(op, t0, t1) {
  for (const f of faults) {
    const end = (f.end ?? Infinity) + EXPECTED[f.kind].graceMs;
    if (f.start - 1000 <= t1 && end >= t0 && EXPECTED[f.kind].ops.includes(op)) return f.kind;
  }
  return null;
}

// ------------------------------------------------------------ outcomes

const stats = new Map(); // op -> {ok, expected: Map(kind -> n), unexpected: Map(reason -> n)}
const unexpectedSamples = [];
const violations = [];
const counters = {
  codeExchanges: 0, codeReplays: 0, codeReplaysRefused: 0,
  refreshes: 0, refreshReplays: 0, refreshReplaysRefused: 0,
  refreshAfterUnknownRefused: 0,
  sseEvents: 0, stormsRun: 0, logLines: 0, logDroppedLines: [], proxyErrors: new Map(),
};

function opStats(op) {
  if (!stats.has(op)) stats.set(op, { ok: 0, expected: new Map(), unexpected: new Map() });
  return stats.get(op);
}

function record(op, t0, ok, reason = '') {
  const t1 = Date.now();
  const s = opStats(op);
  if (ok) { s.ok += 1; return; }
  const kind = explainingFault(op, t0, t1);
  if (kind) {
    s.expected.set(kind, (s.expected.get(kind) || 0) + 1);
    return;
  }
  const r = String(reason).slice(0, 120);
  s.unexpected.set(r, (s.unexpected.get(r) || 0) + 1);
  if (unexpectedSamples.length < 50) unexpectedSamples.push({ at: fmtT(t1 - T0), op, reason: r });
}

// A /token that returned tokens although the replay store could not have
// answered: sent after a pause or a stop began, answered before it ended.
function checkIssuedWhileUnknown(what, t0) {
  const t1 = Date.now();
  for (const f of faults) {
    if (f.kind !== 'redis-pause' && f.kind !== 'redis-restart') continue;
    if (f.blindFrom && t0 > f.blindFrom + 100 && t1 < (f.blindUntil ?? Infinity)) {
      violations.push({ at: fmtT(t1 - T0), what: `${what} issued while Redis was ${f.kind === 'redis-pause' ? 'paused' : 'down'}` });
    }
  }
}

// ------------------------------------------------------------ the stack

const stack = {};
const tokens = { access: null }; // the newest access token (all loops share one user)
const families = []; // {clientId, refresh, unknown: bool}
let stopping = false;

async function startProxyProcess(env) {
  const child = spawn(proxyBinary(), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) {
      counters.logLines += 1;
      if (!line.includes('"level":"error"') && !line.includes('log_lines_dropped')) continue;
      let j;
      try { j = JSON.parse(line); } catch { continue; }
      if (j.msg === 'log_lines_dropped') counters.logDroppedLines.push({ at: fmtT(since()), count: j.count ?? j.dropped });
      if (j.level === 'error') counters.proxyErrors.set(j.msg, (counters.proxyErrors.get(j.msg) || 0) + 1);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-20000); });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, pid: child.pid, exited, stderr: () => stderr };
}

async function startAll() {
  const proxyPort = await getFreePort();
  const metricsPort = await getFreePort();
  const base = `http://127.0.0.1:${proxyPort}`;
  const clientSecret = crypto.randomBytes(24).toString('hex');
  const idpClients = [{ clientId: 'mcp-auth-proxy', clientSecret, redirectUris: [`${base}/callback`] }];
  stack.idpClients = idpClients;
  stack.idp = await startIdp({ clients: idpClients });
  stack.idpPort = stack.idp.port;
  stack.upstream = await startUpstream({ record: false });
  stack.upstreamPort = stack.upstream.port;
  stack.redis = await startRedis();
  stack.redisPort = stack.redis.port;
  stack.catcher = await startRedirectCatcher({ path: '/oauth/callback' });
  stack.base = base;
  stack.metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const env = {
    PATH: process.env.PATH,
    LISTEN_ADDR: `127.0.0.1:${proxyPort}`,
    METRICS_ADDR: `127.0.0.1:${metricsPort}`,
    PROXY_BASE_URL: base,
    OIDC_ISSUER_URL: stack.idp.issuer,
    OIDC_CLIENT_ID: 'mcp-auth-proxy',
    OIDC_CLIENT_SECRET: clientSecret,
    UPSTREAM_MCP_URL: stack.upstream.url,
    TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'),
    REDIS_URL: stack.redis.url,
    WORKERS: '2',
    SHUTDOWN_TIMEOUT: '10s',
    // One source address carries every simulated client here, so the
    // per-address limits would measure the harness, not the proxy.
    RATE_LIMIT_ENABLED: 'false',
    MAX_CLIENT_CONNECTIONS_PER_IP: String(SSE_STREAMS * 4 + 1000),
    // Every stream belongs to one signed-in user.
    MCP_PER_SUBJECT_CONCURRENCY: String(SSE_STREAMS * 2 + 256),
    ...(process.env.SOAK_PROXY_ENV ? JSON.parse(process.env.SOAK_PROXY_ENV) : {}),
  };
  stack.proxy = await startProxyProcess(env);
  await waitForHttp(`${base}/healthz`, { timeoutMs: 15000 });
  log(`stack up: proxy ${base} (pid ${stack.proxy.pid}), IdP ${stack.idp.issuer}, upstream ${stack.upstream.url}, ${stack.redis.url}`);
}

// ------------------------------------------------------------ logins

function addFamily(clientId, tok) {
  tokens.access = tok.access_token;
  families.push({ clientId, refresh: tok.refresh_token, unknown: false });
  if (families.length > 200) families.shift();
}

// Exchanges the code; every fourth login then replays it. The replay must
// be refused and, as OAuth 2.1 §4.1.3 asks, must revoke what the code
// gave: the family's refresh token is then refused too. Returns the tokens
// of a family that is still good, else null.
let loginCount = 0;
async function exchangeAndReplay(op, { code, redirectUri, clientId, verifier }) {
  const t0 = Date.now();
  const tok = await exchangeCode(stack.base, { code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
  if (tok.status !== 200) {
    record('token_code', t0, false, `${tok.status} ${tok.json?.error ?? ''}`);
    return null;
  }
  checkIssuedWhileUnknown('code grant', t0);
  record('token_code', t0, true);
  counters.codeExchanges += 1;
  if (++loginCount % 4 !== 0) return tok.json;

  const t1 = Date.now();
  const again = await exchangeCode(stack.base, { code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier });
  counters.codeReplays += 1;
  if (again.status === 200) {
    violations.push({ at: fmtT(since()), what: `authorization code redeemed twice (${op})` });
  } else if (again.status === 400 && again.json?.error === 'invalid_grant') {
    counters.codeReplaysRefused += 1;
    const r = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: clientId });
    if (r.status === 200) violations.push({ at: fmtT(since()), what: `refresh family survived a code replay (${op})` });
  } else {
    record('token_code', t1, false, `replay answered ${again.status} ${again.json?.error ?? ''}`);
  }
  return null;
}

async function httpLogin() {
  const t0 = Date.now();
  try {
    const r = await login(stack.base, { username: 'alice', password: 'alice-pw', clientName: 'soak http', exchange: false });
    record('login_http', t0, true);
    const tok = await exchangeAndReplay('http login', {
      code: r.redirect.code, redirectUri: 'http://127.0.0.1:9/cb', clientId: r.client.client_id, verifier: r.pkce.verifier,
    });
    if (tok) addFamily(r.client.client_id, tok);
  } catch (err) {
    record('login_http', t0, false, err.message);
  }
}

async function browserLogin(browser) {
  const t0 = Date.now();
  const rec = await browser.newPage();
  try {
    const reg = await register(stack.base, { redirect_uris: [stack.catcher.url], client_name: 'soak browser' });
    if (reg.status !== 201) throw new Error(`register ${reg.status}`);
    const pkce = pkcePair();
    const state = randomState();
    const { page } = rec;
    page.setDefaultTimeout(20000);
    await page.goto(authorizeUrl(stack.base, {
      client_id: reg.json.client_id, redirect_uri: stack.catcher.url, state, code_challenge: pkce.challenge,
    }));
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(stack.idp.issuer)),
      page.getByRole('button', { name: 'Approve & sign in' }).click(),
    ]);
    await page.fill('#login', 'alice');
    await page.fill('#password', 'alice-pw');
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(stack.catcher.url)),
      page.click('#submit'),
    ]);
    const hit = stack.catcher.hits.findLast((u) => u.searchParams.get('state') === state);
    if (!hit?.searchParams.get('code')) throw new Error('no code at the redirect URI');
    record('login_browser', t0, true);
    const tok = await exchangeAndReplay('browser login', {
      code: hit.searchParams.get('code'), redirectUri: stack.catcher.url, clientId: reg.json.client_id, verifier: pkce.verifier,
    });
    if (tok) addFamily(reg.json.client_id, tok);
  } catch (err) {
    record('login_browser', t0, false, err.message.split('\n')[0]);
  } finally {
    await rec.close().catch(() => {});
  }
}

async function everyLoop(periodMs, fn) {
  while (!stopping) {
    const t = Date.now();
    await fn();
    const left = periodMs - (Date.now() - t);
    if (left > 0 && !stopping) await sleep(left);
  }
}

// ------------------------------------------------------------ refresh rotation

const pendingReplays = [];

async function refreshOnce(i) {
  const fam = families[i % families.length];
  if (!fam) return;
  const t0 = Date.now();
  const old = fam.refresh;
  let r;
  try {
    r = await refreshGrant(stack.base, { refresh_token: old, client_id: fam.clientId });
  } catch (err) {
    fam.unknown = true;
    record('token_refresh', t0, false, err.message);
    return;
  }
  if (r.status === 200) {
    checkIssuedWhileUnknown('refresh grant', t0);
    record('token_refresh', t0, true);
    counters.refreshes += 1;
    fam.refresh = r.json.refresh_token;
    fam.unknown = false;
    tokens.access = r.json.access_token;
    // Now and then, replay the rotated token after the grace window.
    if (counters.refreshes % 25 === 0) pendingReplays.push({ fam, old, at: Date.now() + 3500 });
    return;
  }
  if (r.status === 400 && r.json?.error === 'invalid_grant' && fam.unknown) {
    // The previous attempt failed with the outcome unknown (503 while Redis
    // was paused: the claim may have landed after the proxy gave up), so
    // this retry counts as reuse and the family is revoked. Known gap:
    // issue 11 asks retries to be answered with the same bytes.
    counters.refreshAfterUnknownRefused += 1;
    families.splice(families.indexOf(fam), 1);
    record('token_refresh', t0, true);
    return;
  }
  if (r.status === 503) fam.unknown = true;
  if (r.status === 400 && r.json?.error === 'invalid_grant') families.splice(families.indexOf(fam), 1);
  record('token_refresh', t0, false, `${r.status} ${r.json?.error ?? ''} ${r.json?.error_description ?? ''}`);
}

async function refreshLoop() {
  let i = 0;
  while (!stopping) {
    while (pendingReplays.length && pendingReplays[0].at <= Date.now()) {
      const { fam, old } = pendingReplays.shift();
      const t0 = Date.now();
      const r = await refreshGrant(stack.base, { refresh_token: old, client_id: fam.clientId }).catch((e) => ({ status: 0, err: e }));
      counters.refreshReplays += 1;
      if (r.status === 200) violations.push({ at: fmtT(since()), what: 'refresh token redeemed twice' });
      else if (r.status === 400 && r.json?.error === 'invalid_grant') counters.refreshReplaysRefused += 1;
      else record('token_refresh', t0, false, `replay answered ${r.status} ${r.json?.error ?? ''}`);
      const k = families.indexOf(fam);
      if (k >= 0) families.splice(k, 1); // the replay revoked the family
    }
    if (families.length) await refreshOnce(i++);
    await sleep(250);
  }
}

// ------------------------------------------------------------ MCP traffic

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function httpCall(url, { method = 'GET', headers = {}, body, timeoutMs = 15000, agent: ag = agent, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: ag, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

async function mcpPostLoop(n) {
  let seq = 0;
  while (!stopping) {
    const t0 = Date.now();
    const payload = JSON.stringify({ jsonrpc: '2.0', id: `${n}-${seq++}`, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(64) } } });
    try {
      const r = await httpCall(`${stack.base}/mcp/echo-body`, {
        method: 'POST', body: payload,
        headers: { authorization: `Bearer ${tokens.access}`, 'content-type': 'application/json', accept: 'application/json' },
      });
      const ok = r.status === 200 && JSON.parse(r.body).length === Buffer.byteLength(payload);
      record('mcp_post', t0, ok, `${r.status} ${r.body.slice(0, 80)}`);
    } catch (err) {
      record('mcp_post', t0, false, err.message);
    }
    await sleep(20);
  }
}

async function mcpToolLoop(n) {
  let conn = null;
  while (!stopping) {
    const t0 = Date.now();
    try {
      conn ??= await connectMcp(`${stack.base}/mcp`, { token: tokens.access, name: `soak-${n}` });
      const res = await conn.client.callTool({ name: 'echo', arguments: { text: `soak ${n}` } });
      record('mcp_tool', t0, resultText(res) === `soak ${n}`, `result ${JSON.stringify(res).slice(0, 80)}`);
    } catch (err) {
      record('mcp_tool', t0, false, err.message.split('\n')[0]);
      await conn?.close().catch(() => {});
      conn = null;
      await sleep(500);
    }
    await sleep(100);
  }
  await conn?.close().catch(() => {});
}

// ------------------------------------------------------------ SSE streams

const streams = new Set();

function openStream() {
  if (stopping) return;
  const s = { req: null, closedByUs: false, events: 0 };
  const t0 = Date.now();
  const req = http.request(`${stack.base}/mcp/sse-raw?n=1000000&gap=15000`, {
    headers: { authorization: `Bearer ${tokens.access}`, accept: 'text/event-stream' }, agent: false,
  }, (res) => {
    if (res.statusCode !== 200) {
      record('sse_open', t0, false, `status ${res.statusCode}`);
      res.resume();
      streams.delete(s);
      setTimeout(openStream, 1000);
      return;
    }
    record('sse_open', t0, true);
    res.setEncoding('utf8');
    res.on('data', (c) => { const k = c.split('event: tick').length - 1; s.events += k; counters.sseEvents += k; });
    const ended = (why) => {
      if (!streams.has(s)) return;
      streams.delete(s);
      if (!s.closedByUs && !stopping) {
        record('sse_stream', s.openedAt, false, why);
        setTimeout(openStream, 1000);
      }
    };
    res.on('end', () => ended('stream ended'));
    res.on('error', (e) => ended(e.message));
    res.on('close', () => ended('stream closed'));
  });
  s.req = req;
  s.openedAt = Date.now();
  req.on('error', (e) => {
    if (!streams.has(s)) return;
    streams.delete(s);
    if (!s.closedByUs && !stopping) {
      record('sse_open', t0, false, e.message);
      setTimeout(openStream, 1000);
    }
  });
  streams.add(s);
  req.end();
}

async function openStreams(n) {
  for (let i = 0; i < n && !stopping; i += 1) {
    openStream();
    if (i % 50 === 49) await sleep(100);
  }
}

// A third of the streams and 60 in-flight requests dropped at once.
async function disconnectStorm() {
  counters.stormsRun += 1;
  const victims = [...streams].filter((_, i) => i % 3 === 0);
  for (const s of victims) { s.closedByUs = true; streams.delete(s); s.req.destroy(); }
  const inflight = [];
  for (let i = 0; i < 60; i += 1) {
    const ac = new AbortController();
    const t0 = Date.now();
    inflight.push(httpCall(`${stack.base}/mcp/slow-headers?ms=3000`, {
      method: 'POST', body: '{}', agent: false, signal: ac.signal,
      headers: { authorization: `Bearer ${tokens.access}`, 'content-type': 'application/json' },
    }).then((r) => record('storm_request', t0, r.status === 200, `status ${r.status}`), (e) => {
      if (e.name !== 'AbortError') record('storm_request', t0, false, e.message);
    }));
    setTimeout(() => ac.abort(), 300 + (i % 10) * 50);
  }
  await Promise.all(inflight);
  await sleep(2000);
  await openStreams(victims.length);
}

// ------------------------------------------------------------ faults

async function restartRedis(f) {
  f.blindFrom = Date.now();
  await stack.redis.stop();
  await sleep(3000);
  stack.redis = await startRedis({ port: stack.redisPort });
  f.blindUntil = Date.now();
}

async function pauseRedis(f) {
  process.kill(stack.redis.proc.pid, 'SIGSTOP');
  f.blindFrom = Date.now();
  await sleep(3000); // six times the 500 ms command timeout
  f.blindUntil = Date.now();
  process.kill(stack.redis.proc.pid, 'SIGCONT');
}

async function stopIdp() {
  await stack.idp.stop();
  await sleep(30000);
  stack.idp = await startIdp({ port: stack.idpPort, clients: stack.idpClients });
}

async function restartUpstream() {
  await stack.upstream.stop();
  await sleep(2000);
  stack.upstream = await startUpstream({ port: stack.upstreamPort, record: false });
}

async function stallLogSink() {
  stack.proxy.child.stdout.pause();
  await sleep(60000);
  stack.proxy.child.stdout.resume();
}

const FAULT_FNS = {
  'redis-restart': restartRedis, 'redis-pause': pauseRedis, 'idp-stop': stopIdp,
  'upstream-restart': restartUpstream, 'log-stall': stallLogSink,
};

async function faultLoop() {
  const spacing = Math.max(45_000, Math.min(240_000, (TOTAL_MS - WARMUP_MS) / (FAULT_KINDS.length + 1)));
  let next = WARMUP_MS + 30_000;
  let k = 0;
  while (!stopping) {
    if (since() < next) { await sleep(Math.min(1000, next - since())); continue; }
    if (since() > TOTAL_MS - 60_000) break; // let the last one settle
    const kind = FAULT_KINDS[k++ % FAULT_KINDS.length];
    const f = { kind, start: Date.now(), end: null };
    faults.push(f);
    log(`fault: ${kind}`);
    try { await FAULT_FNS[kind](f); } catch (err) { log(`fault ${kind} failed: ${err.message}`); }
    f.end = Date.now();
    log(`fault: ${kind} over after ${((f.end - f.start) / 1000).toFixed(1)} s`);
    next = since() + spacing;
  }
}

// ------------------------------------------------------------ sampling

const samples = [];

function procStat(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
  const threads = Number(status.match(/^Threads:\s+(\d+)/m)?.[1] ?? 0);
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  return { rssKb, threads, fds };
}

// Sum of a metric's samples whose labels include `labels` (all when '').
async function metric(name, labels = '') {
  try {
    const r = await httpCall(`${stack.metricsUrl}/metrics`, { agent: false, timeoutMs: 5000 });
    let sum = 0;
    let seen = false;
    for (const line of r.body.split('\n')) {
      const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/);
      if (!m || m[1] !== name || (labels && !(m[2] ?? '').includes(labels))) continue;
      sum += Number(m[3]);
      seen = true;
    }
    return seen ? sum : null;
  } catch { return null; }
}

// Redis command counters, summed across restarts (INFO resets them).
const redisCalls = { set: 0, evalsha: 0, eval: 0, last: null };
function redisInfo() {
  return new Promise((resolve) => {
    const sock = net.connect(stack.redisPort, '127.0.0.1');
    let buf = '';
    sock.setTimeout(2000, () => { sock.destroy(); resolve(null); });
    sock.on('error', () => resolve(null));
    sock.on('data', (c) => {
      buf += c;
      const nl = buf.indexOf('\r\n');
      if (nl > 0 && buf.length >= nl + 2 + Number(buf.slice(1, nl))) { sock.end(); resolve(buf); }
    });
    sock.write('INFO commandstats\r\n');
  });
}
async function sampleRedis() {
  const text = await redisInfo();
  if (!text) return;
  const calls = (cmd) => Number(text.match(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`))?.[1] ?? 0);
  const now = { set: calls('set'), evalsha: calls('evalsha'), eval: calls('eval') };
  const last = redisCalls.last;
  for (const k of ['set', 'evalsha', 'eval']) {
    redisCalls[k] += last && now[k] >= last[k] ? now[k] - last[k] : now[k];
  }
  redisCalls.last = now;
}

async function sampleLoop() {
  while (!stopping) {
    try {
      const p = procStat(stack.proxy.pid);
      samples.push({ t: since(), ...p, streams: streams.size, faults: faults.filter((f) => f.end === null).map((f) => f.kind).join(',') });
    } catch { /* the proxy is gone: the report says so */ }
    await sampleRedis();
    await sleep(SAMPLE_MS);
  }
}

// ------------------------------------------------------------ report

function flatness(key, slackAbs, slackRel) {
  const after = samples.filter((s) => s.t >= WARMUP_MS);
  if (after.length < 4) return { ok: true, text: 'too few samples' };
  const half = Math.floor(after.length / 2);
  const max = (a) => Math.max(...a.map((s) => s[key]));
  const first = max(after.slice(0, half));
  const second = max(after.slice(half));
  const ok = second <= first * (1 + slackRel) + slackAbs;
  return { ok, first, second };
}

function mdTable(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

async function report(exitInfo, finalMetrics) {
  const lines = [];
  lines.push(`# Soak report`, '');
  lines.push(`${MINUTES} min on loopback, ${new Date(T0).toISOString()}; ${SSE_STREAMS} SSE streams; `
    + `${MCP_LOOPS} MCP POST loops + 2 SDK tool loops; a browser login every ${BROWSER_EVERY_S} s and an HTTP login every ${LOGIN_EVERY_S} s; `
    + `${counters.stormsRun} disconnect storms; proxy ${path.relative(REPO, proxyBinary())}.`, '');

  lines.push('## Faults', '');
  lines.push(mdTable(['fault', 'start', 'lasted'], faults.map((f) => [f.kind, fmtT(f.start - T0), `${(((f.end ?? Date.now()) - f.start) / 1000).toFixed(1)} s`])), '');

  lines.push('## Requests by outcome', '');
  const rows = [];
  let unexpectedTotal = 0;
  for (const [op, s] of [...stats.entries()].sort()) {
    const exp = [...s.expected.entries()].map(([k, n]) => `${k} ${n}`).join(', ') || '0';
    const unexp = [...s.unexpected.values()].reduce((a, b) => a + b, 0);
    unexpectedTotal += unexp;
    rows.push([op, String(s.ok + [...s.expected.values()].reduce((a, b) => a + b, 0) + unexp), String(s.ok), exp, String(unexp)]);
  }
  lines.push(mdTable(['operation', 'total', 'ok', 'expected failures (during fault)', 'unexpected failures'], rows), '');
  if (unexpectedSamples.length) {
    lines.push('Unexpected failures (first 50):', '');
    for (const u of unexpectedSamples) lines.push(`- ${u.at} ${u.op}: ${u.reason}`);
    lines.push('');
  }

  lines.push('## Single use', '');
  const { issuedCode, issuedRefresh, dropped } = finalMetrics;
  lines.push(mdTable(['what', 'count'], [
    ['codes exchanged (200 seen by the clients)', counters.codeExchanges],
    ['code grants issued (proxy metric)', issuedCode ?? 'n/a'],
    ['code replays tried / refused (each also revokes its refresh family)', `${counters.codeReplays} / ${counters.codeReplaysRefused}`],
    ['refreshes (200 seen by the clients)', counters.refreshes],
    ['refresh grants issued (proxy metric)', issuedRefresh ?? 'n/a'],
    ['refresh replays past the grace tried / refused', `${counters.refreshReplays} / ${counters.refreshReplaysRefused}`],
    ['retries after an unknown outcome refused as reuse (issue 11)', counters.refreshAfterUnknownRefused],
    ['Redis SET (consent, callback and code claims; summed across restarts)', redisCalls.set],
    ['Redis EVALSHA + EVAL (refresh rotations)', redisCalls.evalsha + redisCalls.eval],
    ['violations (code or refresh redeemed twice, token issued while Redis could not answer)', violations.length],
  ]), '');
  for (const v of violations) lines.push(`- VIOLATION ${v.at}: ${v.what}`);

  lines.push('', '## Resources (every 10 s)', '');
  const pick = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 40)) === 0 || i === samples.length - 1);
  lines.push(mdTable(['t', 'RSS MiB', 'descriptors', 'threads', 'open streams', 'fault'],
    pick.map((s) => [fmtT(s.t), (s.rssKb / 1024).toFixed(1), s.fds, s.threads, s.streams, s.faults || ''])), '');
  const rss = flatness('rssKb', 8 * 1024, 0.10);
  const fds = flatness('fds', 64, 0.05);
  const thr = flatness('threads', 0, 0);
  lines.push(mdTable(['after warm-up', 'max, first half', 'max, second half', 'flat'], [
    ['RSS (KiB)', rss.first, rss.second, rss.ok ? 'yes' : 'NO'],
    ['descriptors', fds.first, fds.second, fds.ok ? 'yes' : 'NO'],
    ['threads', thr.first, thr.second, thr.ok ? 'yes' : 'NO'],
  ]), '');

  lines.push('## Proxy', '');
  lines.push(`- log lines read: ${counters.logLines}; dropped while the sink stalled (metric): ${dropped ?? 'n/a'}; `
    + `log_lines_dropped reports: ${counters.logDroppedLines.map((d) => `${d.at} (${d.count})`).join(', ') || 'none'}`);
  lines.push(`- error-level log lines by msg: ${[...counters.proxyErrors.entries()].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  lines.push(`- SSE events received: ${counters.sseEvents}`);
  lines.push(`- exit after SIGTERM: code ${exitInfo?.code}, signal ${exitInfo?.signal}`);
  const sanitizer = /AddressSanitizer|LeakSanitizer|runtime error:/.test(stack.proxy.stderr());
  if (sanitizer) lines.push('- SANITIZER REPORT on stderr');

  const pass = unexpectedTotal === 0 && violations.length === 0 && rss.ok && fds.ok && thr.ok
    && exitInfo?.code === 0 && !sanitizer;
  lines.push('', `**Result: ${pass ? 'PASS' : 'FAIL'}** (unexpected failures ${unexpectedTotal}, violations ${violations.length}, `
    + `flat RSS ${rss.ok ? 'yes' : 'no'}, descriptors ${fds.ok ? 'yes' : 'no'}, threads ${thr.ok ? 'yes' : 'no'}, clean exit ${exitInfo?.code === 0 ? 'yes' : 'no'})`);
  const text = lines.join('\n');
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, `${text}\n`);
  console.log(`\n${text}\n\nreport written to ${REPORT}`);
  return pass;
}

// ------------------------------------------------------------ main

async function main() {
  if (!chromiumAvailable()) throw new Error('the soak needs Chromium (/usr/bin/chromium)');
  await startAll();
  // The first tokens, before the load starts.
  await httpLogin();
  if (!tokens.access) throw new Error('the first login failed; see the proxy log');
  const browser = await launchBrowser();
  const tasks = [];
  tasks.push(sampleLoop());
  await openStreams(SSE_STREAMS);
  log(`${streams.size} SSE streams opening`);
  tasks.push(everyLoop(BROWSER_EVERY_S * 1000, () => browserLogin(browser)));
  tasks.push(everyLoop(LOGIN_EVERY_S * 1000, httpLogin));
  tasks.push(refreshLoop());
  for (let i = 0; i < MCP_LOOPS; i += 1) tasks.push(mcpPostLoop(i));
  for (let i = 0; i < 2; i += 1) tasks.push(mcpToolLoop(i));
  tasks.push(everyLoop(90_000, async () => { if (since() > 60_000) await disconnectStorm(); }));
  tasks.push(faultLoop());
  let lastLog = 0;
  while (since() < TOTAL_MS) {
    await sleep(1000);
    if (since() - lastLog >= 60_000) {
      lastLog = since();
      const s = samples.at(-1);
      log(`streams ${streams.size}, RSS ${s ? (s.rssKb / 1024).toFixed(1) : '?'} MiB, fds ${s?.fds}, threads ${s?.threads}, `
        + `codes ${counters.codeExchanges}, refreshes ${counters.refreshes}, violations ${violations.length}`);
    }
  }
  stopping = true;
  log('load stopping');
  for (const s of streams) { s.closedByUs = true; s.req.destroy(); }
  streams.clear();
  await Promise.race([Promise.allSettled(tasks), sleep(30000)]);
  await browser.close().catch(() => {});
  agent.destroy();
  const finalMetrics = {
    issuedCode: await metric('mcp_auth_tokens_issued_total', 'grant_type="authorization_code"'),
    issuedRefresh: await metric('mcp_auth_tokens_issued_total', 'grant_type="refresh_token"'),
    dropped: await metric('mcp_auth_log_lines_dropped_total'),
  };
  stack.proxy.child.kill('SIGTERM');
  const exitInfo = await Promise.race([stack.proxy.exited, sleep(20000).then(() => null)]);
  if (!exitInfo) stack.proxy.child.kill('SIGKILL');
  const pass = await report(exitInfo, finalMetrics);
  for (const p of [stack.idp, stack.upstream, stack.redis]) await p?.stop().catch(() => {});
  await stack.catcher?.close();
  process.exit(pass ? 0 : 1);
}

main().catch(async (err) => {
  console.error(`soak: ${err.stack || err}`);
  try { stack.proxy?.child.kill('SIGKILL'); } catch { /* gone */ }
  for (const p of [stack.idp, stack.upstream, stack.redis]) await p?.stop().catch(() => {});
  process.exit(2);
});
