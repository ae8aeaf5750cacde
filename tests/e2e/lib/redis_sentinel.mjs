// A real Redis Sentinel set on loopback for end-to-end tests: a primary,
// one or more replicas (redis-server --replicaof) and three sentinels
// (`redis-server <conf> --sentinel`, each with its own writable config file
// in one temporary directory -- Sentinel rewrites it), with a short
// down-after-milliseconds and failover-timeout so a failover takes a few
// seconds. The sentinels require a password (requirepass; they use it with
// each other too), so the proxy's REDIS_SENTINEL_PASSWORD is exercised.
// Every process is stopped by PID; killPrimary() sends SIGKILL.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnProcess } from './proc.mjs';
import { getFreePorts } from './ports.mjs';
import { startRedis } from './peers.mjs';
import { cli } from './redis_cluster.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

export const MASTER = 'mymaster';

/**
 * @param {object} [o]
 * @param {number} [o.replicas=1]
 * @param {string} [o.sentinelPassword='sentinel-pw']
 * @param {number} [o.downAfterMs=1000]
 * @param {number} [o.failoverTimeoutMs=3000]
 * @param {number} [o.readyTimeoutMs=30000]
 */
export async function startRedisSentinel({
  replicas: replicaCount = 1, sentinelPassword = 'sentinel-pw', downAfterMs = 1000, failoverTimeoutMs = 3000, readyTimeoutMs = 30000,
} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-sentinel-'));
  const started = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop({ timeoutMs: 5000 }).catch(() => {})));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const primary = await startRedis();
    started.push(primary);
    const replicas = [];
    for (let i = 0; i < replicaCount; i++) {
      const r = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
      started.push(r);
      replicas.push(r);
    }
    const sentinelPorts = await getFreePorts(3);
    const sentinels = [];
    for (const port of sentinelPorts) {
      const conf = path.join(dir, `sentinel-${port}.conf`);
      fs.writeFileSync(conf, [
        `port ${port}`,
        'bind 127.0.0.1',
        'daemonize no',
        `dir ${dir}`,
        `requirepass ${sentinelPassword}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${MASTER} ${downAfterMs}`,
        `sentinel failover-timeout ${MASTER} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${MASTER} 1`,
        '',
      ].join('\n'));
      const proc = await spawnProcess({
        name: `sentinel-${port}`,
        command: process.env.REDIS_SERVER_BIN || 'redis-server',
        args: [conf, '--sentinel'],
        readyLine: /\+monitor master/,
        readyTimeoutMs,
      });
      const s = { port, proc, stop: (opts) => proc.stop(opts) };
      sentinels.push(s);
      started.push(s);
    }
    const scli = (port, args) => cli(port, ['-a', sentinelPassword, '--no-auth-warning', ...args]);
    // Ready: the replica is in sync and every sentinel knows the replica and
    // the two other sentinels (a failover needs a quorum of them).
    const end = Date.now() + readyTimeoutMs;
    for (;;) {
      const roles = await Promise.all(replicas.map((r) => cli(r.port, ['ROLE'])));
      const synced = roles.every((role) => /connected/.test(role));
      let known = synced;
      for (const s of sentinels) {
        if (!known) break;
        const info = await scli(s.port, ['SENTINEL', 'MASTER', MASTER]);
        const lines = info.split(/\r?\n/);
        const field = (k) => lines[lines.indexOf(k) + 1];
        known = field('num-slaves') === String(replicaCount) && field('num-other-sentinels') === '2';
      }
      if (known) break;
      if (Date.now() > end) throw new Error('the sentinel set did not settle in time');
      await sleep(200);
    }
    return {
      dir,
      primary,
      replicas,
      sentinels,
      master: MASTER,
      sentinelPassword,
      /** "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" for REDIS_SENTINELS. */
      list: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      /** The port the sentinels name as the primary now. */
      primaryPort: async (sentinel = sentinels[0]) => {
        const text = await scli(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER]);
        return Number(text.split(/\r?\n/)[1]);
      },
      /** ROLE's first line on a data node. */
      role: async (port) => (await cli(port, ['ROLE'])).split(/\r?\n/)[0],
      killPrimary: () => primary.proc.kill('SIGKILL'),
      /** Waits until every sentinel names one of the replicas, which answers
       * ROLE master with every other replica connected; its port. */
      waitPromoted: async (timeoutMs = 30000) => {
        const limit = Date.now() + timeoutMs;
        for (;;) {
          const named = await Promise.all(sentinels.map((s) => scli(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER]).catch(() => '')));
          const port = Number(named[0].split(/\r?\n/)[1]);
          const chosen = replicas.find((r) => r.port === port);
          if (chosen && named.every((t) => t === named[0])) {
            const role = await cli(port, ['ROLE']).catch(() => '');
            const others = replicas.length - 1;
            if (role.startsWith('master') && (role.match(/127\.0\.0\.1/g) || []).length >= others) return port;
          }
          if (Date.now() > limit) throw new Error('no replica was promoted in time');
          await sleep(100);
        }
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
