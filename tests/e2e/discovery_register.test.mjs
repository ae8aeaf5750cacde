// Discovery documents (SPEC.md 3.1), their 404 carve-outs (3.0.2), CORS
// (SPEC preface fix 10) and POST /register (3.2), black-box against the
// built binary with a real IdP and upstream (startStack).
//
// Stacks: the default mount with rate limiting off (these tests send far
// more than the per-minute budgets), a custom mount with MCP_RESOURCE_NAME,
// CLIENT_REGISTRATION_TTL=0, and one with rate limiting on for the
// /register budget.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack } from './lib/peers.mjs';
import { request, register, authorizeUrl, pkcePair } from './lib/oauth-client.mjs';

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const NOT_FOUND = '{"error":"not_found"}';
const WEEK_S = 7 * 24 * 3600;
const OK_URI = 'https://app.example.com/cb';

function assertSecurityHeaders(res, what) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(res.headers.get(name), value, `${what}: ${name}`);
  }
}

// The keys of a JSON text in the order they appear.
const keysInOrder = (text) => Object.keys(JSON.parse(text));

function asMetadata(base) {
  return {
    authorization_endpoint: `${base}/authorize`,
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    issuer: base,
    registration_endpoint: `${base}/register`,
    response_modes_supported: ['query'],
    response_types_supported: ['code'],
    revocation_endpoint: `${base}/revoke`,
    revocation_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
    scopes_supported: [],
    token_endpoint: `${base}/token`,
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
  };
}

function prm(base, resource, name) {
  return {
    authorization_servers: [base],
    bearer_methods_supported: ['header'],
    resource,
    ...(name ? { resource_name: name } : {}),
    scopes_supported: [],
  };
}

// GET: 200, application/json, body + "\n", sorted keys, the expected
// fields exactly, CORS origin, no caching headers; HEAD: same headers, no
// body; POST: 405 with Allow; OPTIONS: the preflight.
async function assertDocument(url, want) {
  const get = await request(url);
  assert.equal(get.status, 200, url);
  assert.equal(get.headers.get('content-type'), 'application/json');
  assert.ok(get.text.endsWith('}\n'), `${url}: body ends with a newline`);
  assert.equal(get.text.indexOf('\n'), get.text.length - 1, 'compact, one line');
  assert.deepEqual(get.json, want);
  const keys = keysInOrder(get.text);
  assert.deepEqual(keys, [...keys].sort(), `${url}: keys in lexicographic order`);
  assert.equal(get.headers.get('access-control-allow-origin'), '*');
  assert.equal(get.headers.get('access-control-allow-credentials'), null);
  assert.equal(get.headers.get('cache-control'), null);
  assertSecurityHeaders(get, url);

  const head = await request(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal(head.headers.get('content-type'), 'application/json');
  assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(get.text)));
  assert.equal(head.headers.get('access-control-allow-origin'), '*');

  const post = await request(url, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS');
  assert.equal(post.text, '');

  const pre = await preflight(url, 'GET');
  assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS');
}

// A browser preflight: 204 with the CORS answer and no body.
async function preflight(url, method) {
  const res = await request(url, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://localhost:6274',
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type,mcp-protocol-version',
    },
  });
  assert.equal(res.status, 204, `preflight ${url}`);
  assert.equal(res.text, '');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('access-control-allow-headers'),
    'Authorization, Content-Type, Mcp-Protocol-Version');
  assert.equal(res.headers.get('access-control-max-age'), '86400');
  assert.equal(res.headers.get('access-control-allow-credentials'), null);
  return res;
}

async function assertJson404(url, method) {
  const res = await request(url, { method, body: method === 'POST' ? '{}' : undefined });
  assert.equal(res.status, 404, `${method} ${url}`);
  assert.equal(res.headers.get('content-type'), 'application/json', `${method} ${url}`);
  assert.equal(res.text, method === 'HEAD' ? '' : NOT_FOUND, `${method} ${url}`);
  assertSecurityHeaders(res, `${method} ${url}`);
}

// The value of an unlabelled counter in the exposition, 0 when absent.
async function counter(metricsUrl, name) {
  const text = (await request(`${metricsUrl}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const regError = (code, description) => ({ status: 400, error: code, description });

async function assertRejected(base, body, want, label) {
  const res = await request(`${base}/register`, {
    method: 'POST', body, headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.status, want.status, `${label}: ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/json', label);
  assert.equal(res.json.error, want.error, label);
  if (want.description instanceof RegExp) {
    assert.match(res.json.error_description, want.description, label);
  } else {
    assert.equal(res.json.error_description, want.description, label);
  }
  assert.ok(res.text.endsWith('}\n'), label);
  assert.equal(res.headers.get('cache-control'), null, label);
  assert.equal(res.headers.get('pragma'), null, label);
  assert.equal(res.headers.get('access-control-allow-origin'), '*', label);
}

// Sends only a request head on a raw socket and resolves with what comes
// back (the socket is then closed by us if the server did not).
function headOnly(port, head, { timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const got = [];
    let closedByServer = false;
    const timer = setTimeout(() => { sock.destroy(); resolve({ text: Buffer.concat(got).toString('latin1'), closedByServer }); }, timeoutMs);
    sock.on('connect', () => sock.write(head));
    sock.on('data', (d) => {
      got.push(d);
      const text = Buffer.concat(got).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && m && text.length >= end + 4 + Number(m[1])) {
        // Whole response read, without a body byte sent: give the server a
        // moment to close, then report.
        setTimeout(() => { clearTimeout(timer); sock.destroy(); resolve({ text, closedByServer }); }, 200);
      }
    });
    sock.on('end', () => { closedByServer = true; });
    sock.on('error', reject);
  });
}

describe('default mount /mcp', () => {
  let stack;
  let base;
  before(async () => {
    stack = await startStack({ proxyEnv: { RATE_LIMIT_ENABLED: 'false' } });
    base = stack.base;
  });
  after(() => stack?.stop());

  test('AS metadata at the root and the mount path are identical', async () => {
    await assertDocument(`${base}/.well-known/oauth-authorization-server`, asMetadata(base));
    await assertDocument(`${base}/.well-known/oauth-authorization-server/mcp`, asMetadata(base));
    const a = await request(`${base}/.well-known/oauth-authorization-server`);
    const b = await request(`${base}/.well-known/oauth-authorization-server/mcp`);
    assert.equal(a.text, b.text);
    for (const k of ['jwks_uri', 'introspection_endpoint', 'userinfo_endpoint']) {
      assert.equal(a.json[k], undefined, k);
    }
  });

  test('PRM: root resource has the trailing slash, mount resource is base + mount', async () => {
    await assertDocument(`${base}/.well-known/oauth-protected-resource`, prm(base, `${base}/`));
    await assertDocument(`${base}/.well-known/oauth-protected-resource/mcp`, prm(base, `${base}/mcp`));
  });

  test('carve-outs answer 404 JSON for any method, and win over the mount', async () => {
    const paths = [
      '/.well-known/openid-configuration',
      '/.well-known/openid-configuration/mcp',
      '/mcp/.well-known/oauth-authorization-server',
      '/mcp/.well-known/oauth-protected-resource',
      '/mcp/.well-known/openid-configuration',
      '/mcp/.well-known/anything/else',
    ];
    for (const p of paths) {
      for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
        await assertJson404(`${base}${p}`, m);
      }
    }
    // Not 401: no bearer challenge on the carve-out.
    const r = await request(`${base}/mcp/.well-known/oauth-authorization-server`);
    assert.equal(r.headers.get('www-authenticate'), null);
  });

  test('near misses are plain 404s (paths match literally)', async () => {
    for (const p of ['/.well-known/oauth-authorization-server/', '/.well-known/oauth-protected-resource/mcp/',
      '/.well-known/oauth-authorization-server/api/v1/mcp', '/.well-known/']) {
      const r = await request(`${base}${p}`);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8', p);
      assert.equal(r.text, '404 page not found\n', p);
      assert.equal(r.headers.get('access-control-allow-origin'), null, p);
    }
  });

  test('CORS preflights on /register and /token; none on /healthz', async () => {
    for (const p of ['/register', '/token']) {
      const res = await preflight(`${base}${p}`, 'POST');
      assert.equal(res.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    }
    const h = await request(`${base}/healthz`, { headers: { origin: 'http://localhost:6274' } });
    assert.equal(h.headers.get('access-control-allow-origin'), null);
    const o = await request(`${base}/healthz`, { method: 'OPTIONS' });
    assert.equal(o.status, 405);
  });

  test('register: 201 with the RFC 7591 body, no-store, CORS and a 7-day expiry', async () => {
    const before = await counter(stack.proxy.metricsUrl, 'mcp_auth_clients_registered_total');
    const uris = [`${OK_URI}?a=1&b=2`, 'http://localhost:33418/cb', 'http://127.0.0.1/cb', 'http://[::1]:9/cb'];
    const t0 = Math.floor(Date.now() / 1000);
    const res = await request(`${base}/register`, {
      method: 'POST',
      // Authorization ignored, Content-Type not checked, unknown keys ignored.
      headers: { authorization: 'Basic Zm9vOmJhcg==', 'content-type': 'text/plain', origin: 'http://localhost:6274' },
      body: JSON.stringify({ redirect_uris: uris, client_name: 'Inspector <dev>', logo_uri: 1 }),
    });
    const t1 = Math.floor(Date.now() / 1000);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assertSecurityHeaders(res, 'register 201');
    assert.ok(res.text.endsWith('}\n'));
    assert.deepEqual(keysInOrder(res.text), ['client_id', 'client_id_issued_at', 'client_id_expires_at',
      'redirect_uris', 'client_name', 'application_type', 'token_endpoint_auth_method']);
    const j = res.json;
    assert.match(j.client_id, /^[A-Za-z0-9_-]{40,}$/);
    assert.ok(j.client_id_issued_at >= t0 && j.client_id_issued_at <= t1);
    assert.ok(Math.abs(j.client_id_expires_at - (j.client_id_issued_at + WEEK_S)) <= 60);
    assert.deepEqual(j.redirect_uris, uris);
    assert.equal(j.client_name, 'Inspector <dev>');
    assert.equal(j.token_endpoint_auth_method, 'none');
    assert.equal(j.grant_types, undefined);

    // Two registrations never share a client_id; no name → no client_name.
    const again = await register(base, { redirect_uris: [OK_URI], client_name: '' });
    assert.equal(again.status, 201);
    assert.notEqual(again.json.client_id, j.client_id);
    assert.equal('client_name' in again.json, false);
    assert.deepEqual(keysInOrder(again.text), ['client_id', 'client_id_issued_at', 'client_id_expires_at',
      'redirect_uris', 'application_type', 'token_endpoint_auth_method']);
    const none = await register(base, { redirect_uris: [OK_URI], token_endpoint_auth_method: 'none' });
    assert.equal(none.status, 201);

    const after = await counter(stack.proxy.metricsUrl, 'mcp_auth_clients_registered_total');
    assert.equal(after - before, 3);
    // Log lines reach stdout through the writer thread, a moment later.
    const line = await stack.proxy.waitForLog(/"client_registered".*Inspector/, { timeoutMs: 5000 });
    const logged = JSON.parse(line.input);
    assert.match(logged.internal_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(logged.client_name, 'Inspector <dev>');
    assert.ok(!stack.proxy.logLines().some((l) => l.includes(j.client_id)), 'client_id never logged');
  });

  test('register: a client_secret_* method is registered as public, accepted metadata echoed (RFC 7591 3.2.1)', async () => {
    // The SDK's example client asks for client_secret_post; MCP Inspector
    // 2.x sends scope ""; VS Code lists a device_code grant we do not offer.
    for (const method of ['client_secret_post', 'client_secret_basic']) {
      const res = await register(base, {
        redirect_uris: ['http://localhost:6274/oauth/callback'], client_name: 'MCP Inspector',
        token_endpoint_auth_method: method,
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'], scope: '',
      }, { headers: { origin: 'http://localhost:6274' } });
      assert.equal(res.status, 201, `${method}: ${res.text}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(keysInOrder(res.text), ['client_id', 'client_id_issued_at', 'client_id_expires_at',
        'redirect_uris', 'client_name', 'application_type', 'token_endpoint_auth_method', 'grant_types',
        'response_types', 'scope']);
      assert.equal(res.json.application_type, 'native'); // a loopback redirect
      assert.equal(res.json.token_endpoint_auth_method, 'none');
      assert.equal('client_secret' in res.json, false);
      assert.deepEqual(res.json.grant_types, ['authorization_code', 'refresh_token']);
      assert.deepEqual(res.json.response_types, ['code']);
      assert.equal(res.json.scope, '');
      // The client it got works as a public client at /authorize.
      const pkce = pkcePair();
      const a = await request(authorizeUrl(base, {
        client_id: res.json.client_id, redirect_uri: 'http://localhost:6274/oauth/callback', state: 's',
        code_challenge: pkce.challenge,
      }));
      assert.equal(a.status, 200, a.text);
    }
    await stack.proxy.waitForLog(/"client_registered".*"auth_method_replaced":true/, { timeoutMs: 5000 });
    // Only refresh_token besides authorization_code: echoed as asked.
    const one = await register(base, { redirect_uris: [OK_URI], grant_types: ['authorization_code'], scope: 'mcp:tools' });
    assert.equal(one.status, 201, one.text);
    assert.deepEqual(one.json.grant_types, ['authorization_code']);
    assert.equal(one.json.scope, 'mcp:tools');
    assert.equal('response_types' in one.json, false);
  });

  test('register: every rejection with its status and error (SPEC.md 3.2 steps 1-8)', async () => {
    const before = await counter(stack.proxy.metricsUrl, 'mcp_auth_clients_registered_total');
    const badJson = regError('invalid_request', 'invalid JSON body');
    const badUri = (d) => regError('invalid_redirect_uri', d);
    const badMeta = (d) => regError('invalid_client_metadata', d);
    const reg = (o) => JSON.stringify({ redirect_uris: [OK_URI], ...o });
    const uri = (u) => JSON.stringify({ redirect_uris: [u] });
    const nameBytes = badMeta('client_name must not contain control bytes or commas');
    const cases = [
      ['empty body', '', badJson],
      ['invalid JSON', '{"redirect_uris":', badJson],
      ['a second object', `${reg({})}{}`, badJson],
      ['wrong type', JSON.stringify({ redirect_uris: OK_URI }), badJson],
      ['missing redirect_uris', '{}', badUri('redirect_uris is required and must not be empty')],
      ['null body', 'null', badUri('redirect_uris is required and must not be empty')],
      ['empty redirect_uris', '{"redirect_uris":[]}', badUri('redirect_uris is required and must not be empty')],
      ['6 URIs', JSON.stringify({ redirect_uris: Array(6).fill(OK_URI) }), badUri('redirect_uris exceeds maximum count')],
      ['513-byte URI', uri(`https://app.example.com/${'a'.repeat(513 - 24)}`), badUri('redirect_uri exceeds maximum length')],
      ['513-byte client_name', reg({ client_name: 'n'.repeat(513) }), badMeta('client_name exceeds maximum length')],
      ['client_name newline', reg({ client_name: 'a\nb' }), nameBytes],
      ['client_name CR', reg({ client_name: 'a\rb' }), nameBytes],
      ['client_name tab', reg({ client_name: 'a\tb' }), nameBytes],
      ['client_name NUL', reg({ client_name: 'a\u0000b' }), nameBytes],
      ['client_name comma', reg({ client_name: 'a,b' }), nameBytes],
      ['client_name 0x01', reg({ client_name: 'a\u0001b' }), nameBytes],
      ['client_name DEL', reg({ client_name: 'a\u007fb' }), nameBytes],
      ['fragment', uri(`${OK_URI}#frag`), badUri('redirect_uri must not contain a fragment')],
      ['bare #', uri(`${OK_URI}#`), badUri('redirect_uri must not contain a fragment')],
      ['userinfo', uri('https://user:pw@app.example.com/cb'), badUri('redirect_uri must not contain userinfo')],
      ['userinfo without password', uri('https://user@app.example.com/cb'), badUri('redirect_uri must not contain userinfo')],
      ['http non-loopback', uri('http://app.example.com/cb'), badUri(/HTTPS/)],
      ['ftp', uri('ftp://app.example.com/cb'), badUri('redirect_uri scheme is not allowed')],
      // A private-use scheme (com.example.app://cb) is accepted now:
      // client_shapes.test.mjs.
      ['javascript:', uri('javascript:alert(1)'), badUri('redirect_uri scheme is not allowed')],
      ['opaque https:foo', uri('https:foo'), badUri('redirect_uri must be an absolute URI with authority, not opaque')],
      ['https:///cb', uri('https:///cb'), badUri('redirect_uri must include a host')],
      ['file:///etc/passwd', uri('file:///etc/passwd'), badUri('redirect_uri scheme is not allowed')],
      ['second URI bad', JSON.stringify({ redirect_uris: [OK_URI, 'http://evil.example/cb'] }), badUri(/HTTPS/)],
      // Look-alike hosts: a Cyrillic а (U+0430) among Latin letters, raw or as
      // its A-label; a name that is not IDNA2008; a percent-encoded name.
      ['mixed-script host', uri('https://\u0430pple.com/cb'),
        badUri('redirect_uri host mixes scripts (such as Latin and Cyrillic) in one label')],
      ['mixed-script A-label', uri('https://xn--pple-43d.com/cb'),
        badUri('redirect_uri host mixes scripts (such as Latin and Cyrillic) in one label')],
      ['not IDNA2008', uri('https://\u2603.net/cb'),
        badUri('redirect_uri host is not a valid internationalized domain name (IDNA2008)')],
      ['percent-encoded host', uri('https://%d0%b0pple.com/cb'),
        badUri('redirect_uri host must not be percent-encoded')],
      ['private_key_jwt', reg({ token_endpoint_auth_method: 'private_key_jwt' }),
        badMeta('unsupported token_endpoint_auth_method; only "none" is supported')],
      ['grant_types without authorization_code', reg({ grant_types: ['client_credentials'] }),
        badMeta('grant_types must include "authorization_code"')],
      ['response_types without code', reg({ response_types: ['token'] }),
        badMeta('response_types must include "code"')],
      ['scope with a double space', reg({ scope: 'a  b' }), badMeta('scope must be space-separated scope tokens')],
      ['scope not a string', reg({ scope: ['a'] }), badJson],
    ];
    for (const [label, body, want] of cases) {
      await assertRejected(base, body, want, label);
    }
    // The 513-byte URI really is 513 bytes and 512 is accepted.
    assert.equal(`https://app.example.com/${'a'.repeat(513 - 24)}`.length, 513);
    const ok512 = await register(base, { redirect_uris: [`https://app.example.com/${'a'.repeat(512 - 24)}`], client_name: 'n'.repeat(512) });
    assert.equal(ok512.status, 201, ok512.text);
    // Rejections are not counted.
    assert.equal(await counter(stack.proxy.metricsUrl, 'mcp_auth_clients_registered_total') - before, 1);
  });

  test('register: an oversize Content-Length is refused with 413 before the body is sent', async () => {
    const head = `POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
    const { text, closedByServer } = await headOnly(stack.proxy.port, head);
    assert.match(text, /^HTTP\/1\.1 413 /);
    const [rawHead, body] = text.split('\r\n\r\n');
    const headers = Object.fromEntries(rawHead.split('\r\n').slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['access-control-allow-origin'], '*');
    assert.equal(headers.connection, 'close');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[name], value, name);
    assert.equal(body, '{"error":"invalid_request","error_description":"request body exceeds the 64 KiB cap"}\n');
    assert.ok(closedByServer, 'the server closes after refusing the body');
  });

  test('register: a 64 KiB body is read; one byte more is 413', async () => {
    const json = JSON.stringify({ redirect_uris: [OK_URI] });
    const exact = json + ' '.repeat(64 * 1024 - json.length);
    const ok = await request(`${base}/register`, { method: 'POST', body: exact });
    assert.equal(ok.status, 201, ok.text);
    const over = await request(`${base}/register`, { method: 'POST', body: `${exact} ` });
    assert.equal(over.status, 413);
    assert.equal(over.json.error, 'invalid_request');
    assert.equal(over.json.error_description, 'request body exceeds the 64 KiB cap');
    assertSecurityHeaders(over, 'register 413');
  });

  test('register: wrong methods get 405', async () => {
    for (const m of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const r = await request(`${base}/register`, { method: m });
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.get('allow'), 'POST, OPTIONS', m);
    }
  });
});

describe('custom mount /api/v1/mcp with MCP_RESOURCE_NAME', () => {
  let stack;
  let base;
  const name = 'Acme "Tools" <beta> & co';
  before(async () => {
    stack = await startStack({
      upstreamPath: '/api/v1/mcp',
      proxyEnv: { RATE_LIMIT_ENABLED: 'false', MCP_RESOURCE_NAME: name },
    });
    base = stack.base;
  });
  after(() => stack?.stop());

  test('documents at the custom mount; resource_name in both PRMs', async () => {
    await assertDocument(`${base}/.well-known/oauth-protected-resource`, prm(base, `${base}/`, name));
    await assertDocument(`${base}/.well-known/oauth-protected-resource/api/v1/mcp`, prm(base, `${base}/api/v1/mcp`, name));
    await assertDocument(`${base}/.well-known/oauth-authorization-server`, asMetadata(base));
    await assertDocument(`${base}/.well-known/oauth-authorization-server/api/v1/mcp`, asMetadata(base));
    // Written as Go's encoder writes it.
    const raw = (await request(`${base}/.well-known/oauth-protected-resource`)).text;
    assert.ok(raw.includes('"resource_name":"Acme \\"Tools\\" \\u003cbeta\\u003e \\u0026 co"'), raw);
  });

  test('carve-outs follow the mount; the /mcp variants are not served', async () => {
    for (const m of ['GET', 'HEAD', 'POST']) {
      await assertJson404(`${base}/.well-known/openid-configuration`, m);
      await assertJson404(`${base}/.well-known/openid-configuration/api/v1/mcp`, m);
      await assertJson404(`${base}/api/v1/mcp/.well-known/oauth-authorization-server`, m);
    }
    for (const p of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server/mcp',
      '/.well-known/openid-configuration/mcp', '/mcp/.well-known/oauth-authorization-server']) {
      const r = await request(`${base}${p}`);
      assert.equal(r.status, 404, p);
      assert.equal(r.text, '404 page not found\n', p);
    }
  });
});

describe('CLIENT_REGISTRATION_TTL=0', () => {
  let stack;
  before(async () => {
    stack = await startStack({ proxyEnv: { RATE_LIMIT_ENABLED: 'false', CLIENT_REGISTRATION_TTL: '0' } });
  });
  after(() => stack?.stop());

  test('client_id_expires_at is 0 (never)', async () => {
    const res = await register(stack.base, { redirect_uris: [OK_URI], client_name: 'forever' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.client_id_expires_at, 0);
    assert.ok(res.json.client_id_issued_at > 0);
  });
});

describe('rate limit on /register', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.stop());

  test('the 11th registration in a minute is 429 with Retry-After: 60', async () => {
    const { base } = stack;
    // Start early in a wall-clock minute so all eleven share one window.
    const sec = new Date().getUTCSeconds();
    if (sec > 45) await new Promise((r) => { setTimeout(r, (61 - sec) * 1000); });
    for (let i = 0; i < 10; i++) {
      const r = await register(base, { redirect_uris: [OK_URI] });
      assert.equal(r.status, 201, `registration ${i + 1}: ${r.text}`);
    }
    const r = await register(base, { redirect_uris: [OK_URI] }, { headers: { origin: 'http://localhost:6274' } });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '60');
    // A browser client must be able to read it (issue 11 item 6).
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.text, '{"error":"temporarily_unavailable","error_description":"rate limit exceeded"}');
    const metrics = (await request(`${stack.proxy.metricsUrl}/metrics`)).text;
    assert.match(metrics, /^mcp_auth_rate_limited_total\{endpoint="register"\} 1$/m);
  });
});
