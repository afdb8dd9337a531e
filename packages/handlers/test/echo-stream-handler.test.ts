/** EchoStreamHandler: RFC 862 over TCP and Unix stream sockets, byte-exact, with half-close. */
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import {
  type InetAddress,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUnixStreamServer,
  type UnixAddress,
} from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { EchoStreamHandler } from '../src/index.js';
import { connect, pause, readAll, serving, tempDir, withDeadline } from './helpers.js';

/** The echo of the docs: the same thing written with rfile/wfile. */
class UserEcho extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile.chunks()) await this.wfile.write(chunk);
  }
}

/** Sends `data` in `pieces` (each written separately, with a pause between), half-closes, returns all it got back. */
async function echoOf(address: InetAddress | UnixAddress, pieces: Buffer[]): Promise<Buffer> {
  const socket = await connect(address);
  const received = readAll(socket);
  for (const piece of pieces) {
    socket.write(piece);
    if (pieces.length > 1) await pause(1);
  }
  socket.end();
  return withDeadline(received, 'end of the echo');
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

type Transport = {
  name: string;
  start(Handler: typeof EchoStreamHandler | typeof UserEcho): Promise<{
    address: InetAddress | UnixAddress;
    [Symbol.asyncDispose](): Promise<void>;
  }>;
};

const transports: Transport[] = [
  {
    name: 'ThreadingTCPServer',
    async start(Handler) {
      const server = await serving(new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, Handler));
      return { address: server.serverAddress, [Symbol.asyncDispose]: () => server[Symbol.asyncDispose]() };
    },
  },
  {
    name: 'ThreadingUnixStreamServer',
    async start(Handler) {
      const dir = tempDir();
      const server = await serving(new ThreadingUnixStreamServer(dir.file('echo.sock'), Handler));
      return {
        address: server.serverAddress,
        [Symbol.asyncDispose]: async () => {
          await server[Symbol.asyncDispose]();
          dir[Symbol.dispose]();
        },
      };
    },
  },
];

describe.each(transports)('EchoStreamHandler over $name', ({ start }) => {
  it('echoes every byte value unchanged', async () => {
    await using server = await start(EchoStreamHandler);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const data = Buffer.concat([all, all.reverse(), Buffer.from('\r\n\0\r\r\n')]);
    expect(await echoOf(server.address, [data])).toEqual(data);
  });

  it('is byte-exact when a CJK text is split at every byte offset', async () => {
    await using server = await start(EchoStreamHandler);
    const text = Buffer.from('你好，世界！こんにちは 🌏 안녕하세요', 'utf8');
    const results = await Promise.all(
      Array.from({ length: text.length - 1 }, (_, i) =>
        echoOf(server.address, [text.subarray(0, i + 1), text.subarray(i + 1)]),
      ),
    );
    for (const result of results) expect(result.toString('utf8')).toBe(text.toString('utf8'));
  });

  it('echoes 8 MiB while the client writes and reads at the same time', async () => {
    await using server = await start(EchoStreamHandler);
    const data = randomBytes(8 * 1024 * 1024);
    const socket = await connect(server.address);
    const received = readAll(socket);
    // Written in 64 KiB pieces without waiting for the echo: both directions are busy at once.
    for (let offset = 0; offset < data.length; offset += 65536) {
      if (!socket.write(data.subarray(offset, offset + 65536))) {
        await new Promise((resolve) => socket.once('drain', resolve));
      }
    }
    socket.end();
    const echoed = await withDeadline(received, 'end of the 8 MiB echo');
    expect(echoed.length).toBe(data.length);
    expect(sha(echoed)).toBe(sha(data));
  });

  it('after the client half-closes, sends every remaining byte, then closes', async () => {
    await using server = await start(EchoStreamHandler);
    const socket = await connect(server.address);
    socket.pause(); // read nothing for a while: the echo piles up on the server side
    const data = randomBytes(4 * 1024 * 1024);
    socket.write(data);
    socket.end(); // FIN follows the data, while most of the echo is still to be sent
    await pause(20);
    const received = readAll(socket);
    socket.resume();
    const echoed = await withDeadline(received, 'end after the half-close');
    expect(sha(echoed)).toBe(sha(data));
    // The server closed its side after the last byte: the socket ends without an error.
    expect(socket.readableEnded).toBe(true);
  });

  it('serves several clients at once, each getting its own bytes', async () => {
    await using server = await start(EchoStreamHandler);
    const payloads = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
    const echoed = await Promise.all(payloads.map((payload) => echoOf(server.address, [payload])));
    for (const [i, result] of echoed.entries()) expect(sha(result)).toBe(sha(payloads[i]!));
  });

  it('ends quietly when the client resets, and keeps serving others', async () => {
    await using server = await start(EchoStreamHandler);
    const socket: net.Socket = await connect(server.address);
    socket.write('x'.repeat(1000));
    socket.destroy();
    expect(String(await echoOf(server.address, [Buffer.from('still here')]))).toBe('still here');
  });

  it('the rfile/wfile echo of the docs behaves the same', async () => {
    await using server = await start(UserEcho);
    const data = randomBytes(1024 * 1024);
    expect(sha(await echoOf(server.address, [data.subarray(0, 1000), data.subarray(1000)]))).toBe(sha(data));
  });
});

describe('EchoStreamHandler options', () => {
  it('ends an idle connection after `timeout` seconds', async () => {
    class ImpatientEcho extends EchoStreamHandler {
      override timeout = 0.1;
    }
    await using server = await serving(new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ImpatientEcho));
    const socket = await connect(server.serverAddress);
    const received = readAll(socket);
    socket.write('before');
    expect(String(await withDeadline(received, 'close after the idle timeout'))).toBe('before');
  });

  it('works on a synchronous TCPServer, one client after another', async () => {
    await using server = await serving(new TCPServer({ host: '127.0.0.1', port: 0 }, EchoStreamHandler));
    for (const text of ['one', 'two', 'three']) {
      expect(String(await echoOf(server.serverAddress, [Buffer.from(text)]))).toBe(text);
    }
  });
});
