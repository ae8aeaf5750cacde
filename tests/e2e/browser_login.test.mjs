// The login flow in a real browser (headless Debian Chromium through
// playwright-core): the proxy's consent page, its interstitial, the IdP's
// login form, /callback, and the final redirect to the client's loopback
// redirect_uri. The test then does what a native MCP client does with the
// code: /token, then a refresh. Nothing on the proxy's pages may log a
// console error or trip the Content-Security-Policy.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/peers.mjs';
import { launchBrowser, chromiumAvailable } from './lib/browser.mjs';
import {
  register, authorizeUrl, pkcePair, randomState, exchangeCode, refreshGrant, startRedirectCatcher,
} from './lib/oauth-client.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

let stack;
let catcher;
before(async () => {
  if (skip) return;
  stack = await startStack();
  catcher = await startRedirectCatcher({ path: '/oauth/callback' });
});
after(async () => {
  await catcher?.close();
  await stack?.stop();
});

test('a person signs in through the browser; the client gets working tokens', { skip }, async () => {
  const t0 = Date.now();
  const reg = await register(stack.base, { redirect_uris: [catcher.url], client_name: 'Browser E2E client' });
  assert.equal(reg.status, 201, reg.text);
  const client = reg.json;
  const pkce = pkcePair();
  const state = randomState();

  const browser = await launchBrowser();
  try {
    const rec = await browser.newPage();
    const { page } = rec;
    // Every document the browser loads, with the CSP it was served under.
    const documents = [];
    page.on('response', (res) => {
      if (res.request().resourceType() === 'document') {
        documents.push({ url: res.url(), status: res.status(), csp: res.headers()['content-security-policy'] ?? null });
      }
    });

    await page.goto(authorizeUrl(stack.base, {
      client_id: client.client_id, redirect_uri: catcher.url, state, code_challenge: pkce.challenge,
    }));
    // The consent page names the client and the redirect host.
    const consentText = await page.textContent('body');
    assert.match(consentText, /Browser E2E client/);
    assert.match(consentText, /127\.0\.0\.1/);

    // Approve: the interstitial's meta refresh takes the browser to the IdP.
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(stack.idp.issuer), { timeout: 15000 }),
      page.getByRole('button', { name: 'Approve & sign in' }).click(),
    ]);
    await page.fill('#login', 'alice');
    await page.fill('#password', 'alice-pw');
    // Sign in: IdP → proxy /callback → 302 → the client's redirect_uri.
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(catcher.url), { timeout: 15000 }),
      page.click('#submit'),
    ]);
    const hit = await catcher.next();
    assert.equal(hit.searchParams.get('state'), state);
    assert.equal(hit.searchParams.get('iss'), stack.base);
    const code = hit.searchParams.get('code');
    assert.ok(code);

    const tok = await exchangeCode(stack.base, {
      code, redirect_uri: catcher.url, client_id: client.client_id, code_verifier: pkce.verifier,
    });
    assert.equal(tok.status, 200, tok.text);
    assert.equal(tok.json.token_type, 'Bearer');
    assert.equal(tok.json.expires_in, 3600);
    const ref = await refreshGrant(stack.base, { refresh_token: tok.json.refresh_token, client_id: client.client_id });
    assert.equal(ref.status, 200, ref.text);
    assert.notEqual(ref.json.refresh_token, tok.json.refresh_token);

    // The proxy's own pages: consent (200) and interstitial (200), each with
    // its page CSP; /callback's 302 is followed by the browser, not rendered.
    const proxyDocs = documents.filter((d) => d.url.startsWith(stack.base));
    assert.ok(proxyDocs.length >= 2, JSON.stringify(documents));
    for (const d of proxyDocs) assert.ok(d.csp, `${d.url} has no CSP`);
    const onProxy = (u) => (u ?? '').startsWith(stack.base);
    assert.deepEqual(rec.cspViolations.filter((v) => onProxy(v.documentURI) || v.source === 'console'), []);
    assert.deepEqual(rec.consoleErrors, []);
    assert.deepEqual(rec.pageErrors, []);

    const path = documents.map((d) => `${new URL(d.url).origin === stack.base ? 'proxy' : new URL(d.url).origin === stack.idp.issuer ? 'idp' : 'client'}${new URL(d.url).pathname}(${d.status})`);
    console.log(`browser login OK in ${Date.now() - t0} ms: ${path.join(' -> ')}; `
      + `code exchanged (200, Bearer, 3600 s), refresh rotated (200); `
      + `${rec.consoleErrors.length} console errors, ${rec.cspViolations.length} CSP violations`);
    await rec.close();
  } finally {
    await browser.close();
  }
});
