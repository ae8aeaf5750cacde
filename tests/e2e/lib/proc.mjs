// Child processes for end-to-end tests: spawn with a guard, capture output
// line by line, wait for readiness with a bounded poll, stop by PID.
//
// Every process started here is remembered until it exits; when the test
// process exits (normally, or by SIGINT/SIGTERM/SIGHUP) the survivors get
// SIGKILL by PID, so a failed or interrupted test run leaves nothing behind.
//
// startProxy() wraps the C binary: free loopback ports for LISTEN_ADDR and
// METRICS_ADDR, readiness on GET /healthz, and a stop() that fails the test
// unless SIGTERM made it exit 0 without sanitizer reports on stderr.

import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from './ports.mjs';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PROXY_BIN = path.resolve(E2E_DIR, '../../build/src/mcp-auth-proxy');
export const DEFAULT_READY_TIMEOUT_MS = 15000;
export const DEFAULT_STOP_TIMEOUT_MS = 10000;
const VERBOSE = process.env.E2E_VERBOSE === '1';

// ---------------------------------------------------------------- cleanup on exit

const live = new Set(); // guards whose child has not exited yet
let exitHooksInstalled = false;

function killSurvivors() {
  for (const g of live) {
    try { process.kill(g.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killSurvivors);
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [sig, num] of Object.entries(signals)) {
    process.once(sig, () => {
      killSurvivors();
      process.exit(128 + num);
    });
  }
}

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sanitizer / UB reports we never accept on a child's stderr. */
export const SANITIZER_PATTERNS = [
  /ERROR: AddressSanitizer/,
  /ERROR: LeakSanitizer/,
  /LeakSanitizer/,
  /runtime error:/,
  /ThreadSanitizer/,
  /MemorySanitizer/,
];

/**
 * Returns the sanitizer-looking lines in `text` (empty array when clean).
 * @param {string} text
 * @returns {string[]}
 */
export function findSanitizerReports(text) {
  return text.split('\n').filter((l) => SANITIZER_PATTERNS.some((re) => re.test(l)));
}

/**
 * Polls `url` until it answers `status` (default 200) or the time runs out.
 * Each attempt has its own short timeout so a wedged server cannot hang us.
 * `isDead()` lets the caller stop early when the process already exited.
 * @returns {Promise<void>} rejects with the last error on timeout
 */
export async function waitForHttp(url, { status = 200, timeoutMs = DEFAULT_READY_TIMEOUT_MS, intervalMs = 50, isDead } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    if (isDead?.()) throw new Error(`process exited while waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(2000, timeoutMs)), redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} to answer ${status} (last: ${last})`);
}

// ---------------------------------------------------------------- spawn

/**
 * @typedef {object} ExitInfo
 * @property {number|null} code    exit status, null when killed by a signal
 * @property {string|null} signal  signal name that ended it, null on normal exit
 * @property {boolean} forced      true when stop() had to SIGKILL after its timeout
 */

/**
 * @typedef {object} ProcGuard
 * @property {string} name
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess} child
 * @property {string[]} stdoutLines  complete lines so far (no trailing newline)
 * @property {string[]} stderrLines
 * @property {RegExpMatchArray|null} readyMatch  match of readyLine, when used
 * @property {Promise<ExitInfo>} exited  settles when the child exits
 * @property {() => ExitInfo|null} exitInfo  null while running
 * @property {() => string} stdout  all stdout text so far
 * @property {() => string} stderr  all stderr text so far
 * @property {(re: RegExp|string, opts?: {timeoutMs?: number, stream?: 'stdout'|'stderr'|'both'}) => Promise<RegExpMatchArray>} waitForLine
 *           resolves with the first line (already seen or future) matching re
 * @property {(signal?: string) => boolean} kill  sends a signal by PID
 * @property {(opts?: {signal?: string, timeoutMs?: number}) => Promise<ExitInfo>} stop
 *           signal (default SIGTERM), wait up to timeoutMs, then SIGKILL
 */

/**
 * Spawns a child process and (optionally) waits until it is ready.
 *
 * @param {object} o
 * @param {string} o.command
 * @param {string[]} [o.args]
 * @param {Record<string,string|undefined>} [o.env]  added to (or, with
 *        inheritEnv false, replacing) process.env; undefined values remove a variable
 * @param {boolean} [o.inheritEnv=true]
 * @param {string} [o.cwd]
 * @param {string} [o.name]  label used in errors and verbose logs
 * @param {RegExp|string} [o.readyLine]  wait for a stdout/stderr line matching this
 * @param {string} [o.readyUrl]  or wait for this URL to answer readyStatus
 * @param {number} [o.readyStatus=200]
 * @param {number} [o.readyTimeoutMs=15000]
 * @returns {Promise<ProcGuard>}  rejects (after killing the child) when not ready in time
 */
export async function spawnProcess(o) {
  const name = o.name || path.basename(o.command);
  const env = o.inheritEnv === false ? {} : { ...process.env };
  for (const [k, v] of Object.entries(o.env || {})) {
    if (v === undefined) delete env[k]; else env[k] = String(v);
  }
  installExitHooks();
  const child = spawn(o.command, o.args || [], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });

  const stdoutLines = [];
  const stderrLines = [];
  const raw = { stdout: '', stderr: '' };
  const waiters = new Set(); // {re, stream, resolve}
  let exitInfo = null;
  let forced = false; // stop() had to SIGKILL

  const spawned = new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });

  const onLine = (stream, line) => {
    (stream === 'stdout' ? stdoutLines : stderrLines).push(line);
    if (VERBOSE) process.stderr.write(`[${name} ${stream}] ${line}\n`);
    for (const w of waiters) {
      if (w.stream !== 'both' && w.stream !== stream) continue;
      const m = line.match(w.re);
      if (m) { waiters.delete(w); w.resolve(m); }
    }
  };
  for (const stream of ['stdout', 'stderr']) {
    let partial = '';
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      raw[stream] += chunk;
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const l of parts) onLine(stream, l.replace(/\r$/, ''));
    });
    child[stream].on('end', () => { if (partial) { onLine(stream, partial); partial = ''; } });
  }

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      // 'exit' can precede the last 'data' events; 'close' waits for stdio.
      child.once('close', () => {
        exitInfo = { code, signal, forced };
        live.delete(guard);
        for (const w of waiters) w.reject?.(new Error(`${name} exited (code ${code}, signal ${signal}) before a line matched ${w.re}`));
        waiters.clear();
        resolve(exitInfo);
      });
    });
  });

  const guard = {
    name,
    pid: undefined,
    child,
    stdoutLines,
    stderrLines,
    readyMatch: null,
    exited,
    exitInfo: () => exitInfo,
    stdout: () => raw.stdout,
    stderr: () => raw.stderr,
    waitForLine(re, { timeoutMs = DEFAULT_READY_TIMEOUT_MS, stream = 'both' } = {}) {
      const rx = typeof re === 'string' ? new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : re;
      const seen = [
        ...(stream !== 'stderr' ? stdoutLines : []),
        ...(stream !== 'stdout' ? stderrLines : []),
      ];
      for (const l of seen) { const m = l.match(rx); if (m) return Promise.resolve(m); }
      if (exitInfo) return Promise.reject(new Error(`${name} already exited; no line matched ${rx}`));
      return new Promise((resolve, reject) => {
        const w = { re: rx, stream };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name} to print ${rx}\n--- stderr tail ---\n${tail(raw.stderr)}`));
        }, timeoutMs);
        w.resolve = (m) => { clearTimeout(timer); resolve(m); };
        w.reject = (e) => { clearTimeout(timer); reject(e); };
        waiters.add(w);
      });
    },
    kill(signal = 'SIGTERM') {
      if (exitInfo) return false;
      try { process.kill(guard.pid, signal); return true; } catch { return false; }
    },
    async stop({ signal = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS } = {}) {
      if (exitInfo) return exitInfo;
      guard.kill(signal);
      const timedOut = Symbol('timeout');
      let timer;
      const r = await Promise.race([exited, new Promise((res) => { timer = setTimeout(() => res(timedOut), timeoutMs); })]);
      clearTimeout(timer);
      if (r !== timedOut) return r;
      forced = true;
      try { process.kill(guard.pid, 'SIGKILL'); } catch { /* gone */ }
      // SIGKILL cannot be caught; exit follows promptly. Still bound the wait.
      await Promise.race([exited, sleep(5000)]);
      return exitInfo || { code: null, signal: 'SIGKILL', forced: true };
    },
  };

  await spawned.catch((err) => { throw new Error(`cannot start ${name} (${o.command}): ${err.message}`); });
  guard.pid = child.pid;
  live.add(guard);

  const readyTimeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  try {
    if (o.readyLine) {
      guard.readyMatch = await guard.waitForLine(o.readyLine, { timeoutMs: readyTimeoutMs });
    }
    if (o.readyUrl) {
      await waitForHttp(o.readyUrl, {
        status: o.readyStatus ?? 200, timeoutMs: readyTimeoutMs, isDead: () => exitInfo !== null,
      });
    }
  } catch (err) {
    await guard.stop({ signal: 'SIGKILL', timeoutMs: 2000 });
    const info = guard.exitInfo();
    throw new Error(`${name} did not become ready: ${err.message}\n`
      + `exit: code ${info?.code} signal ${info?.signal}\n`
      + `--- stdout tail ---\n${tail(raw.stdout)}\n--- stderr tail ---\n${tail(raw.stderr)}`);
  }
  return guard;
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Runs a command to completion (bounded) and returns what it did. For
 * start-up failure tests such as bad configuration.
 * @returns {Promise<{code: number|null, signal: string|null, stdout: string, stderr: string, timedOut: boolean}>}
 */
export async function runToExit({ command, args = [], env = {}, inheritEnv = true, cwd, timeoutMs = DEFAULT_READY_TIMEOUT_MS, name }) {
  const g = await spawnProcess({ command, args, env, inheritEnv, cwd, name });
  let timer;
  const timedOut = await Promise.race([
    g.exited.then(() => false),
    new Promise((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
  ]);
  clearTimeout(timer);
  if (timedOut) await g.stop({ signal: 'SIGKILL', timeoutMs: 2000 });
  const info = g.exitInfo() || {};
  return { code: info.code ?? null, signal: info.signal ?? null, stdout: g.stdout(), stderr: g.stderr(), timedOut };
}

// ---------------------------------------------------------------- the proxy

/** Path of the C binary: MCP_AUTH_PROXY_BIN, else ../../build/src/mcp-auth-proxy. */
export function proxyBinary(binary) {
  return binary || process.env.MCP_AUTH_PROXY_BIN || DEFAULT_PROXY_BIN;
}

/**
 * Environment for the proxy: not the test runner's (so HTTP_PROXY and friends
 * never leak in), only PATH, sanitizer options, and what the test gives.
 */
function proxyEnv(env) {
  const base = { PATH: process.env.PATH || '/usr/bin:/bin' };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'ASAN_SYMBOLIZER_PATH', 'LLVM_SYMBOLIZER_PATH', 'TZ']) {
    if (process.env[k] !== undefined) base[k] = process.env[k];
  }
  base.UBSAN_OPTIONS ??= 'print_stacktrace=1';
  return { ...base, ...env };
}

/**
 * @typedef {object} ProxyHandle
 * @property {string} url          http://127.0.0.1:<port> of the public listener
 * @property {number} port
 * @property {string} listenAddr   LISTEN_ADDR as given to the binary
 * @property {string} metricsUrl   http://<METRICS_ADDR>
 * @property {Record<string,string>} env  the full environment it runs with
 * @property {ProcGuard} proc
 * @property {(opts?: {expectClean?: boolean, timeoutMs?: number, signal?: string}) => Promise<ExitInfo>} stop
 *           SIGTERM and wait; with expectClean (default true) asserts exit 0, no
 *           signal, no forced kill and no sanitizer report on stderr
 * @property {() => string[]} logLines  stdout+stderr lines so far. Log lines
 *           reach stdout through the proxy's log writer thread, a moment after
 *           the request that caused them: to look for a line a request just
 *           caused, use waitForLog (logLines suits absence checks and lines
 *           already waited for)
 * @property {(event: string, opts?: {timeoutMs?: number}) => Promise<RegExpMatchArray>} waitForLog
 *           waits for a log line containing the given text
 */

/**
 * Starts the C binary and waits for GET /healthz to answer 200.
 *
 * @param {object} [o]
 * @param {Record<string,string>} [o.env]  proxy configuration (OIDC_ISSUER_URL, ...).
 *        LISTEN_ADDR and METRICS_ADDR default to free 127.0.0.1 ports;
 *        PROXY_BASE_URL defaults to http://<LISTEN_ADDR>.
 * @param {string} [o.binary]  default MCP_AUTH_PROXY_BIN or ../../build/src/mcp-auth-proxy
 * @param {number} [o.port]    public port to use when env.LISTEN_ADDR is not given
 * @param {string[]} [o.args]
 * @param {number} [o.readyTimeoutMs=15000]
 * @returns {Promise<ProxyHandle>}
 */
export async function startProxy({ env = {}, binary, port, args = [], readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS } = {}) {
  const full = { ...env };
  full.LISTEN_ADDR ??= `127.0.0.1:${port ?? await getFreePort()}`;
  full.METRICS_ADDR ??= `127.0.0.1:${await getFreePort()}`;
  full.PROXY_BASE_URL ??= `http://${full.LISTEN_ADDR}`;
  const hostPort = full.LISTEN_ADDR.startsWith(':') ? `127.0.0.1${full.LISTEN_ADDR}` : full.LISTEN_ADDR;
  const url = `http://${hostPort}`;
  const bin = proxyBinary(binary);

  const proc = await spawnProcess({
    name: 'mcp-auth-proxy',
    command: bin,
    args,
    env: proxyEnv(full),
    inheritEnv: false,
    readyUrl: `${url}/healthz`,
    readyTimeoutMs,
  });

  return {
    url,
    port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
    listenAddr: full.LISTEN_ADDR,
    metricsUrl: `http://${full.METRICS_ADDR}`,
    env: proxyEnv(full),
    proc,
    logLines: () => [...proc.stdoutLines, ...proc.stderrLines],
    waitForLog: (event, opts) => proc.waitForLine(event, opts),
    async stop({ expectClean = true, timeoutMs = DEFAULT_STOP_TIMEOUT_MS, signal = 'SIGTERM' } = {}) {
      const info = await proc.stop({ signal, timeoutMs });
      if (expectClean) assertCleanExit(proc, info);
      return info;
    },
  };
}

/**
 * Throws an AssertionError unless the process exited 0 by itself after our
 * signal (not killed by a signal, not force-killed) with a sanitizer-clean stderr.
 */
export function assertCleanExit(proc, info = proc.exitInfo()) {
  const stderr = proc.stderr();
  const ctx = `\n--- ${proc.name} stderr tail ---\n${tail(stderr)}`;
  assert.ok(info, `${proc.name} is still running`);
  assert.equal(info.forced, false, `${proc.name} did not exit within the stop timeout and was SIGKILLed${ctx}`);
  assert.equal(info.signal, null, `${proc.name} was killed by ${info.signal}${ctx}`);
  assert.equal(info.code, 0, `${proc.name} exited with status ${info.code}${ctx}`);
  const reports = findSanitizerReports(stderr);
  assert.deepEqual(reports, [], `${proc.name} printed sanitizer reports${ctx}`);
}

/**
 * Runs the binary to completion with the given environment (no readiness
 * wait): for configuration errors that must exit 1 with `config: ...`.
 */
export function runProxyToExit({ env = {}, binary, args = [], timeoutMs = DEFAULT_READY_TIMEOUT_MS } = {}) {
  return runToExit({
    name: 'mcp-auth-proxy', command: proxyBinary(binary), args, env: proxyEnv(env), inheritEnv: false, timeoutMs,
  });
}
