// Free loopback TCP ports for test processes.
//
// The kernel picks an unused port when we listen on port 0; we read it and
// close the socket. Another process could grab it before our child binds it,
// but on a test machine that race is rare and shows up as a clear bind error.

import net from 'node:net';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 * @param {string} [host='127.0.0.1']
 * @returns {Promise<number>}
 */
export function getFreePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * Returns `count` distinct free ports (each checked while the others are held).
 * @param {number} count
 * @returns {Promise<number[]>}
 */
export async function getFreePorts(count, host = '127.0.0.1') {
  const servers = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const srv = net.createServer();
      srv.unref();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ port: 0, host, exclusive: true }, resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}
