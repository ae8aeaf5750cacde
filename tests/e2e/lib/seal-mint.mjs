// Mints sealed tokens the way the proxy does (docs/internals/seal.md,
// envelope version 1), for black-box tests that need tokens the OAuth flow
// cannot produce on demand: expired ones, tokens for another audience or
// resource, tokens under a retired secret. The test knows
// TOKEN_SIGNING_SECRET because it configured the proxy.
//
// Independent of the C code on purpose: a change to the envelope that the
// documentation does not describe makes these tokens fail to open, and the
// tests that use them say so.

import crypto from 'node:crypto';

const VERSION = 1;

function hkdf(secret, info, len) {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), Buffer.from(info), len));
}

/** The 4-byte key id of a secret (HKDF-SHA256, empty salt). */
export function keyId(secret) {
  return hkdf(secret, 'mcp-auth-proxy seal v1 key id', 4);
}

/**
 * Seals a JSON payload for a purpose ('access', 'refresh', ...).
 * @param {string} secret  TOKEN_SIGNING_SECRET as configured (raw bytes)
 * @param {string} purpose
 * @param {object} payload
 * @returns {string} base64url token
 */
export function seal(secret, purpose, payload) {
  const key = hkdf(secret, 'mcp-auth-proxy seal v1 aes-256-gcm key', 32);
  const kid = keyId(secret);
  const nonce = crypto.randomBytes(12);
  const header = Buffer.concat([Buffer.from([VERSION]), kid]);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.concat([header, Buffer.from(purpose, 'ascii')]));
  const ct = Buffer.concat([cipher.update(Buffer.from(JSON.stringify(payload), 'utf8')), cipher.final()]);
  return Buffer.concat([header, nonce, ct, cipher.getAuthTag()]).toString('base64url');
}

/**
 * An access token (SPEC.md 2.3: tid typ aud res sub email grp cid iat exp).
 * @param {object} o
 * @param {string} o.secret
 * @param {string} o.base  PROXY_BASE_URL (the audience)
 * @param {string} [o.resource]  base + mount; '' leaves `res` out (legacy tokens)
 * @param {string} [o.sub='alice']
 * @param {string} [o.email='alice@example.com']
 * @param {string[]} [o.groups=['mcp-users','dev']]
 * @param {number} [o.iat]  Unix seconds (default now)
 * @param {number} [o.ttl=3600]  seconds from iat
 * @param {string} [o.scope]  granted scope (`scp`); omitted when empty
 * @param {string} [o.acr]  recorded acr (`acr`, docs/step-up.md); omitted when empty
 * @param {number} [o.authTime]  recorded auth_time (`atm`); omitted when 0
 * @param {string} [o.fam]  the refresh family (`fam`); omitted when empty (a legacy token)
 */
export function mintAccessToken({
  secret, base, resource, sub = 'alice', email = 'alice@example.com',
  groups = ['mcp-users', 'dev'], iat, ttl = 3600, typ = 'access', purpose = 'access',
  scope = '', acr = '', authTime = 0, fam = '',
}) {
  const now = iat ?? Math.floor(Date.now() / 1000);
  const payload = { tid: crypto.randomUUID(), typ, aud: base };
  if (resource) payload.res = resource;
  if (scope) payload.scp = scope;
  payload.sub = sub;
  payload.email = email;
  if (groups.length) payload.grp = groups;
  payload.cid = crypto.randomUUID();
  if (fam) payload.fam = fam;
  payload.iat = now;
  payload.exp = now + ttl;
  if (acr) payload.acr = acr;
  if (authTime) payload.atm = authTime;
  return seal(secret, purpose, payload);
}

/**
 * Opens a token sealed for `purpose` under `secret` (the inverse of seal()),
 * for tests that check what a token the proxy minted carries.
 * @returns {object} the JSON payload
 */
export function unseal(secret, purpose, token) {
  const key = hkdf(secret, 'mcp-auth-proxy seal v1 aes-256-gcm key', 32);
  const raw = Buffer.from(token, 'base64url');
  const header = raw.subarray(0, 5);
  const nonce = raw.subarray(5, 17);
  const tag = raw.subarray(raw.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.concat([header, Buffer.from(purpose, 'ascii')]));
  decipher.setAuthTag(tag);
  const plain = Buffer.concat([decipher.update(raw.subarray(17, raw.length - 16)), decipher.final()]);
  return JSON.parse(plain.toString('utf8'));
}
