/**
 * StreamRequestHandler in in-place mode (`receiveBufferSize` + `received()`), through real servers.
 */
import { describe, expect, it } from 'vitest';
import { StreamRequestHandler, TCPServer, ThreadingTCPServer } from '../../src/index.js';
import { connect, once, readAll, serving, withDeadline } from '../helpers.js';

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
