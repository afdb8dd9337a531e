/**
 * StreamRequestHandler through real servers: `rfile`/`wfile` as a Python porter uses them, and the
 * in-place mode (`receiveBufferSize` + `received()`).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  LineTooLongError,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  TimeoutError,
  UnixStreamServer,
} from '../../src/index.js';
import { connect, once, readAll, serving, tempDir, withDeadline } from '../helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Answers each chunk with it in upper case. */
class UpperHandler extends StreamRequestHandler {
  static override receiveBufferSize = 4096;

  override received(chunk: Buffer): boolean {
    return this.connection.write(String(chunk).toUpperCase());
  }
}

async function ask(server: { serverAddress: { host: string; port: number } }, text: string): Promise<string> {
  const socket = await connect(server.serverAddress);
  const reply = readAll(socket);
  socket.end(text);
  return String(await withDeadline(reply, 'the reply'));
}

describe('StreamRequestHandler, in-place reads', () => {
  it('gives every chunk to received(), then ends the request when the client half-closes', async () => {
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, UpperHandler));
    const ended = once(server, 'request-end');
    expect(await ask(server, 'hello, in place')).toBe('HELLO, IN PLACE');
    await ended;
    expect(server.activeRequestCount).toBe(0);
  });

  it('lets handle() await super.handle() to receive everything, then answer (the README example)', async () => {
    class LineCounter extends StreamRequestHandler {
      static override receiveBufferSize = 64 * 1024;
      lines = 0;

      override received(chunk: Buffer): void {
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.lines += 1;
      }

      override async handle(): Promise<void> {
        await super.handle();
        this.connection.write(`${this.lines} lines\n`);
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, LineCounter));
    const text = 'a line\n'.repeat(100_000); // 800 kB: many chunks, through the full-size buffer
    expect(await ask(server, text)).toBe('100000 lines\n');
  });

  it('makes no rfile or wfile', async () => {
    let made: unknown[] = [];
    class Probe extends UpperHandler {
      override setup(): void {
        super.setup();
        made = [this.rfile, this.wfile];
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, Probe));
    expect(await ask(server, 'x')).toBe('X');
    expect(made).toEqual([undefined, undefined]);
  });

  it('gives a connection that waited for its turn (sync server) the bytes it sent meanwhile', async () => {
    await using server = await serving(new TCPServer(LOOPBACK, UpperHandler));
    const first = await connect(server.serverAddress);
    const firstReply = readAll(first);
    first.write('first ');
    // The second client talks while the server is still busy with the first.
    const second = await connect(server.serverAddress);
    const secondReply = readAll(second);
    second.end('second, sent early');
    await new Promise((resolve) => setTimeout(resolve, 50));
    first.end('done');
    expect(String(await withDeadline(firstReply, 'the first reply'))).toBe('FIRST DONE');
    expect(String(await withDeadline(secondReply, 'the second reply'))).toBe('SECOND, SENT EARLY');
  });

  it('reports a received() that throws as a request error, and keeps serving others', async () => {
    class Thrower extends UpperHandler {
      override received(chunk: Buffer): boolean {
        if (String(chunk).includes('boom')) throw new Error('received() threw on purpose');
        return super.received(chunk);
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, Thrower));
    const failed = once<Error>(server, 'request-error');
    const bad = await connect(server.serverAddress);
    bad.on('error', () => {});
    bad.write('boom');
    expect((await withDeadline(failed, 'the request error')).message).toBe('received() threw on purpose');
    expect(await ask(server, 'still here')).toBe('STILL HERE');
  });

  it('ends a connection idle for `timeout` seconds', async () => {
    class Idle extends UpperHandler {
      override timeout = 0.1;
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, Idle));
    const socket = await connect(server.serverAddress);
    const reply = readAll(socket);
    socket.write('a');
    expect(String(await withDeadline(reply, 'the server closing'))).toBe('A');
  });

  it('rejects a receiveBufferSize that is not a positive integer, naming it', () => {
    for (const size of [0, 1.5, '4096']) {
      class Bad extends UpperHandler {
        static override receiveBufferSize = size as number;
      }
      expect(() => new ThreadingTCPServer(LOOPBACK, Bad)).toThrow(/Bad\.receiveBufferSize/);
    }
  });
});

/** The README's first example: a line echo with no limit of its own. */
class LineEcho extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const line of this.rfile.lines()) await this.wfile.write(`${line}\n`);
  }
}

/** Sends `text` to a line echo and collects what comes back, the request error too. */
async function echoLines(
  Handler: typeof LineEcho,
  text: Buffer | string,
): Promise<{ reply: string; error: unknown }> {
  await using server = await serving(new ThreadingTCPServer(LOOPBACK, Handler));
  let error: unknown;
  server.on('request-error', (caught) => {
    error = caught;
  });
  const ended = once(server, 'request-end');
  const socket = await connect(server.serverAddress);
  socket.on('error', () => {}); // the server may reset a connection it gave up on
  const reply = readAll(socket).catch(() => Buffer.alloc(0));
  socket.end(text);
  const received = String(await withDeadline(reply, 'the server closing the connection'));
  await withDeadline(ended, 'the end of the request');
  socket.destroy();
  return { reply: received, error };
}

describe('StreamRequestHandler, rfile and wfile as in Python', () => {
  it('reads as a BufferedReader: read(n) exact, readline(size), and `for await (line of rfile)` yields lines', async () => {
    let seen: unknown;
    class PythonStyle extends StreamRequestHandler {
      override async handle(): Promise<void> {
        const header = String(await this.rfile.read(5)); // self.rfile.read(5)
        const piece = String(await this.rfile.readline(4)); // self.rfile.readline(4)
        const lines: string[] = [];
        for await (const line of this.rfile) lines.push(String(line)); // for line in self.rfile
        seen = { header, piece, lines };
        await this.wfile.write('ok');
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, PythonStyle));
    const socket = await connect(server.serverAddress);
    const reply = readAll(socket);
    socket.write('ab');
    await new Promise((resolve) => setTimeout(resolve, 50)); // so the header likely comes in two chunks
    socket.write('cdeWXYZrest\nmore\r\n');
    socket.end('end');
    expect(String(await withDeadline(reply, 'the reply'))).toBe('ok');
    expect(seen).toEqual({ header: 'abcde', piece: 'WXYZ', lines: ['rest\n', 'more\r\n', 'end'] });
  });

  it('bounds lines at 64 KiB by default: the README example ends a 1 MiB line with LineTooLongError', async () => {
    const line = Buffer.alloc(1024 * 1024, 'x'); // no newline
    const { reply, error } = await echoLines(LineEcho, Buffer.concat([Buffer.from('hello\n'), line]));
    expect(reply).toBe('hello\n');
    expect(error).toBeInstanceOf(LineTooLongError);
    expect(error).toMatchObject({ code: ErrorCodes.LINE_TOO_LONG, maxBytes: 65536 });
  });

  it('takes the limit from the handler class: maxLineBytes = 8, or Infinity to opt out', async () => {
    class Short extends LineEcho {
      static override maxLineBytes = 8;
    }
    const short = await echoLines(Short, '12345678\n123456789\n');
    expect(short.reply).toBe('12345678\n');
    expect(short.error).toMatchObject({ code: ErrorCodes.LINE_TOO_LONG, maxBytes: 8 });

    class Unbounded extends LineEcho {
      static override maxLineBytes = Number.POSITIVE_INFINITY;
    }
    const long = 'y'.repeat(200 * 1024);
    const socketEnd = `${long}\n`;
    const unbounded = await echoLines(Unbounded, socketEnd);
    expect(unbounded.error).toBeUndefined();
    expect(unbounded.reply).toBe(socketEnd);
  });

  it('fails a write to a client that stopped reading after `timeout` seconds, and ends the request', async () => {
    class Flood extends StreamRequestHandler {
      override timeout = 0.3;
      override async handle(): Promise<void> {
        const chunk = Buffer.alloc(64 * 1024, 'f');
        for (let i = 0; i < 16_384; i++) await this.wfile.write(chunk); // 1 GiB at most: far beyond any buffer
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, Flood));
    const failed = once<unknown>(server, 'request-error');
    const socket = await connect(server.serverAddress);
    socket.on('error', () => {});
    socket.pause(); // a client that does not read
    const error = await withDeadline(failed, 'the write timing out');
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCodes.TIMEOUT, seconds: 0.3 });
    const rest = readAll(socket).catch(() => Buffer.alloc(0));
    socket.resume();
    await withDeadline(rest, 'the connection to close'); // the request ended: the server closed it
  });

  it('sends a file with wfile.sendfile(path, offset, count), as socket.sendfile does', async () => {
    using dir = tempDir();
    const path = dir.file('page.bin');
    const content = Buffer.alloc(1024 * 1024 + 7);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) % 253;
    writeFileSync(path, content);
    let sent: number[] = [];
    class FileSender extends StreamRequestHandler {
      override async handle(): Promise<void> {
        sent = [await this.wfile.sendfile(path), await this.wfile.sendfile(path, 10, 20)];
      }
    }
    await using server = await serving(new TCPServer(LOOPBACK, FileSender));
    const socket = await connect(server.serverAddress);
    const received = await withDeadline(readAll(socket), 'the file');
    expect(sent).toEqual([content.length, 20]);
    expect(received.equals(Buffer.concat([content, content.subarray(10, 30)]))).toBe(true);
  });

  it('sends a file over a Unix stream connection too, after what was written before it', async () => {
    using dir = tempDir();
    const path = dir.file('page.bin');
    const content = Buffer.alloc(3 * 1024 * 1024 + 1);
    for (let i = 0; i < content.length; i++) content[i] = (i * 17) % 251;
    writeFileSync(path, content);
    class FileSender extends StreamRequestHandler {
      override async handle(): Promise<void> {
        void this.wfile.write('header\n');
        await this.wfile.sendfile(path);
        await this.wfile.write('trailer\n');
      }
    }
    await using server = await serving(new UnixStreamServer(dir.file('files.sock'), FileSender));
    const socket = await connect(server.serverAddress);
    const received = await withDeadline(readAll(socket), 'the file');
    expect(received.equals(Buffer.concat([Buffer.from('header\n'), content, Buffer.from('trailer\n')]))).toBe(
      true,
    );
  });
});
