// One run of the `crossnode` scenario (bench/lib/catalog.js), in one process:
//   node bench/servers/cross-node.js --hub memory|redis [--redis-server PATH] [--redis-cpu N]
//     [--clients 200] [--senders 4] [--lines 2000] [--pings 500]
// `--hub memory`: one ThreadingTCPServer + ChatHandler node with a MemoryHub. `--hub redis`: two nodes,
// each with its own RedisHub, sharing a redis-server this script starts (free port, no persistence,
// pinned to CPU `--redis-cpu` with taskset when given) and stops. Both nodes and all the clients run
// in this process. It measures:
// - fan-out: CLIENTS clients in #lobby (alternating between the nodes), SENDERS of them send LINES
//   lines each, 32 per write; lines delivered per second to all the others, after an unmeasured
//   warm-up of a tenth of the lines;
// - latency: one line at a time, PINGS times, from a client on the first node until a client on the
//   last node has it (the same node for MemoryHub): median and p99, in milliseconds.
// Prints one JSON line: {"ok", "value" (lines/s), "metrics": {"latencyMedian", "latencyP99"},
// "delivered", "expected", "dropped", "error"}. Every wait is bounded; the whole run too.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ThreadingTCPServer } from '@sockserve/core';
import { ChatHandler, MemoryHub } from '@sockserve/handlers';
import { HOST } from './ready.js';

const { values } = parseArgs({
  options: {
    hub: { type: 'string', default: 'memory' },
    'redis-server': { type: 'string', default: 'redis-server' },
    'redis-cpu': { type: 'string' },
    clients: { type: 'string', default: '200' },
    senders: { type: 'string', default: '4' },
    lines: { type: 'string', default: '2000' },
    pings: { type: 'string', default: '500' },
  },
});
const CLIENTS = Number(values.clients);
const SENDERS = Number(values.senders);
const LINES = Number(values.lines);
const PINGS = Number(values.pings);
/** Lines per write of a sender. */
const BATCH = 32;
const CONNECT_TIMEOUT_MS = 10_000;
const FAN_OUT_TIMEOUT_MS = 60_000;
const PING_TIMEOUT_MS = 5_000;
const REDIS_START_TIMEOUT_MS = 10_000;
/** The whole run, whatever happens. */
const RUN_TIMEOUT_MS = 150_000;

/** @param {Record<string, unknown>} result */
function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** @type {import('node:child_process').ChildProcess | undefined} */
let redisChild;
const watchdog = setTimeout(() => {
  report({ ok: false, error: `the run took longer than ${RUN_TIMEOUT_MS / 1000} s` });
  redisChild?.kill('SIGKILL');
  process.exit(1);
}, RUN_TIMEOUT_MS);
process.on('SIGTERM', () => {
  redisChild?.kill('SIGKILL');
  process.exit(1);
});

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, HOST, () => resolve(undefined)));
  const address = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  return address.port;
}

/** Starts redis-server on a free loopback port; resolves with its URL once it accepts connections. */
async function startRedis() {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  const cpu = values['redis-cpu'];
  const argv =
    cpu === undefined
      ? [values['redis-server'], ...args]
      : ['taskset', '-c', cpu, values['redis-server'], ...args];
  const child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  redisChild = child;
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start in time: ${out}`)),
      REDIS_START_TIMEOUT_MS,
    );
    child.stdout?.on('data', (chunk) => {
      out = (out + chunk).slice(-2000);
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${values['redis-server']}: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (code ${code}): ${out.trim()}`));
    });
  });
  return `redis://${HOST}:${port}`;
}

/** @param {import('@sockserve/handlers').ChatHub[]} hubs */
async function startNodes(hubs) {
  const nodes = [];
  for (const hub of hubs) {
    const server = new ThreadingTCPServer({ host: HOST, port: 0 }, ChatHandler.with({ hub }));
    await server.listen();
    const loop = server.serveForever();
    nodes.push({ server, loop, port: server.serverAddress.port });
  }
  return nodes;
}

/**
 * A client that counts the lines it gets and can watch for one; `dropped` when the server closed it
 * before this script did (`ended`).
 * @typedef {{ socket: net.Socket, lines: number, tail: string, watch: ((line: string) => void) | undefined, dropped: boolean, ended: boolean }} Client
 */

/** @param {number} port @returns {Promise<Client>} */
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    /** @type {Client} */
    const client = { socket, lines: 0, tail: '', watch: undefined, dropped: false, ended: false };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no welcome from ${HOST}:${port} in ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (text) => {
      const parts = (client.tail + text).split('\n');
      client.tail = parts.pop() ?? '';
      client.lines += parts.length;
      if (client.watch) for (const line of parts) client.watch(line);
    });
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(client);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${HOST}:${port}: ${error.message}`));
    });
    socket.once('close', () => {
      if (!client.ended) client.dropped = true;
    });
  });
}

/** Closes clients from this side (not counted as dropped). @param {Client[]} clients */
function close(clients) {
  for (const c of clients) {
    c.ended = true;
    c.socket.destroy();
  }
}

/** @param {Client[]} clients */
const delivered = (clients) => clients.reduce((sum, c) => sum + c.lines, 0);

/**
 * Sends `lines` lines from each sender and waits (bounded) until every other client has them.
 * @param {Client[]} clients @param {number} lines
 */
async function fanOut(clients, lines) {
  for (const c of clients) c.lines = 0;
  const expected = SENDERS * lines * (clients.length - 1);
  const started = performance.now();
  const deadline = Date.now() + FAN_OUT_TIMEOUT_MS;
  for (const [s, sender] of clients.slice(0, SENDERS).entries()) {
    void (async () => {
      for (let i = 0; i < lines && Date.now() < deadline; i += BATCH) {
        let batch = '';
        for (let j = i; j < Math.min(lines, i + BATCH); j++) batch += `s${s} line ${j}\n`;
        if (!sender.socket.write(batch)) {
          await Promise.race([new Promise((r) => sender.socket.once('drain', r)), sleep(FAN_OUT_TIMEOUT_MS)]);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
  }
  while (delivered(clients) < expected && Date.now() < deadline && !clients.some((c) => c.dropped)) {
    await sleep(10);
  }
  const seconds = (performance.now() - started) / 1000;
  return { delivered: delivered(clients), expected, seconds };
}

/** @param {Client} a @param {Client} b */
async function latency(a, b) {
  /** @type {number[]} */
  const samples = [];
  for (let i = 0; i < PINGS; i++) {
    const suffix = ` ping ${i}`;
    /** @type {() => void} */
    let arrived = () => {};
    const got = new Promise((resolve) => {
      arrived = () => resolve(true);
    });
    b.watch = (line) => {
      if (line.endsWith(suffix)) arrived();
    };
    const t0 = performance.now();
    a.socket.write(`ping ${i}\n`);
    if (!(await Promise.race([got, sleep(PING_TIMEOUT_MS, false)]))) {
      throw new Error(`line ${i} did not arrive in ${PING_TIMEOUT_MS / 1000} s`);
    }
    samples.push(performance.now() - t0);
  }
  b.watch = undefined;
  samples.sort((x, y) => x - y);
  const at = (/** @type {number} */ q) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { latencyMedian: at(0.5), latencyP99: at(0.99) };
}

async function main() {
  /** @type {import('@sockserve/handlers').ChatHub[]} */
  let hubs;
  /** @type {(() => Promise<void>)[]} */
  const cleanup = [];
  if (values.hub === 'redis') {
    const { RedisHub } = await import('@sockserve/redis');
    const url = await startRedis();
    const redisHubs = [new RedisHub({ url }), new RedisHub({ url })];
    await Promise.race([
      Promise.all(redisHubs.map((hub) => hub.ready())),
      sleep(REDIS_START_TIMEOUT_MS).then(() => {
        throw new Error(`RedisHub not ready in ${REDIS_START_TIMEOUT_MS / 1000} s`);
      }),
    ]);
    for (const hub of redisHubs) cleanup.push(() => hub.quit());
    hubs = redisHubs;
  } else if (values.hub === 'memory') {
    hubs = [new MemoryHub()];
  } else {
    throw new Error(`--hub must be memory or redis, not ${values.hub}`);
  }
  const nodes = await startNodes(hubs);
  const portAt = (/** @type {number} */ i) => /** @type {number} */ (nodes[i % nodes.length]?.port);
  /** @type {Client[]} */
  const clients = [];
  try {
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect(portAt(i)));
    await sleep(500); // the join notices settle
    const warm = await fanOut(clients, Math.ceil(LINES / 10)); // warm-up, not measured
    if (warm.delivered < warm.expected) {
      const dropped = clients.filter((c) => c.dropped).length;
      throw new Error(
        `warm-up: ${warm.delivered} of ${warm.expected} lines delivered, ${dropped} clients dropped`,
      );
    }
    await sleep(200);
    const run = await fanOut(clients, LINES);
    const dropped = clients.filter((c) => c.dropped).length;
    // Latency between two clients alone in #lobby: one on the first node, one on the last.
    close(clients.splice(0));
    const a = await connect(portAt(0));
    clients.push(a);
    const b = await connect(portAt(nodes.length - 1));
    clients.push(b);
    await sleep(300); // the leave and join notices settle
    const metrics = await latency(a, b);
    const complete = run.delivered >= run.expected;
    const ok = complete && dropped === 0;
    report({
      ok,
      value: run.delivered / run.seconds,
      metrics,
      delivered: run.delivered,
      expected: run.expected,
      dropped,
      ...(ok
        ? {}
        : {
            error: `${run.delivered} of ${run.expected} lines delivered, ${dropped} of ${CLIENTS} clients dropped`,
          }),
    });
  } finally {
    close(clients);
    for (const { server, loop } of nodes) {
      await server.shutdown({ deadline: 1 });
      await server.serverClose();
      await loop;
    }
    for (const step of cleanup) await step();
  }
}

try {
  await main();
} catch (error) {
  report({ ok: false, error: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
} finally {
  redisChild?.kill('SIGTERM');
  clearTimeout(watchdog);
}
