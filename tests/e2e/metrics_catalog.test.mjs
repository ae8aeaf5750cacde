// The metric catalog (docs/metrics.md) against a real scrape: after a login,
// a tool call, a refresh and a refused request, one scrape of the metrics
// listener declares every family the catalog lists and none it does not.
// Also the W3C traceparent the upstream sees and the access log's trace_id.
// Real peers only (oidc-provider, the SDK upstream, redis-server).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from './lib/peers.mjs';
import { login, refreshGrant } from './lib/oauth-client.mjs';
import { connectMcp, resultText } from './lib/mcp-client.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Families docs/metrics.md lists under "Families not in every scrape": only
// registered with REDIS_URL. This test runs with Redis, so they must be there.
const CONDITIONAL = ['mcp_auth_revocation_entries', 'mcp_auth_revocation_subscriber_connected'];

// The catalog: first-column names of the tables before "## What to alert on".
function catalogFamilies() {
  const text = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
  const catalog = text.split('\n## What to alert on')[0];
  const names = new Set();
  for (const line of catalog.split('\n')) {
    const m = /^\| `([a-z_:][a-z0-9_:]*)` \|/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

function scrapedFamilies(text) {
  const names = new Set();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

describe('metrics catalog', () => {
  let stack;
  before(async () => {
    stack = await startStack({ redis: true, proxyEnv: { MCP_TOOL_METRICS: 'true' } });
  });
  after(async () => { await stack?.stop(); });

  test('after real traffic one scrape has every documented family and nothing undocumented', async () => {
    const { tokens, client } = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const mcp = await connectMcp(`${stack.base}/mcp`, {
      token: tokens.access_token, headers: { traceparent: trace, tracestate: 'congo=t61rcWkgMzE' },
    });
    try {
      const echo = await mcp.client.callTool({ name: 'echo', arguments: { text: 'catalog' } });
      assert.equal(resultText(echo), 'catalog');
    } finally {
      await mcp.close();
    }
    const refreshed = await refreshGrant(stack.base, { refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(refreshed.status, 200, refreshed.text);
    const refused = await fetch(`${stack.base}/mcp`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(refused.status, 401);

    const r = await fetch(`${stack.proxy.metricsUrl}/metrics`);
    assert.equal(r.status, 200);
    const text = await r.text();
    const scraped = scrapedFamilies(text);
    const documented = catalogFamilies();
    for (const c of CONDITIONAL) assert.ok(documented.has(c), `CONDITIONAL family ${c} is not in docs/metrics.md`);
    const missing = [...documented].filter((n) => !scraped.has(n));
    const undocumented = [...scraped].filter((n) => !documented.has(n));
    assert.deepEqual(missing, [], `documented in docs/metrics.md but not exported: ${missing.join(', ')}`);
    assert.deepEqual(undocumented, [], `exported but not documented in docs/metrics.md: ${undocumented.join(', ')}`);

    // The traffic shows where it should.
    const value = (series) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    assert.ok(value('mcp_auth_http_request_duration_seconds_count{route="mcp"}') >= 2);
    assert.ok(value('mcp_auth_http_request_duration_seconds_count{route="token"}') >= 2);
    assert.ok(value('mcp_auth_http_requests_total{route="mcp",code="4xx"}') >= 1);
    assert.ok(value('mcp_auth_upstream_ttfb_seconds_count') >= 1);
    assert.equal(value('mcp_auth_tokens_issued_total{grant_type="refresh_token"}'), 1);
    assert.ok(value('process_resident_memory_bytes') > 1e6);
    assert.ok(value('process_open_fds') > 3);
    assert.match(text, /\nmcp_auth_build_info\{version="[^"]+",commit="[^"]+"\} 1\n/);
  });

  test('traceparent: a valid one reaches the upstream unchanged, a malformed one never does', async () => {
    const { tokens } = await login(stack.base, { username: 'alice', password: 'alice-pw' });
    await stack.upstream.reset();
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const bad = '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01';
    for (const tp of [valid, bad, null]) {
      const headers = { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json',
        accept: 'application/json, text/event-stream', tracestate: 'rojo=00f067aa0ba902b7' };
      if (tp) headers.traceparent = tp;
      const r = await fetch(`${stack.base}/mcp`, { method: 'POST', headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
      await r.text();
    }
    const recs = await stack.upstream.requests();
    const seen = recs.map((x) => x.headers.traceparent);
    assert.equal(seen.length, 3, JSON.stringify(recs.map((x) => x.headers)));
    assert.equal(seen[0], valid);
    assert.equal(recs[0].headers.tracestate, 'rojo=00f067aa0ba902b7');
    for (const s of seen.slice(1)) {
      assert.match(s, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.notEqual(s.slice(3, 35), '0af7651916cd43dd8448eb211c80319c');
    }
    assert.equal(recs[1].headers.tracestate, undefined, 'tracestate without a valid traceparent is dropped');
    // The access log names the trace id of each request. A line is
    // written after its response, so wait for it (bounded).
    for (const id of ['0af7651916cd43dd8448eb211c80319c', seen[1].slice(3, 35), seen[2].slice(3, 35)]) {
      const [line] = await stack.proxy.waitForLog(new RegExp(`^.*"msg":"request".*"trace_id":"${id}".*$`), { timeoutMs: 5000 });
      assert.match(line, /"path":"\/mcp"/);
    }
  });
});
