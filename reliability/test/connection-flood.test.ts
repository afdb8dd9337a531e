/**
 * A connection flood past `maxConnections`: 20 well-behaved clients hold every slot, 200 more
 * connect at once. Each of the 200 is closed without a byte, the 20 keep talking without losing one,
 * and once they leave the slots are all free again.
 */
import type net from 'node:net';
import {
  BaseRequestHandler,
  ForkingTCPServer,
  type RefusedReason,
  ThreadingTCPServer,
} from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import {
  closed,
  type EchoSession,
  echoSession,
  quietConnect,
  randomLines,
  servesNewClient,
  until,
  WAIT_MS,
  withDeadline,
} from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { LineEchoHandler } from './support/handlers.js';
import { fixture } from './support/server-process.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const SLOTS = 20;
const FLOOD = 200;

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

const servers = {
  ThreadingTCPServer: () => new ThreadingTCPServer(LOOPBACK, LineEchoHandler, { maxConnections: SLOTS }),
  ForkingTCPServer: () =>
    new ForkingTCPServer(LOOPBACK, UnusedHandler, {
      maxConnections: SLOTS,
      workers: 2,
      handlerModule: { module: fixture('forking-handlers.mjs'), exportName: 'LineEcho' },
    }),
};

/** Connections the listening socket holds now (Node's count; a forking parent hands them on). */
function openConnections(server: { socket: net.Server | undefined }): Promise<number> {
  return new Promise((resolve, reject) =>
    server.socket!.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

describe.each(Object.keys(servers) as Array<keyof typeof servers>)('a connection flood on %s', (name) => {
  it(`refuses ${FLOOD} connections past maxConnections ${SLOTS}, serves the ${SLOTS} holders, and frees every slot`, async () => {
    const server = servers[name]();
    const refused: RefusedReason[] = [];
    server.on('request-refused', (reason) => refused.push(reason));
    await server.listen();
    const loop = server.serveForever();
    try {
      const address = server.serverAddress;
      const holders: EchoSession[] = [];
      for (let i = 0; i < SLOTS; i++) {
        const session = await echoSession(address);
        await session.send(randomLines(1)[0]!); // served: it holds a slot
        holders.push(session);
      }
      const flood = await Promise.all(Array.from({ length: FLOOD }, () => quietConnect(address)));
      const bytesToRefused = await Promise.all(
        flood.map(async (socket) => {
          let bytes = 0;
          socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
          await withDeadline(closed(socket), 'the server closing a refused connection', 2 * WAIT_MS);
          return bytes;
        }),
      );
      expect(bytesToRefused.every((bytes) => bytes === 0)).toBe(true);
      await until(() => refused.length >= FLOOD, 'a request-refused event per refused connection');
      expect(refused).toEqual(new Array(FLOOD).fill('max-connections'));

      // The holders were never disturbed.
      await Promise.all(holders.map((session) => session.send(randomLines(100).join(''))));
      await Promise.all(holders.map((session) => session.finish()));
      expect(holders.every((session) => session.intact())).toBe(true);

      await until(() => server.activeRequestCount === 0, 'every slot free');
      const activeRequestsAfter = server.activeRequestCount;
      if (name === 'ThreadingTCPServer') expect(await openConnections(server)).toBe(0);
      expect(await servesNewClient(address)).toBe(true);
      recordFigures(`connection-flood-${name}`, {
        server: `${name}, maxConnections ${SLOTS}`,
        holders: SLOTS,
        floodConnections: FLOOD,
        refusedAndClosed: bytesToRefused.length,
        refusedEvents: refused.length,
        bytesSentToRefused: bytesToRefused.reduce((a, b) => a + b, 0),
        holderBytesEchoed: holders.reduce((sum, session) => sum + session.sentBytes(), 0),
        holderBytesLost: 0,
        activeRequestsAfter,
      });
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
  });
});
