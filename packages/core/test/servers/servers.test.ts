/**
 * What CPython's Lib/test/test_socketserver.py checks, re-expressed for sockserve: every server class
 * echoes `hello world\n` three times and reports its real address.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { native, nativeTitle } from '../../../../test-support/native.js';
import type { InetAddress } from '../../src/address.js';
import {
  DatagramRequestHandler,
  ErrorCodes,
  type SockserveError,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixDatagramServer,
  ThreadingUnixStreamServer,
  UDPServer,
  UnixDatagramServer,
  UnixStreamServer,
} from '../../src/index.js';
import { UnixDatagramSocket } from '../../src/servers/unix-datagram-socket.js';
import {
  once,
  serving,
  streamRoundTrip,
  tempDir,
  udpReplies,
  udpRoundTrip,
  unixDatagramRoundTrip,
  withDeadline,
} from '../helpers.js';

const TEST_STR = Buffer.from('hello world\n');
const UDP_LOOPBACK = { host: '127.0.0.1', port: 0 };

class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const line = await this.rfile.readline();
    await this.wfile.write(line);
  }
}

class DatagramEchoHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(await this.rfile.read());
  }
}

describe.each([
  ['TCPServer', TCPServer],
  ['ThreadingTCPServer', ThreadingTCPServer],
])('%s', (_name, Server) => {
  it('echoes three times and reports its real port', async () => {
    await using server = await serving(new Server({ host: '127.0.0.1', port: 0 }, LineEchoHandler));
    expect(server.serverAddress.port).toBeGreaterThan(0);
    expect(server.serverAddress).toMatchObject({ host: '127.0.0.1', family: 'IPv4' });
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('works on IPv6 loopback (::1) and on every interface (::)', async () => {
    await using v6 = await serving(new Server({ host: '::1', port: 0 }, LineEchoHandler));
    expect(v6.serverAddress).toMatchObject({ host: '::1', family: 'IPv6' });
    expect(await streamRoundTrip(v6.serverAddress, TEST_STR)).toEqual(TEST_STR);
    await using any = await serving(new Server({ host: '::', port: 0 }, LineEchoHandler));
    const { port } = any.serverAddress;
    expect(await streamRoundTrip({ host: '::1', port, family: 'IPv6' }, TEST_STR)).toEqual(TEST_STR);
    expect(await streamRoundTrip({ host: '127.0.0.1', port, family: 'IPv4' }, TEST_STR)).toEqual(TEST_STR);
  });
});

describe.each([
  ['UnixStreamServer', UnixStreamServer],
  ['ThreadingUnixStreamServer', ThreadingUnixStreamServer],
])('%s', (_name, Server) => {
  it('echoes three times and reports its path', async () => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using server = await serving(new Server(path, LineEchoHandler));
    expect(server.serverAddress).toEqual({ path });
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });
});

// Every UDP test runs with batched I/O through @sockserve/udp-native (a dev dependency, so it is
// built here) and with node:dgram alone.
describe.each([
  ['UDPServer', true, UDPServer],
  ['ThreadingUDPServer', true, ThreadingUDPServer],
  ['UDPServer', false, UDPServer],
  ['ThreadingUDPServer', false, ThreadingUDPServer],
])('%s, nativeBatching %s', (_name, nativeBatching, Server) => {
  const title = !nativeBatching
    ? 'reads and sends with node:dgram alone'
    : native.batching
      ? 'reads and sends in batches'
      : `falls back to node:dgram (${native.why || `no batching on ${process.platform}`})`;
  it(title, async () => {
    await using server = await serving(new Server(UDP_LOOPBACK, DatagramEchoHandler, { nativeBatching }));
    expect(server.batching, 'is @sockserve/udp-native built? (npm run build)').toBe(
      nativeBatching && native.batching,
    );
    expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('echoes three times and reports its real port', async () => {
    await using server = await serving(
      new Server({ host: '127.0.0.1', port: 0 }, DatagramEchoHandler, { nativeBatching }),
    );
    expect(server.serverAddress.port).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('reports a reply that cannot be sent as socket-error naming the client, and keeps answering', async () => {
    class Oversized extends DatagramRequestHandler {
      override handle(): void {
        // Over the 65 507-byte UDP limit when asked for: the kernel refuses the reply.
        void this.wfile.write(String(this.packet) === 'big' ? Buffer.alloc(70_000) : this.packet);
      }
    }
    await using server = await serving(
      new Server({ host: '127.0.0.1', port: 0 }, Oversized, { nativeBatching }),
    );
    const failed = once<SockserveError>(server, 'socket-error');
    const client = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      client.send('big', server.serverAddress.port, '127.0.0.1');
      const error = await failed;
      expect(error.code).toBe(ErrorCodes.SEND_FAILED);
      expect(error.message).toContain(`udp://127.0.0.1:${client.address().port}`);
      expect((error.cause as NodeJS.ErrnoException).code).toBe('EMSGSIZE');
    } finally {
      client.close();
    }
    expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('sends the datagrams of a request in the order they were made, however they were made', async () => {
    class ThreeReplies extends DatagramRequestHandler<UDPServer, InetAddress> {
      override handle(): void {
        this.socket.send(Buffer.from('1'), this.clientAddress);
        void this.socket.sendTo(Buffer.from('2'), this.clientAddress);
        void this.wfile.write('3');
      }
    }
    await using server = await serving(
      new Server({ host: '127.0.0.1', port: 0 }, ThreeReplies, { nativeBatching }),
    );
    expect((await udpReplies(server.serverAddress, 'go', 3)).map(String)).toEqual(['1', '2', '3']);
  });

  it('still sends the replies made just before serverClose()', async () => {
    class ReplyThenClose extends DatagramRequestHandler<UDPServer, InetAddress> {
      override handle(): void {
        void this.wfile.write(this.packet);
        void this.server.serverClose();
      }
    }
    const server = new Server({ host: '127.0.0.1', port: 0 }, ReplyThenClose, { nativeBatching });
    const errors: unknown[] = [];
    server.on('socket-error', (error) => errors.push(error));
    await server.listen();
    const loop = server.serveForever();
    expect((await udpReplies(server.serverAddress, 'last words', 1)).map(String)).toEqual(['last words']);
    await server.serverClose();
    await loop;
    expect(errors).toEqual([]);
  });

  it('works on IPv6 loopback', async () => {
    await using server = await serving(
      new Server({ host: '::1', port: 0 }, DatagramEchoHandler, { nativeBatching }),
    );
    expect(server.serverAddress.family).toBe('IPv6');
    expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('answers a burst of datagrams (an empty one first) in order, and the packets handlers keep stay intact', async () => {
    const kept: Buffer[] = [];
    class KeepAndEcho extends DatagramRequestHandler<UDPServer, InetAddress> {
      override handle(): void {
        kept.push(this.packet);
        void this.wfile.write(this.packet);
      }
    }
    await using server = await serving(new Server(UDP_LOOPBACK, KeepAndEcho, { nativeBatching }));
    const burst = (round: number) =>
      Array.from({ length: 100 }, (_, i) => Buffer.alloc(i, 32 + ((i + round) % 90)));
    const client = dgram.createSocket('udp4');
    try {
      for (const round of [0, 1]) {
        const replies: Buffer[] = [];
        const all = new Promise<void>((resolve) =>
          client.on('message', (reply) => replies.push(reply) === 100 && resolve()),
        );
        for (const packet of burst(round)) client.send(packet, server.serverAddress.port, '127.0.0.1');
        await withDeadline(all, '100 UDP replies');
        client.removeAllListeners('message');
        expect(replies).toEqual(burst(round));
      }
      expect(kept).toEqual([...burst(0), ...burst(1)]);
    } finally {
      client.close();
    }
  });

  it('names an IPv4 client of a v4-mapped IPv6 socket as node:dgram does', async () => {
    let seen: InetAddress | undefined;
    class Record extends DatagramRequestHandler<UDPServer, InetAddress> {
      override handle(): void {
        seen = { ...this.clientAddress };
        void this.wfile.write(this.packet);
      }
    }
    await using server = await serving(
      new Server({ host: '::ffff:127.0.0.1', port: 0 }, Record, { nativeBatching }),
    );
    expect(
      await udpRoundTrip({ ...server.serverAddress, host: '127.0.0.1', family: 'IPv4' }, TEST_STR),
    ).toEqual(TEST_STR);
    expect(seen).toMatchObject({ host: '::ffff:127.0.0.1', family: 'IPv6' });
  });

  it('sends to a host name (node:dgram looks it up)', async () => {
    class ReplyToLocalhost extends DatagramRequestHandler<UDPServer, InetAddress> {
      override handle(): Promise<void> {
        return this.socket.sendTo(this.packet, { ...this.clientAddress, host: 'localhost' });
      }
    }
    await using server = await serving(new Server(UDP_LOOPBACK, ReplyToLocalhost, { nativeBatching }));
    expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('cuts datagrams to maxPacketSize', async () => {
    await using server = await serving(
      new Server(UDP_LOOPBACK, DatagramEchoHandler, { nativeBatching, maxPacketSize: 5 }),
    );
    expect(String(await udpRoundTrip(server.serverAddress, TEST_STR))).toBe('hello');
  });

  it('frees its port on serverClose(): a new server binds it at once', async () => {
    const first = await serving(new Server(UDP_LOOPBACK, DatagramEchoHandler, { nativeBatching }));
    const { port } = first.serverAddress;
    await first.serverClose();
    await using second = await serving(
      new Server({ host: '127.0.0.1', port }, DatagramEchoHandler, { nativeBatching }),
    );
    expect(await udpRoundTrip(second.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });
});

describe.each([
  ['UnixDatagramServer', UnixDatagramServer],
  ['ThreadingUnixDatagramServer', ThreadingUnixDatagramServer],
])('%s', (_name, Server) => {
  if (!native.unixDatagram) {
    it.skip(nativeTitle('Unix datagram sockets', false), () => {});
    return;
  }
  it('echoes three times to the sender path', async () => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using server = await serving(new Server(path, DatagramEchoHandler));
    expect(server.serverAddress).toEqual({ path });
    for (let i = 0; i < 3; i++) {
      expect(await unixDatagramRoundTrip(path, dir.file(`client-${i}.sock`), TEST_STR)).toEqual(TEST_STR);
    }
  });

  it('reports a reply to an unbound client as socket-error, and keeps answering', async () => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using server = await serving(new Server(path, DatagramEchoHandler));
    const failed = once<SockserveError>(server, 'socket-error');
    const unbound = UnixDatagramSocket.create();
    try {
      await unbound.sendTo(TEST_STR, path);
      const error = await failed;
      expect(error.code).toBe(ErrorCodes.SEND_FAILED);
      expect(error.message).toMatch(/bind the client socket to a path/);
    } finally {
      await unbound.close();
    }
    expect(await unixDatagramRoundTrip(path, dir.file('client.sock'), TEST_STR)).toEqual(TEST_STR);
  });
});
