// Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven
// by playwright-core (which downloads no browser of its own).
//
// Each page opened through newPage() records what a person would not see but
// a test must: console errors, Content-Security-Policy violations (both the
// DOM `securitypolicyviolation` events and the console messages Chromium
// prints for them), uncaught page errors and failed requests.

import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** True when the Chromium binary exists and is executable. */
export function chromiumAvailable(bin = CHROMIUM_BIN) {
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * @typedef {object} PageRecord
 * @property {import('playwright-core').Page} page
 * @property {import('playwright-core').BrowserContext} context
 * @property {{type: string, text: string, url: string|undefined}[]} consoleErrors
 *           console messages of type error (and warnings that mention CSP)
 * @property {{directive: string, blockedURI: string, documentURI: string, disposition: string,
 *            originalPolicy: string, source: 'event'|'console', text?: string}[]} cspViolations
 * @property {string[]} pageErrors  uncaught exceptions
 * @property {{url: string, failure: string|null}[]} failedRequests
 * @property {() => Promise<void>} close  closes the context
 */

/**
 * Launches Chromium.
 * @param {object} [o]
 * @param {string} [o.executablePath]  default CHROMIUM_BIN (/usr/bin/chromium)
 * @param {string[]} [o.extraArgs]
 * @param {number} [o.timeoutMs=30000]  launch timeout
 * @returns {Promise<{browser: import('playwright-core').Browser,
 *   newPage: (contextOptions?: object) => Promise<PageRecord>, close: () => Promise<void>}>}
 */
export async function launchBrowser({ executablePath = CHROMIUM_BIN, extraArgs = [], timeoutMs = 30000 } = {}) {
  const browser = await chromium.launch({
    executablePath,
    // --headless is in CHROMIUM_ARGS; Playwright's own flag would add a second one.
    headless: false,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: timeoutMs,
    env: { ...process.env, HOME: process.env.HOME || '/tmp' },
  });

  async function newPage(contextOptions = {}) {
    const context = await browser.newContext(contextOptions);
    context.setDefaultTimeout(15000);
    context.setDefaultNavigationTimeout(15000);
    const rec = {
      context, page: null, consoleErrors: [], cspViolations: [], pageErrors: [], failedRequests: [],
    };

    // Init scripts are injected by the browser, so they run even where the
    // page's CSP forbids scripts; the binding carries the event out.
    await context.exposeBinding('__e2eReportCsp', (_src, v) => { rec.cspViolations.push({ ...v, source: 'event' }); });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        // eslint-disable-next-line no-undef
        window.__e2eReportCsp({
          directive: e.effectiveDirective || e.violatedDirective,
          blockedURI: e.blockedURI,
          documentURI: e.documentURI,
          disposition: e.disposition,
          originalPolicy: e.originalPolicy,
        });
      });
    });

    const page = await context.newPage();
    rec.page = page;
    page.on('console', (msg) => {
      const text = msg.text();
      const csp = /Content Security Policy/i.test(text);
      if (msg.type() === 'error' || csp) {
        rec.consoleErrors.push({ type: msg.type(), text, url: msg.location()?.url });
      }
      if (csp) {
        rec.cspViolations.push({
          directive: text.match(/directive[:\s]+"([^"]+)"/i)?.[1] ?? '',
          blockedURI: '', documentURI: msg.location()?.url ?? '', disposition: 'enforce', originalPolicy: '',
          source: 'console', text,
        });
      }
    });
    page.on('pageerror', (err) => rec.pageErrors.push(String(err?.message ?? err)));
    page.on('requestfailed', (req) => rec.failedRequests.push({ url: req.url(), failure: req.failure()?.errorText ?? null }));
    rec.close = () => context.close();
    return rec;
  }

  return { browser, newPage, close: () => browser.close() };
}

/**
 * Signs in on the test IdP's pages (peers/idp.mjs) in a page that is already
 * at its login form: username and password, then -- when the IdP asks for
 * the second factor (the authorization request carried the MFA acr in
 * acr_values) -- the one-time code. Returns once the browser has left the
 * IdP's origin.
 * @param {import('playwright-core').Page} page
 * @param {string} idpIssuer
 * @param {object} [o]
 * @param {string} [o.user='alice']
 * @param {string} [o.password]  default `${user}-pw`
 * @param {string} [o.otp='123456']  the IdP's fixed one-time code
 * @param {number} [o.timeoutMs=15000]
 * @returns {Promise<{otpShown: boolean}>}  whether the one-time-code page appeared
 */
export async function idpSignIn(page, idpIssuer, { user = 'alice', password, otp = '123456', timeoutMs = 15000 } = {}) {
  const left = (u) => !u.toString().startsWith(idpIssuer);
  await page.waitForSelector('#login', { timeout: timeoutMs });
  await page.fill('#login', user);
  await page.fill('#password', password ?? `${user}-pw`);
  await page.click('#submit');
  // Either the browser leaves the IdP, or the one-time-code page appears.
  const next = await Promise.race([
    page.waitForURL(left, { timeout: timeoutMs }).then(() => 'left'),
    page.waitForSelector('#otp-form', { timeout: timeoutMs }).then(() => 'otp'),
  ]);
  if (next === 'left') return { otpShown: false };
  await page.fill('#otp', otp);
  await Promise.all([page.waitForURL(left, { timeout: timeoutMs }), page.click('#otp-submit')]);
  return { otpShown: true };
}
