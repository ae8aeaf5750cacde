// The binary's command-line face, black-box: --check-config on good and bad
// environments, --help against docs/configuration.md, --version, usage
// errors. Node built-ins only; no server is started (every run exits by
// itself, bounded by a timeout).
//
// MCP_AUTH_PROXY_BIN selects the binary (default ../../build/src/mcp-auth-proxy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.MCP_AUTH_PROXY_BIN ?? resolve(here, '../../build/src/mcp-auth-proxy');
const DOCS = resolve(here, '../../docs/configuration.md');

const SECRETS = {
  OIDC_CLIENT_SECRET: 'e2e-client-secret-Vd93kq',
  TOKEN_SIGNING_SECRET: 'e2e-signing-secret-8fK2pLq9zR4mW7nB3xT6',
  TOKEN_SIGNING_SECRETS_PREVIOUS: 'e2e-previous-one-Hq7Lm2Pz9Xc4Vb8Nw1Rt e2e-previous-two-Jk5Ds3Fg8Ha2Qw6Er9Ty',
  REDIS_PASSWORD: 'e2e-redis-pass-Zx81',
  UPSTREAM_TOKEN: 'e2e-upstream-token-Mn47',
};
const SECRET_VALUES = [
  SECRETS.OIDC_CLIENT_SECRET,
  SECRETS.TOKEN_SIGNING_SECRET,
  ...SECRETS.TOKEN_SIGNING_SECRETS_PREVIOUS.split(' '),
  SECRETS.REDIS_PASSWORD,
  SECRETS.UPSTREAM_TOKEN,
];

// A valid production configuration that sets every secret.
function goodEnv() {
  return {
    OIDC_ISSUER_URL: 'https://idp.example.com/realms/e2e',
    OIDC_CLIENT_ID: 'e2e-client',
    OIDC_CLIENT_SECRET: SECRETS.OIDC_CLIENT_SECRET,
    PROXY_BASE_URL: 'https://auth.example.com',
    UPSTREAM_MCP_URL: 'http://127.0.0.1:9300/mcp',
    TOKEN_SIGNING_SECRET: SECRETS.TOKEN_SIGNING_SECRET,
    TOKEN_SIGNING_SECRETS_PREVIOUS: SECRETS.TOKEN_SIGNING_SECRETS_PREVIOUS,
    REDIS_URL: `redis://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:6379/0`,
    UPSTREAM_AUTHORIZATION_HEADER: `Bearer ${SECRETS.UPSTREAM_TOKEN}`,
  };
}

// Runs the binary with exactly this environment (plus PATH and sanitizer
// options, so an ASan build behaves as in the rest of the suite).
function run(args, env = {}) {
  const base = {};
  for (const k of ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
    if (process.env[k] !== undefined) base[k] = process.env[k];
  }
  const r = spawnSync(BIN, args, { env: { ...base, ...env }, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.error, undefined, `could not run ${BIN}: ${r.error}`);
  assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/, r.stderr);
  return r;
}

function docVariables() {
  const names = readFileSync(DOCS, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('### '))
    .map((l) => l.slice(4).trim());
  assert.ok(names.length >= 41, `only ${names.length} variables in ${DOCS}`);
  return names;
}

function assertNoSecrets(text) {
  for (const s of SECRET_VALUES) {
    assert.ok(!text.includes(s), `secret ${s} printed:\n${text}`);
  }
}

test('--check-config on a good configuration exits 0 and prints no secret', () => {
  const r = run(['--check-config'], goodEnv());
  assert.equal(r.status, 0, r.stderr);
  assertNoSecrets(r.stdout + r.stderr);
  for (const name of ['OIDC_CLIENT_SECRET', 'TOKEN_SIGNING_SECRET', 'REDIS_URL',
    'UPSTREAM_AUTHORIZATION_HEADER']) {
    assert.match(r.stdout, new RegExp(`^${name}=\\[redacted\\]$`, 'm'));
  }
  assert.match(r.stdout, /^TOKEN_SIGNING_SECRETS_PREVIOUS=\[redacted\] \(2 secrets\)$/m);
  assert.match(r.stdout, /^OIDC_CLIENT_ID=e2e-client$/m);
  assert.match(r.stdout, /^SHUTDOWN_TIMEOUT=2m0s$/m);
  assert.match(r.stdout, /canonical_resource=https:\/\/auth\.example\.com\/mcp/);
  // One line per documented variable.
  for (const name of docVariables()) {
    assert.match(r.stdout, new RegExp(`^${name}=`, 'm'), `${name} missing from the dump`);
  }
});

test('--check-config shows an unset secret as (unset)', () => {
  const env = goodEnv();
  delete env.UPSTREAM_AUTHORIZATION_HEADER;
  delete env.TOKEN_SIGNING_SECRETS_PREVIOUS;
  const r = run(['--check-config'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^UPSTREAM_AUTHORIZATION_HEADER=\(unset\)$/m);
  assert.match(r.stdout, /^TOKEN_SIGNING_SECRETS_PREVIOUS=\(unset\)$/m);
});

const BAD = [
  { set: { OIDC_ISSUER_URL: 'http://idp.example.com' }, name: 'OIDC_ISSUER_URL' },
  { set: { PROXY_BASE_URL: 'https://auth.example.com/base' }, name: 'PROXY_BASE_URL' },
  { set: { UPSTREAM_MCP_URL: 'http://127.0.0.1:9300/consent' }, name: 'UPSTREAM_MCP_URL' },
  { set: { UPSTREAM_MCP_URL: 'http://127.0.0.1:9300/a:b' }, name: 'UPSTREAM_MCP_URL', phrase: 'unreserved characters' },
  { set: { TOKEN_SIGNING_SECRET: 'too-short' }, name: 'TOKEN_SIGNING_SECRET', phrase: 'at least 32 bytes' },
  { set: { TOKEN_SIGNING_SECRETS_PREVIOUS: 'short' }, name: 'TOKEN_SIGNING_SECRETS_PREVIOUS' },
  { set: { SHUTDOWN_TIMEOUT: '16m' }, name: 'SHUTDOWN_TIMEOUT', phrase: '15m' },
  { set: { CLIENT_REGISTRATION_TTL: '7d' }, name: 'CLIENT_REGISTRATION_TTL' },
  { set: { REFRESH_RACE_GRACE_SEC: '11' }, name: 'REFRESH_RACE_GRACE_SEC' },
  { set: { IDP_EXCHANGE_RATE_PER_SEC: '-1' }, name: 'IDP_EXCHANGE_RATE_PER_SEC' },
  { set: { IDP_EXCHANGE_BURST: '0' }, name: 'IDP_EXCHANGE_BURST' },
  { set: { REVOKE_BEFORE: '2026-03-28' }, name: 'REVOKE_BEFORE' },
  { set: { REDIS_KEY_PREFIX: 'a{b}' }, name: 'REDIS_KEY_PREFIX' },
  { set: { ACCESS_LOG_SKIP_RE: '(' }, name: 'ACCESS_LOG_SKIP_RE' },
  { set: { MCP_TOOL_METRICS_MAX_CARDINALITY: '-1' }, name: 'MCP_TOOL_METRICS_MAX_CARDINALITY' },
  { set: { MCP_LOG_BODY_MAX: 'lots' }, name: 'MCP_LOG_BODY_MAX' },
  { set: { MCP_PER_SUBJECT_CONCURRENCY: '-1' }, name: 'MCP_PER_SUBJECT_CONCURRENCY' },
  { set: { TRUSTED_PROXY_CIDRS: '10.0.0.0/80' }, name: 'TRUSTED_PROXY_CIDRS' },
  { set: { TRUSTED_PROXY_HEADER: 'Forwarded' }, name: 'TRUSTED_PROXY_HEADER' },
  { set: { UPSTREAM_AUTHORIZATION_HEADER: 'Bearer a\r\nX-Evil: 1' }, name: 'UPSTREAM_AUTHORIZATION_HEADER' },
  { set: { CSP_FORM_ACTION_EXTRA: 'https://*.example.com' }, name: 'CSP_FORM_ACTION_EXTRA' },
  { set: { LISTEN_ADDR: '8080' }, name: 'LISTEN_ADDR' },
  { set: { METRICS_ADDR: ':0' }, name: 'METRICS_ADDR' },
  { set: { WORKERS: '0' }, name: 'WORKERS' },
  { set: { REDIS_CA_FILE: '/nonexistent/ca.pem' }, name: 'REDIS_CA_FILE' },
  { set: { UPSTREAM_RESPONSE_HEADER_TIMEOUT: '11m' }, name: 'UPSTREAM_RESPONSE_HEADER_TIMEOUT' },
  { set: { PKCE_REQUIRED: 'false' }, name: 'PROD_MODE', phrase: 'PKCE_REQUIRED=false' },
  { set: { TOKEN_SIGNING_SECRET: 'a'.repeat(40) }, name: 'PROD_MODE', phrase: 'single byte' },
  { set: { PROD_MODE: 'false', REDIS_URL: '' }, name: 'REDIS_REQUIRED' },
];

for (const bad of BAD) {
  const label = Object.entries(bad.set).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  test(`--check-config refuses ${label}`, () => {
    const r = run(['--check-config'], { ...goodEnv(), ...bad.set });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^config: ${bad.name}: `, 'm'), r.stderr);
    if (bad.phrase) assert.ok(r.stderr.includes(bad.phrase), r.stderr);
    assert.equal(r.stdout, '', 'nothing is dumped on failure');
    assertNoSecrets(r.stderr);
  });
}

test('a missing required variable is named', () => {
  for (const name of ['OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'PROXY_BASE_URL',
    'UPSTREAM_MCP_URL', 'TOKEN_SIGNING_SECRET']) {
    const env = goodEnv();
    delete env[name];
    const r = run(['--check-config'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^config: missing required env vars: ${name};`, 'm'));
  }
});

test('several bad variables are all reported at once, one line each', () => {
  const r = run(['--check-config'], {
    ...goodEnv(),
    OIDC_CLIENT_ID: '',
    SHUTDOWN_TIMEOUT: 'forever',
    REFRESH_RACE_GRACE_SEC: '99',
    TRUSTED_PROXY_HEADER: 'Via',
    WORKERS: '1000',
    COMPAT_ALLOW_STATELESS: 'true',
  });
  assert.equal(r.status, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 6, r.stderr);
  for (const want of ['config: missing required env vars: OIDC_CLIENT_ID;',
    'config: SHUTDOWN_TIMEOUT: ', 'config: REFRESH_RACE_GRACE_SEC: ',
    'config: TRUSTED_PROXY_HEADER: ', 'config: WORKERS: ',
    'config: PROD_MODE: PROD_MODE=true rejects unsafe settings: COMPAT_ALLOW_STATELESS=true']) {
    assert.ok(lines.some((l) => l.startsWith(want)), `no line starting "${want}" in:\n${r.stderr}`);
  }
  assertNoSecrets(r.stderr);
});

test('without an option, an invalid configuration exits 1 before serving', () => {
  const r = run([], { ...goodEnv(), SHUTDOWN_TIMEOUT: '1h' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^config: SHUTDOWN_TIMEOUT: .*15m/m);
  assertNoSecrets(r.stdout + r.stderr);
});

test('--help lists every variable in docs/configuration.md', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: mcp-auth-proxy /);
  for (const name of docVariables()) {
    assert.match(r.stdout, new RegExp(`^  ${name}$`, 'm'), `${name} missing from --help`);
  }
  assert.match(r.stdout, /default: 120s/);
  assert.match(r.stdout, /required; secret/);
});

test('--version prints version and commit', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout,
    /^mcp-auth-proxy \d+\.\d+\.\d+\S* \(commit ([0-9a-f]{7,}|unknown), built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$/);
});

test('unknown arguments print usage and exit 2', () => {
  for (const args of [['--bogus'], ['check-config'], ['--check-config', 'extra'], ['-h']]) {
    const r = run(args, goodEnv());
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^usage: mcp-auth-proxy /);
    assert.equal(r.stdout, '');
  }
});

// ---- `revoke --subject SUB | --family ID` (issue 14, docs/runbook.md) ----
// The success path against a real redis-server is in revoke.test.mjs (with
// replicas that must refuse the tokens); here the command's refusals and
// what it writes, read back with redis-cli.

test('revoke --help prints its usage and exits 0; bad arguments exit 2 with usage', () => {
  const h = run(['revoke', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: mcp-auth-proxy revoke --subject SUB \| --family ID\n/);
  for (const args of [['revoke'], ['revoke', '--subject'], ['revoke', '--user', 'x'],
    ['revoke', '--subject', 'a', '--family', 'b'], ['revoke', 'x', 'y']]) {
    const r = run(args, goodEnv());
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^usage: mcp-auth-proxy revoke /);
    assert.equal(r.stdout, '');
  }
  // The general --help names the command too.
  assert.match(run(['--help']).stdout, /revoke --subject SUB/);
});

test('revoke without REDIS_URL refuses: the memory store lives in the running process', () => {
  const env = { ...goodEnv(), PROD_MODE: 'false', REDIS_REQUIRED: 'false' };
  delete env.REDIS_URL;
  const r = run(['revoke', '--subject', 'alice'], env);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^revoke: REDIS_URL is not set\. .*running proxy process/);
  assert.equal(r.stdout, '');
});

test('revoke with an invalid configuration exits 1 before touching Redis', () => {
  const env = goodEnv();
  delete env.OIDC_ISSUER_URL;
  const r = run(['revoke', '--family', 'f'], env);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /OIDC_ISSUER_URL/);
});

test('revoke with Redis unreachable exits 1 and says so, without the password', async () => {
  const { getFreePort } = await import('./lib/ports.mjs');
  const port = await getFreePort();
  const r = run(['revoke', '--subject', 'alice'],
    { ...goodEnv(), REDIS_URL: `redis://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:${port}/0` });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^revoke: .*127\.0\.0\.1/);
  assert.match(r.stderr, /refused|connect/i);
  assert.doesNotMatch(r.stderr, new RegExp(SECRETS.REDIS_PASSWORD));
  assert.equal(r.stdout, '');
});

test('revoke rejects an empty or over-long id', () => {
  for (const id of ['', 'x'.repeat(256)]) {
    const r = run(['revoke', '--subject', id], goodEnv());
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^revoke: the subject must be 1 to 255 bytes\n$/);
  }
});
