// MCP Inspector 1.x web UI in "Direct" mode against the proxy: the page
// itself registers, logs in (the proxy's consent page and the IdP's form),
// and calls the mount from its own origin, so the mount's CORS for
// MCP_ALLOWED_ORIGINS is what makes it work. It connects, lists tools and
// calls `echo`. inspector2.test.mjs has 2.x.
//
// The inspectors run on the pinned Node 22 from tests/e2e/tools (see
// lib/inspector.mjs); the suite itself stays on the system Node.
//
// Selectors were written against @modelcontextprotocol/inspector 1.0.3 (the
// version tests/e2e/tools/package.json pins); they use the roles and labels
// its UI exposes.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/peers.mjs';
import { getFreePort } from './lib/ports.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import {
  inspectorsMissing, tempHome, inspectorEnv, spawnNode22, keepOnLoopback, approveAndSignIn,
  INSPECTOR1_DIR,
} from './lib/inspector.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || inspectorsMissing();

// Generous: a cold Inspector start (Vite-built bundles, 400 MB of modules)
// on a loaded 2-core machine takes seconds, and the login crosses four
// processes.
const STEP_MS = 60000;

let stack;
let browser;
let insp1Port; // the 1.x web UI's port, fixed first: its origin is on the proxy's CORS list
const homes = [];
before(async () => {
  if (skip) return;
  insp1Port = await getFreePort();
  stack = await startStack({ proxyEnv: { MCP_ALLOWED_ORIGINS: `http://127.0.0.1:${insp1Port}` } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
});

function home(label) {
  const h = tempHome(label);
  homes.push(h);
  return h;
}

test('Inspector 1.x web UI in Direct mode: the page itself logs in and calls the proxy (CORS on the mount)', { skip, timeout: 5 * STEP_MS }, async () => {
  const serverPort = await getFreePort();
  const token = 'e2e-inspector1-proxy-token';
  const origin = `http://127.0.0.1:${insp1Port}`;
  const env = inspectorEnv(home('insp1'), {
    HOST: '127.0.0.1',
    CLIENT_PORT: String(insp1Port),
    SERVER_PORT: String(serverPort),
    MCP_PROXY_AUTH_TOKEN: token,
    ALLOWED_ORIGINS: origin,
  });
  // The two processes 1.x's launcher (client/bin/start.js) would start,
  // started here directly so each is stopped by its own PID. In Direct mode
  // the page asks the inspector's server only for /config.
  const server = await spawnNode22(path.join(INSPECTOR1_DIR, 'server', 'build', 'index.js'), [], {
    name: 'inspector1-server', env, readyLine: /Proxy server listening/,
  });
  let client;
  const rec = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    client = await spawnNode22(path.join(INSPECTOR1_DIR, 'client', 'bin', 'client.js'), [], {
      name: 'inspector1-client', env, readyLine: /up and running/,
    });
    const blocked = await keepOnLoopback(rec.context);
    const { page } = rec;
    page.setDefaultTimeout(STEP_MS);
    const mcpRequests = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${stack.base}/mcp`)) mcpRequests.push(`${r.request().method()} ${r.status()}`);
    });
    // MCP_PROXY_FULL_ADDRESS rather than the launcher's MCP_PROXY_PORT: 1.0.3
    // keeps the full address for the session, so the settings it compares
    // after the OAuth callback are the ones it saved before (with only
    // MCP_PROXY_PORT it refuses: "Connection settings changed during
    // authorization").
    await page.goto(`${origin}/?MCP_PROXY_FULL_ADDRESS=http://127.0.0.1:${serverPort}&MCP_PROXY_AUTH_TOKEN=${token}`);
    await page.getByLabel('Transport Type').click();
    await page.getByRole('option', { name: 'Streamable HTTP' }).click();
    await page.getByLabel('URL').fill(`${stack.base}/mcp`);
    await page.getByLabel('Connection Type').click();
    await page.getByRole('option', { name: 'Direct' }).click();
    await page.getByRole('button', { name: 'Connect' }).click();

    const { consentText } = await approveAndSignIn(page, stack, { timeoutMs: STEP_MS });
    assert.match(consentText, /MCP Inspector/);
    assert.ok(page.url().startsWith(`${origin}/`), page.url());

    // Back in the Inspector. 1.0.3's callback page reconnects by itself
    // unless a re-render during its token exchange runs the effect's
    // cleanup first, which drops the saved connection; it then says
    // "Connect again from the sidebar" (the tokens are stored; a person
    // clicks Connect, no second login). Either way ends connected.
    const connected = page.getByText('Connected', { exact: true });
    const again = page.getByText('Connect again from the sidebar');
    await connected.or(again).first().waitFor();
    const reconnected = !(await connected.isVisible());
    if (reconnected) await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await connected.waitFor();
    assert.ok(page.url().startsWith(`${origin}/`), `a second login started: ${page.url()}`);
    await page.getByRole('tab', { name: 'Tools' }).click();
    await page.getByRole('button', { name: 'List Tools' }).click();
    await page.getByText('echo', { exact: true }).first().click();
    await page.getByLabel('text').fill('hello from inspector 1 direct');
    await page.getByRole('button', { name: 'Run Tool' }).click();
    // The result panel (not the request history, which also holds the text).
    const result = page.getByText('Tool Result: Success').locator('xpath=..');
    await result.waitFor();
    assert.match(await result.textContent(), /hello from inspector 1 direct/);

    // The page talked to the proxy's mount itself, cross-origin: it read the
    // first answer's 401 (that started the login) and then got 200s.
    assert.equal(mcpRequests[0], 'POST 401', JSON.stringify(mcpRequests));
    assert.ok(mcpRequests.includes('POST 200'), JSON.stringify(mcpRequests));
    assert.deepEqual(rec.pageErrors, []);
    console.log(`inspector 1.x direct: ${reconnected ? 'Connect clicked again after the callback; ' : ''}`
      + `mount requests ${JSON.stringify(mcpRequests)}; blocked ${JSON.stringify(blocked)}`);
  } catch (err) {
    // What the page saw is what tells a proxy fault from a UI change.
    err.message += `\n--- page: ${rec.page.url()}\nconsole errors: ${JSON.stringify(rec.consoleErrors)}`
      + `\nfailed requests: ${JSON.stringify(rec.failedRequests)}\npage errors: ${JSON.stringify(rec.pageErrors)}`;
    throw err;
  } finally {
    await rec.close();
    await client?.stop();
    await server.stop();
  }
});
