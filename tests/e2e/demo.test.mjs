// The README's "run it" command, in CI: `scripts/demo.sh --ci` starts the
// whole local stack (Redis, the oidc-provider IdP, the SDK upstream, the
// proxy), runs the scripted SDK client through consent, IdP login, token
// and tool calls, stops everything and exits 0.
//
// The demo runs on free ports and in a temporary DEMO_DIR so it never
// collides with a demo someone left running, skips the install step (the
// test run already installed everything) and uses the binary under test
// (MCP_AUTH_PROXY_BIN) instead of building. Whatever happens, `demo.sh
// stop` with the same DEMO_DIR runs afterwards, so a failed or timed-out
// run leaves no process behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runToExit, proxyBinary, findSanitizerReports, E2E_DIR } from './lib/proc.mjs';
import { getFreePorts } from './lib/ports.mjs';

const ROOT = path.resolve(E2E_DIR, '../..');
const DEMO = path.join(ROOT, 'scripts/demo.sh');
const dirs = [];

function demoEnv(dir, ports) {
  const [proxy, metrics, idp, upstream, redis] = ports;
  return {
    DEMO_DIR: dir,
    DEMO_SKIP_INSTALL: '1',
    MCP_AUTH_PROXY_BIN: path.resolve(proxyBinary()),
    DEMO_PROXY_PORT: String(proxy),
    DEMO_METRICS_PORT: String(metrics),
    DEMO_IDP_PORT: String(idp),
    DEMO_UPSTREAM_PORT: String(upstream),
    DEMO_REDIS_PORT: String(redis),
  };
}

function stopDemo(dir) {
  return runToExit({ command: DEMO, args: ['stop'], env: { DEMO_DIR: dir }, timeoutMs: 60000, name: 'demo-stop' });
}

// PIDs recorded in DEMO_DIR/pids that still run.
function survivors(dir) {
  const file = path.join(dir, 'pids');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).filter((line) => {
    const pid = Number(line.split(' ')[1]);
    try { process.kill(pid, 0); return true; } catch { return false; }
  });
}

function tempDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-'));
  dirs.push(d);
  return d;
}

after(async () => {
  for (const d of dirs) {
    await stopDemo(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('demo.sh --ci: the whole stack, the scripted SDK client logs in and calls tools, everything stops', { timeout: 240000 }, async () => {
  const dir = tempDir();
  const ports = await getFreePorts(5);
  const r = await runToExit({ command: DEMO, args: ['--ci'], env: demoEnv(dir, ports), timeoutMs: 200000, name: 'demo' });
  const out = `${r.stdout}\n${r.stderr}`;
  const stopped = await stopDemo(dir);
  assert.equal(r.timedOut, false, `demo.sh --ci did not finish in time:\n${out}`);
  assert.equal(r.code, 0, `demo.sh --ci exited ${r.code}:\n${out}`);

  // What the scripted client printed: the SDK's discovery and registration,
  // the browser steps, the code, the tokens, the tool calls.
  assert.match(out, /\[sdk\] POST \/mcp \(initialize\) → 401 {2}WWW-Authenticate points to \/\.well-known\/oauth-protected-resource\/mcp/);
  assert.match(out, /\[sdk\] POST \/register → 201/);
  assert.match(out, /\[browser\] GET \/authorize → 200 consent page/);
  assert.match(out, /\[browser\] IdP login page, signed in as alice/);
  assert.match(out, /\[client\] redirect URI caught code .*state matches, iss=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /\[sdk\] POST \/token → 200/);
  assert.match(out, /\[mcp\] tools\/call echo .* → "hello through mcp-auth-proxy"/);
  assert.match(out, /X-User-Sub: alice, X-User-Email: alice@example\.com, X-User-Groups: mcp-users,dev; client's Authorization header forwarded: false/);
  assert.match(out, /^DEMO_CLIENT_OK$/m);

  // The summary, on the ports it was given.
  assert.match(out, /^demo: SUCCESS: /m);
  assert.ok(out.includes(`mcp-auth-proxy   http://127.0.0.1:${ports[0]}`), out);
  assert.ok(out.includes(`Redis            redis://127.0.0.1:${ports[4]}`), out);
  assert.match(out, /^demo: CI mode: everything stopped cleanly$/m);
  for (const name of ['proxy', 'upstream', 'idp', 'redis']) {
    assert.match(out, new RegExp(`^demo: stopped ${name} \\(pid \\d+\\)$`, 'm'));
  }

  // Nothing left running, nothing for `stop` to do; the proxy ran with
  // PROD_MODE=true and Redis, and left no sanitizer report.
  assert.deepEqual(survivors(dir), []);
  assert.match(stopped.stdout, /no demo process is running/);
  const proxyLog = fs.readFileSync(path.join(dir, 'logs/proxy.log'), 'utf8');
  assert.match(proxyLog, /"msg":"startup_config","prod_mode":true/);
  assert.match(proxyLog, /"msg":"replay_store_enabled","backend":"redis"/);
  assert.deepEqual(findSanitizerReports(proxyLog), []);
  const envFile = fs.statSync(path.join(dir, 'proxy.env'));
  assert.equal(envFile.mode & 0o077, 0, 'proxy.env holds secrets: owner-only');
});

test('demo.sh: a port set explicitly that is busy is refused by name, before anything starts', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const busy = blocker.address().port;
    const ports = await getFreePorts(5);
    ports[2] = busy; // the IdP's
    const r = await runToExit({ command: DEMO, args: ['--ci'], env: demoEnv(dir, ports), timeoutMs: 60000, name: 'demo' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`IdP port ${busy} \\(DEMO_IDP_PORT\\) is in use on 127\\.0\\.0\\.1`));
    assert.equal(fs.existsSync(path.join(dir, 'pids')), false, 'nothing was started');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});
