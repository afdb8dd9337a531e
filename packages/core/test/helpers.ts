import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type net from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  connect,
  readAll,
  tempDir as sharedTempDir,
  udpReplies,
  udpRoundTrip,
  withDeadline,
} from '../../../test-support/fixtures.js';
import type { InetAddress, UnixAddress } from '../src/address.js';
import { UnixDatagramSocket } from '../src/servers/unix-datagram-socket.js';

export { connect, readAll, udpReplies, udpRoundTrip, withDeadline };

/** A temporary directory for Unix socket paths; removed by `[Symbol.dispose]`. */
export const tempDir = (): ReturnType<typeof sharedTempDir> => sharedTempDir('sockserve-');

/** What the fixtures use of a server (structural, so servers from src and from dist both fit). */
interface AnyServer {
  listen(): Promise<unknown>;
  serveForever(): Promise<void>;
  shutdown(): Promise<void>;
  serverClose(): Promise<void>;
}

/** Starts `serveForever()` in the background; disposing shuts the server down and closes it. */
export async function serving<S extends AnyServer>(
  server: S,
): Promise<S & { loop: Promise<void>; [Symbol.asyncDispose](): Promise<void> }> {
  await server.listen();
  const loop = server.serveForever();
  return Object.assign(server, {
    loop,
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
      await server.serverClose();
      await loop;
    },
  });
}

/** Reads until `count` bytes arrived (or the peer closed). */
export function readBytes(socket: net.Socket, count: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (): void => {
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('error', reject);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= count) finish();
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('error', reject);
  });
}

/** One stream round trip on a fresh connection: send `data`, read `data.length` bytes back. */
export async function streamRoundTrip(address: InetAddress | UnixAddress, data: Buffer): Promise<Buffer> {
  const socket = await connect(address);
  try {
    socket.write(data);
    return await readBytes(socket, data.length);
  } finally {
    socket.destroy();
  }
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
    return await reply;
  } finally {
    await socket.close();
    rmSync(clientPath, { force: true });
  }
}

/** A promise and its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `emitter` emits `event` (with its first argument). */
export function once<T = unknown>(emitter: object, event: string): Promise<T> {
  const target = emitter as { once(event: string, listener: (value: T) => void): unknown };
  return new Promise((resolve) => target.once(event, resolve));
}

/** Runs a full garbage collection (test-only: flags V8 at run time). */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Waits until `predicate()` holds, polling every 5 ms, for at most `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Live (non-zombie) processes whose parent is `pid`, read from the OS process table. */
export function childProcessesOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat !== undefined && stat.ppid === pid && stat.state !== 'Z') children.push(Number(entry));
  }
  return children;
}

/** True while `pid` is a live process (zombies count as gone; they are reported as `'zombie'`). */
export function processState(pid: number): 'alive' | 'zombie' | 'gone' {
  const stat = processStat(pid);
  if (stat === undefined) return 'gone';
  return stat.state === 'Z' ? 'zombie' : 'alive';
}

function processStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}
