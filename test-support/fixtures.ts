/**
 * Test fixtures every workspace's tests share: temporary directories for Unix socket paths, stream
 * and UDP clients on real sockets, and a bound on how long a test waits. Node built-ins only, so the tests
 * of core (against its source) and of the other packages (against core's build) can all use it.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a test waits for something the server must do, at most (a bound, not a timing assertion). */
export const WAIT_MS = 10_000;

/** A temporary directory (named `prefix…`) for Unix socket paths; removed by `[Symbol.dispose]`. */
export function tempDir(prefix: string): {
  path: string;
  file(name: string): string;
  [Symbol.dispose](): void;
} {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Connects to a TCP (`{ host, port }`) or Unix stream (`{ path }`) server. */
export function connect(
  address: { host: string; port: number; family?: string } | { path: string },
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'path' in address
        ? net.connect({ path: address.path })
        : net.connect({ host: address.host, port: address.port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the peer sends until it closes (resolves on 'end' or 'close'; rejects on error). */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** `promise`, or a rejection naming `what` after `ms` (default WAIT_MS). */
export function withDeadline<T>(promise: Promise<T>, what: string, ms: number = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Sends one UDP datagram to `{ host, port, family }` and waits (at most WAIT_MS) for one reply. */
export async function udpRoundTrip(
  address: { host: string; port: number; family: 'IPv4' | 'IPv6' },
  data: Buffer,
): Promise<Buffer> {
  const [reply] = await udpReplies(address, data, 1);
  return reply!;
}

/** Sends one UDP datagram and waits (at most WAIT_MS) for the first `count` datagrams that come back. */
export async function udpReplies(
  address: { host: string; port: number; family: 'IPv4' | 'IPv6' },
  data: Buffer | string,
  count: number,
): Promise<Buffer[]> {
  const socket = dgram.createSocket(address.family === 'IPv6' ? 'udp6' : 'udp4');
  try {
    const replies: Buffer[] = [];
    const all = new Promise<Buffer[]>((resolve) => {
      socket.on('message', (reply) => {
        replies.push(reply);
        if (replies.length === count) resolve(replies);
      });
    });
    await new Promise<void>((resolve, reject) =>
      socket.send(data, address.port, address.host, (error) => (error ? reject(error) : resolve())),
    );
    return await withDeadline(all, count === 1 ? 'a UDP reply' : `${count} UDP replies`);
  } finally {
    socket.close();
  }
}
