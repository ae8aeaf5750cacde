// Every redirect shape real MCP clients send (issue 11 item 2): POST
// /register with each client's registration body as published (VS Code and
// MCP Inspector read in their source; Cursor, Codex, ChatGPT, Gemini CLI from
// captured traffic others published; Goose and Copilot CLI are left out
// because no body of theirs was found), the
// RFC 8252 7.3 loopback port relaxation at /authorize, private-use schemes
// through consent and back, and dangerous schemes refused.
//
// Black-box against the built binary with a real IdP and upstream
// (startStack); rate limiting off, since one file registers many clients.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import {
  request, register, authorizeUrl, pkcePair, randomState, CookieJar, parseConsentPage,
  submitConsent, parseInterstitial,
} from './lib/oauth-client.mjs';

const CODE_FLOW = { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
const CURSOR_URIS = [
  'cursor://anysphere.cursor-mcp/oauth/callback',
  'https://www.cursor.com/agents/mcp/oauth/callback',
  'http://localhost:8787/callback',
];

// name → [registration body, the application_type the proxy stores]
const CLIENTS = {
  // One request, three URIs, application_type absent (Cursor 3.13.25).
  'Cursor': [{ redirect_uris: CURSOR_URIS, token_endpoint_auth_method: 'none' }, 'native'],
  // The same declared "web" (another report): stored as native, not refused.
  'Cursor declaring web': [
    { redirect_uris: CURSOR_URIS, token_endpoint_auth_method: 'none', application_type: 'web' }, 'native'],
  // vscode oauth.ts fetchDynamicRegistration: four URIs, native with https.
  'VS Code': [{
    client_name: 'Visual Studio Code', client_uri: 'https://code.visualstudio.com', ...CODE_FLOW,
    redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect',
      'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
    token_endpoint_auth_method: 'none', application_type: 'native',
  }, 'native'],
  'Claude.ai': [{
    client_name: 'claudeai', ...CODE_FLOW, token_endpoint_auth_method: 'none', scope: 'claudeai',
    redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'],
  }, 'web'],
  'ChatGPT': [{
    client_name: 'ChatGPT', ...CODE_FLOW, token_endpoint_auth_method: 'none',
    redirect_uris: ['https://chatgpt.com/connector/oauth/c_0123456789abcdef'],
  }, 'web'],
  'Claude Code': [{
    client_name: 'Claude Code (acme)', ...CODE_FLOW, token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost:54212/callback'], application_type: 'native',
  }, 'native'],
  'Gemini CLI': [{
    client_name: 'Gemini CLI MCP Client', ...CODE_FLOW, token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost:7777/oauth/callback'], scope: 'openid offline_access',
  }, 'native'],
  'Codex': [{
    client_name: 'Codex', ...CODE_FLOW, token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1:1455/callback'], application_type: 'native',
  }, 'native'],
  'OpenCode': [{ redirect_uris: ['http://127.0.0.1:19876/mcp/oauth/callback'], token_endpoint_auth_method: 'none' },
    'native'],
  'MCP Inspector 2.x': [{
    redirect_uris: ['http://localhost:6274/oauth/callback'], token_endpoint_auth_method: 'none', ...CODE_FLOW,
    client_name: 'MCP Inspector', client_uri: 'https://github.com/modelcontextprotocol/inspector', scope: '',
    application_type: 'native',
  }, 'native'],
  'MCP Inspector 1.x': [{
    redirect_uris: ['http://localhost:6274/oauth/callback', 'http://localhost:6274/oauth/callback/debug'],
    token_endpoint_auth_method: 'none', ...CODE_FLOW, client_name: 'MCP Inspector',
    client_uri: 'https://github.com/modelcontextprotocol/inspector',
  }, 'native'],
};

const DANGEROUS = [
  'javascript:alert(1)', 'JavaScript://x/%0aalert(1)', 'data:text/html,<script>alert(1)</script>',
  'DATA:,x', 'vbscript:msgbox(1)', 'file:///etc/passwd', 'FILE://localhost/etc/passwd', 'about:blank',
  'blob:https://app.example.com/0b7c', 'ws://127.0.0.1:9/cb', 'WSS://app.example.com/cb',
  'ftp://app.example.com/cb',
];

async function registered(base, body) {
  const res = await register(base, body);
  assert.equal(res.status, 201, res.text);
  return res.json.client_id;
}

function authorizeParams(clientId, redirectUri) {
  const pkce = pkcePair();
  return {
    client_id: clientId, redirect_uri: redirectUri, state: randomState(),
    code_challenge: pkce.challenge, code_challenge_method: 'S256',
  };
}

const NO_MATCH = { error: 'invalid_request', error_description: 'redirect_uri does not match registered URIs' };

describe('real clients register and authorize', () => {
  let stack;
  before(async () => {
    stack = await startStack({ proxyEnv: { RATE_LIMIT_ENABLED: 'false' } });
  });
  after(() => stack?.stop());

  for (const [name, [body, appType]] of Object.entries(CLIENTS)) {
    test(`/register accepts ${name}'s request (application_type ${appType})`, async () => {
      const res = await register(stack.base, body);
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.json.redirect_uris, body.redirect_uris, 'every URI kept, verbatim and in order');
      assert.equal(res.json.application_type, appType);
      assert.equal(res.json.token_endpoint_auth_method, 'none');
      // Each registered URI is usable at /authorize as registered.
      for (const uri of body.redirect_uris) {
        const page = await request(authorizeUrl(stack.base, authorizeParams(res.json.client_id, uri)));
        assert.equal(page.status, 200, `${uri}: ${page.text}`);
      }
    });
  }

  test('an unknown application_type is refused', async () => {
    const res = await register(stack.base, { redirect_uris: ['https://app.example.com/cb'], application_type: 'desktop' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, {
      error: 'invalid_client_metadata', error_description: 'application_type must be "native" or "web"',
    });
  });

  for (const uri of DANGEROUS) {
    test(`/register refuses ${uri} (and the whole request with it)`, async () => {
      const res = await register(stack.base, { redirect_uris: [CURSOR_URIS[0], uri] });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.json, { error: 'invalid_redirect_uri', error_description: 'redirect_uri scheme is not allowed' });
    });
  }

  test('/register refuses a private-use URI with userinfo or a fragment, and one without a scheme', async () => {
    const cases = [
      ['cursor://u@anysphere.cursor-mcp/oauth/callback', 'redirect_uri must not contain userinfo'],
      ['cursor://anysphere.cursor-mcp/oauth/callback#x', 'redirect_uri must not contain a fragment'],
      ['anysphere.cursor-mcp/oauth/callback', 'malformed redirect_uri'],
    ];
    for (const [uri, why] of cases) {
      const res = await register(stack.base, { redirect_uris: [uri] });
      assert.equal(res.status, 400, uri);
      assert.deepEqual(res.json, { error: 'invalid_redirect_uri', error_description: why }, uri);
    }
  });

  test('/authorize: a registered loopback redirect matches on any port, never on another path', async () => {
    // VS Code's portless http://127.0.0.1/, Claude Code's and Codex's CIMD
    // shapes (portless) and Cursor's fixed port, each used on another port.
    const clientId = await registered(stack.base, {
      redirect_uris: ['http://127.0.0.1/', 'http://localhost/callback', 'http://[::1]/callback',
        'http://localhost:8787/callback', 'https://app.example.com/cb'],
    });
    const accepted = [
      'http://127.0.0.1:33419/', 'http://localhost:61234/callback', 'http://[::1]:1455/callback',
      'http://localhost:9999/callback',
    ];
    for (const uri of accepted) {
      const page = await request(authorizeUrl(stack.base, authorizeParams(clientId, uri)));
      assert.equal(page.status, 200, `${uri}: ${page.text}`);
    }
    const refused = [
      'http://127.0.0.1:33419/x', 'http://localhost:61234/callback/', 'http://localhost:61234/Callback',
      'http://[::1]:1455/cb', 'http://127.0.0.1:61234/callback', // another loopback host
      'http://localhost:61234/callback?x=1', 'https://localhost:61234/callback',
      'https://app.example.com:8443/cb', // never for https
    ];
    for (const uri of refused) {
      const res = await request(authorizeUrl(stack.base, authorizeParams(clientId, uri)));
      assert.equal(res.status, 400, uri);
      assert.deepEqual(res.json, NO_MATCH, uri);
    }
  });

  test('a private-use redirect matches exactly; consent names the app; deny goes back to it', async () => {
    const clientId = await registered(stack.base, { client_name: 'Cursor', redirect_uris: CURSOR_URIS });
    for (const uri of ['CURSOR://anysphere.cursor-mcp/oauth/callback', 'cursor://anysphere.cursor-mcp:5/oauth/callback',
      'cursor://anysphere.cursor-mcp/oauth/callback/']) {
      const res = await request(authorizeUrl(stack.base, authorizeParams(clientId, uri)));
      assert.deepEqual(res.json, NO_MATCH, uri);
    }
    const jar = new CookieJar();
    const params = authorizeParams(clientId, CURSOR_URIS[0]);
    const page = await request(authorizeUrl(stack.base, params), { jar });
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /<dd>cursor:\/\/<\/dd>/);
    assert.match(page.text, /The login goes to the app registered for <strong>cursor:\/\/<\/strong> on this computer/);
    assert.doesNotMatch(page.text, /anysphere/, 'the private-use host is not shown as if it were a website');
    const consent = parseConsentPage(page.text);
    const post = await submitConsent({ jar, formAction: consent.formAction, consentToken: consent.consentToken, action: 'deny' });
    assert.equal(post.status, 200, post.text);
    const { target } = parseInterstitial(post.text);
    const back = new URL(target.replace(/^cursor:/, 'http:'));
    assert.ok(target.startsWith('cursor://anysphere.cursor-mcp/oauth/callback?'), target);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), params.state);
    assert.equal(back.searchParams.get('iss'), stack.base);
  });

  test('a loopback redirect gets the "app on this computer" note; a website does not', async () => {
    const clientId = await registered(stack.base, { redirect_uris: ['http://127.0.0.1/cb', 'https://app.example.com/cb'] });
    let page = await request(authorizeUrl(stack.base, authorizeParams(clientId, 'http://127.0.0.1:4242/cb')));
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /The login goes to an app on this computer \(listening on <strong>127\.0\.0\.1:4242<\/strong>\)/);
    page = await request(authorizeUrl(stack.base, authorizeParams(clientId, 'https://app.example.com/cb')));
    assert.equal(page.status, 200, page.text);
    assert.doesNotMatch(page.text, /on this computer/);
  });
});
