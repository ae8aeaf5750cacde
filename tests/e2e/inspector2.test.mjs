// MCP Inspector 2.x against the proxy, each client doing its own OAuth in
// headless Chromium: the web UI (its Node backend talks to the proxy; the
// page only sees the login) and the CLI (its own loopback callback). Each
// test connects, logs in through the proxy's consent page and the IdP's
// form, lists tools and calls `echo`. inspector1.test.mjs has 1.x.
//
// The inspectors run on the pinned Node 22 from tests/e2e/tools (see
// lib/inspector.mjs); the suite itself stays on the system Node.
//
// Selectors were written against @modelcontextprotocol/inspector 2.12.0 (the
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
  inspectorsMissing, tempHome, inspectorEnv, spawnNode22, keepOnLoopback, approveAndSignIn, exitedWithin,
  INSPECTOR2_LAUNCHER,
} from './lib/inspector.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || inspectorsMissing();

// Generous: a cold Inspector start (Vite-built bundles, 400 MB of modules)
// on a loaded 2-core machine takes seconds, and the login crosses four
// processes.
const STEP_MS = 60000;

let stack;
let browser;
const homes = [];
before(async () => {
  if (skip) return;
  stack = await startStack();
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

test('Inspector 2.x web UI: connect, OAuth through the proxy, tools/list, tools/call', { skip, timeout: 5 * STEP_MS }, async () => {
  const port = await getFreePort();
  const token = 'e2e-inspector-api-token';
  const insp = await spawnNode22(INSPECTOR2_LAUNCHER, [
    '--web', '--transport', 'http', '--server-url', `${stack.base}/mcp`,
  ], {
    name: 'inspector2-web',
    env: inspectorEnv(home('insp2-web'), {
      HOST: '127.0.0.1',
      CLIENT_PORT: String(port),
      // Our own API token instead of a random one we would have to scrape.
      MCP_INSPECTOR_API_TOKEN: token,
      MCP_INSPECTOR_SECRET_STORE: 'memory',
      MCP_SANDBOX_PORT: '0',
      MCP_APP_ORIGIN_PORT: '0',
    }),
    readyLine: /up and running/,
    readyTimeoutMs: STEP_MS,
  });
  const rec = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    const blocked = await keepOnLoopback(rec.context);
    const { page } = rec;
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`http://127.0.0.1:${port}/?MCP_INSPECTOR_API_TOKEN=${token}`);
    await page.getByRole('switch', { name: /Connect or disconnect/ }).check({ force: true });

    const { consentText } = await approveAndSignIn(page, stack, { timeoutMs: STEP_MS });
    assert.match(consentText, /MCP Inspector/);
    assert.ok(page.url().startsWith(`http://127.0.0.1:${port}/`), page.url());

    // Back in the Inspector (its /oauth/callback finished the code exchange).
    await page.getByText('Connected', { exact: true }).first().waitFor();
    await page.getByRole('banner').getByText('Tools', { exact: true }).click();
    // tools/list ran on the way to this screen.
    await page.getByRole('heading', { name: /^Tools \(\d+\)$/ }).waitFor();
    await page.getByRole('button', { name: 'echo', exact: true }).click();
    await page.getByRole('textbox', { name: 'text', exact: true }).fill('hello from inspector 2 web');
    await page.getByRole('button', { name: 'Execute Tool' }).click();
    await page.getByRole('heading', { name: 'Results' }).waitFor();
    await page.getByRole('main').getByText('hello from inspector 2 web', { exact: true }).waitFor();

    assert.deepEqual(rec.pageErrors, []);
    console.log(`inspector 2.x web: blocked off-loopback requests: ${JSON.stringify(blocked)}`);
  } catch (err) {
    // What the page saw is what tells a proxy fault from a UI change.
    err.message += `\n--- page: ${rec.page.url()}\nconsole errors: ${JSON.stringify(rec.consoleErrors)}`
      + `\nfailed requests: ${JSON.stringify(rec.failedRequests)}\npage errors: ${JSON.stringify(rec.pageErrors)}`;
    throw err;
  } finally {
    await rec.close();
    await insp.stop();
  }
});

/**
 * A BROWSER command for the 2.x CLI's `open` (its bundled xdg-open runs
 * $BROWSER when no desktop is found): it only records the URL, so the test
 * drives the login in its own Chromium and nothing else is launched.
 */
function browserRecorder(dir) {
  const script = path.join(dir, 'record-browser-url.sh');
  const file = path.join(dir, 'opened-urls.txt');
  fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${file}'\n`, { mode: 0o755 });
  return { script, file, urls: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []) };
}

test('Inspector 2.x CLI: its own OAuth (loopback callback) through the proxy, tools/list, tools/call', { skip, timeout: 5 * STEP_MS }, async () => {
  const dir = home('insp2-cli');
  const opened = browserRecorder(dir);
  const callbackPort = await getFreePort();
  const env = inspectorEnv(dir, {
    // The CLI refuses interactive OAuth without a TTY unless told a browser
    // will take it; BROWSER makes that browser our recorder.
    MCP_AUTO_OPEN_ENABLED: 'true',
    BROWSER: opened.script,
    MCP_INSPECTOR_SECRET_STORE: 'file',
  });
  const common = [
    '--cli', '--transport', 'http', '--server-url', `${stack.base}/mcp`,
    '--callback-url', `http://127.0.0.1:${callbackPort}/oauth/callback`,
    '--connect-timeout', String(3 * STEP_MS), '--format', 'json',
  ];

  const list = await spawnNode22(INSPECTOR2_LAUNCHER, [...common, '--method', 'tools/list'], { name: 'inspector2-cli-list', env });
  const rec = await browser.newPage();
  try {
    await keepOnLoopback(rec.context);
    const [, authUrl] = await list.waitForLine(/Please navigate to: (\S+)/, { timeoutMs: STEP_MS, stream: 'stderr' });
    assert.ok(authUrl.startsWith(`${stack.base}/authorize?`), authUrl);
    await rec.page.goto(authUrl);
    const { consentText } = await approveAndSignIn(rec.page, stack, { timeoutMs: STEP_MS });
    assert.match(consentText, /MCP Inspector/);
    assert.ok(rec.page.url().startsWith(`http://127.0.0.1:${callbackPort}/oauth/callback?`), rec.page.url());
    const done = await exitedWithin(list, STEP_MS);
    assert.ok(done, `CLI did not exit after the login\n${list.stderr()}`);
    assert.equal(done.code, 0, list.stderr());
    // --format json: one object, the JSON-RPC result under `result`.
    const tools = JSON.parse(list.stdout()).result;
    assert.ok(tools?.tools?.some((t) => t.name === 'echo'), list.stdout());
    // The URL it printed is the one it handed to the browser.
    assert.deepEqual(opened.urls(), [authUrl]);
  } finally {
    await rec.close();
    await list.stop();
  }

  // Second run: the tokens the first run stored are used, no login.
  const call = await spawnNode22(INSPECTOR2_LAUNCHER, [
    ...common, '--stored-auth-only', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hello from inspector 2 cli',
  ], { name: 'inspector2-cli-call', env });
  try {
    const done = await exitedWithin(call, STEP_MS);
    assert.ok(done, `CLI tools/call did not exit\n${call.stderr()}`);
    assert.equal(done.code, 0, call.stderr());
    const { result } = JSON.parse(call.stdout());
    assert.equal(result?.content?.[0]?.text, 'hello from inspector 2 cli', call.stdout());
    assert.equal(opened.urls().length, 1, 'a second login was started');
  } finally {
    await call.stop();
  }
});

