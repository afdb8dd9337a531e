// Cross-node chat figures for @sockserve/redis (run after `npm run build`):
//   node packages/redis/bench/cross-node.mjs [--clients 200] [--lines 2000] [--pings 500]
// Starts its own redis-server (free port, no persistence), then measures, in one run:
// - fan-out: CLIENTS clients in #lobby, 4 senders sending LINES lines each; lines delivered per second
//   to all receivers, for 1 node with MemoryHub and for 2 nodes sharing Redis (clients alternate);
// - latency from one node to another: a line from a client on node A until a client on node B has it,
//   one at a time, PINGS times (median and p99), next to the same on one MemoryHub node.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { ThreadingTCPServer } from '@sockserve/core';
import { ChatHandler, MemoryHub } from '@sockserve/handlers';
import { RedisHub } from '@sockserve/redis';

const { values } = parseArgs({
  options: { clients: { type: 'string' }, lines: { type: 'string' }, pings: { type: 'string' } },
});
const CLIENTS = Number(values.clients ?? 200);
const LINES = Number(values.lines ?? 2000);
const PINGS = Number(values.pings ?? 500);
const SENDERS = 4;

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server failed: ${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function startNodes(hubs) {
  const servers = [];
  for (const hub of hubs) {
    const server = new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with({ hub }));
    await server.listen();
    const loop = server.serveForever();
    servers.push({ server, loop, port: server.serverAddress.port });
  }
  return servers;
}

async function stopNodes(servers) {
  for (const { server, loop } of servers) {
    await server.shutdown({ deadline: 1 });
    await server.serverClose();
    await loop;
  }
}

/** A client that counts lines and can wait for a line matching a prefix. */
function client(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const state = { socket, lines: 0, tail: '', waiter: undefined };
    socket.setEncoding('utf8');
    socket.on('data', (text) => {
      const data = state.tail + text;
      const parts = data.split('\n');
      state.tail = parts.pop();
      state.lines += parts.length;
      if (state.waiter) for (const line of parts) state.waiter(line);
    });
    socket.once('data', () => resolve(state));
  });
}

async function connectAll(ports, count) {
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(await client(ports[i % ports.length]));
  await new Promise((resolve) => setTimeout(resolve, 500)); // join notices settle
  for (const c of clients) c.lines = 0;
  return clients;
}

async function fanOut(ports) {
  const clients = await connectAll(ports, CLIENTS);
  const senders = clients.slice(0, SENDERS);
  const expected = SENDERS * LINES * (CLIENTS - 1);
  const started = performance.now();
  for (const [s, sender] of senders.entries()) {
    (async () => {
      for (let i = 0; i < LINES; i += 32) {
        let batch = '';
        for (let j = i; j < Math.min(LINES, i + 32); j++) batch += `s${s} line ${j}\n`;
        if (!sender.socket.write(batch)) await new Promise((r) => sender.socket.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
    })();
  }
  const deadline = Date.now() + 120_000;
  while (clients.reduce((sum, c) => sum + c.lines, 0) < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const got = clients.reduce((sum, c) => sum + c.lines, 0);
  for (const c of clients) c.socket.destroy();
  return { perSecond: got / seconds, complete: got >= expected };
}

async function latency(portA, portB) {
  const a = await client(portA);
  const b = await client(portB);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = [];
  for (let i = 0; i < PINGS; i++) {
    const got = new Promise((resolve) => {
      b.waiter = (line) => {
        if (line.endsWith(` ping ${i}`)) resolve();
      };
    });
    const t0 = performance.now();
    a.socket.write(`ping ${i}\n`);
    await got;
    samples.push(performance.now() - t0);
  }
  a.socket.destroy();
  b.socket.destroy();
  samples.sort((x, y) => x - y);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { median: at(0.5), p99: at(0.99) };
}

const redis = await startRedis();
try {
  const memory = await startNodes([new MemoryHub()]);
  const single = await fanOut([memory[0].port]);
  const singleLatency = await latency(memory[0].port, memory[0].port);
  await stopNodes(memory);

  const hubs = [new RedisHub({ url: redis.url }), new RedisHub({ url: redis.url })];
  await Promise.all(hubs.map((hub) => hub.ready()));
  const nodes = await startNodes(hubs);
  const cross = await fanOut(nodes.map((n) => n.port));
  const crossLatency = await latency(nodes[0].port, nodes[1].port);
  await stopNodes(nodes);
  for (const hub of hubs) await hub.quit();

  const f = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`fan-out, ${CLIENTS} clients, ${SENDERS} senders x ${LINES} lines:`);
  console.log(
    `  1 node, MemoryHub:        ${f(single.perSecond)} lines/s delivered${single.complete ? '' : ' (INCOMPLETE)'}`,
  );
  console.log(
    `  2 nodes, RedisHub:        ${f(cross.perSecond)} lines/s delivered${cross.complete ? '' : ' (INCOMPLETE)'}`,
  );
  console.log(`latency of one line, ${PINGS} one at a time:`);
  console.log(
    `  same node, MemoryHub:     median ${singleLatency.median.toFixed(3)} ms, p99 ${singleLatency.p99.toFixed(3)} ms`,
  );
  console.log(
    `  node to node, RedisHub:   median ${crossLatency.median.toFixed(3)} ms, p99 ${crossLatency.p99.toFixed(3)} ms`,
  );
} finally {
  redis.child.kill('SIGTERM');
}
