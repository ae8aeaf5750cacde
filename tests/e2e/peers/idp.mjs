#!/usr/bin/env node
// Test identity provider for the mcp-auth-proxy end-to-end suite.
//
// A real OpenID Provider (the certified `oidc-provider` package) run as its
// own process, bound to 127.0.0.1 only. The proxy under test discovers it,
// sends users to its login page and exchanges codes at its token endpoint.
//
// Usage:
//   node peers/idp.mjs --port N
//        [--client-id X --client-secret Y --redirect-uri U [--redirect-uri U2]]...
//        [--auth-methods client_secret_basic,client_secret_post]
//        [--id-token-alg RS256|ES256] [--sso] [--host NAME]
//
//   --port N            listen port (0 or absent: pick a free one). Env IDP_PORT.
//   --client-id X       starts a new confidential client; the --client-secret and
//                       --redirect-uri flags that follow belong to it. Env
//                       IDP_CLIENTS='[{"client_id":..,"client_secret":..,"redirect_uris":[..]}]'
//                       is read too (both sources are merged).
//   --auth-methods L    token endpoint client authentication methods the IdP
//                       advertises AND accepts (default both basic and post).
//                       A request using another method gets 401 invalid_client.
//                       Env IDP_AUTH_METHODS.
//   --id-token-alg A    id_token signing algorithm for every client (RS256 default,
//                       ES256 possible; both keys are always published).
//                       Env IDP_ID_TOKEN_ALG.
//   --sso               keep the IdP login session between authorization requests
//                       (default: every authorization request shows the login form,
//                       so each test logs in exactly once and predictably).
//                       Env IDP_SSO=1.
//   --host NAME         the issuer's host name (default 127.0.0.1). The server
//                       still listens on 127.0.0.1 only, so NAME must resolve
//                       there: `localhost` puts the IdP on another site than a
//                       proxy at 127.0.0.1, as in production (browser tests of
//                       SameSite cookies need that). Env IDP_HOST.
//   Env IDP_EXTRA_USERS='{"name":{"password":"pw","claims":{...}}}' adds users.
//   --issuer-path P     the issuer gets the path P (e.g. /<tenant-id>/v2.0, as
//                       Microsoft Entra ID's does): every OpenID endpoint lives
//                       under it; the login pages and the side routes stay at
//                       the root. Env IDP_ISSUER_PATH. The quirk profiles built on
//                       this are in peers/idp-quirks.mjs.
//
// Once listening it prints exactly one line `IDP_READY <issuer>` on stdout,
// where issuer is `http://<host>:<port>` (no trailing slash). SIGTERM and
// SIGINT close the server and exit 0.
//
// Users (username = password prefix, sub = username):
//   alice / alice-pw  email alice@example.com, email_verified true, groups ["mcp-users","dev"]
//   bob   / bob-pw    email_verified false
//   carol / carol-pw  email_verified true, groups ["outsiders"]
//   dave  / dave-pw   groups is the STRING "mcp-users" (shape mismatch case)
//   erin  / erin-pw   no email_verified claim, no groups claim
//   frank / frank-pw  groups ["mcp-users","bad,group"] (invalid group name case)
//   grace / grace-pw  email_verified is the STRING "true"
//   heidi / heidi-pw  email_verified is the STRING "false"
//   ivan  / ivan-pw   sub is "ivan\u0001" (a control byte in sub; the claim overrides
//                     the account id in the id_token)
//   judy  / judy-pw   email "judy\u001b@example.com" (a control byte in email)
//   kate  / kate-pw   sub "kate\u007f" (DEL in sub)
//   leo   / leo-pw    groups ["mcp-users","tab\there"] (a TAB in a group name)
//   deny  / (any)     never logs in: the authorization ends with error=access_denied
//
// The login page (GET /interaction/<uid>) is one plain HTML form, no script:
//   <form method="post" action="/interaction/<uid>/login"> with inputs
//   `login`, `password` and two submit buttons name="action":
//   value="login" (Sign in) and value="cancel" (Cancel → error=access_denied).
// A plain HTTP client may also post action=error&error=<code>&error_description=<text>
// to make the IdP answer the authorization with an arbitrary error code.
// Consent is automatic: no consent screen is ever shown.
//
// Second factor (step-up tests, docs/step-up.md): when the authorization
// request's acr_values contains MFA_ACR (`urn:mcp-auth-proxy:test:mfa`), a
// correct password leads to a one-time-code page (GET is never needed: the
// password POST answers it directly):
//   <form method="post" action="/interaction/<uid>/otp" id="otp-form"> with
//   input `otp` (id="otp") and a submit button id="otp-submit".
// The code is OTP_CODE (`123456`) for every user; a wrong one shows the page
// again with a message. Then the id_token carries acr = MFA_ACR and
// amr ["pwd","otp"]; a password-only login carries acr = PWD_ACR
// (`urn:mcp-auth-proxy:test:pwd`) and amr ["pwd"]. auth_time is in every
// id_token (the client requires it). max_age and prompt=login force a fresh
// password login (oidc-provider's own login prompt; without --sso every
// request shows the form anyway).
//
// Side routes for tests (not part of OpenID Connect):
//   GET  /__requests  JSON array of every request the IdP received: {seq, at, method,
//                     path, query, headers, form (token endpoint only), authMethod
//                     (token endpoint: "client_secret_basic" | "client_secret_post" |
//                     "none"), status (filled when the response finished)}
//   POST /__reset     clears that list and the faults below (not a key rotation)
//   POST /__faults    JSON body merged into the fault settings (empty object = none):
//                       tokenDelayMs: N       delay token endpoint answers by N ms
//                       tokenError: {status, error, error_description}
//                                             answer the token endpoint with this error
//                       dropIdToken: true     remove id_token from token responses
//                       idTokenClaims: {...}  merge into the id_token payload and
//                                             re-sign with the same key (a null value
//                                             deletes the claim), e.g. {"nonce":"x"}
//   GET  /__faults    current fault settings
//   POST /__rotate-key  adds a new RS256 key, published first in /jwks, and signs
//                     every later id_token with it (answers {"kid": ...}); for
//                     "unknown kid → refetch JWKS" tests

import http from 'node:http';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

// ---------------------------------------------------------------- config

function readConfig(argv, env) {
  const clients = [];
  let current = null;
  const opts = {
    port: Number(env.IDP_PORT || 0),
    authMethods: (env.IDP_AUTH_METHODS || 'client_secret_basic,client_secret_post')
      .split(',').map((s) => s.trim()).filter(Boolean),
    idTokenAlg: env.IDP_ID_TOKEN_ALG || 'RS256',
    sso: env.IDP_SSO === '1' || env.IDP_SSO === 'true',
    host: env.IDP_HOST || '127.0.0.1',
    issuerPath: env.IDP_ISSUER_PATH || '',
  };
  // Hand-rolled so that repeated --client-id groups keep their order.
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (flag) {
      case '--port': opts.port = Number(value()); break;
      case '--client-id':
        current = { client_id: value(), client_secret: undefined, redirect_uris: [] };
        clients.push(current);
        break;
      case '--client-secret':
        if (!current) throw new Error('--client-secret before --client-id');
        current.client_secret = value();
        break;
      case '--redirect-uri':
        if (!current) throw new Error('--redirect-uri before --client-id');
        current.redirect_uris.push(value());
        break;
      case '--auth-methods':
        opts.authMethods = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--id-token-alg': opts.idTokenAlg = value(); break;
      case '--sso': opts.sso = true; break;
      case '--host': opts.host = value(); break;
      case '--issuer-path': opts.issuerPath = value(); break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  if (env.IDP_CLIENTS) clients.push(...JSON.parse(env.IDP_CLIENTS));
  for (const c of clients) {
    if (!c.client_id || !c.client_secret || !c.redirect_uris?.length) {
      throw new Error(`client ${c.client_id}: needs --client-secret and at least one --redirect-uri`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`bad port ${opts.port}`);
  }
  const known = ['client_secret_basic', 'client_secret_post'];
  if (!opts.authMethods.length || opts.authMethods.some((m) => !known.includes(m))) {
    throw new Error(`--auth-methods must be a subset of ${known.join(',')}`);
  }
  if (!['RS256', 'ES256'].includes(opts.idTokenAlg)) throw new Error('--id-token-alg must be RS256 or ES256');
  if (!['127.0.0.1', 'localhost'].includes(opts.host)) throw new Error('--host must be 127.0.0.1 or localhost');
  if (opts.issuerPath && !/^(\/[A-Za-z0-9._~-]+)+$/.test(opts.issuerPath)) {
    throw new Error('--issuer-path must be /segment[/segment...] with no trailing slash');
  }
  opts.clients = clients;
  return opts;
}

// ---------------------------------------------------------------- users

const USERS = {
  alice: {
    password: 'alice-pw',
    claims: {
      email: 'alice@example.com', email_verified: true, name: 'Alice Example',
      groups: ['mcp-users', 'dev'],
    },
  },
  bob: {
    password: 'bob-pw',
    claims: { email: 'bob@example.com', email_verified: false, name: 'Bob Example', groups: ['mcp-users'] },
  },
  carol: {
    password: 'carol-pw',
    claims: { email: 'carol@example.com', email_verified: true, name: 'Carol Example', groups: ['outsiders'] },
  },
  dave: {
    password: 'dave-pw',
    claims: { email: 'dave@example.com', email_verified: true, name: 'Dave Example', groups: 'mcp-users' },
  },
  erin: { password: 'erin-pw', claims: { email: 'erin@example.com', name: 'Erin Example' } },
  frank: {
    password: 'frank-pw',
    claims: {
      email: 'frank@example.com', email_verified: true, name: 'Frank Example',
      groups: ['mcp-users', 'bad,group'],
    },
  },
  grace: {
    password: 'grace-pw',
    claims: { email: 'grace@example.com', email_verified: 'true', name: 'Grace Example', groups: ['mcp-users'] },
  },
  heidi: {
    password: 'heidi-pw',
    claims: { email: 'heidi@example.com', email_verified: 'false', name: 'Heidi Example', groups: ['mcp-users'] },
  },
  ivan: {
    password: 'ivan-pw',
    claims: { sub: 'ivan\u0001', email: 'ivan@example.com', email_verified: true, groups: ['mcp-users'] },
  },
  judy: {
    password: 'judy-pw',
    claims: { email: 'judy\u001b@example.com', email_verified: true, groups: ['mcp-users'] },
  },
  kate: {
    password: 'kate-pw',
    claims: { sub: 'kate\u007f', email: 'kate@example.com', email_verified: true, groups: ['mcp-users'] },
  },
  leo: {
    password: 'leo-pw',
    claims: { email: 'leo@example.com', email_verified: true, groups: ['mcp-users', 'tab\there'] },
  },
};
const DENY_USER = 'deny';
const MFA_ACR = 'urn:mcp-auth-proxy:test:mfa';
const PWD_ACR = 'urn:mcp-auth-proxy:test:pwd';
const OTP_CODE = '123456';

// ---------------------------------------------------------------- keys

// Fresh signing keys each start: an RSA key (RS256) and a P-256 key (ES256).
function makeKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaJwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: `rsa-${crypto.randomUUID()}`, alg: 'RS256', use: 'sig' };
  const ecJwk = { ...ec.privateKey.export({ format: 'jwk' }), kid: `ec-${crypto.randomUUID()}`, alg: 'ES256', use: 'sig' };
  return {
    jwks: { keys: [rsaJwk, ecJwk] },
    byAlg: {
      RS256: { alg: 'RS256', kid: rsaJwk.kid, key: rsa.privateKey },
      ES256: { alg: 'ES256', kid: ecJwk.kid, key: ec.privateKey },
    },
    rotated: [], // from POST /__rotate-key, newest first
  };
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const decodeHeader = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());

// Re-sign a compact JWS after merging claim overrides (fault injection only).
// `signer` is {alg, kid, key}; the header's alg and kid are set from it.
function resignJwt(jwt, overrides, signer) {
  const [h, p] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  for (const [k, v] of Object.entries(overrides || {})) {
    if (v === null) delete payload[k]; else payload[k] = v;
  }
  header.alg = signer.alg;
  header.kid = signer.kid;
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const sig = signer.alg === 'RS256'
    ? crypto.sign('sha256', Buffer.from(input), signer.key)
    : crypto.sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

// A new RS256 key for POST /__rotate-key: published first in /jwks and used
// for every id_token from then on (the original keys stay published).
function rotatedKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `rsa-rotated-${crypto.randomUUID()}`;
  return {
    alg: 'RS256', kid, key: privateKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

// ---------------------------------------------------------------- helpers

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

// Read a request body, refusing more than `cap` bytes.
function readBody(req, cap = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > cap) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No form-action directive: Chromium would apply it to the redirect chain
    // after the login POST, which leaves for the relying party's origin.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(html);
}

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function otpPage(uid, message) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test IdP one-time code</title>
<style>body{font-family:sans-serif;max-width:30em;margin:3em auto}label{display:block;margin:.5em 0}</style>
</head><body>
<h1>Test IdP: second factor</h1>
<p>Enter the one-time code from your authenticator.</p>
${message ? `<p id="message" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/otp" id="otp-form">
  <label>One-time code <input type="text" name="otp" id="otp" inputmode="numeric" autocomplete="one-time-code" autofocus></label>
  <button type="submit" id="otp-submit">Verify</button>
</form>
</body></html>
`;
}

function loginPage(uid, details, message) {
  const client = escapeHtml(details.params.client_id || '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test IdP sign-in</title>
<style>body{font-family:sans-serif;max-width:30em;margin:3em auto}label{display:block;margin:.5em 0}</style>
</head><body>
<h1>Test IdP: sign in</h1>
<p>Client <code>${client}</code> asks you to sign in.</p>
${message ? `<p id="message" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" id="login-form">
  <label>Username <input type="text" name="login" id="login" autocomplete="username" autofocus></label>
  <label>Password <input type="password" name="password" id="password" autocomplete="current-password"></label>
  <button type="submit" name="action" value="login" id="submit">Sign in</button>
  <button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form>
</body></html>
`;
}

// Without --sso the IdP never sees its login-session cookie, so every
// authorization request starts logged out and shows the login form (and a
// second user in the same cookie jar or browser needs no logout dance).
// The interaction cookies, which carry one login through, are kept.
function dropSessionCookie(req) {
  const cookie = req.headers.cookie;
  if (!cookie) return;
  const kept = cookie.split(/;\s*/).filter((c) => !c.startsWith('_session'));
  if (kept.length) req.headers.cookie = kept.join('; ');
  else delete req.headers.cookie;
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = readConfig(process.argv.slice(2), process.env);
  if (process.env.IDP_EXTRA_USERS) Object.assign(USERS, JSON.parse(process.env.IDP_EXTRA_USERS));

  // Bind first so that --port 0 knows its port before the issuer is fixed.
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://${opts.host}:${port}${opts.issuerPath}`;
  const keys = makeKeys();

  // Every non-standard claim any user carries is released with the `openid`
  // scope, so custom GROUPS_CLAIM names reach the id_token too.
  const standard = new Set(['sub', 'email', 'email_verified', 'name']);
  const extraClaims = [...new Set(Object.values(USERS).flatMap((u) => Object.keys(u.claims || {})))]
    .filter((c) => !standard.has(c));

  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      // auth_time in every id_token, not only when max_age is asked: the
      // proxy records it with every login (docs/step-up.md).
      require_auth_time: true,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // oidc-provider accepts both secret styles for a secret-based client;
      // /token below narrows that to --auth-methods.
      token_endpoint_auth_method: opts.authMethods[0],
      id_token_signed_response_alg: opts.idTokenAlg,
    })),
    clientAuthMethods: opts.authMethods,
    acrValues: [PWD_ACR, MFA_ACR],
    jwks: keys.jwks,
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
    claims: {
      // acr, amr and auth_time come from the login (second factor, below);
      // listed here so every id_token carries them, not only on request.
      openid: ['sub', 'acr', 'amr', 'auth_time', ...extraClaims],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Release scope claims in the id_token, not only at userinfo: the proxy
    // never calls userinfo.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: false },
    },
    pkce: { methods: ['S256'], required: () => false },
    responseTypes: ['code'],
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    cookies: {
      keys: [crypto.randomBytes(32).toString('hex')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600,
      Session: 3600, Grant: 3600,
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      const user = USERS[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...user.claims }) };
    },
    // Automatic consent: grant whatever the authorization request asked for.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const found = await ctx.oidc.provider.Grant.find(grantId);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>IdP error</title><h1>${escapeHtml(out.error)}</h1>`
        + `<p>${escapeHtml(out.error_description || '')}</p>`;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('idp server_error:', err));

  const requests = [];
  let seq = 0;
  let faults = {};

  // Token endpoint policing, fault injection and key rotation, inside Koa so
  // that the JSON bodies are still objects when we look at them.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks' && keys.rotated.length) {
      await next();
      if (ctx.body?.keys) ctx.body = { keys: [...keys.rotated.map((k) => k.publicJwk), ...ctx.body.keys] };
      return undefined;
    }
    if (ctx.path !== '/token' || ctx.method !== 'POST') return next();
    const rec = ctx.req.__record;
    if (faults.tokenDelayMs) await new Promise((r) => setTimeout(r, faults.tokenDelayMs));
    if (rec && !opts.authMethods.includes(rec.authMethod)) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: `client authentication method ${rec.authMethod} is not enabled` };
      return undefined;
    }
    if (faults.tokenError) {
      const { status = 400, ...body } = faults.tokenError;
      ctx.status = status;
      ctx.body = body;
      return undefined;
    }
    await next();
    if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      if ((faults.idTokenClaims || keys.rotated.length) && ctx.body.id_token) {
        const alg = decodeHeader(ctx.body.id_token).alg;
        const signer = keys.rotated[0] || keys.byAlg[alg];
        ctx.body.id_token = resignJwt(ctx.body.id_token, faults.idTokenClaims, signer);
      }
      if (faults.dropIdToken) delete ctx.body.id_token;
    }
    return undefined;
  });

  const providerCallback = provider.callback();
  // Interactions whose password step passed and await the one-time code
  // (uid -> accountId); bounded by the interactions a test starts.
  const passwordDone = new Map();

  async function handleInteraction(req, res, url) {
    const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login|\/otp)?$/);
    if (!m) return sendHtml(res, 404, 'not found');
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      return sendHtml(res, 400, `<p>interaction not found: ${escapeHtml(err.message)}</p>`);
    }
    if (details.uid !== m[1]) return sendHtml(res, 400, '<p>interaction mismatch</p>');
    if (req.method === 'GET' && !m[2]) return sendHtml(res, 200, loginPage(details.uid, details));
    if (req.method !== 'POST' || !m[2]) return sendHtml(res, 405, 'method not allowed');

    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    if (m[2] === '/otp') {
      const pending = passwordDone.get(details.uid);
      if (!pending) return sendHtml(res, 400, '<p>no password step for this interaction</p>');
      if (form.get('otp') !== OTP_CODE) return sendHtml(res, 200, otpPage(details.uid, 'Invalid code.'));
      passwordDone.delete(details.uid);
      return provider.interactionFinished(req, res, {
        login: { accountId: pending, acr: MFA_ACR, amr: ['pwd', 'otp'] },
      }, { mergeWithLastSubmission: false });
    }
    const action = form.get('action') || 'login';
    const login = form.get('login') || '';
    let result;
    if (action === 'cancel' || (action === 'login' && login === DENY_USER)) {
      result = { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    } else if (action === 'error') {
      result = {
        error: form.get('error') || 'server_error',
        ...(form.get('error_description') != null ? { error_description: form.get('error_description') } : {}),
      };
    } else if (action === 'login') {
      const user = USERS[login];
      if (!user || user.password !== form.get('password')) {
        return sendHtml(res, 200, loginPage(details.uid, details, 'Invalid username or password.'));
      }
      const asked = String(details.params.acr_values || '').split(' ');
      if (asked.includes(MFA_ACR)) {
        // The password step is done; the second factor finishes the login.
        passwordDone.set(details.uid, login);
        return sendHtml(res, 200, otpPage(details.uid));
      }
      result = { login: { accountId: login, acr: PWD_ACR, amr: ['pwd'] } };
    } else {
      return sendHtml(res, 400, '<p>unknown action</p>');
    }
    // Answers 303 to the provider's resume URL.
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  server.on('request', async (req, res) => {
    // --issuer-path: oidc-provider builds its URLs under the issuer's path
    // and routes the path below it (as when mounted by a framework).
    if (opts.issuerPath && req.url.startsWith(`${opts.issuerPath}/`)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(opts.issuerPath.length);
    }
    const url = new URL(req.url, `http://${opts.host}:${port}`);
    if (!opts.sso) dropSessionCookie(req);
    try {
      if (url.pathname === '/__requests' && req.method === 'GET') return sendJson(res, 200, requests);
      if (url.pathname === '/__reset' && req.method === 'POST') {
        requests.length = 0;
        faults = {};
        return sendJson(res, 200, { ok: true });
      }
      if (url.pathname === '/__rotate-key' && req.method === 'POST') {
        const k = rotatedKey();
        keys.rotated.unshift(k);
        return sendJson(res, 200, { kid: k.kid });
      }
      if (url.pathname === '/__faults') {
        if (req.method === 'POST') {
          const body = (await readBody(req)).toString('utf8');
          const update = body ? JSON.parse(body) : {};
          faults = Object.keys(update).length ? { ...faults, ...update } : {};
        }
        return sendJson(res, 200, faults);
      }

      const rec = {
        seq: ++seq, at: Date.now(), method: req.method, path: url.pathname,
        query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, status: null,
      };
      requests.push(rec);
      res.on('finish', () => { rec.status = res.statusCode; });

      if (url.pathname === '/token' && req.method === 'POST') {
        // Buffer the form to record it; oidc-provider then reads req.body.
        const raw = await readBody(req);
        const form = new URLSearchParams(raw.toString('utf8'));
        rec.form = Object.fromEntries(form);
        rec.authMethod = req.headers.authorization?.toLowerCase().startsWith('basic ')
          ? 'client_secret_basic'
          : (form.has('client_secret') ? 'client_secret_post' : 'none');
        req.__record = rec;
        // The stream is consumed now (req.readable is false), so oidc-provider
        // falls back to req.body (it logs a one-time notice about that).
        req.body = raw;
      }

      if (url.pathname.startsWith('/interaction/')) return await handleInteraction(req, res, url);
      return providerCallback(req, res);
    } catch (err) {
      console.error('idp request error:', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err.message) });
      else res.destroy();
      return undefined;
    }
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stdout.write(`IDP_READY ${issuer}\n`);
}

main().catch((err) => {
  console.error(`idp: ${err.stack || err}`);
  process.exit(1);
});
