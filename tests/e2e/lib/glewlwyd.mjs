// Glewlwyd (Debian's `glewlwyd` package: an OpenID-certified provider written
// in C, independent of oidc-provider) as a second real IdP for the e2e suite.
//
// startGlewlwyd() builds everything in a temp dir the test owns: a sqlite
// database from the schema Debian ships
// (/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3, which also
// seeds the `admin` / `password` administrator), a config file bound to
// 127.0.0.1 on a free port, then starts /usr/bin/glewlwyd by PID and creates
// through its admin API (logged in as that administrator, over loopback
// only) the OpenID Connect plugin instance (RS256 key made here), the
// scopes, the users with their groups and one confidential client.
//
// Login without a browser, as Glewlwyd's own login page does it with its
// API (login.html is a JavaScript application): POST /api/auth/ with the
// user's password (sets the session cookie), PUT /api/auth/grant/<client>
// with the scopes (the user's consent), then the authorization URL again
// with `g_continue` (the parameter the page adds when it sends the browser
// back), which answers 302 to the relying party with the code.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { spawnProcess } from './proc.mjs';
import { getFreePort } from './ports.mjs';
import {
  CookieJar, request, register, pkcePair, randomState, authorizeUrl, parseConsentPage, submitConsent,
  parseInterstitial, followCallback, exchangeCode,
} from './oauth-client.mjs';

export const GLEWLWYD_BIN = process.env.GLEWLWYD_BIN || '/usr/bin/glewlwyd';
const SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
const LIB = '/usr/lib/glewlwyd';
// Seeded by Debian's schema; reachable on loopback only, for this test run.
const ADMIN = { username: 'admin', password: 'password' };
// The scopes the proxy asks for upstream (src/oidc/provider.c).
const SCOPES = ['openid', 'email', 'profile'];
const PLUGIN = 'oidc';

/** True when the package is installed (scripts/install-deps.sh installs it). */
export function glewlwydAvailable() {
  return fs.existsSync(GLEWLWYD_BIN) && fs.existsSync(SCHEMA) && fs.existsSync(`${LIB}/plugin/libprotocol_oidc.so`);
}

function configText({ port, dbPath }) {
  // No `use_secure_connection` line at all: Glewlwyd 2.7.5 asks for the
  // certificate files when the key is present, even set to false.
  return `port=${port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:${port}"
login_url="login.html"
static_files_path="/usr/share/glewlwyd/webapp/"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
max_post_size=1048576
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="${LIB}/user"
client_module_path="${LIB}/client"
user_auth_scheme_module_path="${LIB}/scheme"
plugin_module_path="${LIB}/plugin"
hash_algorithm="SHA512"
database =
{
  type = "sqlite3"
  path = "${dbPath}"
};
`;
}

// The user database module as Debian seeds it, plus a multi-valued `groups`
// property the OIDC plugin releases as the `groups` claim.
const USER_DATA_FORMAT = {
  picture: { multiple: false, read: true, write: true, 'profile-read': true, 'profile-write': true },
  'reset-credentials-code': { multiple: false, read: true, write: true, 'profile-read': false, 'profile-write': false },
  'user-code': { multiple: false, read: true, write: true, 'profile-read': true, 'profile-write': true },
  groups: { multiple: true, read: true, write: true, 'profile-read': true, 'profile-write': false },
};

function seedDatabase(dbPath) {
  const sqlQuote = (s) => `'${s.replace(/'/g, "''")}'`;
  const params = JSON.stringify({ 'use-glewlwyd-connection': true, 'data-format': USER_DATA_FORMAT });
  const extra = [
    `UPDATE g_user_module_instance SET gumi_parameters = ${sqlQuote(params)} WHERE gumi_name = 'database';`,
    ...SCOPES.filter((s) => s !== 'openid').map((s) => 'INSERT INTO g_scope (gs_name, gs_display_name, gs_description, '
      + `gs_password_required, gs_password_max_age) VALUES (${sqlQuote(s)}, ${sqlQuote(s)}, ${sqlQuote(s)}, 0, 0);`),
  ].join('\n');
  const sql = `${fs.readFileSync(SCHEMA, 'utf8')}\n${extra}\n`;
  const r = spawnSync('sqlite3', [dbPath], { input: sql, encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`sqlite3 seed failed: ${r.status} ${r.stderr}`);
}

function pluginParameters(issuer) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    iss: issuer,
    'jwt-type': 'rsa',
    'jwt-key-size': '256',
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    cert: publicKey.export({ type: 'spki', format: 'pem' }),
    'access-token-duration': 3600,
    'refresh-token-duration': 3600,
    'code-duration': 600,
    'refresh-token-rolling': true,
    'allow-non-oidc': false,
    'auth-type-code-enabled': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': false,
    'auth-type-none-enabled': false,
    'auth-type-password-enabled': false,
    'auth-type-client-enabled': false,
    'auth-type-refresh-enabled': true,
    'subject-type': 'public',
    'pkce-allowed': true,
    'pkce-method-plain-allowed': false,
    'jwks-show': true,
    'name-claim': 'mandatory',
    'email-claim': 'mandatory',
    claims: [
      { name: 'groups', 'user-property': 'groups', type: 'string', mandatory: true },
    ],
  };
}

async function api(base, jar, method, p, json, expect = 200) {
  const r = await request(`${base}/api${p}`, { method, json, jar });
  if (r.status !== expect) throw new Error(`glewlwyd ${method} ${p}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

/**
 * Starts Glewlwyd on 127.0.0.1 and provisions it.
 *
 * @param {object} o
 * @param {{clientId: string, clientSecret: string, redirectUris: string[]}} o.client
 * @param {Record<string,{password: string, name?: string, email?: string, groups?: string[]}>} o.users
 * @returns {Promise<{issuer: string, base: string, port: number, proc: object, dir: string,
 *   stop: () => Promise<object>}>}
 *   issuer is http://127.0.0.1:<port>/api/oidc (the plugin's name is the path).
 */
export async function startGlewlwyd({ client, users, readyTimeoutMs = 20000 }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glewlwyd-e2e-'));
  const port = await getFreePort();
  const base = `http://127.0.0.1:${port}`;
  const issuer = `${base}/api/${PLUGIN}`;
  const dbPath = path.join(dir, 'glewlwyd.sqlite');
  const confPath = path.join(dir, 'glewlwyd.conf');
  seedDatabase(dbPath);
  fs.writeFileSync(confPath, configText({ port, dbPath }));

  const proc = await spawnProcess({
    name: 'glewlwyd',
    command: GLEWLWYD_BIN,
    args: [`--config-file=${confPath}`],
    readyUrl: `${base}/api/scope/`, // 401 until logged in: the API answers
    readyStatus: 401,
    readyTimeoutMs,
  });
  const stop = async () => {
    const info = await proc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    return info;
  };
  try {
    const admin = new CookieJar();
    await api(base, admin, 'POST', '/auth/', ADMIN);
    await api(base, admin, 'POST', '/mod/plugin/', {
      module: 'oidc', name: PLUGIN, display_name: 'OpenID Connect', parameters: pluginParameters(issuer),
    });
    for (const [username, u] of Object.entries(users)) {
      await api(base, admin, 'POST', '/user/', {
        username, password: u.password, name: u.name ?? username, email: u.email ?? '',
        scope: SCOPES, enabled: true, ...(u.groups ? { groups: u.groups } : {}),
      });
    }
    await api(base, admin, 'POST', '/client/', {
      client_id: client.clientId,
      name: client.clientId,
      confidential: true,
      client_secret: client.clientSecret,
      redirect_uri: client.redirectUris,
      authorization_type: ['code', 'refresh_token'],
      token_endpoint_auth_method: ['client_secret_basic', 'client_secret_post'],
      scope: SCOPES,
      enabled: true,
    });
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- glewlwyd output ---\n${proc.stdout()}${proc.stderr()}`);
  }
  return { issuer, base, port, proc, dir, stop };
}

/**
 * Logs `username` in at Glewlwyd for the authorization URL the proxy sent
 * the user to, the way Glewlwyd's login page drives its API (see above).
 *
 * @param {string} authUrl  Glewlwyd's /api/oidc/auth?... URL
 * @returns {Promise<{callbackUrl: string|null, last: object}>}
 *   callbackUrl: where Glewlwyd sent the browser back (the proxy's /callback)
 */
export async function glewlwydLogin(authUrl, { username, password, clientId, scope = SCOPES.join(' '), jar = new CookieJar() }) {
  const u = new URL(authUrl);
  const base = u.origin;
  // The first visit ends on the login page, as a browser's would.
  const first = await request(authUrl, { jar });
  if (first.status !== 302 || !first.location || !new URL(first.location, base).pathname.endsWith('/login.html')) {
    throw new Error(`glewlwyd did not send the user to its login page: ${first.status} ${first.location || first.text.slice(0, 300)}`);
  }
  const auth = await request(`${base}/api/auth/`, { method: 'POST', json: { username, password }, jar });
  if (auth.status !== 200) return { callbackUrl: null, last: auth };
  const grant = await request(`${base}/api/auth/grant/${encodeURIComponent(clientId)}`, { method: 'PUT', json: { scope }, jar });
  if (grant.status !== 200) throw new Error(`glewlwyd grant: ${grant.status} ${grant.text.slice(0, 300)}`);
  u.searchParams.set('g_continue', '');
  const last = await request(u.toString(), { jar });
  const leaves = last.status === 302 && last.location && new URL(last.location, base).origin !== base;
  return { callbackUrl: leaves ? last.location : null, last };
}

/**
 * The whole client flow through the proxy (as oauth-client.mjs login()
 * does, with Glewlwyd's login instead of the oidc-provider form): DCR,
 * /authorize, consent, the interstitial, Glewlwyd, /callback and, when the
 * callback redirects with a code, /token.
 *
 * @returns {Promise<{client: object, callback: object, redirect: object|null,
 *   token: object|null, tokens: object|null, idp: object}>}
 *   redirect is null when /callback answered without redirecting (a denial).
 */
export async function loginThroughProxy(base, { username, password, idpClientId, redirectUri = 'http://127.0.0.1:9/cb' }) {
  const jar = new CookieJar();
  const reg = await register(base, { redirect_uris: [redirectUri], client_name: 'glewlwyd e2e' });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  const client = reg.json;
  const pkce = pkcePair();
  const state = randomState();
  const authz = await request(authorizeUrl(base, {
    client_id: client.client_id, redirect_uri: redirectUri, state, code_challenge: pkce.challenge,
  }), { jar });
  if (authz.status !== 200) throw new Error(`authorize: ${authz.status} ${authz.location || authz.text}`);
  const consent = parseConsentPage(authz.text);
  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  if (post.status !== 200) throw new Error(`consent: ${post.status} ${post.text}`);
  const interstitial = parseInterstitial(post.text);
  if (!interstitial.target) throw new Error('interstitial: no meta refresh target');
  const idp = await glewlwydLogin(interstitial.target, { username, password, clientId: idpClientId });
  if (!idp.callbackUrl) return { client, idp, callback: null, redirect: null, token: null, tokens: null };
  const callback = await followCallback(idp.callbackUrl, { jar });
  const { redirect } = callback;
  let token = null;
  if (redirect?.code) {
    if (redirect.state !== state) throw new Error(`callback: state ${redirect.state} != ${state}`);
    token = await exchangeCode(base, {
      code: redirect.code, redirect_uri: redirectUri, client_id: client.client_id, code_verifier: pkce.verifier,
    });
  }
  return { client, idp, callback, redirect, token, tokens: token?.status === 200 ? token.json : null };
}
