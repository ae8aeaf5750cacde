// A throw-away certificate authority and one server certificate for
// localhost / 127.0.0.1, made with Debian's openssl in dir. Returns a
// function mapping a file name (ca.pem, doc.pem, doc.key) to its path.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function makeCerts(dir, caName) {
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${caName}`);
  run('req', ...ec, '-keyout', 'doc.key', '-out', 'doc.csr', '-subj', '/CN=doc');
  fs.writeFileSync(path.join(dir, 'doc.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'doc.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'doc.pem', '-days', '2', '-extfile', 'doc.ext');
  return (f) => path.join(dir, f);
}
