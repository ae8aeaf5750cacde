// Debian's nginx on loopback for end-to-end tests: a gateway in front of the
// proxy (forward auth, or a deliberately broken ingress for the doctor).
//
// The caller gives the text that goes inside `http { }` (server blocks,
// upstreams, maps); this module wraps it with the top-level directives that
// keep one test's nginx apart from any other on the machine: everything
// under a fresh temporary prefix (`-p dir -c nginx.conf`), `daemon off` so
// the master stays our child, `master_process on` with one worker (the real
// shape), the PID file, error and access logs and every temp path inside the
// prefix. Readiness is a TCP connect to the listening port; stop() sends
// SIGTERM to the master by PID with a bounded wait, then SIGKILLs any worker
// the master left behind (found by PID through /proc, never by name).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnProcess } from './proc.mjs';
import { getFreePort } from './ports.mjs';

export const NGINX_BIN = process.env.NGINX_BIN || '/usr/sbin/nginx';
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** Resolves true once 127.0.0.1:port accepts a TCP connection (one attempt, bounded). */
function tryConnect(port, host, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** PIDs whose parent is `ppid` (the master's workers), read from /proc. */
function childPids(ppid) {
  const out = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const status = fs.readFileSync(`/proc/${ent}/status`, 'utf8');
      const m = status.match(/^PPid:\s+(\d+)$/m);
      if (m && Number(m[1]) === ppid) out.push(Number(ent));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * @typedef {object} NginxHandle
 * @property {string} url      http://127.0.0.1:<port>
 * @property {number} port
 * @property {string} prefix   the temporary prefix directory
 * @property {string} confText the whole nginx.conf it runs with
 * @property {import('./proc.mjs').ProcGuard} proc  the master process
 * @property {() => string} errorLog   error.log contents so far
 * @property {() => string} accessLog  access.log contents so far
 * @property {() => Promise<void>} stop
 */

/**
 * Starts nginx with the caller's `http { }` block content.
 *
 * @param {object} o
 * @param {string | ((ctx: {port: number, prefix: string}) => string)} o.http
 *        text inside `http { }`; a function receives the chosen port and the
 *        prefix directory (for files the config refers to). The text must
 *        contain a `listen 127.0.0.1:<port>` for readiness to succeed.
 * @param {number} [o.port]  listening port (default: a free loopback port)
 * @param {string} [o.host='127.0.0.1']
 * @param {Record<string,string>} [o.files]  extra files written into the
 *        prefix before start (name relative to the prefix -> contents)
 * @param {number} [o.readyTimeoutMs=15000]
 * @returns {Promise<NginxHandle>}
 */
export async function startNginx({ http, port, host = '127.0.0.1', files = {}, readyTimeoutMs = 15000 }) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-e2e-'));
  // Workers drop to `nobody` when we run as root: they must reach the prefix.
  fs.chmodSync(prefix, 0o755);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(prefix, name)), { recursive: true });
    fs.writeFileSync(path.join(prefix, name), text);
  }
  const p = port ?? await getFreePort(host);
  const inner = typeof http === 'function' ? http({ port: p, prefix }) : http;
  const confText = [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log info;`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${prefix}/access.log;`,
    `  client_body_temp_path ${prefix}/client_body;`,
    `  proxy_temp_path ${prefix}/proxy;`,
    `  fastcgi_temp_path ${prefix}/fastcgi;`,
    `  uwsgi_temp_path ${prefix}/uwsgi;`,
    `  scgi_temp_path ${prefix}/scgi;`,
    inner,
    '}',
    '',
  ].join('\n');
  const confPath = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confPath, confText);

  const readFile = (name) => { try { return fs.readFileSync(path.join(prefix, name), 'utf8'); } catch { return ''; } };
  const proc = await spawnProcess({
    name: 'nginx',
    command: NGINX_BIN,
    // -e: the error log before the configuration is read (not /var/log).
    args: ['-p', prefix, '-c', confPath, '-e', path.join(prefix, 'error.log')],
  });

  let workers = [];
  const stop = async () => {
    if (!workers.length && proc.pid) workers = childPids(proc.pid);
    await proc.stop({ signal: 'SIGTERM', timeoutMs: 5000 });
    // A master that had to be SIGKILLed leaves its workers listening.
    for (const w of workers) if (alive(w)) { try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(prefix, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (proc.exitInfo()) {
      const info = proc.exitInfo();
      const err = `${proc.stderr()}${readFile('error.log')}`;
      fs.rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx exited (code ${info.code}, signal ${info.signal}) before listening:\n${err}\n--- nginx.conf ---\n${confText}`);
    }
    if (await tryConnect(p, host)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen on ${host}:${p} within ${readyTimeoutMs} ms:\n${readFile('error.log')}`);
    }
    await sleep(50);
  }
  workers = childPids(proc.pid);

  return {
    url: `http://${host}:${p}`,
    port: p,
    prefix,
    confText,
    proc,
    errorLog: () => readFile('error.log'),
    accessLog: () => readFile('access.log'),
    stop,
  };
}
