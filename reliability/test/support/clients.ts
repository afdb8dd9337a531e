/**
 * Clients for the scenarios: well-behaved ones whose every byte is checked, and the helpers the
 * abusive ones need. Real sockets on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { connect, readAll, WAIT_MS, withDeadline } from '../../../test-support/fixtures.js';

export { connect, readAll, WAIT_MS, withDeadline };

/** A TCP server address as the tests use it. */
export interface TcpAddress {
  host: string;
  port: number;
}

/** `count` printable lines of random content (no LF inside), each with its LF. */
export function randomLines(count: number, length = 100): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++)
    lines.push(`${randomBytes(length).toString('base64url').slice(0, length)}\n`);
  return lines;
}

/**
 * A well-behaved client of a line echo: sends `lines`, half-closes, and resolves with everything the
 * server sent back before it closed. The caller checks that every byte came back.
 */
export async function echoLines(address: TcpAddress, lines: string[]): Promise<string> {
  const socket = await connect(address);
  const received = readAll(socket);
  for (const line of lines) socket.write(line);
  socket.end();
  return String(await withDeadline(received, 'the echoed lines'));
}

/** One complete exchange with a line echo on a fresh connection: true when every byte came back. */
export async function servesNewClient(address: TcpAddress): Promise<boolean> {
  const lines = randomLines(20);
  return (await echoLines(address, lines)) === lines.join('');
}

/** Resolves when `socket` has closed (whatever the reason: end, reset, error). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** A connection that ignores its errors (resets are what the abusive clients expect). */
export async function quietConnect(address: TcpAddress): Promise<net.Socket> {
  const socket = await connect(address);
  socket.on('error', () => {});
  return socket;
}

/** Runs `task(i)` for i in [0, count), at most `concurrency` at a time; resolves with the results. */
export async function inBatches<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate()` holds (checked every 20 ms), for at most `ms`; then fails naming `what`. */
export async function until(predicate: () => boolean, what: string, ms: number = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/**
 * A well-behaved client that keeps its connection to a line echo: `send()` writes and waits until
 * everything sent so far has come back; `finish()` half-closes and waits for the server to close.
 * `intact()` says whether every byte came back, in order.
 */
export interface EchoSession {
  socket: net.Socket;
  send(text: string): Promise<void>;
  finish(): Promise<void>;
  intact(): boolean;
  /** Bytes sent so far. */
  sentBytes(): number;
}

export async function echoSession(address: TcpAddress): Promise<EchoSession> {
  const socket = await connect(address);
  const sent: Buffer[] = [];
  const received: Buffer[] = [];
  let sentLength = 0;
  let receivedLength = 0;
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    receivedLength += chunk.length;
    if (receivedLength >= sentLength) waiter?.();
  });
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('close', () => {
      waiter?.();
      resolve();
    });
    socket.once('error', reject);
  });
  ended.catch(() => {});
  return {
    socket,
    async send(text) {
      const bytes = Buffer.from(text);
      sent.push(bytes);
      sentLength += bytes.length;
      const back = new Promise<void>((resolve) => (waiter = resolve));
      socket.write(bytes);
      if (receivedLength < sentLength) await withDeadline(back, 'the echo of what was sent');
      waiter = undefined;
    },
    async finish() {
      socket.end();
      await withDeadline(ended, 'the server closing after the echo');
    },
    intact: () => Buffer.concat(received).equals(Buffer.concat(sent)),
    sentBytes: () => sentLength,
  };
}
