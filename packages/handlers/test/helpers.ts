import { rmSync } from 'node:fs';
import type net from 'node:net';
import { type BaseServer, type InetAddress, type UnixAddress, UnixDatagramSocket } from '@sockserve/core';
import {
  connect,
  readAll,
  tempDir as sharedTempDir,
  udpRoundTrip,
  WAIT_MS,
  withDeadline,
} from '../../../test-support/fixtures.js';

export { connect, readAll, udpRoundTrip, WAIT_MS, withDeadline };

/** A temporary directory for Unix socket paths; removed by `[Symbol.dispose]`. */
export const tempDir = (): ReturnType<typeof sharedTempDir> => sharedTempDir('sockserve-handlers-');

type AnyServer = BaseServer<any, any, any>;

/**
 * Starts `serveForever()` in the background; disposing shuts the server down (closing connections
 * still open after a short deadline, so a failed test never hangs) and closes it.
 */
export async function serving<S extends AnyServer>(
  server: S,
): Promise<S & { loop: Promise<void>; [Symbol.asyncDispose](): Promise<void> }> {
  await server.listen();
  const loop = server.serveForever();
  return Object.assign(server, {
    loop,
    [Symbol.asyncDispose]: async () => {
      await server.shutdown({ deadline: 1 });
      await server.serverClose();
      await loop;
    },
  });
}

/** Resolves after a turn of the event loop and `ms` milliseconds (pacing only, never asserted). */
export function pause(ms: number = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends one Unix datagram from a socket bound at `clientPath` and waits for one reply. */
export async function unixDatagramRoundTrip(
  serverPath: string,
  clientPath: string,
  data: Buffer,
): Promise<Buffer> {
  const socket = await UnixDatagramSocket.bind(clientPath);
  try {
    const reply = new Promise<Buffer>((resolve) => socket.onMessage((packet) => resolve(packet)));
    await socket.sendTo(data, serverPath);
    return await withDeadline(reply, 'a Unix datagram reply');
  } finally {
    await socket.close();
    rmSync(clientPath, { force: true });
  }
}

/** Waits until `predicate()` holds, polling every 5 ms, for at most `ms`. */
export async function until(
  predicate: () => boolean,
  what: string = 'condition',
  ms: number = WAIT_MS,
): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await pause(5);
  }
}

/**
 * A line-protocol client over a real socket. It keeps every byte received (`raw`), splits them into
 * LF-terminated lines decoded as UTF-8, and lets a test take them one at a time.
 */
export class LineClient {
  readonly socket: net.Socket;
  /** Every line received so far, without its LF. */
  readonly received: string[] = [];
  private readonly chunks: Buffer[] = [];
  private partial: Buffer = Buffer.alloc(0);
  private taken = 0;
  private isClosed = false;
  private waiter: (() => void) | undefined;
  private readonly closedPromise: Promise<void>;

  private readonly unix: boolean;

  private constructor(socket: net.Socket, unix: boolean) {
    this.socket = socket;
    this.unix = unix;
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      let data = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
      for (let lf = data.indexOf(0x0a); lf !== -1; lf = data.indexOf(0x0a)) {
        this.received.push(data.subarray(0, lf).toString('utf8'));
        data = data.subarray(lf + 1);
      }
      this.partial = Buffer.from(data);
      this.wake();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => {
      const onGone = (): void => {
        this.isClosed = true;
        this.wake();
        resolve();
      };
      socket.once('end', onGone);
      socket.once('close', onGone);
    });
  }

  static async connect(address: InetAddress | UnixAddress): Promise<LineClient> {
    return new LineClient(await connect(address), 'path' in address);
  }

  /** Every byte received so far. */
  get raw(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** True once the server closed (or reset) the connection. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends `text` and an LF. */
  sendLine(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** Sends bytes as they are. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** The next line not taken yet; rejects when the connection closes first or after WAIT_MS. */
  async line(): Promise<string> {
    const end = Date.now() + WAIT_MS;
    while (this.taken >= this.received.length) {
      if (this.isClosed) {
        throw new Error(`connection closed while waiting for a line; got ${JSON.stringify(this.received)}`);
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no line within ${WAIT_MS} ms; got ${JSON.stringify(this.received)}`);
      await this.next(left);
    }
    return this.received[this.taken++]!;
  }

  /** The next `count` lines. */
  async lines(count: number): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(await this.line());
    return lines;
  }

  /** Waits for the line `expected`, skipping others; returns the lines skipped. */
  async lineMatching(expected: string): Promise<string[]> {
    const skipped: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === expected) return skipped;
      skipped.push(line);
    }
  }

  /** Resolves when the server has closed the connection; returns the lines not taken yet. */
  async untilClosed(): Promise<string[]> {
    await withDeadline(this.closedPromise, 'close of the connection by the server');
    const rest = this.received.slice(this.taken);
    this.taken = this.received.length;
    return rest;
  }

  /** Half-closes (sends FIN); the client still reads. */
  end(): void {
    this.socket.end();
  }

  /** Closes with a TCP RST where possible. */
  reset(): void {
    if (this.unix) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
    });
  }

  private wake(): void {
    this.waiter?.();
  }
}
