/**
 * UDP at the edges: the empty datagram and the largest one (65,507 bytes over IPv4) come back
 * unchanged; a flood of 100,000 datagrams leaves the server (in its own process) with bounded memory,
 * every reply intact, and still answering.
 */
import dgram from 'node:dgram';
import { BaseRequestHandler, ForkingUDPServer, ThreadingUDPServer, UDPServer } from '@sockserve/core';
import { EchoDatagramHandler } from '@sockserve/handlers';
import { describe, expect, it } from 'vitest';
import { udpRoundTrip } from '../../test-support/fixtures.js';
import { sleep, WAIT_MS } from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { fixture, startServerProcess } from './support/server-process.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const LARGEST = 65_507;
const FLOOD = 100_000;
const MiB = 1024 * 1024;
/** How much the server's peak resident memory may exceed its resident memory before the flood. */
const MEMORY_MARGIN = 128 * MiB;

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

const servers = {
  UDPServer: () => new UDPServer(LOOPBACK, EchoDatagramHandler),
  'UDPServer without native batching': () =>
    new UDPServer(LOOPBACK, EchoDatagramHandler, { nativeBatching: false }),
  ThreadingUDPServer: () => new ThreadingUDPServer(LOOPBACK, EchoDatagramHandler),
  ForkingUDPServer: () =>
    new ForkingUDPServer(LOOPBACK, UnusedHandler, {
      workers: 1,
      handlerModule: { module: fixture('forking-handlers.mjs'), exportName: 'EchoDatagramHandler' },
    }),
};

describe.each(Object.keys(servers) as Array<keyof typeof servers>)('UDP edges, %s', (name) => {
  it(`echoes a 0-byte and a ${LARGEST}-byte datagram unchanged`, async () => {
    const server = servers[name]();
    await server.listen();
    const loop = server.serveForever();
    try {
      const empty = await udpRoundTrip(server.serverAddress, Buffer.alloc(0));
      expect(empty.length).toBe(0);
      const largest = Buffer.alloc(LARGEST);
      for (let i = 0; i < LARGEST; i++) largest[i] = (i * 7 + 3) & 0xff;
      const reply = await udpRoundTrip(server.serverAddress, largest);
      expect(reply.length).toBe(LARGEST);
      expect(reply.equals(largest)).toBe(true);
      expect(String(await udpRoundTrip(server.serverAddress, Buffer.from('still here')))).toBe('still here');
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
  });
});

/** The datagram number `seq` of the flood: its number, then filler that depends on it. */
function floodPayload(seq: number): Buffer {
  return Buffer.from(`${seq}:${String(seq % 997).repeat(20)}`);
}

describe.each(['sync', 'threading'])('a UDP flood, %s server in its own process', (mode) => {
  it(`${FLOOD} datagrams: memory bounded, every reply intact, still answering`, async () => {
    await using server = await startServerProcess('udp-server.mjs', ['--mode', mode]);
    const address = { host: '127.0.0.1', port: server.port, family: 'IPv4' as const };
    expect(String(await udpRoundTrip(address, Buffer.from('warm up')))).toBe('warm up');
    const before = server.memory();

    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * MiB });
    const seen = new Set<number>();
    let corrupt = 0;
    let probed = false;
    socket.on('message', (reply) => {
      const text = String(reply);
      if (text === 'probe') {
        probed = true;
        return;
      }
      const seq = Number(text.slice(0, text.indexOf(':')));
      if (!Number.isInteger(seq) || seen.has(seq) || !reply.equals(floodPayload(seq))) corrupt++;
      else seen.add(seq);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const send = (data: Buffer): Promise<void> =>
      new Promise((resolve, reject) =>
        socket.send(data, address.port, address.host, (error) => (error ? reject(error) : resolve())),
      );
    let peak = before.peak;
    try {
      // As fast as the sending socket takes them, in bursts of 1,000 (bounded: FLOOD datagrams).
      for (let seq = 0; seq < FLOOD; ) {
        const burst: Promise<void>[] = [];
        for (let i = 0; i < 1000 && seq < FLOOD; i++) burst.push(send(floodPayload(seq++)));
        await Promise.all(burst);
        // One turn of the event loop, so that this socket reads the replies (its buffer would drop them).
        await new Promise((resolve) => setImmediate(resolve));
        if (seq % 10_000 === 0) peak = Math.max(peak, server.memory().peak);
      }
      // Datagrams are answered in turn: a probe answered means the flood has been worked through.
      const deadline = Date.now() + 2 * WAIT_MS;
      while (!probed && Date.now() < deadline) {
        await send(Buffer.from('probe'));
        await sleep(200);
      }
      expect(probed).toBe(true);
    } finally {
      socket.close();
    }
    server.assertAlive();
    const after = server.memory();
    const { handled } = await server.stats();
    peak = Math.max(peak, after.peak);
    expect(corrupt).toBe(0);
    expect(peak - before.rss).toBeLessThan(MEMORY_MARGIN);
    expect(String(await udpRoundTrip(address, Buffer.from('after the flood')))).toBe('after the flood');
    recordFigures(`udp-flood-${mode}`, {
      server: `${mode === 'sync' ? 'UDPServer' : 'ThreadingUDPServer'} + EchoDatagramHandler in its own process`,
      datagramsSent: FLOOD,
      handledByServer: handled,
      repliesReceived: seen.size,
      repliesCorrupt: corrupt,
      serverRssBeforeMiB: +(before.rss / MiB).toFixed(1),
      serverPeakRssMiB: +(peak / MiB).toFixed(1),
      serverRssAfterMiB: +(after.rss / MiB).toFixed(1),
      marginMiB: MEMORY_MARGIN / MiB,
    });
  }, 60_000);
});
