/**
 * Slowloris: clients that send a few bytes, one at a time, and never finish their line. With the
 * handler's `timeout` (seconds without data per read), the server drops each of them once it has
 * been silent that long, and keeps serving everyone else meanwhile.
 */
import type net from 'node:net';
import { TCPServer, ThreadingTCPServer, TimeoutError } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import {
  closed,
  echoLines,
  quietConnect,
  randomLines,
  servesNewClient,
  sleep,
  until,
  WAIT_MS,
  withDeadline,
} from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { LineEchoHandler } from './support/handlers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** The line echo with a 2 s read timeout (well above any stall of a busy machine). */
class TimedLineEcho extends LineEchoHandler {
  override timeout = 2;
}

/** A half-second read timeout, for the one-at-a-time server. */
class QuickTimedLineEcho extends LineEchoHandler {
  override timeout = 0.5;
}

/** Sends `bytes` of a request line one at a time, `gapMs` apart, never the LF; resolves with the send time of the last. */
async function trickle(socket: net.Socket, bytes: number, gapMs: number): Promise<number> {
  const text = 'GET / HTTP/1.1';
  for (let i = 0; i < bytes; i++) {
    if (i > 0) await sleep(gapMs);
    if (socket.destroyed) break;
    socket.write(text[i % text.length]!);
  }
  return Date.now();
}

describe('slowloris with timeout', () => {
  it('a threading server drops 25 stalled clients after `timeout` and serves 5 others meanwhile, losing nothing', async () => {
    const server = new ThreadingTCPServer(LOOPBACK, TimedLineEcho, { maxConnections: 30 });
    const errors: unknown[] = [];
    server.on('request-error', (error) => errors.push(error));
    await server.listen();
    const loop = server.serveForever();
    try {
      const address = server.serverAddress;
      const attackers = await Promise.all(Array.from({ length: 25 }, () => quietConnect(address)));
      const attacks = attackers.map(async (socket) => {
        const lastByte = await trickle(socket, 5, 50);
        await withDeadline(closed(socket), 'the server dropping a slowloris client', 2 * WAIT_MS);
        return Date.now() - lastByte;
      });
      // Well-behaved clients, while all 25 hold their slots (25 + 5 = maxConnections).
      const good = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const lines = randomLines(200);
          return { sent: lines.join(''), received: await echoLines(address, lines) };
        }),
      );
      for (const { sent, received } of good) expect(received).toBe(sent);
      const dropDelays = (await Promise.all(attacks)).sort((a, b) => a - b);

      expect(errors).toHaveLength(25);
      for (const error of errors) expect(error).toBeInstanceOf(TimeoutError);
      await until(() => server.activeRequestCount === 0, 'no request left running');
      expect(await servesNewClient(address)).toBe(true);
      recordFigures('slowloris-threading', {
        server: 'ThreadingTCPServer, maxConnections 30, handler timeout 2 s',
        slowlorisClients: 25,
        droppedByServer: dropDelays.length,
        timeoutsReported: errors.length,
        dropAfterLastByteMs: {
          min: dropDelays[0],
          median: dropDelays[Math.floor(dropDelays.length / 2)],
          max: dropDelays[dropDelays.length - 1],
        },
        wellBehavedClients: 5,
        wellBehavedBytesLost: 0,
      });
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
  });

  it('a one-at-a-time TCPServer gets past 3 stalled clients in turn and then serves the one behind them', async () => {
    const server = new TCPServer(LOOPBACK, QuickTimedLineEcho);
    const errors: unknown[] = [];
    server.on('request-error', (error) => errors.push(error));
    await server.listen();
    const loop = server.serveForever();
    try {
      const address = server.serverAddress;
      const attackers = await Promise.all(Array.from({ length: 3 }, () => quietConnect(address)));
      const attacks = attackers.map(async (socket) => {
        await trickle(socket, 3, 20);
        await withDeadline(closed(socket), 'the server dropping a slowloris client', 2 * WAIT_MS);
      });
      // Queued behind the three: served once each of them has been silent for `timeout`.
      const lines = randomLines(100);
      expect(await withDeadline(echoLines(address, lines), 'the echo behind the stalled clients')).toBe(
        lines.join(''),
      );
      await Promise.all(attacks);
      expect(errors).toHaveLength(3);
      for (const error of errors) expect(error).toBeInstanceOf(TimeoutError);
      expect(await servesNewClient(address)).toBe(true);
      expect(server.activeRequestCount).toBe(0);
      recordFigures('slowloris-sync', {
        server: 'TCPServer (one request at a time), handler timeout 0.5 s',
        slowlorisClients: 3,
        droppedByServer: 3,
        timeoutsReported: errors.length,
        wellBehavedBytesLost: 0,
      });
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
  });
});
