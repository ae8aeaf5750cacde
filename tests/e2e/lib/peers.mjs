// Real peers for end-to-end tests, each its own process on 127.0.0.1:
// the IdP (peers/idp.mjs, oidc-provider), the MCP upstream
// (peers/mcp-upstream.mjs, MCP SDK) and Redis (Debian's redis-server).
// startStack() wires all of them to the C proxy in one call.

import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { spawnProcess, startProxy, E2E_DIR } from './proc.mjs';
import { getFreePort } from './ports.mjs';

const NODE = process.execPath;

async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method || 'GET'} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const postJson = (url, body) => getJson(url, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
});

/**
 * Starts the test IdP (peers/idp.mjs).
 *
 * @param {object} [o]
 * @param {number} [o.port]  default: a free port
 * @param {{clientId: string, clientSecret: string, redirectUris: string[]}[]} [o.clients]
 * @param {string[]} [o.authMethods]  e.g. ['client_secret_post'] (default both)
 * @param {'RS256'|'ES256'} [o.idTokenAlg]
 * @param {boolean} [o.sso]  keep IdP login sessions (default: always show login)
 * @param {'127.0.0.1'|'localhost'} [o.host]  the issuer's host (default 127.0.0.1; it
 *        always listens on 127.0.0.1): `localhost` makes the IdP another site
 *        than a proxy on 127.0.0.1, for browser tests of SameSite cookies
 * @param {Record<string,{password: string, claims: object}>} [o.extraUsers]
 * @param {string} [o.issuerPath]  e.g. '/<tenant>/v2.0' (peers/idp.mjs --issuer-path)
 * @returns {Promise<{issuer: string, url: string, port: number, proc: import('./proc.mjs').ProcGuard,
 *   stop: () => Promise<object>, discovery: () => Promise<object>, requests: () => Promise<object[]>,
 *   tokenRequests: () => Promise<object[]>, reset: () => Promise<void>, setFaults: (f: object) => Promise<object>,
 *   rotateKey: () => Promise<string>}>}
 *   setFaults({}) clears all faults; rotateKey() returns the new kid (see peers/idp.mjs).
 */
export async function startIdp({ port, clients = [], authMethods, idTokenAlg, sso, host, extraUsers, issuerPath, readyTimeoutMs } = {}) {
  const args = [path.join(E2E_DIR, 'peers/idp.mjs'), '--port', String(port ?? 0)];
  for (const c of clients) {
    args.push('--client-id', c.clientId, '--client-secret', c.clientSecret);
    for (const u of c.redirectUris) args.push('--redirect-uri', u);
  }
  if (authMethods) args.push('--auth-methods', authMethods.join(','));
  if (idTokenAlg) args.push('--id-token-alg', idTokenAlg);
  if (sso) args.push('--sso');
  if (host) args.push('--host', host);
  if (issuerPath) args.push('--issuer-path', issuerPath);
  const spawnIdp = () => spawnProcess({
    name: 'idp',
    command: NODE,
    args,
    env: extraUsers ? { IDP_EXTRA_USERS: JSON.stringify(extraUsers) } : {},
    readyLine: /^IDP_READY (\S+)$/,
    readyTimeoutMs,
  });
  // One more try when the peer prints nothing at all in its time: CI saw
  // Node stay silent for 15 s before its first module had loaded (not even
  // oidc-provider's start-up warning on stderr) on a loaded machine, where
  // it normally starts in 1-3 s. A second silence fails the test as before.
  let proc;
  try {
    proc = await spawnIdp();
  } catch (err) {
    if (!/did not become ready/.test(err.message) || !/--- stderr tail ---\n\s*$/.test(err.message)) throw err;
    process.stderr.write(`startIdp: the IdP printed nothing in time; starting it once more\n${err.message}\n`);
    proc = await spawnIdp();
  }
  const issuer = proc.readyMatch[1];
  // The side routes (/__requests...) stay at the root when the issuer has
  // a path (--issuer-path).
  const root = new URL(issuer).origin;
  return {
    issuer,
    url: issuer,
    port: Number(new URL(issuer).port),
    proc,
    stop: (opts) => proc.stop(opts),
    discovery: () => getJson(`${issuer}/.well-known/openid-configuration`),
    requests: () => getJson(`${root}/__requests`),
    tokenRequests: async () => (await getJson(`${root}/__requests`)).filter((r) => r.path === '/token'),
    reset: async () => { await postJson(`${root}/__reset`); },
    setFaults: (faults) => postJson(`${root}/__faults`, faults),
    rotateKey: async () => (await postJson(`${root}/__rotate-key`)).kid,
  };
}

/**
 * Starts the test MCP server (peers/mcp-upstream.mjs).
 *
 * @param {object} [o]
 * @param {number} [o.port]  default: a free port
 * @param {string} [o.path='/mcp']  MCP endpoint and prefix of the raw routes
 * @param {boolean} [o.record=true]  false: keep no request log (long runs)
 * @returns {Promise<{url: string, origin: string, path: string, port: number,
 *   proc: import('./proc.mjs').ProcGuard, stop: () => Promise<object>,
 *   requests: () => Promise<object[]>, closed: () => Promise<object[]>,
 *   sessions: () => Promise<string[]>, reset: () => Promise<void>}>}
 *   extraArgs are appended to the peer's command line (e.g. its
 *   --verify-identity mode, peers/mcp-upstream.mjs).
 *   url is the full MCP endpoint (use it as UPSTREAM_MCP_URL); origin is
 *   http://127.0.0.1:<port>, where the /__ side routes live.
 */
export async function startUpstream({ port, path: mcpPath = '/mcp', record = true, readyTimeoutMs, extraArgs = [] } = {}) {
  const proc = await spawnProcess({
    name: 'mcp-upstream',
    command: NODE,
    args: [path.join(E2E_DIR, 'peers/mcp-upstream.mjs'), '--port', String(port ?? 0), '--path', mcpPath,
      ...(record ? [] : ['--no-record']), ...extraArgs],
    readyLine: /^UPSTREAM_READY (\S+)$/,
    readyTimeoutMs,
  });
  const url = proc.readyMatch[1];
  const origin = new URL(url).origin;
  return {
    url,
    origin,
    path: mcpPath,
    port: Number(new URL(url).port),
    proc,
    stop: (opts) => proc.stop(opts),
    requests: () => getJson(`${origin}/__requests`),
    closed: () => getJson(`${origin}/__closed`),
    sessions: () => getJson(`${origin}/__sessions`),
    reset: async () => { await postJson(`${origin}/__reset`); },
  };
}

/**
 * Starts Debian's redis-server on 127.0.0.1 with persistence off.
 *
 * @param {object} [o]
 * @param {number} [o.port]  default: a free port
 * @param {string[]} [o.extraArgs]  appended to the command line
 * @param {string} [o.password]  requirepass; the returned url carries it
 * @param {string} [o.binary='redis-server']  looked up on PATH (env REDIS_SERVER_BIN overrides)
 * @returns {Promise<{url: string, port: number, proc: import('./proc.mjs').ProcGuard, stop: () => Promise<object>}>}
 */
export async function startRedis({ port, extraArgs = [], password, binary, readyTimeoutMs } = {}) {
  const p = port ?? await getFreePort();
  const auth = password ? ['--requirepass', password] : [];
  const proc = await spawnProcess({
    name: 'redis',
    command: binary || process.env.REDIS_SERVER_BIN || 'redis-server',
    args: ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--dir', os.tmpdir(), '--loglevel', 'notice', ...auth, ...extraArgs],
    readyLine: /Ready to accept connections/,
    readyTimeoutMs,
  });
  const url = password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${p}` : `redis://127.0.0.1:${p}`;
  return { url, port: p, proc, stop: (opts) => proc.stop(opts) };
}

/**
 * Starts IdP, upstream, optional Redis and the proxy, wired together:
 * the IdP knows a confidential client whose redirect URI is the proxy's
 * /callback, and the proxy is configured for it.
 *
 * Without Redis the proxy runs with PROD_MODE=false and REDIS_REQUIRED=false
 * (the in-process replay store); with Redis, REDIS_URL is set and PROD_MODE
 * keeps its default. SHUTDOWN_TIMEOUT is 5s. `proxyEnv` overrides anything
 * (a value of undefined removes a variable).
 *
 * @param {object} [o]
 * @param {boolean|object} [o.redis=false]  true, or startRedis options ({password})
 * @param {string} [o.upstreamPath='/mcp']
 * @param {Record<string,string>} [o.proxyEnv]
 * @param {object} [o.idp]  extra startIdp options (authMethods, idTokenAlg, sso, host, extraUsers)
 * @param {string} [o.binary]
 * @returns {Promise<{base: string, clientId: string, clientSecret: string, idp: object,
 *   upstream: object, redis: object|null, proxy: import('./proc.mjs').ProxyHandle,
 *   stop: (opts?: {expectClean?: boolean}) => Promise<void>}>}
 *   stop() stops the proxy first (asserting a clean exit unless expectClean
 *   is false), then the peers, and rethrows the first failure.
 */
export async function startStack({ redis = false, upstreamPath = '/mcp', proxyEnv = {}, idp: idpOpts = {}, binary } = {}) {
  const proxyPort = await getFreePort();
  const base = `http://127.0.0.1:${proxyPort}`;
  const clientId = 'mcp-auth-proxy';
  const clientSecret = crypto.randomBytes(24).toString('hex');
  const started = [];
  try {
    const idp = await startIdp({
      clients: [{ clientId, clientSecret, redirectUris: [`${base}/callback`] }], ...idpOpts,
    });
    started.push(idp);
    const upstream = await startUpstream({ path: upstreamPath });
    started.push(upstream);
    const r = redis ? await startRedis(typeof redis === 'object' ? redis : {}) : null;
    if (r) started.push(r);
    const env = {
      LISTEN_ADDR: `127.0.0.1:${proxyPort}`,
      PROXY_BASE_URL: base,
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: clientId,
      OIDC_CLIENT_SECRET: clientSecret,
      UPSTREAM_MCP_URL: upstream.url,
      TOKEN_SIGNING_SECRET: crypto.randomBytes(32).toString('hex'),
      // A stream a test forgot to close must not hold shutdown for the 120 s
      // default (stop() SIGKILLs after 10 s and fails the test).
      SHUTDOWN_TIMEOUT: '5s',
      ...(r ? { REDIS_URL: r.url } : { PROD_MODE: 'false', REDIS_REQUIRED: 'false' }),
      ...proxyEnv,
    };
    const proxy = await startProxy({ env, binary });
    return {
      base,
      clientId,
      clientSecret,
      idp,
      upstream,
      redis: r,
      proxy,
      async stop({ expectClean = true } = {}) {
        let first;
        try { await proxy.stop({ expectClean }); } catch (err) { first = err; }
        for (const s of [...started].reverse()) {
          try { await s.stop(); } catch (err) { first ??= err; }
        }
        if (first) throw first;
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw err;
  }
}
