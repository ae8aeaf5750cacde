// A minimal, non-browser OAuth 2.1 client for end-to-end tests.
//
// It walks the proxy's flow the way a browser would, but one step at a time so
// a test can stop anywhere (replay a consent token, tamper with a state, reuse
// a code):
//
//   register → authorize → consent page → POST /consent → interstitial
//   → (meta refresh) IdP → IdP login form → IdP redirects → proxy /callback
//   → 302 to the client's redirect_uri with code/state/iss → POST /token
//
// Every HTTP call uses Node's fetch with redirect: 'manual' and a small
// cookie jar, so each redirect is visible. All calls have a timeout.

import crypto from 'node:crypto';
import http from 'node:http';

export const DEFAULT_TIMEOUT_MS = 10000;

// ---------------------------------------------------------------- cookies

/**
 * A tiny cookie jar: enough for the IdP's session/interaction cookies.
 * Cookies are keyed by host name only (like browsers, ports are ignored),
 * honour Path, Max-Age and Expires, and ignore Domain/Secure/SameSite.
 */
export class CookieJar {
  constructor() {
    /** @type {{name: string, value: string, host: string, path: string, expires: number|null}[]} */
    this.cookies = [];
  }

  /** Stores the Set-Cookie headers of `response` (a fetch Response) received from `url`. */
  store(url, response) {
    const u = new URL(url);
    const lines = response.headers.getSetCookie?.() ?? [];
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let cpath = u.pathname.replace(/\/[^/]*$/, '') || '/';
      let expires = null;
      for (const a of attrs) {
        const [k, ...rest] = a.split('=');
        const key = k.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'path' && v.startsWith('/')) cpath = v;
        else if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && expires === null) expires = Date.parse(v);
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.host === u.hostname && c.path === cpath));
      if (expires === null || expires > Date.now()) {
        this.cookies.push({ name, value, host: u.hostname, path: cpath, expires });
      }
    }
  }

  /** The Cookie header value for a request to `url` ('' when none). */
  header(url) {
    const u = new URL(url);
    const now = Date.now();
    this.cookies = this.cookies.filter((c) => c.expires === null || c.expires > now);
    return this.cookies
      .filter((c) => c.host === u.hostname
        && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  clear() { this.cookies = []; }

  /**
   * A copy holding the same cookies now. A test uses it to send what a
   * browser sends in a double submit: the second request leaves with the
   * cookies of the first, before the first's answer changed them.
   */
  clone() {
    const j = new CookieJar();
    j.cookies = this.cookies.map((c) => ({ ...c }));
    return j;
  }

  /** The stored cookies whose name matches `re` (for assertions). */
  find(re) { return this.cookies.filter((c) => re.test(c.name)); }
}

// ---------------------------------------------------------------- HTTP

/**
 * @typedef {object} HttpResult
 * @property {string} url        the requested URL
 * @property {number} status
 * @property {Headers} headers
 * @property {string} text       the whole body
 * @property {any} json          parsed body, or undefined when it is not JSON
 * @property {string|null} location  Location resolved against url, or null
 */

/**
 * One HTTP request, redirects not followed.
 * @param {string} url
 * @param {object} [o]
 * @param {string} [o.method='GET']
 * @param {Record<string,string>} [o.headers]
 * @param {string|Buffer} [o.body]  raw body
 * @param {Record<string,string|string[]>|URLSearchParams} [o.form]  urlencoded body
 * @param {any} [o.json]  JSON body
 * @param {CookieJar} [o.jar]
 * @param {number} [o.timeoutMs=10000]
 * @returns {Promise<HttpResult>}
 */
export async function request(url, { method, headers = {}, body, form, json, jar, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const h = { ...headers };
  let payload = body;
  if (form !== undefined) {
    payload = toForm(form).toString();
    h['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (json !== undefined) {
    payload = JSON.stringify(json);
    h['content-type'] ??= 'application/json';
  }
  const cookie = jar?.header(url);
  if (cookie) h.cookie = cookie;
  const res = await fetch(url, {
    method: method || (payload !== undefined ? 'POST' : 'GET'),
    headers: h,
    body: payload,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  jar?.store(url, res);
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  const loc = res.headers.get('location');
  return {
    url, status: res.status, headers: res.headers, text, json: parsed,
    location: loc === null ? null : new URL(loc, url).toString(),
  };
}

function toForm(form) {
  if (form instanceof URLSearchParams) return form;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  return p;
}

/**
 * Follows 3xx Location headers (GET), at most `max` hops, until `stopAt(url)`
 * says the next URL must not be fetched (it is returned, unvisited).
 * @returns {Promise<{last: HttpResult, stoppedAt: string|null, chain: string[]}>}
 *   last is the last response fetched; stoppedAt the Location not followed.
 */
export async function followRedirects(url, { jar, stopAt = () => false, max = 20, headers, timeoutMs } = {}) {
  const chain = [url];
  let last = await request(url, { jar, headers, timeoutMs });
  for (let i = 0; i < max; i += 1) {
    if (!(last.status >= 300 && last.status < 400 && last.location)) return { last, stoppedAt: null, chain };
    if (stopAt(last.location)) return { last, stoppedAt: last.location, chain };
    chain.push(last.location);
    last = await request(last.location, { jar, headers, timeoutMs });
  }
  throw new Error(`more than ${max} redirects: ${chain.join(' -> ')}`);
}

// ---------------------------------------------------------------- HTML

/** Undoes HTML character references (named basics and numeric). */
export function htmlUnescape(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, ent) => {
    const e = ent.toLowerCase();
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return m;
  });
}

/** Attributes of one start tag as an object (values HTML-unescaped). */
export function parseAttributes(tag) {
  const attrs = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[^\s>]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    attrs[m[1].toLowerCase()] = htmlUnescape(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/**
 * Reads the proxy's consent page.
 * @param {string} html
 * @returns {{consentToken: string|null, formAction: string|null, formMethod: string|null,
 *   actions: string[], replayNotice: boolean}}
 *   actions lists the values of the submit buttons named "action", in page order.
 */
export function parseConsentPage(html) {
  const form = html.match(/<form\b[^>]*>/i);
  const formAttrs = form ? parseAttributes(form[0]) : {};
  let consentToken = null;
  const actions = [];
  for (const m of html.matchAll(/<(input|button)\b[^>]*>/gi)) {
    const a = parseAttributes(m[0]);
    if (a.name === 'consent_token') consentToken = a.value ?? '';
    if (a.name === 'action' && a.value !== undefined) actions.push(a.value);
  }
  return {
    consentToken,
    formAction: formAttrs.action ?? null,
    formMethod: formAttrs.method ? formAttrs.method.toUpperCase() : null,
    actions,
    replayNotice: /already processed/i.test(html),
  };
}

/**
 * Reads the navigation interstitial returned by POST /consent.
 * @param {string} html
 * @returns {{target: string|null, metaRaw: string|null, hrefRaw: string|null, href: string|null}}
 *   target is the unescaped meta-refresh URL; *Raw are the attribute texts as
 *   they appear in the page (still escaped), href the unescaped fallback link.
 */
export function parseInterstitial(html) {
  let metaRaw = null;
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const rawContent = m[0].match(/content\s*=\s*"([^"]*)"/i)?.[1] ?? m[0].match(/content\s*=\s*'([^']*)'/i)?.[1];
    if (/http-equiv\s*=\s*["']?refresh/i.test(m[0]) && rawContent !== undefined) metaRaw = rawContent;
  }
  let target = null;
  let metaUrlRaw = null;
  if (metaRaw !== null) {
    const mm = metaRaw.match(/^\s*\d+\s*;\s*url\s*=\s*(.*)$/is);
    if (mm) {
      metaUrlRaw = mm[1].trim().replace(/^(['"])(.*)\1$/, '$2');
      target = htmlUnescape(metaUrlRaw);
    }
  }
  const a = html.match(/<a\b[^>]*\bhref\s*=\s*"([^"]*)"/i);
  const hrefRaw = a ? a[1] : null;
  return { target, metaRaw: metaUrlRaw, hrefRaw, href: hrefRaw === null ? null : htmlUnescape(hrefRaw) };
}

// ---------------------------------------------------------------- OAuth pieces

/**
 * A PKCE pair (RFC 7636, S256).
 * @param {string} [verifier]  default: 43 random base64url characters
 * @returns {{verifier: string, challenge: string, method: 'S256'}}
 */
export function pkcePair(verifier = crypto.randomBytes(32).toString('base64url')) {
  return {
    verifier,
    challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    method: 'S256',
  };
}

/** Random state value (URL-safe). */
export const randomState = () => crypto.randomBytes(16).toString('base64url');

/**
 * Dynamic client registration (RFC 7591) at `${base}/register`.
 * @param {string} base  proxy base URL
 * @param {object} metadata  e.g. {redirect_uris: [...], client_name: 'x'}
 * @returns {Promise<HttpResult>}  json has client_id on 201
 */
export function register(base, metadata, opts = {}) {
  return request(`${base}/register`, { method: 'POST', json: metadata, ...opts });
}

/**
 * Builds `${base}/authorize?...`. `resource` may be a string or an array;
 * `extra` adds arbitrary parameters (arrays repeat the key). Undefined values
 * are left out, so tests can omit any parameter.
 */
export function authorizeUrl(base, {
  client_id, redirect_uri, state, code_challenge, code_challenge_method = code_challenge ? 'S256' : undefined,
  response_type = 'code', resource, scope, extra = {},
} = {}) {
  const p = toForm({
    response_type, client_id, redirect_uri, state, code_challenge, code_challenge_method, resource, scope, ...extra,
  });
  return `${base}/authorize?${p}`;
}

/**
 * POSTs the consent decision.
 * @param {object} o
 * @param {string} o.formAction  from parseConsentPage (absolute URL)
 * @param {string} o.consentToken
 * @param {'approve'|'deny'|string} [o.action='approve']
 * @param {Record<string,string>} [o.extraFields]
 * @param {CookieJar} [o.jar]
 * @returns {Promise<HttpResult>}  200 interstitial on success
 */
export function submitConsent({ formAction, consentToken, action = 'approve', extraFields = {}, jar, headers }) {
  return request(formAction, {
    method: 'POST', form: { consent_token: consentToken, action, ...extraFields }, jar, headers,
  });
}

/**
 * Logs in at the test IdP starting from an authorization URL (the
 * interstitial's target), and follows the IdP's redirects until one leaves
 * the IdP origin (normally the proxy's /callback). That URL is returned, not
 * fetched.
 *
 * @param {string} authUrl  IdP authorization URL
 * @param {object} o
 * @param {string} [o.username]
 * @param {string} [o.password]
 * @param {'login'|'cancel'|'error'} [o.action='login']  cancel → error=access_denied;
 *        error → error=o.error, error_description=o.errorDescription
 * @param {string} [o.error]
 * @param {string} [o.errorDescription]
 * @param {string} [o.otp]  the one-time code for the IdP's second-factor page
 *        (shown when the request asked acr_values with the MFA acr); without
 *        it the login stops at that page (otpPage set, callbackUrl null)
 * @param {CookieJar} [o.jar]  default: a new jar
 * @returns {Promise<{callbackUrl: string|null, loginPage: HttpResult|null,
 *   otpPage: HttpResult|null, last: HttpResult}>}
 *   callbackUrl is null when the IdP did not redirect away (e.g. wrong password:
 *   last is then the re-rendered login page).
 */
export async function idpLogin(authUrl, { username, password, action = 'login', error, errorDescription, otp, jar = new CookieJar() } = {}) {
  const idpOrigin = new URL(authUrl).origin;
  const leaves = (u) => new URL(u).origin !== idpOrigin;

  let r = await followRedirects(authUrl, { jar, stopAt: leaves });
  if (r.stoppedAt) return { callbackUrl: r.stoppedAt, loginPage: null, last: r.last }; // SSO
  const loginPage = r.last;
  if (loginPage.status !== 200) {
    throw new Error(`IdP did not show a login page: ${loginPage.status} ${loginPage.text.slice(0, 300)}`);
  }
  const form = loginPage.text.match(/<form\b[^>]*>/i);
  if (!form) throw new Error(`no form on the IdP page: ${loginPage.text.slice(0, 300)}`);
  const formAction = new URL(parseAttributes(form[0]).action, loginPage.url).toString();
  const fields = { login: username ?? '', password: password ?? '', action };
  if (action === 'error') {
    fields.error = error ?? 'server_error';
    if (errorDescription !== undefined) fields.error_description = errorDescription;
  }
  let last = await request(formAction, { method: 'POST', form: fields, jar });
  // The second factor (peers/idp.mjs): the page that answers the password
  // when the request asked for the MFA acr. Filled when `otp` is given.
  let otpPage = null;
  const otpForm = last.status === 200 ? last.text.match(/<form\b[^>]*id="otp-form"[^>]*>/i) : null;
  if (otpForm) {
    otpPage = last;
    if (otp === undefined) return { callbackUrl: null, loginPage, otpPage, last };
    const otpAction = new URL(parseAttributes(otpForm[0]).action, last.url).toString();
    last = await request(otpAction, { method: 'POST', form: { otp }, jar });
  }
  for (let i = 0; i < 20; i += 1) {
    if (!(last.status >= 300 && last.status < 400 && last.location)) {
      return { callbackUrl: null, loginPage, otpPage, last };
    }
    if (leaves(last.location)) return { callbackUrl: last.location, loginPage, otpPage, last };
    last = await request(last.location, { jar });
  }
  throw new Error('too many redirects inside the IdP');
}

/**
 * Splits a redirect URL into the OAuth response parameters.
 * @param {string} url
 * @returns {{url: URL, code: string|null, state: string|null, iss: string|null,
 *   error: string|null, error_description: string|null, params: Record<string,string[]>}}
 */
export function parseRedirect(url) {
  const u = new URL(url);
  const params = {};
  for (const [k, v] of u.searchParams) (params[k] ||= []).push(v);
  const one = (k) => u.searchParams.get(k);
  return {
    url: u, code: one('code'), state: one('state'), iss: one('iss'),
    error: one('error'), error_description: one('error_description'), params,
  };
}

/**
 * GETs the proxy's /callback URL (as handed over by the IdP) without
 * following its answer.
 * @returns {Promise<{response: HttpResult, redirect: ReturnType<typeof parseRedirect>|null}>}
 *   redirect is the parsed Location (the client's redirect_uri) when 302.
 */
export async function followCallback(callbackUrl, { jar } = {}) {
  const response = await request(callbackUrl, { jar });
  const redirect = response.status >= 300 && response.status < 400 && response.location
    ? parseRedirect(response.location) : null;
  return { response, redirect };
}

/**
 * POSTs a token request.
 * @param {string} tokenUrl
 * @param {Record<string,string|string[]>} fields
 * @param {object} [o]
 * @param {{method: 'client_secret_basic'|'client_secret_post', clientId: string, clientSecret: string}} [o.clientAuth]
 * @param {Record<string,string>} [o.headers]
 * @returns {Promise<HttpResult>}
 */
export function tokenRequest(tokenUrl, fields, { clientAuth, headers = {} } = {}) {
  const h = { ...headers };
  const f = { ...fields };
  if (clientAuth?.method === 'client_secret_basic') {
    const enc = (s) => encodeURIComponent(s);
    h.authorization = `Basic ${Buffer.from(`${enc(clientAuth.clientId)}:${enc(clientAuth.clientSecret)}`).toString('base64')}`;
  } else if (clientAuth?.method === 'client_secret_post') {
    f.client_id = clientAuth.clientId;
    f.client_secret = clientAuth.clientSecret;
  }
  return request(tokenUrl, { method: 'POST', form: f, headers: h });
}

/** authorization_code grant at `${base}/token` (public client, no auth). */
export function exchangeCode(base, { code, redirect_uri, client_id, code_verifier, resource, extra = {} }, opts) {
  return tokenRequest(`${base}/token`, {
    grant_type: 'authorization_code', code, redirect_uri, client_id, code_verifier, resource, ...extra,
  }, opts);
}

/** refresh_token grant at `${base}/token`. */
export function refreshGrant(base, { refresh_token, client_id, resource, extra = {} }, opts) {
  return tokenRequest(`${base}/token`, {
    grant_type: 'refresh_token', refresh_token, client_id, resource, ...extra,
  }, opts);
}

/** Decodes (does not verify) a compact JWS. */
export function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

// ---------------------------------------------------------------- whole flow

/**
 * Runs the whole flow against the proxy and returns every intermediate
 * value. Throws with a description of the step that did not go as expected.
 *
 * @param {string} base  proxy base URL
 * @param {object} o
 * @param {string} o.username
 * @param {string} o.password
 * @param {string} [o.redirectUri='http://127.0.0.1:9/cb']  nothing needs to listen there
 * @param {string} [o.clientName='e2e client']
 * @param {string|string[]} [o.resource]  sent to /authorize and /token
 * @param {boolean} [o.usePkce=true]
 * @param {CookieJar} [o.jar]
 * @param {boolean} [o.exchange=true]  false stops after the client redirect (no /token)
 * @param {boolean} [o.sendState=true]  false omits `state` as the MCP SDKs do when their
 *   provider has no state() (PKCE carries the CSRF protection); the client redirect must
 *   then carry no `state` at all
 * @returns {Promise<{jar: CookieJar, client: object, pkce: object|null, state: string,
 *   consent: object, interstitial: object, idp: object, callback: object,
 *   redirect: object, token: HttpResult|null, tokens: object|null}>}
 */
export async function login(base, {
  username, password, redirectUri = 'http://127.0.0.1:9/cb', clientName = 'e2e client', resource,
  usePkce = true, jar = new CookieJar(), exchange = true, sendState = true,
}) {
  const reg = await register(base, { redirect_uris: [redirectUri], client_name: clientName });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  const client = reg.json;
  const pkce = usePkce ? pkcePair() : null;
  const state = sendState ? randomState() : null;

  const authz = await request(authorizeUrl(base, {
    client_id: client.client_id, redirect_uri: redirectUri, state: state ?? undefined,
    code_challenge: pkce?.challenge, resource,
  }), { jar });
  if (authz.status !== 200) throw new Error(`authorize: ${authz.status} ${authz.location || authz.text}`);
  const consent = parseConsentPage(authz.text);
  if (!consent.consentToken || !consent.formAction) throw new Error('consent page: no consent_token or form action');

  const post = await submitConsent({ formAction: new URL(consent.formAction, base).toString(), consentToken: consent.consentToken, jar });
  if (post.status !== 200) throw new Error(`consent: ${post.status} ${post.text}`);
  const interstitial = parseInterstitial(post.text);
  if (!interstitial.target) throw new Error('interstitial: no meta refresh target');

  const idp = await idpLogin(interstitial.target, { username, password, jar });
  if (!idp.callbackUrl) throw new Error(`IdP login did not redirect: ${idp.last.status} ${idp.last.text.slice(0, 300)}`);

  const callback = await followCallback(idp.callbackUrl, { jar });
  if (!callback.redirect) throw new Error(`callback: ${callback.response.status} ${callback.response.text}`);
  const { redirect } = callback;
  if (redirect.error) throw new Error(`callback redirected with error=${redirect.error}`);
  if (redirect.state !== state) throw new Error(`callback: state ${redirect.state} != ${state}`);
  if (!sendState && redirect.url.searchParams.has('state')) throw new Error('callback: a state the client never sent');

  let token = null;
  if (exchange) {
    token = await exchangeCode(base, {
      code: redirect.code, redirect_uri: redirectUri, client_id: client.client_id,
      code_verifier: pkce?.verifier, resource,
    });
    if (token.status !== 200) throw new Error(`token: ${token.status} ${token.text}`);
  }
  return {
    jar, client, pkce, state, consent, interstitial, idp, callback, redirect,
    token, tokens: token?.json ?? null,
  };
}

// ---------------------------------------------------------------- redirect catcher

/**
 * A loopback HTTP server standing in for an OAuth client's redirect_uri
 * (useful in browser tests, where the final navigation must land somewhere).
 * Every request is answered 200 "ok" and recorded.
 * @param {object} [o]
 * @param {string} [o.path='/cb']
 * @returns {Promise<{url: string, hits: URL[], next: (timeoutMs?: number) => Promise<URL>, close: () => Promise<void>}>}
 *   url is http://127.0.0.1:<port><path>; next() resolves with the next hit
 *   (or the first unconsumed one).
 */
export async function startRedirectCatcher({ path = '/cb' } = {}) {
  const hits = [];
  let consumed = 0;
  const waiting = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, `http://${req.headers.host}`);
    hits.push(u);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('ok');
    const w = waiting.shift();
    if (w) { consumed += 1; w(u); }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${path}`,
    hits,
    next(timeoutMs = DEFAULT_TIMEOUT_MS) {
      if (consumed < hits.length) { consumed += 1; return Promise.resolve(hits[consumed - 1]); }
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          const i = waiting.indexOf(done);
          if (i >= 0) waiting.splice(i, 1);
          reject(new Error(`no request reached the redirect catcher within ${timeoutMs} ms`));
        }, timeoutMs);
        function done(u) { clearTimeout(t); resolve(u); }
        waiting.push(done);
      });
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
