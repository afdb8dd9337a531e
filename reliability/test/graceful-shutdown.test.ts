/**
 * Graceful shutdown under load: 30 clients are in the middle of their replies when `shutdown({
 * deadline })` is called. Every one of them gets its whole reply, the shutdown resolves once they are
 * done, a client that connects during the shutdown is served by the next `serveForever()`, and the
 * server then closes cleanly.
 */
import { BaseRequestHandler, ForkingTCPServer, ThreadingTCPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { connect, type TcpAddress, WAIT_MS, withDeadline } from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { TWO_HALVES_LINE, TwoHalvesHandler } from './support/handlers.js';
import { fixture } from './support/server-process.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const CLIENTS = 30;
const LINES = 400;

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

const servers = {
  ThreadingTCPServer: () => new ThreadingTCPServer(LOOPBACK, TwoHalvesHandler),
  ForkingTCPServer: () =>
    new ForkingTCPServer(LOOPBACK, UnusedHandler, {
      workers: 2,
      handlerModule: { module: fixture('forking-handlers.mjs'), exportName: 'TwoHalves' },
    }),
};

/** A client of TwoHalvesHandler: `firstHalf` resolves once half the reply is in; `go()` asks for the rest. */
async function twoHalvesClient(address: TcpAddress, lines: number) {
  const socket = await connect(address);
  const half = Math.floor(lines / 2) * TWO_HALVES_LINE.length;
  const chunks: Buffer[] = [];
  let length = 0;
  let onHalf!: () => void;
  const firstHalf = new Promise<void>((resolve) => (onHalf = resolve));
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= half) onHalf();
  });
  const all = new Promise<string>((resolve, reject) => {
    socket.once('close', () => resolve(String(Buffer.concat(chunks))));
    socket.once('error', reject);
  });
  all.catch(() => {});
  socket.write(`${lines}\n`);
  return {
    firstHalf,
    go: () => socket.end('go\n'),
    all,
  };
}

describe.each(Object.keys(servers) as Array<keyof typeof servers>)('graceful shutdown, %s', (name) => {
  it(`${CLIENTS} clients mid-reply get all of it; shutdown({ deadline }) resolves; the server serves again`, async () => {
    const server = servers[name]();
    try {
      await runScenario(server);
    } finally {
      // After a failure: close what is left without waiting for clients that will not finish.
      if (server.state !== 'closed') {
        await server.shutdown({ deadline: 0 });
        await server.serverClose();
      }
    }
  }, 60_000);
});

async function runScenario(
  server: ThreadingTCPServer | ForkingTCPServer,
  name = server.constructor.name,
): Promise<void> {
  await server.listen();
  const address = server.serverAddress;
  const firstLoop = server.serveForever();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => twoHalvesClient(address, LINES)));
  await withDeadline(Promise.all(clients.map((client) => client.firstHalf)), 'the first halves');
  expect(server.activeRequestCount).toBe(CLIENTS);

  // Shut down while every reply is half sent; then let the clients ask for their second halves.
  let shutdownResolved = false;
  const shutdown = server.shutdown({ deadline: 60 }).then(() => (shutdownResolved = true));
  await withDeadline(firstLoop, 'the serve loop stopping');
  const lateClient = await twoHalvesClient(address, 10); // arrives during the shutdown
  expect(shutdownResolved).toBe(false);
  for (const client of clients) client.go();
  const replies = await withDeadline(
    Promise.all(clients.map((client) => client.all)),
    'the full replies',
    2 * WAIT_MS,
  );
  await withDeadline(shutdown, 'shutdown({ deadline }) resolving', 2 * WAIT_MS);
  const expected = TWO_HALVES_LINE.repeat(LINES);
  expect(replies.filter((reply) => reply === expected)).toHaveLength(CLIENTS);
  expect(server.activeRequestCount).toBe(0);

  // The client that came during the shutdown, and a new one, are served by the next loop.
  const secondLoop = server.serveForever();
  await withDeadline(lateClient.firstHalf, 'the late client served by the next loop');
  lateClient.go();
  expect(await withDeadline(lateClient.all, 'the late client reply')).toBe(TWO_HALVES_LINE.repeat(10));
  const newClient = await twoHalvesClient(address, 10);
  newClient.go();
  expect(await withDeadline(newClient.all, 'a new client reply')).toBe(TWO_HALVES_LINE.repeat(10));
  await server.shutdown();
  await withDeadline(server.serverClose(), 'serverClose()');
  await secondLoop;
  expect(server.state).toBe('closed');
  recordFigures(`graceful-shutdown-${name}`, {
    server: name,
    clientsMidReply: CLIENTS,
    bytesPerReply: expected.length,
    fullRepliesReceived: replies.filter((reply) => reply === expected).length,
    bytesLost:
      CLIENTS * expected.length -
      replies.reduce((sum, reply) => sum + (reply === expected ? reply.length : 0), 0),
    clientArrivingDuringShutdownServed: true,
  });
}
