// Free loopback TCP ports for test processes.
//
// The kernel picks an unused port when we listen on port 0; we read it and
// close the socket. Another process could grab it before our child binds it,
// but on a test machine that race is rare and shows up as a clear bind error.
//
// Closed, a port is free to be picked again, and the kernel sometimes does
// pick it again at once: a proxy once got the same port for FORWARD_AUTH_ADDR
// and LISTEN_ADDR from two calls and refused to start. So no port is handed
// out twice by one test process (the last RECENT_MAX are remembered).

import net from 'node:net';

const RECENT_MAX = 512;
const recent = new Set();

function remember(port) {
  recent.add(port);
  if (recent.size > RECENT_MAX) recent.delete(recent.values().next().value);
}

function listenOnce(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => resolve(srv));
  });
}

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 * @param {string} [host='127.0.0.1']
 * @returns {Promise<number>}
 */
export async function getFreePort(host = '127.0.0.1') {
  return (await getFreePorts(1, host))[0];
}

/**
 * Returns `count` distinct free ports (each checked while the others are held).
 * @param {number} count
 * @returns {Promise<number[]>}
 */
export async function getFreePorts(count, host = '127.0.0.1') {
  const servers = [];
  const ports = [];
  try {
    // Held while we look, so they are distinct; one handed out before is
    // held too (the kernel will not give it again meanwhile) and skipped.
    for (let tries = 0; ports.length < count; tries += 1) {
      if (tries > count + 64) throw new Error(`no ${count} fresh free ports on ${host}`);
      const srv = await listenOnce(host);
      servers.push(srv);
      const { port } = srv.address();
      if (!recent.has(port)) ports.push(port);
    }
    ports.forEach(remember);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}
