// `mcp-auth-proxy doctor` (issue 15 item 1, docs/doctor.md) against the real
// e2e stack (IdP, upstream, proxy), directly and behind Debian's nginx: a
// healthy nginx, then deliberately broken ones -- one that strips
// WWW-Authenticate, one that buffers SSE, one that rewrites the path --
// each asserting the client lines fail with the right fix, in text and in
// --json. The doctor is the built binary run as a subprocess, bounded.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { makeCerts } from './lib/test-ca.mjs';
import { startStack } from './lib/peers.mjs';
import { startNginx } from './lib/nginx.mjs';
import { getFreePort } from './lib/ports.mjs';
import { runToExit, proxyBinary, findSanitizerReports } from './lib/proc.mjs';

const CLIENTS = ['Claude.ai', 'ChatGPT', 'Cursor', 'VS Code', 'Claude Code', 'Gemini CLI', 'MCP Inspector'];
const INSPECTOR_ORIGIN = 'http://localhost:6274';
// 429s from /register would turn registrations into notes: the test runs
// the doctor several times a minute from one address.
const PROXY_ENV = { RATE_LIMIT_ENABLED: 'false', MCP_ALLOWED_ORIGINS: INSPECTOR_ORIGIN };

/** Runs the doctor; returns {code, stdout, stderr}; asserts a clean stderr. */
async function doctor(args, extraEnv = {}) {
  const env = { PATH: process.env.PATH || '/usr/bin:/bin', ...extraEnv };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  const r = await runToExit({
    name: 'doctor', command: proxyBinary(), args: ['doctor', ...args], env, inheritEnv: false, timeoutMs: 90000,
  });
  assert.equal(r.timedOut, false, 'the doctor finished within its bound');
  assert.deepEqual(findSanitizerReports(r.stderr), [], r.stderr);
  return r;
}

/** The client lines of the text report: name -> the line. */
function clientLines(stdout) {
  const out = {};
  for (const name of CLIENTS) {
    const line = stdout.split('\n').find((l) => l.startsWith(`  ${name.padEnd(14)} `));
    assert.ok(line, `a line for ${name} in:\n${stdout}`);
    out[name] = line;
  }
  return out;
}

function checkLine(stdout, id) {
  const line = stdout.split('\n').find((l) => new RegExp(`^  (PASS|FAIL|WARN|SKIP)  ${id} `).test(l));
  assert.ok(line, `a check line for ${id} in:\n${stdout}`);
  return line;
}

function jsonCheck(report, id) {
  const c = report.checks.find((x) => x.check === id);
  assert.ok(c, id);
  return c;
}

/** Every client fails, its first (blocking) problem is `check`, its fix matches. */
function assertAllFail(text, json, check, fix) {
  const lines = clientLines(text.stdout);
  for (const name of CLIENTS) {
    assert.match(lines[name], /^ {2}\S.* FAIL {2}/, lines[name]);
    assert.match(lines[name], fix, lines[name]);
    assert.ok(lines[name].includes(`(${check})`), lines[name]);
  }
  assert.equal(text.code, 1, text.stdout);
  assert.equal(json.code, 1, json.stdout);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, false);
  assert.deepEqual(report.clients.map((c) => c.name), CLIENTS);
  for (const c of report.clients) {
    assert.equal(c.ok, false, c.name);
    assert.equal(c.problems[0].check, check, c.name);
    assert.equal(c.problems[0].blocking, true, c.name);
    assert.match(c.problems[0].fix, fix, c.name);
  }
  return report;
}

function assertAllPass(text, json) {
  assert.equal(text.code, 0, text.stdout);
  const lines = clientLines(text.stdout);
  for (const name of CLIENTS) assert.match(lines[name], / PASS$/, lines[name]);
  assert.match(text.stdout, /every client can connect/);
  assert.doesNotMatch(text.stdout, /^ {2}FAIL /m);
  assert.equal(json.code, 0, json.stdout);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, true);
  for (const c of report.clients) assert.deepEqual([c.name, c.ok, c.problems], [c.name, true, []]);
  return report;
}

describe('doctor against the e2e stack', () => {
  let stack;
  before(async () => { stack = await startStack({ proxyEnv: PROXY_ENV }); });
  after(() => stack?.stop());

  test('every client passes; every check is listed; --json says the same', async () => {
    const mount = `${stack.base}/mcp`;
    const text = await doctor([mount]);
    const json = await doctor([mount, '--json']);
    const report = assertAllPass(text, json);
    assert.equal(report.url, mount);
    for (const id of ['challenge', 'challenge_resource_metadata', 'discovery', 'prm_header_url', 'prm_path_inserted',
      'prm_root', 'as_metadata', 'as_pkce_s256', 'as_auth_method_none', 'as_iss_parameter', 'registration_endpoint',
      'cimd', 'register_claude_ai', 'register_chatgpt', 'register_cursor', 'register_vscode', 'register_claude_code',
      'register_gemini_cli', 'register_mcp_inspector', 'cors_preflight', 'cors_expose_headers', 'sse_get']) {
      assert.match(checkLine(text.stdout, id), /^ {2}PASS /, id);
      assert.equal(jsonCheck(report, id).status, 'PASS', id);
    }
    assert.match(checkLine(text.stdout, 'tls'), /SKIP .*plain http/);
    // Honest limit: no stream flows without a token (docs/doctor.md).
    assert.match(checkLine(text.stdout, 'sse_buffering'), /SKIP .*cannot be observed without a token/);
  });

  test('a browser origin the proxy does not allow is a note on the MCP Inspector line only', async () => {
    const text = await doctor([`${stack.base}/mcp`, '--origin', 'https://not-allowed.example']);
    assert.equal(text.code, 0, text.stdout);
    const lines = clientLines(text.stdout);
    assert.match(lines['MCP Inspector'], /PASS {2}note: .*MCP_ALLOWED_ORIGINS.*\(cors_preflight\)$/);
    for (const name of CLIENTS.filter((n) => n !== 'MCP Inspector')) assert.match(lines[name], / PASS$/);
  });

  test('usage, --help, a bad URL and an unreachable server exit 2', async () => {
    const help = await doctor(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: mcp-auth-proxy doctor URL \[--json\]/);
    assert.match(help.stdout, /never\s+sends a credential/);
    assert.equal((await doctor([])).code, 2);
    assert.equal((await doctor([`${stack.base}/mcp`, '--bogus'])).code, 2);
    const creds = await doctor(['https://user:pw@mcp.example.com/mcp']);
    assert.equal(creds.code, 2);
    assert.match(creds.stderr, /without user name, password/);
    const closed = await getFreePort();
    const down = await doctor([`http://127.0.0.1:${closed}/mcp`, '--json']);
    assert.equal(down.code, 2, down.stdout + down.stderr);
    assert.match(down.stderr, /is unreachable/);
    assert.equal(JSON.parse(down.stdout).ok, false);
  });
});

describe('doctor behind nginx', () => {
  let stack;
  let port; // nginx's port: PROXY_BASE_URL is its origin, as for a real ingress
  let nginx;
  before(async () => {
    port = await getFreePort();
    stack = await startStack({ proxyEnv: { ...PROXY_ENV, PROXY_BASE_URL: `http://127.0.0.1:${port}` } });
  });
  after(async () => { await nginx?.stop(); await stack?.stop(); });

  /** Starts nginx on `port` with one server block; `location` is the mount's. */
  async function withNginx(serverBody, fn) {
    nginx = await startNginx({ port, http: `server {\n  listen 127.0.0.1:${port};\n${serverBody}\n}` });
    try { return await fn(`http://127.0.0.1:${port}`); } finally { await nginx.stop(); nginx = undefined; }
  }
  const upstream = () => `http://127.0.0.1:${stack.proxy.port}`;
  const pass = (extra = '') => `
    proxy_pass ${upstream()};
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    ${extra}`;

  test('a healthy nginx: every client passes', async () => {
    await withNginx(`location / { ${pass('proxy_buffering off;')} }`, async (base) => {
      assertAllPass(await doctor([`${base}/mcp`]), await doctor([`${base}/mcp`, '--json']));
    });
  });

  test('an nginx that strips WWW-Authenticate: every client fails with "your ingress strips WWW-Authenticate"', async () => {
    await withNginx(`location / { ${pass('proxy_buffering off; proxy_hide_header WWW-Authenticate;')} }`, async (base) => {
      const text = await doctor([`${base}/mcp`]);
      const json = await doctor([`${base}/mcp`, '--json']);
      const report = assertAllFail(text, json, 'challenge', /your ingress strips WWW-Authenticate/);
      assert.match(checkLine(text.stdout, 'challenge'), /FAIL .*401 without WWW-Authenticate/);
      assert.match(text.stdout, /fix: your ingress strips WWW-Authenticate from 401 answers: pass it through \(nginx: remove `proxy_hide_header WWW-Authenticate`/);
      // The well-known fallback still works, and the doctor says so.
      assert.equal(jsonCheck(report, 'prm_path_inserted').status, 'PASS');
      assert.equal(jsonCheck(report, 'sse_get').status, 'FAIL');
    });
  });

  test('an nginx that buffers SSE and says so: every client fails with the buffering fix', async () => {
    // What the doctor can see without a token is the ingress's own word:
    // here it answers with X-Accel-Buffering: yes (as an inner gateway
    // telling an outer nginx to buffer does). A silently buffering nginx is
    // the next test.
    const conf = `location / { ${pass('proxy_buffering on; proxy_ignore_headers X-Accel-Buffering; add_header X-Accel-Buffering yes always;')} }`;
    await withNginx(conf, async (base) => {
      const text = await doctor([`${base}/mcp`]);
      const json = await doctor([`${base}/mcp`, '--json']);
      const report = assertAllFail(text, json, 'sse_buffering', /the ingress buffers SSE: add `X-Accel-Buffering: no`.*`proxy_buffering off`/);
      assert.match(checkLine(text.stdout, 'sse_buffering'), /FAIL .*X-Accel-Buffering: yes/);
      for (const id of ['challenge', 'discovery', 'as_metadata', 'register_cursor', 'sse_get']) {
        assert.equal(jsonCheck(report, id).status, 'PASS', id);
      }
    });
  });

  test('an nginx that buffers SSE silently: reported as not observable, never as a pass', async () => {
    const conf = `location / { ${pass('proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;')} }`;
    await withNginx(conf, async (base) => {
      const json = await doctor([`${base}/mcp`, '--json']);
      const c = jsonCheck(JSON.parse(json.stdout), 'sse_buffering');
      assert.equal(c.status, 'SKIP');
      assert.match(c.detail, /cannot be observed without a token .*proxy_buffering off/);
    });
  });

  test('an nginx that drops the CORS expose list: a note on the MCP Inspector line, the others untouched', async () => {
    await withNginx(`location / { ${pass('proxy_buffering off; proxy_hide_header Access-Control-Expose-Headers;')} }`, async (base) => {
      const text = await doctor([`${base}/mcp`]);
      assert.equal(text.code, 0, text.stdout);
      const lines = clientLines(text.stdout);
      assert.match(lines['MCP Inspector'], /PASS {2}note: your ingress drops or overrides the proxy's CORS headers.*\(cors_expose_headers\)$/);
      for (const name of CLIENTS.filter((n) => n !== 'MCP Inspector')) assert.match(lines[name], / PASS$/);
      assert.match(checkLine(text.stdout, 'cors_expose_headers'), /FAIL .*does not expose WWW-Authenticate and Mcp-Session-Id/);
    });
  });

  test('an nginx that rewrites the path: the well-known documents are unreachable, every client fails', async () => {
    // The operator publishes the mount under /gw/ and forwards only that
    // prefix (stripped): the challenge still points at the origin's
    // /.well-known/..., which this nginx does not route.
    await withNginx(`location /gw/ { ${pass('proxy_buffering off;').replace(upstream(), `${upstream()}/`)} }`, async (base) => {
      const text = await doctor([`${base}/gw/mcp`]);
      const json = await doctor([`${base}/gw/mcp`, '--json']);
      const report = assertAllFail(text, json, 'discovery', /route \/\.well-known\/oauth-protected-resource/);
      assert.match(checkLine(text.stdout, 'prm_header_url'), /FAIL .*\/\.well-known\/oauth-protected-resource\/mcp answered 404/);
      assert.equal(jsonCheck(report, 'challenge').status, 'PASS');
      assert.equal(jsonCheck(report, 'prm_path_inserted').status, 'FAIL');
      assert.equal(jsonCheck(report, 'as_metadata').status, 'SKIP');
    });
  });
});

// --server-side: the doctor, run where the proxy runs, fetches each
// metadata-document client's document as the proxy would. The vendors'
// URLs are not reachable from a test machine, so --cimd-url points each
// client at a document this test serves over HTTPS on loopback (a
// throw-away CA given as CIMD_CA_FILE, as an operator behind a
// TLS-inspecting egress proxy would).
describe('doctor --server-side: the metadata documents fetched as the proxy would', () => {
  let stack;
  let server;
  let dir;
  let cert;
  let origin;
  const doc = (url, name) => JSON.stringify({
    client_id: url, client_name: name, redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
    token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  });
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-cimd-'));
    cert = makeCerts(dir, 'doctor cimd test CA');
    server = https.createServer({ key: fs.readFileSync(cert('doc.key')), cert: fs.readFileSync(cert('doc.pem')) }, (req, res) => {
      const url = `${origin}${req.url}`;
      if (req.url.startsWith('/ok/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(doc(url, `client ${req.url}`));
      } else if (req.url === '/cdn-challenge') {
        res.writeHead(403, { 'content-type': 'text/html' }).end('<html>Just a moment...</html>');
      } else if (req.url === '/moved') {
        res.writeHead(302, { location: `${origin}/ok/moved` }).end();
      } else if (req.url === '/other-id') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(doc(`${origin}/ok/not-this`, 'x'));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise((r) => { server.listen(0, '127.0.0.1', r); });
    origin = `https://127.0.0.1:${server.address().port}`;
    stack = await startStack({ proxyEnv: PROXY_ENV });
  });
  after(async () => {
    await stack?.stop();
    await new Promise((r) => { server?.close(r); });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const FETCH = ['cimd_fetch_claude_ai', 'cimd_fetch_chatgpt', 'cimd_fetch_vscode', 'cimd_fetch_claude_code'];
  const urls = (over = {}) => {
    const u = {
      claude_ai: `${origin}/ok/claude`, chatgpt: `${origin}/ok/chatgpt`, vscode: `${origin}/ok/vscode`,
      claude_code: `${origin}/ok/claude-code`, ...over,
    };
    return Object.entries(u).flatMap(([k, v]) => ['--cimd-url', `${k}=${v}`]);
  };
  const trusted = (extra = {}) => ({ CIMD_CA_FILE: cert('ca.pem'), CIMD_ALLOW_PRIVATE_ADDRESSES: 'true', ...extra });

  test('without --server-side the fetch checks are not run and say how to run them', async () => {
    const text = await doctor([`${stack.base}/mcp`]);
    assert.equal(text.code, 0, text.stdout);
    for (const id of FETCH) assert.match(checkLine(text.stdout, id), /SKIP .*--server-side on the proxy's host/, id);
  });

  test('every document fetched and valid: every client passes, each check names the document', async () => {
    const text = await doctor([`${stack.base}/mcp`, '--server-side', ...urls()], trusted());
    const json = await doctor([`${stack.base}/mcp`, '--server-side', '--json', ...urls()], trusted());
    const report = assertAllPass(text, json);
    for (const id of FETCH) {
      assert.match(checkLine(text.stdout, id), /^ {2}PASS .*200 in \d+ ms from 127\.0\.0\.1, a valid document for "client \/ok\//, id);
      assert.equal(jsonCheck(report, id).status, 'PASS', id);
    }
  });

  test('a CDN challenge, a redirect and a document for another client_id fail their clients with the fix', async () => {
    const text = await doctor([`${stack.base}/mcp`, '--server-side',
      ...urls({ vscode: `${origin}/cdn-challenge`, claude_code: `${origin}/moved`, chatgpt: `${origin}/other-id` })], trusted());
    assert.equal(text.code, 1, text.stdout);
    const lines = clientLines(text.stdout);
    assert.match(lines['VS Code'], /FAIL {2}127\.0\.0\.1 refuses this host's address .*CIMD_PINNED_DIR.*\(cimd_fetch_vscode\)/);
    assert.match(checkLine(text.stdout, 'cimd_fetch_vscode'), /FAIL .*answered 403 text\/html/);
    assert.match(lines['Claude Code'], /FAIL {2}the proxy never follows a document's redirect.*CIMD_ENABLED=false.*\(cimd_fetch_claude_code\)/);
    assert.match(lines.ChatGPT, /FAIL {2}the document fails the proxy's rules.*\(cimd_fetch_chatgpt\)/);
    // The registration still passes; the document route is what the client takes.
    assert.match(checkLine(text.stdout, 'register_chatgpt'), /^ {2}PASS /);
    for (const name of ['Claude.ai', 'Cursor', 'Gemini CLI', 'MCP Inspector']) assert.match(lines[name], / PASS$/, name);
  });

  test("the proxy's own settings from the environment: private addresses, CIMD_ALLOWED_HOSTS, the CA, pinned files", async () => {
    const mount = `${stack.base}/mcp`;
    // The SSRF guard: loopback is refused unless CIMD_ALLOW_PRIVATE_ADDRESSES=true.
    const guarded = await doctor([mount, '--server-side', ...urls()], { CIMD_CA_FILE: cert('ca.pem') });
    assert.equal(guarded.code, 1, guarded.stdout);
    assert.match(checkLine(guarded.stdout, 'cimd_fetch_claude_ai'), /FAIL .*resolves to 127\.0\.0\.1, a loopback address/);
    assert.match(clientLines(guarded.stdout)['Claude.ai'], /refuses documents from loopback addresses.*CIMD_ALLOW_PRIVATE_ADDRESSES=true/);
    // An allow-list without the host.
    const listed = await doctor([mount, '--server-side', ...urls()], trusted({ CIMD_ALLOWED_HOSTS: 'claude.ai, *.chatgpt.com' }));
    assert.match(clientLines(listed.stdout)['Claude.ai'], /add 127\.0\.0\.1 to CIMD_ALLOWED_HOSTS/);
    // The system store does not know the test CA.
    const untrusted = await doctor([mount, '--server-side', ...urls()], { CIMD_ALLOW_PRIVATE_ADDRESSES: 'true' });
    assert.match(clientLines(untrusted.stdout)['VS Code'], /CIMD_CA_FILE/);
    assert.match(checkLine(untrusted.stdout, 'cimd_fetch_vscode'), /FAIL .*TLS failed/);
    // Nothing listens: the egress fix.
    const closed = `https://127.0.0.1:${await getFreePort()}/ok/x`;
    const down = await doctor([mount, '--server-side', ...urls({ chatgpt: closed })], trusted());
    assert.match(clientLines(down.stdout).ChatGPT, /let this host reach 127\.0\.0\.1 on port 443/);
    // A pinned document is never fetched: it passes with nothing listening.
    const pinned = fs.mkdtempSync(path.join(dir, 'pinned-'));
    fs.writeFileSync(path.join(pinned, 'chatgpt.json'), doc(closed, 'ChatGPT pinned'));
    const pin = await doctor([mount, '--server-side', ...urls({ chatgpt: closed })], trusted({ CIMD_PINNED_DIR: pinned }));
    assert.equal(pin.code, 0, pin.stdout);
    assert.match(checkLine(pin.stdout, 'cimd_fetch_chatgpt'), /PASS .*pinned in CIMD_PINNED_DIR \(chatgpt\.json\)/);
  });

  test('--cimd-url names a metadata-document client by its key, else usage', async () => {
    assert.equal((await doctor([`${stack.base}/mcp`, '--cimd-url', 'cursor=https://x.example/doc'])).code, 2);
    assert.equal((await doctor([`${stack.base}/mcp`, '--cimd-url', 'no-equals-sign'])).code, 2);
  });
});

// https: nginx terminates TLS in front of the proxy with a certificate from
// a throw-away CA (SAN localhost and 127.0.0.1). The doctor verifies the
// chain and the name as clients do: trusted through --ca-file it passes and
// shows the leaf; with the system store, or under a name the certificate
// does not carry (127.0.0.2), it fails with the chain-or-name fix and runs
// nothing else.
describe('doctor over https: the TLS chain and the certificate name', () => {
  let stack;
  let nginx;
  let dir;
  let cert;
  let port;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-tls-'));
    cert = makeCerts(dir, 'doctor tls test CA');
    port = await getFreePort();
    stack = await startStack({ proxyEnv: { ...PROXY_ENV, PROXY_BASE_URL: `https://127.0.0.1:${port}` } });
    nginx = await startNginx({
      port,
      http: `server {
  listen 127.0.0.1:${port} ssl;
  listen 127.0.0.2:${port} ssl;
  ssl_certificate ${cert('doc.pem')};
  ssl_certificate_key ${cert('doc.key')};
  location / {
    proxy_pass http://127.0.0.1:${stack.proxy.port};
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_buffering off;
  }
}`,
    });
  });
  after(async () => {
    await nginx?.stop();
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a chain trusted through --ca-file: every client passes, the tls line shows the leaf', async () => {
    const mount = `https://127.0.0.1:${port}/mcp`;
    const text = await doctor([mount, '--ca-file', cert('ca.pem')]);
    const json = await doctor([mount, '--json', '--ca-file', cert('ca.pem')]);
    const report = assertAllPass(text, json);
    assert.match(checkLine(text.stdout, 'tls'), /^ {2}PASS {2}tls +verified: 1 certificate\(s\)/);
    assert.match(checkLine(text.stdout, 'tls'), /leaf subject CN ?= ?doc; issuer CN ?= ?doctor tls test CA/);
    assert.equal(jsonCheck(report, 'tls').status, 'PASS');
  });

  test('a chain the system store does not know, and a name the certificate lacks: every client fails on tls', async () => {
    for (const [mount, args] of [
      [`https://127.0.0.1:${port}/mcp`, []],
      [`https://127.0.0.2:${port}/mcp`, ['--ca-file', cert('ca.pem')]],
    ]) {
      const text = await doctor([mount, ...args]);
      const json = await doctor([mount, '--json', ...args]);
      const report = assertAllFail(text, json, 'tls', /serve the full certificate chain .* for this host name/);
      assert.match(checkLine(text.stdout, 'tls'), /FAIL {2}tls +.*(certificate|SSL)/i, mount);
      assert.match(checkLine(text.stdout, 'challenge'), /SKIP .*TLS failed/, mount);
      assert.equal(jsonCheck(report, 'tls').status, 'FAIL');
    }
  });
});
