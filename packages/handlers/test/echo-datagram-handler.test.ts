/** EchoDatagramHandler: each datagram back to its sender, over UDP and Unix datagram sockets. */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { ThreadingUDPServer, ThreadingUnixDatagramServer, UDPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { describeUnixDgram } from '../../../test-support/native.js';
import { EchoDatagramHandler } from '../src/index.js';
import { serving, tempDir, udpRoundTrip, unixDatagramRoundTrip, withDeadline } from './helpers.js';

const SIZES = [0, 1, 1400, 65507];

describe('EchoDatagramHandler over UDP', () => {
  it.each(SIZES)('echoes a %i-byte datagram unchanged', async (size) => {
    await using server = await serving(
      new ThreadingUDPServer({ host: '127.0.0.1', port: 0 }, EchoDatagramHandler),
    );
    const data = randomBytes(size);
    expect(await udpRoundTrip(server.serverAddress, data)).toEqual(data);
  });

  it('answers each sender with its own datagrams, in order, on a synchronous server', async () => {
    await using server = await serving(new UDPServer({ host: '127.0.0.1', port: 0 }, EchoDatagramHandler));
    const { host, port } = server.serverAddress;
    const clients = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    try {
      const replies = clients.map((client, c) => {
        const got: string[] = [];
        return new Promise<string[]>((resolve) =>
          client.on('message', (message) => {
            got.push(String(message));
            if (got.length === 5) resolve(got);
          }),
        ).then((lines) => ({ c, lines }));
      });
      for (let i = 0; i < 5; i++) {
        for (const [c, client] of clients.entries()) client.send(`${c}:${i}`, port, host);
      }
      for (const { c, lines } of await withDeadline(Promise.all(replies), 'replies')) {
        // Loopback keeps order; each client only ever sees its own datagrams.
        expect(lines).toEqual([0, 1, 2, 3, 4].map((i) => `${c}:${i}`));
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});

describeUnixDgram('EchoDatagramHandler over Unix datagram sockets', () => {
  it.each(SIZES)('echoes a %i-byte datagram unchanged', async (size) => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using _server = await serving(new ThreadingUnixDatagramServer(path, EchoDatagramHandler));
    const data = randomBytes(size);
    expect(await unixDatagramRoundTrip(path, dir.file('client.sock'), data)).toEqual(data);
  });
});
