// The batch part's contract (src/udp_batch.c, index.d.cts) on real loopback sockets. @sockserve/core's
// UDPServer tests cover it again through the server, with and without batching.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../../test-support/fixtures.ts';
import { native as available, nativeTitle } from '../../../test-support/native.ts';
import type udpNative from '../index.cjs';

// Loaded only where it was built (prebuilds/ or build/Release/), and only on Linux: elsewhere the
// tests skip, their title saying why (in CI a missing addon fails in test-support/native.ts).
const native = (available.batching ? createRequire(import.meta.url)('../index.cjs') : {}) as udpNative.Addon;
const describeBatch = describe.skipIf(!available.batching);
const FAMILY_IPV6 = 0x10000;
const EMSGSIZE = 90;

interface Received {
  packet: Buffer;
  host: string;
  port: number;
  ipv6: boolean;
}

/** A bound dgram socket whose reading the addon took over; `batches` collects each call. */
async function batchSocket(type: 'udp4' | 'udp6', host: string, slotSize = 65535) {
  const socket = dgram.createSocket(type);
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol')!;
  const handle = (socket as unknown as Record<symbol, { handle: { fd: number; recvStop(): void } }>)[state]!
    .handle;
  handle.recvStop();
  const meta = new Uint32Array(2 * native.batchSize + 1);
  const hosts: string[] = [];
  const batches: Received[][] = [];
  const errors: number[] = [];
  const batch = native.open(
    handle.fd,
    slotSize,
    meta,
    hosts,
    (data, count) => {
      const received: Received[] = [];
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const length = meta[2 * i]!;
        received.push({
          packet: Buffer.from(data.subarray(offset, offset + length)),
          host: hosts[i]!,
          port: meta[2 * i + 1]! & 0xffff,
          ipv6: (meta[2 * i + 1]! & FAMILY_IPV6) !== 0,
        });
        offset += length;
      }
      batches.push(received);
    },
    (code) => errors.push(code),
  );
  return {
    socket,
    batch,
    meta,
    batches,
    errors,
    port: socket.address().port,
    received: () => batches.flat(),
    sendStatus: () => meta[2 * native.batchSize]!,
    close: () => {
      native.close(batch);
      socket.close();
    },
  };
}

async function client(type: 'udp4' | 'udp6', host: string) {
  const socket = dgram.createSocket(type);
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return socket;
}

async function until(check: () => boolean, what: string): Promise<void> {
  await withDeadline(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    what,
  );
}

describeBatch(nativeTitle('@sockserve/udp-native: batched UDP', available.batching), () => {
  it('reads a burst in batches of at most batchSize, each datagram with its bytes, host and port', async () => {
    const server = await batchSocket('udp4', '127.0.0.1');
    const sender = await client('udp4', '127.0.0.1');
    try {
      // Sent in one turn, so they wait in the socket together (0 to 39 bytes, an empty one first).
      const sent = Array.from({ length: 40 }, (_, i) => Buffer.alloc(i, 97 + (i % 26)));
      for (const packet of sent) sender.send(packet, server.port, '127.0.0.1');
      await until(() => server.received().length === sent.length, 'all 40 datagrams');
      expect(server.received().map((r) => r.packet)).toEqual(sent);
      for (const r of server.received())
        expect(r).toMatchObject({ host: '127.0.0.1', port: sender.address().port, ipv6: false });
      expect(Math.max(...server.batches.map((b) => b.length))).toBe(native.batchSize);
      expect(server.errors).toEqual([]);
    } finally {
      sender.close();
      server.close();
    }
  });

  it('cuts datagrams longer than slotSize', async () => {
    const server = await batchSocket('udp4', '127.0.0.1', 8);
    const sender = await client('udp4', '127.0.0.1');
    try {
      sender.send('0123456789abcdef', server.port, '127.0.0.1');
      sender.send('short', server.port, '127.0.0.1');
      await until(() => server.received().length === 2, 'two datagrams');
      expect(server.received().map((r) => String(r.packet))).toEqual(['01234567', 'short']);
    } finally {
      sender.close();
      server.close();
    }
  });

  it('names IPv6 clients as node:dgram does, and IPv4 ones of a v4-mapped socket as ::ffff:a.b.c.d', async () => {
    for (const [serverHost, clientType, clientHost, expected] of [
      ['::1', 'udp6', '::1', '::1'],
      ['::ffff:127.0.0.1', 'udp4', '127.0.0.1', '::ffff:127.0.0.1'],
    ] as const) {
      const server = await batchSocket('udp6', serverHost);
      const sender = await client(clientType, clientHost);
      try {
        sender.send('hi', server.port, clientHost);
        await until(() => server.received().length === 1, `a datagram from ${clientHost}`);
        expect(server.received()).toEqual([
          { packet: Buffer.from('hi'), host: expected, port: sender.address().port, ipv6: true },
        ]);
      } finally {
        sender.close();
        server.close();
      }
    }
  });

  it('sends a list of datagrams and returns the index after the last one sent', async () => {
    const server = await batchSocket('udp4', '127.0.0.1');
    const a = await client('udp4', '127.0.0.1');
    const b = await client('udp4', '127.0.0.1');
    try {
      const gotA = once(a, 'message');
      const gotB = once(b, 'message');
      const datas = [Buffer.from('skipped'), Buffer.from('to a'), new Uint8Array([98])];
      const next = native.send(
        server.batch,
        datas,
        [1, a.address().port, b.address().port],
        ['x', '127.0.0.1', '127.0.0.1'],
        1,
        3,
      );
      expect(next).toBe(3);
      expect(String((await gotA)[0])).toBe('to a');
      expect(String((await gotB)[0])).toBe('b');
    } finally {
      a.close();
      b.close();
      server.close();
    }
  });

  it('stops at a datagram it cannot send and says why: its errno, or 0 for a host that is not an IP literal', async () => {
    const server = await batchSocket('udp4', '127.0.0.1');
    const a = await client('udp4', '127.0.0.1');
    try {
      const port = a.address().port;
      const datas = [Buffer.from('ok'), Buffer.alloc(70_000), Buffer.from('after')];
      expect(
        native.send(server.batch, datas, [port, port, port], ['127.0.0.1', '127.0.0.1', '127.0.0.1'], 0, 3),
      ).toBe(1);
      expect(server.sendStatus()).toBe(EMSGSIZE);
      expect(
        native.send(server.batch, datas, [port, port, port], ['127.0.0.1', 'localhost', '127.0.0.1'], 1, 3),
      ).toBe(1);
      expect(server.sendStatus()).toBe(0);
      expect(
        native.send(server.batch, datas, [port, port, port], ['127.0.0.1', '127.0.0.1', '::1'], 2, 3),
      ).toBe(2);
      expect(server.sendStatus()).toBe(0); // an IPv6 host for an IPv4 socket
    } finally {
      a.close();
      server.close();
    }
  });

  it('sends to IPv4 hosts from a v4-mapped IPv6 socket (as ::ffff:a.b.c.d)', async () => {
    const server = await batchSocket('udp6', '::ffff:127.0.0.1');
    const v4 = await client('udp4', '127.0.0.1');
    try {
      const got = once(v4, 'message');
      expect(native.send(server.batch, [Buffer.from('hi')], [v4.address().port], ['127.0.0.1'], 0, 1)).toBe(
        1,
      );
      expect(String((await got)[0])).toBe('hi');
    } finally {
      v4.close();
      server.close();
    }
  });

  it('closes its duplicate descriptor: the port is free again once dgram closes its own', async () => {
    const server = await batchSocket('udp4', '127.0.0.1');
    const { port } = server;
    native.close(server.batch);
    native.close(server.batch); // twice is harmless
    await new Promise<void>((resolve) => server.socket.close(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const again = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind(port, '127.0.0.1', resolve);
      });
    } finally {
      again.close();
    }
  });

  it('refuses arguments it cannot use, with a message', () => {
    const meta = new Uint32Array(2 * native.batchSize + 1);
    expect(() =>
      native.open(
        0,
        0,
        meta,
        [],
        () => {},
        () => {},
      ),
    ).toThrow(/slotSize/);
    expect(() =>
      native.open(
        0,
        64,
        new Uint32Array(1),
        [],
        () => {},
        () => {},
      ),
    ).toThrow(/meta/);
    const fd = openSync(import.meta.filename, 'r');
    try {
      expect(() =>
        native.open(
          fd,
          64,
          meta,
          [],
          () => {},
          () => {},
        ),
      ).toThrow(/not a bound UDP socket/);
    } finally {
      closeSync(fd);
    }
    expect(() => native.send({} as never, [], [], [], 0, 0)).toThrow(/handle returned by open/);
    expect(() => (native.send as (...args: unknown[]) => number)({})).toThrow(/missing arguments/);
  });
});
