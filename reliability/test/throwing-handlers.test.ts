/**
 * 1,000 handlers that throw (in setup(), synchronously in handle(), after an await in handle(), in
 * finish()): every error reaches handleError, every connection is closed, no request stays counted
 * as active, and the server goes on serving.
 */
import { createSocket } from 'node:dgram';
import type net from 'node:net';
import {
  DatagramRequestHandler,
  type InetAddress,
  StreamRequestHandler,
  ThreadingTCPServer,
  ThreadingUDPServer,
  UDPServer,
} from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { udpRoundTrip } from '../../test-support/fixtures.js';
import { closed, inBatches, quietConnect, until, WAIT_MS, withDeadline } from './support/clients.js';
import { recordFigures } from './support/figures.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const REQUESTS = 1000;
const WAYS = ['setup', 'handle', 'async', 'finish'] as const;

/** Reads a line; `ok` lines are echoed until EOF, anything else names where to throw. */
class ThrowingHandler extends StreamRequestHandler {
  private way = '';

  override async setup(): Promise<void> {
    super.setup();
    this.way = String(await this.rfile.readline()).trim();
    if (this.way === 'setup') throw new Error('setup threw on purpose');
  }

  override handle(): void | Promise<void> {
    if (this.way === 'handle') throw new Error('handle threw on purpose');
    if (this.way === 'async') {
      return this.wfile.write('about to throw\n').then(() => {
        throw new Error('handle rejected on purpose');
      });
    }
    if (this.way === 'ok') return this.echo();
  }

  override finish(): void {
    if (this.way === 'finish') throw new Error('finish threw on purpose');
  }

  private async echo(): Promise<void> {
    await this.wfile.write('ok\n');
    for (;;) {
      const line = await this.rfile.readline();
      if (line.length === 0) return;
      await this.wfile.write(line);
    }
  }
}

/** Answers `ok` datagrams with their bytes and throws on any other. */
class ThrowingDatagramHandler extends DatagramRequestHandler {
  override handle(): void {
    if (String(this.packet) !== 'ok') throw new Error('datagram handler threw on purpose');
    void this.wfile.write(this.packet);
  }
}

/** Counts what reaches handleError (the hook itself, as a subclass would). */
class CountingTCPServer extends ThreadingTCPServer {
  handled = 0;
  protected override handleError(request: net.Socket, clientAddress: InetAddress, error: unknown): void {
    this.handled++;
    super.handleError(request, clientAddress, error);
  }
}

describe('1,000 throwing handlers', () => {
  it('TCP: every throw reaches handleError, every connection closes, none stays active, the server still serves', async () => {
    const server = new CountingTCPServer(LOOPBACK, ThrowingHandler);
    const errors: unknown[] = [];
    server.on('request-error', (error) => errors.push(error));
    let started = 0;
    let ended = 0;
    server.on('request-start', () => started++);
    server.on('request-end', () => ended++);
    await server.listen();
    const loop = server.serveForever();
    try {
      const address = server.serverAddress;
      await inBatches(REQUESTS, 50, async (index) => {
        const socket = await quietConnect(address);
        socket.resume();
        socket.write(`${WAYS[index % WAYS.length]}\n`);
        await withDeadline(closed(socket), 'the server closing after the throw', 2 * WAIT_MS);
      });
      expect(server.handled).toBe(REQUESTS);
      expect(errors).toHaveLength(REQUESTS);
      expect(errors.every((error) => error instanceof Error && /on purpose/.test(error.message))).toBe(true);
      expect(server.activeRequestCount).toBe(0);
      expect(started).toBe(REQUESTS);
      expect(ended).toBe(REQUESTS);
      const counted = { requestStart: started, requestEnd: ended };

      // A well-behaved client afterwards: the `ok` line, then a line echo.
      const socket = await quietConnect(address);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      const payload = 'x'.repeat(1000).concat('\n').repeat(100);
      socket.end(`ok\n${payload}`);
      await withDeadline(closed(socket), 'the echo');
      expect(String(Buffer.concat(received))).toBe(`ok\n${payload}`);
      expect(server.activeRequestCount).toBe(0);
      recordFigures('throwing-handlers-tcp', {
        server: 'ThreadingTCPServer',
        throwingRequests: REQUESTS,
        ways: WAYS,
        reachedHandleError: server.handled,
        requestErrorEvents: errors.length,
        ...counted,
        activeRequestsAfter: server.activeRequestCount,
        wellBehavedBytesLost: 0,
      });
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
  });

  it.each([
    ['UDPServer', () => new UDPServer(LOOPBACK, ThrowingDatagramHandler)],
    ['ThreadingUDPServer', () => new ThreadingUDPServer(LOOPBACK, ThrowingDatagramHandler)],
  ])(
    '%s: every throw reaches handleError, none stays active, the server still answers',
    async (name, make) => {
      const server = make();
      const errors: unknown[] = [];
      server.on('request-error', (error) => errors.push(error));
      await server.listen();
      const loop = server.serveForever();
      try {
        const address = server.serverAddress;
        const socket = createSocket('udp4');
        try {
          // Sent in bursts of 50, each awaited, so that the loopback buffers never drop one.
          for (let sent = 0; sent < REQUESTS; ) {
            const burst = Math.min(50, REQUESTS - sent);
            await Promise.all(
              Array.from(
                { length: burst },
                () =>
                  new Promise<void>((resolve, reject) =>
                    socket.send('boom', address.port, address.host, (error) =>
                      error ? reject(error) : resolve(),
                    ),
                  ),
              ),
            );
            sent += burst;
            const target = sent;
            await until(() => errors.length >= target, `${target} errors reported`);
          }
        } finally {
          socket.close();
        }
        expect(errors).toHaveLength(REQUESTS);
        expect(server.activeRequestCount).toBe(0);
        expect(String(await udpRoundTrip(address, Buffer.from('ok')))).toBe('ok');
        recordFigures(`throwing-handlers-${name}`, {
          server: name,
          throwingRequests: REQUESTS,
          requestErrorEvents: errors.length,
          activeRequestsAfter: server.activeRequestCount,
        });
      } finally {
        await server.shutdown();
        await server.serverClose();
        await loop;
      }
    },
  );
});
