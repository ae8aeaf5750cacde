// Filtered listings (MCP_POLICY_FILTER_LISTS, docs/list-filter.md) against
// the SDK upstream and client: tools/list over JSON and over SSE shows each
// user only what the policy lets them call (two users in different groups),
// an entry a step-up would unlock stays visible, pagination cursors pass
// through, prompts/resources/templates are filtered too, and a list answer
// past the 4 MiB buffering cap is refused with a JSON-RPC error, never
// relayed unfiltered. The upstream's per-session X-E2E-Options header
// picks JSON or SSE answers, the extra entries and the page size.
// Tokens are minted directly (lib/seal-mint.mjs): the login is not tested here.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './lib/peers.mjs';
import { connectMcp } from './lib/mcp-client.mjs';
import { seal } from './lib/seal-mint.mjs';

const SECRET = crypto.randomBytes(24).toString('base64url');
const SCOPES = 'mcp:read mcp:write mcp:mfa';
const POLICY = `# list-filter e2e policy
default: allow
step_up:
  mcp:mfa: {acr: [mfa], max_age: 600}
rules:
  - name: admin-tools
    match: {name: ["admin_*"]}
    require: {groups: [admins]}
    effect: allow
  - name: reset-needs-mfa
    match: {name: [public_search]}
    require: {step_up: mcp:mfa}
    effect: allow
  - name: admin-prompts
    match: {method: [prompts/get], name: ["admin_*"]}
    require: {groups: [admins]}
    effect: allow
  - name: secret-files
    match: {method: [resources/read], name: ["file:///secret/*"]}
    require: {groups: [admins]}
    effect: allow
`;
const BASE_TOOLS = ['echo', 'whoami', 'slow_progress', 'sleep', 'notify'];
const ALL_TOOLS = [...BASE_TOOLS, 'admin_delete', 'admin_reset', 'public_read', 'public_search'];
const USER_TOOLS = [...BASE_TOOLS, 'public_read', 'public_search'];

function token(stack, { sub, groups }) {
  const now = Math.floor(Date.now() / 1000);
  return seal(SECRET, 'access', {
    tid: crypto.randomUUID(), typ: 'access', aud: stack.base, res: `${stack.base}/mcp`, scp: 'mcp:read',
    sub, email: `${sub}@example.com`, grp: groups, cid: crypto.randomUUID(), iat: now, exp: now + 3600,
  });
}

async function metrics(stack) {
  return (await fetch(`${stack.proxy.metricsUrl}/metrics`)).text();
}
function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function allPages(client) {
  const pages = [];
  let cursor;
  for (let i = 0; i < 20; i += 1) {
    const r = await client.listTools(cursor === undefined ? {} : { cursor });
    pages.push(r.tools.map((t) => t.name));
    cursor = r.nextCursor;
    if (cursor === undefined) break;
  }
  return pages;
}

describe('filtered listings', () => {
  let stack;
  let dir;
  let alice; // admins
  let bob; // users
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lists-e2e-'));
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, POLICY);
    stack = await startStack({
      proxyEnv: {
        TOKEN_SIGNING_SECRET: SECRET, MCP_SCOPES_SUPPORTED: SCOPES, MCP_POLICY_FILE: file, WORKERS: '2',
      },
    });
    alice = token(stack, { sub: 'alice', groups: ['admins'] });
    bob = token(stack, { sub: 'bob', groups: ['users'] });
  });
  after(async () => {
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['json', 'sse']) {
    test(`tools/list over ${mode.toUpperCase()} is filtered per user; a step-up tool stays visible`, async () => {
      const opts = mode === 'json' ? 'json,extra' : 'extra';
      const before = metricValue(await metrics(stack), 'mcp_auth_list_filter_total{result="filtered"}');
      for (const [tok, want] of [[alice, ALL_TOOLS], [bob, USER_TOOLS]]) {
        const mcp = await connectMcp(`${stack.base}/mcp`, { token: tok, headers: { 'x-e2e-options': opts } });
        try {
          const names = (await mcp.client.listTools()).tools.map((t) => t.name);
          assert.deepEqual(names, want);
          // The rest of each entry is kept (schemas, descriptions).
          const echo = (await mcp.client.listTools()).tools.find((t) => t.name === 'echo');
          assert.equal(echo.description, 'Returns its text argument');
        } finally {
          await mcp.close();
        }
      }
      const after = metricValue(await metrics(stack), 'mcp_auth_list_filter_total{result="filtered"}');
      assert.ok(after >= before + 2, `filtered count ${before} -> ${after}`);
    });
  }

  test('the raw SSE answer is rewritten, other bytes of the stream kept', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: bob, headers: { 'x-e2e-options': 'extra' } });
    try {
      const r = await fetch(`${stack.base}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob}`, 'content-type': 'application/json',
          accept: 'application/json, text/event-stream', 'mcp-session-id': mcp.sessionId(),
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 'x-1', method: 'tools/list' }),
      });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /text\/event-stream/);
      assert.equal(r.headers.get('content-length'), null);
      const text = await r.text();
      assert.doesNotMatch(text, /admin_/);
      const data = text.split('\n').find((l) => l.startsWith('data: '));
      const msg = JSON.parse(data.slice(6));
      assert.equal(msg.id, 'x-1');
      assert.deepEqual(msg.result.tools.map((t) => t.name), USER_TOOLS);
      assert.match(text, /^event: message\n/m);
    } finally {
      await mcp.close();
    }
  });

  test('pagination: cursors pass through, pages come back shorter, nothing hidden leaks', async () => {
    for (const mode of ['json,extra,page=3', 'extra,page=3']) {
      const mcp = await connectMcp(`${stack.base}/mcp`, { token: bob, headers: { 'x-e2e-options': mode } });
      try {
        const pages = await allPages(mcp.client);
        // 9 tools in pages of 3: [echo whoami slow_progress] [sleep notify (admin_delete)]
        // [(admin_reset) public_read public_search]
        assert.deepEqual(pages, [['echo', 'whoami', 'slow_progress'], ['sleep', 'notify'], ['public_read', 'public_search']]);
      } finally {
        await mcp.close();
      }
    }
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: alice, headers: { 'x-e2e-options': 'extra,page=4' } });
    try {
      assert.deepEqual((await allPages(mcp.client)).flat(), ALL_TOOLS);
    } finally {
      await mcp.close();
    }
  });

  test('prompts, resources and templates are filtered by name, uri and uriTemplate', async () => {
    const mcp = await connectMcp(`${stack.base}/mcp`, { token: bob, headers: { 'x-e2e-options': 'json,extra' } });
    try {
      assert.deepEqual((await mcp.client.listPrompts()).prompts.map((p) => p.name), ['greet']);
      assert.deepEqual((await mcp.client.listResources()).resources.map((r) => r.uri), ['file:///public/a']);
      assert.deepEqual((await mcp.client.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate),
        ['file:///public/{name}']);
    } finally {
      await mcp.close();
    }
    const admin = await connectMcp(`${stack.base}/mcp`, { token: alice, headers: { 'x-e2e-options': 'extra' } });
    try {
      assert.deepEqual((await admin.client.listPrompts()).prompts.map((p) => p.name), ['greet', 'admin_prompt']);
      assert.equal((await admin.client.listResources()).resources.length, 2);
    } finally {
      await admin.close();
    }
  });

  for (const mode of ['json', 'sse']) {
    test(`a list past the 4 MiB cap over ${mode.toUpperCase()} is refused with a JSON-RPC error, not relayed`, async () => {
      const opts = `${mode === 'json' ? 'json,' : ''}huge=${5 * 1024 * 1024}`;
      const before = metricValue(await metrics(stack), 'mcp_auth_list_filter_total{result="overflow"}');
      const mcp = await connectMcp(`${stack.base}/mcp`, { token: bob, headers: { 'x-e2e-options': opts } });
      try {
        await assert.rejects(mcp.client.listTools(), (err) => {
          assert.equal(err.code, -32603);
          assert.match(err.message, /list response too large to filter/);
          return true;
        });
        // The session goes on: a call still works.
        const r = await mcp.client.callTool({ name: 'echo', arguments: { text: 'still here' } });
        assert.equal(r.content[0].text, 'still here');
      } finally {
        await mcp.close();
      }
      // Counted when the proxy decides the refusal (list_forward.c), which
      // the client's read of the error event can overtake: wait, bounded.
      let after = before;
      for (let i = 0; i < 50 && after < before + 1; i++) {
        after = metricValue(await metrics(stack), 'mcp_auth_list_filter_total{result="overflow"}');
        if (after < before + 1) await new Promise((r) => { setTimeout(r, 100); });
      }
      assert.equal(after, before + 1);
    });
  }
});
