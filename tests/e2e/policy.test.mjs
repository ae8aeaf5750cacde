// The access policy (MCP_POLICY_FILE, docs/policy.md) against the SDK
// upstream and client: allowed calls reach the upstream; a call denied by
// group is answered with a JSON-RPC error and the upstream never sees it;
// a call denied for a scope or a step-up gets the 403 insufficient_scope
// challenge; a body the proxy cannot read is refused; a batch with one
// denied entry is refused whole; reloads on SIGHUP and on a file change,
// a bad new file keeping the old policy; --check-config names the line.
//
// Tokens are minted directly (lib/seal-mint.mjs): the browser login is not
// what is tested here, and the scope and groups must be chosen per test.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './lib/peers.mjs';
import { runProxyToExit } from './lib/proc.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';
import { seal } from './lib/seal-mint.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const SCOPES = 'mcp:read mcp:write mcp:mfa';
const DENY_CODE = -32003;
const POLICY = `# e2e policy
default: allow
step_up:
  mcp:mfa: {acr: [mfa], max_age: 600}
rules:
  - name: sleep-admins
    match: {name: [sleep]}
    require: {groups: [admins]}
    effect: allow
  - name: echo-writers
    match: {name: [echo]}
    require: {scopes: [mcp:write]}
    effect: allow
  - name: notify-mfa
    match: {name: [notify]}
    require: {step_up: mcp:mfa}
    effect: allow
`;

function token(stack, { scope = 'mcp:read', groups = ['mcp-users'], sub = 'alice' } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return seal(SECRET, 'access', {
    tid: crypto.randomUUID(), typ: 'access', aud: stack.base, res: `${stack.base}/mcp`, scp: scope,
    sub, email: `${sub}@example.com`, grp: groups, cid: crypto.randomUUID(), iat: now, exp: now + 3600,
  });
}

async function post(stack, tok, body, { contentType = 'application/json' } = {}) {
  const r = await fetch(`${stack.base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tok}`, 'content-type': contentType,
      accept: 'application/json, text/event-stream',
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

const call = (id, name, args = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

async function metrics(stack) {
  return (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
}

function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function upstreamSawTool(stack, name) {
  return (await stack.upstream.requests()).filter((r) => (r.body ?? '').includes(`"name":"${name}"`));
}

function challenge(base, scope, desc) {
  return `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", error_description="${desc}"`;
}

const SCOPE_DESC = 'this call needs a scope the access token was not granted; authorize again with the scope in WWW-Authenticate';
const STEP_UP_DESC = 'this call needs a stronger or more recent login; authorize again with the scope in WWW-Authenticate';

// Waits (bounded) until the proxy has logged `count` lines with msg `event`.
async function waitForCount(stack, event, count, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = stack.proxy.logLines().filter((l) => l.includes(`"msg":"${event}"`)).length;
    if (n >= count) return;
    if (Date.now() > deadline) assert.fail(`${event}: ${n} lines, wanted ${count}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('access policy', () => {
  let stack;
  let dir;
  let file;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-e2e-'));
    file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, POLICY);
    stack = await startStack({
      proxyEnv: {
        TOKEN_SIGNING_SECRET: SECRET, MCP_SCOPES_SUPPORTED: SCOPES, MCP_POLICY_FILE: file,
        LOG_LEVEL: 'debug', WORKERS: '2',
      },
    });
  });
  after(async () => {
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('allowed: the SDK client calls echo with mcp:write and whoami by default', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: token(stack, { scope: 'mcp:read mcp:write' }) });
    try {
      const r = await mcp.client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      assert.match(resultText(r), /hi/);
      const w = await mcp.client.callTool({ name: 'whoami', arguments: {} });
      assert.match(resultText(w), /alice/);
    } finally {
      await mcp.close();
    }
    assert.ok(stack.proxy.logLines().some((l) => l.includes('"msg":"policy_decision"') && l.includes('"rule":"echo-writers"') && l.includes('"decision":"allow"')));
    assert.ok(metricValue(await metrics(stack), 'mcp_auth_policy_decisions_total{decision="allow",reason="rule"}') >= 1);
  });

  test('denied by group: 403 JSON-RPC error for the id; the upstream never saw it', async () => {
    await stack.upstream.reset();
    const r = await post(stack, token(stack), call(7, 'sleep', { ms: 1 }));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.jsonrpc, '2.0');
    assert.equal(r.json.id, 7);
    assert.equal(r.json.error.code, DENY_CODE);
    assert.match(r.json.error.message, /group/);
    assert.equal(r.headers.get('www-authenticate'), null);
    // The SDK client sees the refusal as an error, and nothing is forwarded.
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: token(stack) });
    try {
      await assert.rejects(mcp.client.callTool({ name: 'sleep', arguments: { ms: 1 } }), /denied by the access policy/);
    } finally {
      await mcp.close();
    }
    assert.equal((await upstreamSawTool(stack, 'sleep')).length, 0);
    // An admin may.
    const a = await post(stack, token(stack, { groups: ['admins'] }), call(8, 'sleep', { ms: 1 }));
    assert.notEqual(a.status, 403);
    assert.equal((await upstreamSawTool(stack, 'sleep')).length, 1);
    const m = await metrics(stack);
    assert.ok(metricValue(m, 'mcp_auth_policy_decisions_total{decision="deny",reason="group"}') >= 2);
    const line = stack.proxy.logLines().find((l) => l.includes('"msg":"policy_decision"') && l.includes('"reason":"group"'));
    assert.ok(line, 'a policy_decision line');
    const j = JSON.parse(line);
    assert.equal(j.sub, 'alice');
    assert.equal(j.method, 'tools/call');
    assert.equal(j.name, 'sleep');
    assert.equal(j.rule, 'sleep-admins');
    assert.equal(j.decision, 'deny');
  });

  test('denied for a scope: 403 with the exact insufficient_scope challenge', async () => {
    await stack.upstream.reset();
    const r = await post(stack, token(stack, { scope: 'mcp:read' }), call(1, 'echo', { text: 'x' }));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.headers.get('www-authenticate'), challenge(stack.base, 'mcp:read mcp:write', SCOPE_DESC));
    assert.equal(r.json.error, 'insufficient_scope');
    // Step-up: the token lacks the mcp:mfa scope (and no acr is recorded yet).
    const s = await post(stack, token(stack, { scope: 'mcp:read mcp:write' }), call(2, 'notify', {}));
    assert.equal(s.status, 403, s.text);
    assert.equal(s.headers.get('www-authenticate'), challenge(stack.base, 'mcp:read mcp:write mcp:mfa', STEP_UP_DESC));
    assert.equal((await upstreamSawTool(stack, 'echo')).length + (await upstreamSawTool(stack, 'notify')).length, 0);
    const m = await metrics(stack);
    assert.ok(metricValue(m, 'mcp_auth_policy_decisions_total{decision="deny",reason="scope"}') >= 1);
    assert.ok(metricValue(m, 'mcp_auth_policy_decisions_total{decision="deny",reason="step_up"}') >= 1);
  });

  test('a body the policy cannot read is refused 400, never forwarded', async () => {
    await stack.upstream.reset();
    const tok = token(stack, { groups: ['admins'], scope: SCOPES });
    const cases = [
      { body: JSON.stringify(call(1, 'sleep')), contentType: 'text/plain', code: -32600 },
      { body: '{"jsonrpc":"2.0","id":1,"method":"tools/call",', contentType: 'application/json', code: -32700 },
      // Two "name" keys: the upstream might read either; the strict parse refuses.
      { body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"sleep"}}', contentType: 'application/json', code: -32700 },
      { body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["sleep"]}}', contentType: 'application/json', code: -32600 },
      { body: '[]', contentType: 'application/json', code: -32600 },
      { body: '42', contentType: 'application/json', code: -32600 },
    ];
    for (const c of cases) {
      const r = await post(stack, token(stack), c.body, { contentType: c.contentType });
      assert.equal(r.status, 400, `${c.body}: ${r.text}`);
      assert.equal(r.json.id, null);
      assert.equal(r.json.error.code, c.code, c.body);
    }
    void tok;
    assert.equal((await stack.upstream.requests()).length, 0);
    assert.ok(metricValue(await metrics(stack), 'mcp_auth_policy_decisions_total{decision="deny",reason="unreadable"}') >= cases.length);
  });

  test('case tricks in the method meet the rule about tools/call', async () => {
    await stack.upstream.reset();
    const r = await post(stack, token(stack), { jsonrpc: '2.0', id: 3, method: 'TOOLS/CALL', params: { name: 'sleep' } });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, DENY_CODE);
    assert.equal((await stack.upstream.requests()).length, 0);
  });

  test('Mcp-Name naming an allowed tool while the body calls a denied one is refused', async () => {
    await stack.upstream.reset();
    const r = await fetch(`${stack.base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token(stack)}`, 'content-type': 'application/json',
        accept: 'application/json, text/event-stream', 'mcp-method': 'tools/call', 'mcp-name': 'whoami',
      },
      body: JSON.stringify(call(4, 'sleep')),
    });
    assert.equal(r.status, 400);
    assert.equal((await stack.upstream.requests()).length, 0);
  });

  test('a batch with one denied entry is refused whole with that entry\'s answer', async () => {
    await stack.upstream.reset();
    const r = await post(stack, token(stack), [call(1, 'whoami'), call(2, 'sleep'), call(3, 'echo')]);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.id, 2);
    assert.equal(r.json.error.code, DENY_CODE);
    // The first denied entry decides the answer: here a scope challenge.
    const s = await post(stack, token(stack, { groups: ['admins'] }), [call(1, 'whoami'), call(2, 'echo'), call(3, 'sleep')]);
    assert.equal(s.status, 403);
    assert.equal(s.headers.get('www-authenticate'), challenge(stack.base, 'mcp:read mcp:write', SCOPE_DESC));
    assert.equal((await stack.upstream.requests()).length, 0);
  });

  test('reload: SIGHUP with a good file, then a bad file keeps the old policy', async () => {
    const before = metricValue(await metrics(stack), 'mcp_auth_policy_reloads_total{result="ok"}');
    const reloaded = stack.proxy.logLines().filter((l) => l.includes('"msg":"policy_reloaded"')).length;
    fs.writeFileSync(file, `${POLICY}  - name: no-whoami\n    match: {name: [whoami]}\n    effect: deny\n`);
    stack.proxy.proc.kill('SIGHUP');
    await waitForCount(stack, 'policy_reloaded', reloaded + 1);
    let r = await post(stack, token(stack), call(5, 'whoami'));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, DENY_CODE);
    assert.equal(metricValue(await metrics(stack), 'mcp_auth_policy_reloads_total{result="ok"}'), before + 1);

    const failed = stack.proxy.logLines().filter((l) => l.includes('"msg":"policy_reload_failed"')).length;
    fs.writeFileSync(file, 'default: allow\nrules:\n  - name: typo\n    efect: deny\n');
    stack.proxy.proc.kill('SIGHUP');
    await waitForCount(stack, 'policy_reload_failed', failed + 1);
    const line = stack.proxy.logLines().filter((l) => l.includes('"msg":"policy_reload_failed"')).at(-1);
    assert.match(line, /line 4: rules\[0\] \\"typo\\": a rule: unknown key \\"efect\\"/);
    r = await post(stack, token(stack), call(6, 'whoami'));
    assert.equal(r.status, 403, 'the old policy is still in force');
    assert.ok(metricValue(await metrics(stack), 'mcp_auth_policy_reloads_total{result="error"}') >= 1);
  });

  test('reload: a changed file is picked up without a signal (symlink swap, as a ConfigMap does)', async () => {
    const reloaded = stack.proxy.logLines().filter((l) => l.includes('"msg":"policy_reloaded"')).length;
    // kubelet writes a new directory and swaps a symlink: the path's inode changes.
    const next = path.join(dir, 'next.yaml');
    fs.writeFileSync(next, 'default: deny\nrules:\n  - {match: {method: ["*"]}, effect: allow, require: {groups: [admins]}}\n');
    const link = path.join(dir, 'link.tmp');
    fs.symlinkSync(next, link);
    fs.renameSync(link, file);
    await waitForCount(stack, 'policy_reloaded', reloaded + 1, 15000);
    const r = await post(stack, token(stack), call(9, 'whoami'));
    assert.equal(r.status, 403);
    assert.match(r.json.error.message, /group/);
  });
});

test('--check-config on a bad policy names the line and exits non-zero', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-check-'));
  try {
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, 'default: deny\nrules:\n  - name: r1\n    effect: allow\n    require: {scopes: ["a b"]}\n');
    const env = {
      PROXY_BASE_URL: 'http://127.0.0.1:9', OIDC_ISSUER_URL: 'http://127.0.0.1:9', OIDC_CLIENT_ID: 'x',
      OIDC_CLIENT_SECRET: 'y'.repeat(32), UPSTREAM_MCP_URL: 'http://127.0.0.1:9/mcp',
      TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'), PROD_MODE: 'false', REDIS_REQUIRED: 'false',
      MCP_POLICY_FILE: file,
    };
    const r = await runProxyToExit({ env, args: ['--check-config'] });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /config: MCP_POLICY_FILE: .*policy\.yaml: line 5: rules\[0\] "r1": require\.scopes is not a valid scope token/);
    // A step_up scope missing from MCP_SCOPES_SUPPORTED is refused too.
    fs.writeFileSync(file, 'step_up:\n  mcp:mfa: {max_age: 60}\n');
    const s = await runProxyToExit({ env: { ...env, MCP_SCOPES_SUPPORTED: 'mcp:read' }, args: ['--check-config'] });
    assert.notEqual(s.code, 0);
    assert.match(s.stderr, /step_up scope "mcp:mfa" is not in MCP_SCOPES_SUPPORTED/);
    const ok = await runProxyToExit({ env: { ...env, MCP_SCOPES_SUPPORTED: 'mcp:read mcp:mfa' }, args: ['--check-config'] });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^MCP_POLICY_FILE=/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
