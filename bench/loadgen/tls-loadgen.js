#!/usr/bin/env node
// tls-loadgen: the TLS scenarios' load generator, a Node.js process (node:tls; the C load generator
// has no TLS). Same contract as loadgen.c, so the runner treats both alike:
//
//   node tls-loadgen.js MODE --port P --ca FILE [options]     MODE: pingpong stream handshake
//
// It verifies every byte it gets back, bounds its own time, prints {"event":"measuring"} when the
// measured window starts, then one JSON line {"mode", "ok", "errors", "error", "value", "unit",
// "elapsed", "cpu", ...}; "cpu" is the fraction of one core it used in the measured window.
//
// - pingpong: --conns connections, each sends --size bytes and waits for their echo, again and again.
// - stream: --conns connections each send --bytes (written while the echo is read back), then end.
// - handshake: --conns at a time: connect, full handshake (no session resumption: no session is
//   ever offered back), --size-byte echo, close; source addresses spread over 127.0.1.1-64 so the
//   TIME_WAIT sockets never exhaust the ephemeral ports (as loadgen.c does).
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    ca: { type: 'string' },
    conns: { type: 'string' },
    size: { type: 'string', default: '64' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    timeout: { type: 'string', default: '60' },
    bytes: { type: 'string', default: String(64 << 20) },
  },
});
const mode = positionals[0] ?? '';
const host = String(values.host);
const port = Number(values.port);
const size = Number(values.size);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const totalBytes = Number(values.bytes);
const ca = readFileSync(String(values.ca));
const UNITS = { pingpong: 'msg/s', stream: 'MiB/s', handshake: 'handshakes/s' };
if (!(mode in UNITS) || !(port > 0)) {
  process.stderr.write('usage: tls-loadgen.js pingpong|stream|handshake --port P --ca FILE [options]\n');
  process.exit(2);
}

// The byte pattern every connection sends: byte i is i % 251 (a prime, so no record or chunk size
// lines up with it); any offset's expected bytes are a slice of PATTERN.
const PERIOD = 251;
const SPAN = 256 * 1024;
const PATTERN = Buffer.alloc(SPAN + PERIOD);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PERIOD;
/** The pattern bytes at stream offset `offset`, `length` ≤ SPAN of them. */
const expected = (/** @type {number} */ offset, /** @type {number} */ length) =>
  PATTERN.subarray(offset % PERIOD, (offset % PERIOD) + length);

let errors = 0;
let firstError = '';
/** @param {string} what */
function fail(what) {
  errors++;
  if (firstError === '') firstError = what;
}

/** @type {tls.ConnectionOptions & { localAddress?: string }} */
const base = { host, port, ca };
let sourceIndex = 0;
/** @param {boolean} spread @returns {tls.TLSSocket} */
function connect(spread) {
  const options = { ...base };
  if (spread) options.localAddress = `127.0.1.${(sourceIndex++ % 64) + 1}`;
  const socket = tls.connect(options);
  // tls.connect() does not pass `noDelay` on to the TCP socket.
  socket.setNoDelay(true);
  socket.on('error', (error) => fail(`${mode}: ${/** @type {any} */ (error).code ?? error.message}`));
  return socket;
}

let cpuAtMeasure = process.cpuUsage();
let measuring = false;
let count = 0;
function startMeasuring() {
  process.stdout.write('{"event":"measuring"}\n');
  cpuAtMeasure = process.cpuUsage();
  measuring = true;
  count = 0;
}
/** @param {number} value @param {number} elapsed @param {Record<string, number>} extra */
function finish(value, elapsed, extra) {
  const used = process.cpuUsage(cpuAtMeasure);
  const cpu = (used.user + used.system) / 1e6 / elapsed;
  const line = {
    mode,
    ok: errors === 0,
    errors,
    error: firstError,
    value,
    unit: UNITS[/** @type {keyof typeof UNITS} */ (mode)],
    elapsed,
    cpu,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.exit(0);
}

setTimeout(() => {
  fail(`timed out after ${values.timeout} s`);
  finish(0, Number(values.timeout), {});
}, Number(values.timeout) * 1000);

const conns = Number(values.conns ?? (mode === 'stream' ? 4 : mode === 'handshake' ? 16 : 64));

if (mode === 'pingpong') {
  let stopped = false;
  for (let c = 0; c < conns; c++) {
    const socket = connect(false);
    let seq = 0;
    let got = 0;
    const send = () => socket.write(expected(seq * size, size));
    socket.on('secureConnect', send);
    socket.on('data', (chunk) => {
      if (!chunk.equals(expected(seq * size + got, chunk.length))) fail('pingpong: echoed bytes differ');
      got += chunk.length;
      if (got < size) return;
      if (got > size) fail('pingpong: more bytes than sent');
      got = 0;
      seq++;
      if (measuring) count++;
      if (stopped) socket.destroy();
      else send();
    });
    socket.on('close', () => {
      if (!stopped) fail('pingpong: the server closed a connection');
    });
  }
  setTimeout(() => {
    startMeasuring();
    const t0 = performance.now();
    setTimeout(() => {
      const elapsed = (performance.now() - t0) / 1000;
      stopped = true;
      finish(count / elapsed, elapsed, { count, conns, size });
    }, duration * 1000);
  }, warmup * 1000);
} else if (mode === 'stream') {
  startMeasuring();
  const t0 = performance.now();
  let received = 0;
  let done = 0;
  const CHUNK = 64 * 1024;
  for (let c = 0; c < conns; c++) {
    const socket = connect(false);
    let sent = 0;
    let got = 0;
    const pump = () => {
      while (sent < totalBytes) {
        const n = Math.min(CHUNK, totalBytes - sent);
        const more = socket.write(expected(sent, n));
        sent += n;
        if (!more) return;
      }
      socket.end();
    };
    socket.on('secureConnect', pump);
    socket.on('drain', pump);
    socket.on('data', (chunk) => {
      for (let at = 0; at < chunk.length; at += SPAN) {
        const piece = chunk.subarray(at, at + SPAN);
        if (!piece.equals(expected(got + at, piece.length))) fail('stream: echoed bytes differ');
      }
      got += chunk.length;
      received += chunk.length;
    });
    socket.on('close', () => {
      if (got !== totalBytes) fail(`stream: got ${got} of ${totalBytes} bytes back`);
      if (++done === conns) {
        const elapsed = (performance.now() - t0) / 1000;
        finish(received / 1048576 / elapsed, elapsed, { bytes: received, conns, bytes_per_conn: totalBytes });
      }
    });
  }
} else {
  let stopped = false;
  let t0 = 0;
  const one = () => {
    if (stopped) return;
    const socket = connect(true);
    let got = 0;
    socket.on('secureConnect', () => socket.write(expected(0, size)));
    socket.on('data', (chunk) => {
      if (!chunk.equals(expected(got, chunk.length))) fail('handshake: echoed bytes differ');
      got += chunk.length;
      if (got === size) {
        if (measuring) count++;
        socket.end();
      }
    });
    socket.on('close', () => {
      if (got !== size) fail(`handshake: got ${got} of ${size} bytes back before the close`);
      one();
    });
  };
  for (let c = 0; c < conns; c++) one();
  setTimeout(() => {
    startMeasuring();
    t0 = performance.now();
    setTimeout(() => {
      const elapsed = (performance.now() - t0) / 1000;
      stopped = true;
      finish(count / elapsed, elapsed, { count, concurrency: conns, size });
    }, duration * 1000);
  }, warmup * 1000);
}
