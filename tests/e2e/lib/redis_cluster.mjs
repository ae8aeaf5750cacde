// A real Redis Cluster on loopback for end-to-end tests: six redis-server
// processes (three primaries, three replicas) in their own directories
// under one temporary directory, joined by `redis-cli --cluster create`,
// with a short cluster-node-timeout so a failover takes about a second.
// Every process is stopped by PID; kill(port) sends SIGKILL to one node.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnProcess, runToExit } from './proc.mjs';
import { getFreePorts } from './ports.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** redis-cli against one node; resolves with trimmed stdout. */
export async function cli(port, args, { cluster = false, timeoutMs = 15000 } = {}) {
  const r = await runToExit({
    command: process.env.REDIS_CLI_BIN || 'redis-cli',
    args: ['-h', '127.0.0.1', '-p', String(port), ...(cluster ? ['-c'] : []), ...args],
    timeoutMs,
    name: 'redis-cli',
  });
  if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

async function clusterInfo(port) {
  const text = await cli(port, ['CLUSTER', 'INFO']);
  return Object.fromEntries(text.split(/\r?\n/).map((l) => l.split(':')));
}

/**
 * @param {object} [o]
 * @param {number} [o.nodeTimeoutMs=1000]
 * @param {number} [o.readyTimeoutMs=30000]
 */
export async function startRedisCluster({ nodeTimeoutMs = 1000, readyTimeoutMs = 30000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-'));
  const ports = await getFreePorts(6);
  const nodes = new Map(); // port -> proc
  // One node in its own directory; run again after a kill, it reads its
  // nodes.conf and rejoins (a failed-over primary comes back as a replica).
  const spawnNode = async (port) => {
    nodes.set(port, await spawnProcess({
      name: `redis-${port}`,
      command: process.env.REDIS_SERVER_BIN || 'redis-server',
      args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', path.join(dir, String(port)),
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', String(nodeTimeoutMs), '--save', '', '--appendonly', 'no',
        '--daemonize', 'no', '--loglevel', 'notice'],
      readyLine: /Ready to accept connections/,
    }));
  };
  const stop = async () => {
    await Promise.all([...nodes.values()].map((p) => p.stop({ timeoutMs: 5000 }).catch(() => {})));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      fs.mkdirSync(path.join(dir, String(port)));
      await spawnNode(port);
    }
    const create = await runToExit({
      command: process.env.REDIS_CLI_BIN || 'redis-cli',
      args: ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas', '1', '--cluster-yes'],
      timeoutMs: readyTimeoutMs,
      name: 'redis-cli --cluster create',
    });
    if (create.code !== 0) throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`);
    // Ready: every node says cluster_state:ok and every replica is in sync
    // with its primary (a failover must find the data there).
    const end = Date.now() + readyTimeoutMs;
    for (;;) {
      const infos = await Promise.all(ports.map(clusterInfo));
      const shards = await cli(ports[0], ['CLUSTER', 'SHARDS']);
      const synced = !/loading|fail/.test(shards) && (shards.match(/\breplica\b/g) || []).length === 3;
      if (infos.every((i) => i.cluster_state === 'ok') && synced) break;
      if (Date.now() > end) throw new Error('cluster did not become ok in time');
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const alive = () => [...nodes.entries()].filter(([, p]) => p.exitInfo() === null).map(([port]) => port);
  return {
    dir,
    ports,
    seedsUrl: `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
    /** The slot of a key, as the cluster computes it. */
    keyslot: async (key) => Number(await cli(alive()[0], ['CLUSTER', 'KEYSLOT', key])),
    /** Port of the primary owning slot (from any live node's view). */
    ownerOf: async (slot) => {
      const text = await cli(alive()[0], ['CLUSTER', 'SLOTS']);
      const lines = text.split(/\r?\n/);
      // redis-cli prints the nested reply flat: start, end, host, port, id, ...
      for (let i = 0; i + 3 < lines.length; i++) {
        const a = Number(lines[i]); const b = Number(lines[i + 1]);
        if (/^\d+$/.test(lines[i]) && /^\d+$/.test(lines[i + 1]) && lines[i + 2] === '127.0.0.1'
            && a <= slot && slot <= b) return Number(lines[i + 3]);
      }
      throw new Error(`no owner for slot ${slot}`);
    },
    primaries: async () => {
      const out = [];
      for (const port of alive()) {
        const role = await cli(port, ['ROLE']);
        if (role.startsWith('master')) out.push(port);
      }
      return out;
    },
    /** Every key matching pattern on every live primary: [{port, key}]. */
    scan: async (pattern) => {
      const out = [];
      for (const port of alive()) {
        const role = await cli(port, ['ROLE']);
        if (!role.startsWith('master')) continue;
        const text = await cli(port, ['--scan', '--pattern', pattern]);
        for (const key of text.split(/\r?\n/).filter(Boolean)) out.push({ port, key });
      }
      return out;
    },
    kill: (port) => nodes.get(port).kill('SIGKILL'),
    /** Starts a killed node again (same port, same directory). */
    restart: async (port) => {
      await nodes.get(port).stop({ timeoutMs: 5000 }).catch(() => {});
      await spawnNode(port);
    },
    waitOk: async (timeoutMs = 20000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const infos = await Promise.all(alive().map((p) => clusterInfo(p).catch(() => ({}))));
        if (infos.every((i) => i.cluster_state === 'ok')) return;
        if (Date.now() > end) throw new Error('cluster not ok in time');
        await sleep(100);
      }
    },
    alive,
    stop,
  };
}
