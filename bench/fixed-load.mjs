#!/usr/bin/env node
// A fixed number of requests on one keep-alive connection, one after the
// other, for the cost counters (bench/cost.sh): callgrind and strace count
// what the server does for exactly N requests, so the client must send
// exactly N and wait for each answer. Node built-ins only.
//
//   node bench/fixed-load.mjs URL COUNT [TOKEN]
//
// POSTs bench/post.lua's body (the same bytes wrk sends) to URL, COUNT
// times, with "Authorization: Bearer TOKEN" when TOKEN is given, or GETs
// URL when it ends in /healthz. Exits 1 on any answer other than 200 or on
// 30 seconds without an answer (per answer, not for the whole batch: under
// callgrind thousands of requests take minutes); prints "fixed_load requests=N".
import net from 'node:net';
import { readFileSync } from 'node:fs';

const [url, countArg, token] = process.argv.slice(2);
if (!url || !countArg) {
  console.error('usage: fixed-load.mjs URL COUNT [TOKEN]');
  process.exit(2);
}
const count = Number(countArg);
const u = new URL(url);
const lua = readFileSync(new URL('./post.lua', import.meta.url), 'utf8');
const body = /^wrk\.body = '(.*)'$/m.exec(lua)[1];
const get = u.pathname.endsWith('/healthz');
const head = [
  `${get ? 'GET' : 'POST'} ${u.pathname} HTTP/1.1`,
  `Host: ${u.host}`,
  ...(get ? [] : ['Content-Type: application/json', 'Accept: application/json, text/event-stream',
                  `Content-Length: ${Buffer.byteLength(body)}`]),
  ...(token ? [`Authorization: Bearer ${token}`] : []),
].join('\r\n') + '\r\n\r\n';
const request = Buffer.from(get ? head : head + body);

const sock = net.connect(Number(u.port), u.hostname);
sock.setNoDelay(true);
let done = 0;
let pending = Buffer.alloc(0);
const stallMs = 30000;
const stall = setTimeout(() => { console.error(`fixed-load: no answer in ${stallMs / 1000} s after ${done} answers`); process.exit(1); }, stallMs);

// One answer is a head plus Content-Length bytes (both servers answer with a
// length here); anything else is an error.
function take() {
  for (;;) {
    const end = pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const text = pending.subarray(0, end).toString('latin1');
    const status = Number(text.split(' ')[1]);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
    if (!m) { console.error(`fixed-load: answer without Content-Length: ${text.split('\r\n')[0]}`); process.exit(1); }
    const total = end + 4 + Number(m[1]);
    if (pending.length < total) return;
    if (status !== 200) { console.error(`fixed-load: answer ${status}: ${pending.subarray(end + 4, total)}`); process.exit(1); }
    pending = pending.subarray(total);
    if (++done === count) {
      clearTimeout(stall);
      console.log(`fixed_load requests=${done}`);
      sock.end();
      return;
    }
    stall.refresh();
    sock.write(request);
  }
}
sock.on('connect', () => sock.write(request));
sock.on('data', (d) => { pending = Buffer.concat([pending, d]); take(); });
sock.on('error', (e) => { console.error(`fixed-load: ${e.message}`); process.exit(1); });
sock.on('close', () => { if (done < count) { console.error(`fixed-load: closed after ${done}`); process.exit(1); } });
