#!/usr/bin/env node
// The demo's scripted MCP client: what an MCP client such as Claude Code or
// MCP Inspector does against mcp-auth-proxy, one printed step at a time.
//
//   node deploy/demo/client.mjs --server http://127.0.0.1:8080/mcp \
//        [--username alice --password alice-pw] [--timeout-ms 60000]
//
// It is the official TypeScript SDK's `Client` over
// `StreamableHTTPClientTransport` with an `OAuthClientProvider`. The SDK does
// the OAuth work itself: on the proxy's 401 it reads the protected-resource
// metadata (RFC 9728) and the authorization-server metadata (RFC 8414),
// registers a client dynamically (RFC 7591), builds the authorization URL
// (PKCE S256, RFC 8707 resource) and hands it to
// `provider.redirectToAuthorization(url)`. A desktop client would open a
// browser there; this provider plays the browser with plain HTTP: it shows
// the consent page, approves, follows the interstitial to the IdP, logs in,
// lets the IdP send it back to the proxy's /callback, and follows the
// proxy's redirect to this process's loopback redirect URI, where a tiny
// HTTP listener catches the authorization code. `transport.finishAuth(code)`
// then has the SDK redeem the code at /token, and the client connects again
// with the bearer token: initialize, tools/list, tools/call echo and whoami.
//
// The npm packages come from tests/e2e/node_modules (installed by
// scripts/install-deps.sh with `npm ci`, pinned by its package-lock.json):
// an ES module outside that folder cannot import them by name, so the SDK
// is loaded with a require() anchored there (createRequire), and the
// browser-playing helpers are the e2e suite's own (tests/e2e/lib).
//
// Prints DEMO_CLIENT_OK as its last line and exits 0 on success; exits 1
// with the failing step otherwise. Bounded by --timeout-ms overall and by
// 10 s per HTTP call.

import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  CookieJar, request, parseConsentPage, submitConsent, parseInterstitial, idpLogin,
  followCallback, startRedirectCatcher,
} from '../../tests/e2e/lib/oauth-client.mjs';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { UnauthorizedError } = require('@modelcontextprotocol/sdk/client/auth.js');

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' },
    username: { type: 'string', default: 'alice' },
    password: { type: 'string', default: 'alice-pw' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
if (!args.server) {
  console.error('usage: node deploy/demo/client.mjs --server <MCP server URL> [--username U --password P]');
  process.exit(2);
}
const serverUrl = new URL(args.server);
const origin = serverUrl.origin;

const overall = setTimeout(() => {
  console.error(`demo client: FAILED: not finished within ${args['timeout-ms']} ms`);
  process.exit(1);
}, Number(args['timeout-ms']));
overall.unref();

// ------------------------------------------------------------ printing

const short = (s, n = 24) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
// Path and query of a URL, shortened for display when it is on the proxy.
function where(u) {
  const url = new URL(u);
  const p = url.origin === origin ? url.pathname : url.href.replace(url.search, '');
  return url.search ? `${p}?${[...url.searchParams.keys()].join('&')}` : p;
}
let step = 0;
const say = (who, text) => console.log(`${String(++step).padStart(2)}. [${who}] ${text}`);

// The SDK's HTTP calls go through this fetch, so every request it makes is
// printed with its answer (JSON-RPC method for MCP POSTs).
async function loggingFetch(input, init = {}) {
  const url = typeof input === 'string' ? input : input.url ?? String(input);
  const method = init.method ?? 'GET';
  let rpc = '';
  if (typeof init.body === 'string' && url.startsWith(serverUrl.href)) {
    try {
      const m = JSON.parse(init.body);
      const label = (x) => (x.method === 'tools/call' ? `tools/call ${x.params?.name}` : x.method);
      rpc = ` (${Array.isArray(m) ? m.map(label).join(',') : label(m)})`;
    } catch { /* not JSON */ }
  }
  const res = await fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(10000) });
  let note = '';
  if (res.status === 401) {
    const wa = res.headers.get('www-authenticate') ?? '';
    const rm = wa.match(/resource_metadata="([^"]*)"/);
    note = rm ? `  WWW-Authenticate points to ${where(rm[1])}` : `  WWW-Authenticate: ${wa}`;
  }
  if (method === 'GET' && url === serverUrl.href) rpc = ' (stream for server-initiated messages)';
  const sid = res.headers.get('mcp-session-id');
  if (sid && rpc.includes('initialize')) note += `  Mcp-Session-Id: ${short(sid, 12)}`;
  say('sdk', `${method} ${where(url)}${rpc} → ${res.status}${note}`);
  return res;
}

// ------------------------------------------------------------ the provider

class DemoOAuthProvider {
  constructor(redirectUrl, credentials) {
    this._redirectUrl = redirectUrl;
    this._credentials = credentials;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._state = undefined;
    this.login = null; // what the "browser" saw
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() {
    return {
      client_name: 'mcp-auth-proxy demo client',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this._state = crypto.randomBytes(16).toString('base64url');
    return this._state;
  }

  clientInformation() { return this._client; }

  saveClientInformation(info) {
    this._client = info;
    say('sdk', `registered: client_id ${short(info.client_id)} (a sealed blob, nothing stored server-side),`
      + ` token_endpoint_auth_method ${info.token_endpoint_auth_method}`);
  }

  tokens() { return this._tokens; }

  saveTokens(tokens) {
    this._tokens = tokens;
    say('sdk', `tokens: ${tokens.token_type} access_token ${short(tokens.access_token, 16)}, `
      + `expires_in ${tokens.expires_in}s${tokens.refresh_token ? ', refresh_token' : ''}`);
  }

  saveCodeVerifier(v) { this._verifier = v; }

  codeVerifier() {
    if (!this._verifier) throw new Error('no PKCE verifier saved');
    return this._verifier;
  }

  // "Opens the browser": drives consent and the IdP login over plain HTTP
  // and lands on our redirect URI, where the catcher picks up the code.
  async redirectToAuthorization(authorizationUrl) {
    const u = new URL(authorizationUrl);
    say('sdk', `redirectToAuthorization: ${where(u)} `
      + `(code_challenge_method=${u.searchParams.get('code_challenge_method')}, `
      + `resource=${u.searchParams.get('resource')})`);
    const jar = new CookieJar();
    const page = await request(u.toString(), { jar });
    if (page.status !== 200) throw new Error(`/authorize answered ${page.status}: ${page.location ?? page.text.slice(0, 300)}`);
    const consent = parseConsentPage(page.text);
    if (!consent.consentToken || !consent.formAction) throw new Error('the consent page has no form');
    say('browser', `GET /authorize → 200 consent page (buttons: ${consent.actions.join(', ')})`);

    const post = await submitConsent({ formAction: new URL(consent.formAction, u).toString(), consentToken: consent.consentToken, jar });
    if (post.status !== 200) throw new Error(`POST /consent answered ${post.status}: ${post.text.slice(0, 300)}`);
    const inter = parseInterstitial(post.text);
    if (!inter.target) throw new Error('the consent answer has no navigation target');
    say('browser', `POST ${where(consent.formAction.startsWith('http') ? consent.formAction : new URL(consent.formAction, u))} `
      + `action=approve → 200 interstitial, continuing to the IdP ${where(inter.target)}`);

    const idp = await idpLogin(inter.target, { ...this._credentials, jar });
    if (!idp.callbackUrl) throw new Error(`the IdP login did not redirect: ${idp.last.status} ${idp.last.text.slice(0, 300)}`);
    say('browser', `IdP login page, signed in as ${this._credentials.username} → ${idp.last.status} to the proxy ${where(idp.callbackUrl)}`);

    const cb = await followCallback(idp.callbackUrl, { jar });
    if (!cb.redirect) throw new Error(`/callback answered ${cb.response.status}: ${cb.response.text.slice(0, 300)}`);
    if (cb.redirect.error) throw new Error(`/callback redirected with error=${cb.redirect.error} ${cb.redirect.error_description ?? ''}`);
    say('browser', `GET /callback → ${cb.response.status} to the client's redirect URI ${where(cb.redirect.url)}`);
    const landed = await request(cb.redirect.url.toString());
    if (landed.status !== 200) throw new Error(`the redirect URI answered ${landed.status}`);
    this.login = { consent, inter, idp, callback: cb };
  }
}

// ------------------------------------------------------------ the run

const newTransport = (provider) => new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: loggingFetch });
const newClient = () => new Client({ name: 'mcp-auth-proxy-demo-client', version: '1.0.0' }, { capabilities: {} });

const textOf = (result) => result?.content?.find((c) => c.type === 'text')?.text;

async function main() {
  console.log(`demo client: MCP server ${serverUrl.href}, user ${args.username}`);
  const catcher = await startRedirectCatcher({ path: '/callback' });
  try {
    const provider = new DemoOAuthProvider(catcher.url, { username: args.username, password: args.password });
    say('client', `redirect URI ${catcher.url} (a loopback listener in this process)`);

    // 1. No token yet: the SDK meets the 401 and runs the authorization flow.
    const first = newTransport(provider);
    const firstClient = newClient();
    let refused = false;
    try {
      await firstClient.connect(first);
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
      refused = true;
    }
    await firstClient.close();
    if (!refused) throw new Error('the MCP endpoint answered without a bearer token');

    const hit = await catcher.next(10000);
    const code = hit.searchParams.get('code');
    if (!code) throw new Error(`redirect without a code: ${hit.search}`);
    if (hit.searchParams.get('state') !== provider._state) throw new Error('the state parameter came back changed');
    say('client', `redirect URI caught code ${short(code, 12)}, state matches, iss=${hit.searchParams.get('iss')}`);

    // 2. The SDK redeems the code (PKCE verifier, resource) at /token.
    await first.finishAuth(code);

    // 3. Connect again, now with the bearer token.
    const transport = newTransport(provider);
    const client = newClient();
    await client.connect(transport);
    const info = client.getServerVersion();
    say('mcp', `initialized: upstream server "${info?.name}" ${info?.version}, session ${short(transport.sessionId ?? '-', 12)}`);

    const tools = await client.listTools();
    say('mcp', `tools/list: ${tools.tools.map((t) => t.name).join(', ')}`);

    const text = 'hello through mcp-auth-proxy';
    const echo = textOf(await client.callTool({ name: 'echo', arguments: { text } }));
    if (echo !== text) throw new Error(`echo returned ${JSON.stringify(echo)}`);
    say('mcp', `tools/call echo {"text":"${text}"} → "${echo}"`);

    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
    say('mcp', `tools/call whoami → the upstream saw X-User-Sub: ${who.sub}, X-User-Email: ${who.email}, `
      + `X-User-Groups: ${who.groups}; client's Authorization header forwarded: ${who.authorizationPresent}`);
    if (who.sub !== args.username) throw new Error(`whoami: sub ${who.sub}, expected ${args.username}`);
    if (who.authorizationPresent) throw new Error('the bearer token reached the upstream');

    await transport.terminateSession();
    await client.close();
    say('mcp', 'session closed (DELETE)');
    console.log(`demo client: logged in as ${who.sub} through consent and the IdP, then called echo and whoami through the proxy`);
    console.log('DEMO_CLIENT_OK');
  } finally {
    await catcher.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`demo client: FAILED: ${err?.stack ?? err}`);
  process.exit(1);
});
