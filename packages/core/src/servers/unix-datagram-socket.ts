/**
 * Unix datagram sockets (AF_UNIX / SOCK_DGRAM). Node.js has none built in, so this wraps the native
 * part of the optional package `@sockserve/udp-native` (prebuilt for linux-x64, built from source
 * at install on other POSIX systems) in a small promise-based socket.
 *
 * Facts about the addon (src/unix_dgram.c there) that shape this file:
 * - Every call is synchronous and returns 0 or a negative errno (libuv's codes), never throws for a
 *   system error.
 * - It receives into a 65536-byte buffer, so longer datagrams arrive cut to that size
 *   ({@link UNIX_DGRAM_MAX_RECEIVE_SIZE}). Sending is bounded by the socket's SO_SNDBUF (EMSGSIZE above
 *   about `net.core.wmem_default` - 32 bytes on Linux).
 * - The sender's path is '' when the sender is unbound (or abstract).
 * - An unconnected `sendto` to a full receiver (Linux: more than `net.unix.max_dgram_qlen` queued
 *   datagrams) or with our own send buffer full fails with EAGAIN, and poll(2) cannot tell when the
 *   receiver drains, so we retry with a short backoff.
 * - A bound socket reads from the moment it is bound and keeps the event loop alive until closed; a
 *   send-only socket does not.
 */

import { Buffer } from 'node:buffer';
import type udpNative from '@sockserve/udp-native';
import {
  ConnectionClosedError,
  ErrorCodes,
  invalidType,
  invalidValue,
  SockserveError,
  systemCallError,
} from '../errors.js';
import { loadNativeAddon } from '../io/native-addon.js';

type UnixDgramAddon = udpNative.UnixDgramAddon;
type UnixHandle = udpNative.UnixHandle;

/** A system error in Node's style: `code` is the errno name, `path` the socket path it concerns. */
export interface UnixDatagramSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path: string;
}

/** Bytes read per datagram: longer datagrams arrive silently truncated to this many bytes. */
export const UNIX_DGRAM_MAX_RECEIVE_SIZE = 65536;

/** Longest socket path, in bytes (sun_path minus its NUL). */
const MAX_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

const INSTALL_HINT =
  'npm install @sockserve/udp-native (prebuilt for linux-x64; elsewhere it compiles at install, ' +
  'which needs python3, make and a C compiler, and npm 11+ runs once approved: ' +
  'npm install-scripts approve @sockserve/udp-native && npm rebuild @sockserve/udp-native)';

/**
 * Returns the Unix datagram part of `@sockserve/udp-native`, or throws an UNSUPPORTED error that says
 * what is missing and how to install it (`cause`: the error from loading the package).
 */
export function loadUnixDatagramAddon(): UnixDgramAddon {
  if (process.platform === 'win32') {
    throw new SockserveError(ErrorCodes.UNSUPPORTED, 'Unix datagram sockets are not available on Windows');
  }
  const { addon, error } = loadNativeAddon();
  if (typeof addon?.unixSocket === 'function') return addon;
  const text = error?.message.split('\n')[0] ?? 'it has no Unix datagram functions';
  const missing =
    (error as { code?: unknown } | undefined)?.code === 'MODULE_NOT_FOUND' &&
    /@sockserve\/udp-native['"]/.test(text);
  throw new SockserveError(
    ErrorCodes.UNSUPPORTED,
    missing
      ? `Unix datagram sockets need the optional package "@sockserve/udp-native": ${INSTALL_HINT}`
      : `Unix datagram sockets need the optional package "@sockserve/udp-native", which is installed but its ` +
          `native addon did not load (${text}): ${INSTALL_HINT}`,
    { cause: error },
  );
}

function systemError(syscall: string, code: number | string, path: string): UnixDatagramSystemError {
  return systemCallError(syscall, code, path, { path });
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw invalidType('path', 'a string', path);
  if (path === '' || path.includes('\0'))
    throw invalidValue('path', 'a non-empty path without NUL bytes', path);
}

/** Opens a socket: the addon and its handle. */
function createRaw(): { addon: UnixDgramAddon; handle: UnixHandle } {
  const addon = loadUnixDatagramAddon();
  const handle = addon.unixSocket();
  if (typeof handle === 'number') throw systemError('socket', handle, '');
  return { addon, handle };
}

type SendResult = 'sent' | 'again' | UnixDatagramSystemError;

interface PendingSend {
  readonly buffer: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface SendQueue {
  readonly items: PendingSend[];
  attempt: number;
  /** Cancels the scheduled retry, if any. */
  cancel: (() => void) | undefined;
}

/** Retry delays (ms) after EAGAIN; the first retry runs on setImmediate, after pending I/O. */
const RETRY_DELAYS_MS = [0, 1, 2, 4, 8, 16];

/**
 * A Unix datagram socket with promises. Create a receiving one with {@link UnixDatagramSocket.bind},
 * or a send-only one with {@link UnixDatagramSocket.create}. Close it when done: a bound socket keeps
 * the process alive. The socket file is left in place on close.
 */
export class UnixDatagramSocket {
  readonly #addon: UnixDgramAddon;
  readonly #handle: UnixHandle;
  readonly #path: string | undefined;
  readonly #listeners = new Set<(packet: Buffer, senderPath: string) => void>();
  readonly #errorListeners = new Set<(error: UnixDatagramSystemError) => void>();
  /** Sends waiting for EAGAIN to clear, per destination, so each destination gets its datagrams in order. */
  readonly #queues = new Map<string, SendQueue>();
  #closed = false;

  private constructor(raw: { addon: UnixDgramAddon; handle: UnixHandle }, path: string | undefined) {
    this.#addon = raw.addon;
    this.#handle = raw.handle;
    this.#path = path;
  }

  /** Starts reading (a bound socket); returns 0 or a negative errno. */
  #receive(): number {
    return this.#addon.unixReceive(
      this.#handle,
      (message, sender) => {
        for (const listener of this.#listeners) listener(message, sender);
      },
      (code) => {
        const error = systemError('recvfrom', code, this.#path ?? '');
        for (const listener of this.#errorListeners) listener(error);
      },
    );
  }

  /**
   * Binds a new socket to `path`. Rejects with ADDRESS_IN_USE when the path exists (a live socket,
   * a stale socket file or any other file), otherwise BIND_FAILED; `cause` is the system error.
   */
  static async bind(path: string): Promise<UnixDatagramSocket> {
    checkPath(path);
    if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
      throw new SockserveError(
        ErrorCodes.BIND_FAILED,
        `cannot bind Unix datagram socket to ${path}: path is ${Buffer.byteLength(path)} bytes, max ${MAX_PATH_BYTES}`,
      );
    }
    const raw = createRaw();
    const failure = raw.addon.unixBind(raw.handle, path);
    if (failure !== 0) {
      raw.addon.unixClose(raw.handle);
      const cause = systemError('bind', failure, path);
      const inUse = cause.code === 'EADDRINUSE';
      throw new SockserveError(
        inUse ? ErrorCodes.ADDRESS_IN_USE : ErrorCodes.BIND_FAILED,
        `cannot bind Unix datagram socket to ${path}: ${inUse ? 'address already in use' : 'bind failed'} (${cause.code})`,
        { cause },
      );
    }
    const socket = new UnixDatagramSocket(raw, path);
    const reading = socket.#receive();
    if (reading !== 0) {
      await socket.close();
      const cause = systemError('poll', reading, path);
      throw new SockserveError(
        ErrorCodes.BIND_FAILED,
        `cannot read the Unix datagram socket bound to ${path} (${cause.code})`,
        { cause },
      );
    }
    return socket;
  }

  /**
   * Creates an unbound socket, for clients that only send: receivers see its sender path as '' and
   * cannot reply to it. Bind a client socket to its own path to get replies.
   */
  static create(): UnixDatagramSocket {
    return new UnixDatagramSocket(createRaw(), undefined);
  }

  /** The bound path, or `undefined` for an unbound socket. */
  get path(): string | undefined {
    return this.#path;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `listener` for each datagram, synchronously from the native callback (so a throwing
   * listener becomes an uncaught exception). `senderPath` is '' when the sender is unbound.
   * Datagrams longer than 65 536 bytes arrive truncated to it.
   * Datagrams that arrive while no listener is registered are dropped. Returns an unsubscribe function.
   */
  onMessage(listener: (packet: Buffer, senderPath: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Calls `listener` with a failed read of a bound socket (a system error naming the socket's path;
   * such errors are rare). Returns an unsubscribe function.
   */
  onError(listener: (error: UnixDatagramSystemError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => {
      this.#errorListeners.delete(listener);
    };
  }

  /**
   * Sends one datagram to `path`. Resolves once the kernel took it. When the receiver's queue (or our send
   * buffer) is full, waits and retries, keeping the order of datagrams per destination. Rejects with a
   * system error naming the path (`code` ENOENT when nothing is there, ECONNREFUSED when no one is bound
   * to it, EMSGSIZE when too big), or with CONNECTION_CLOSED if the socket is closed while waiting.
   */
  sendTo(data: Uint8Array, path: string): Promise<void> {
    try {
      checkPath(path);
      if (!(data instanceof Uint8Array)) throw invalidType('data', 'a Uint8Array', data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) {
      return Promise.reject(
        new SockserveError(
          ErrorCodes.INVALID_STATE,
          `cannot send to ${path}: the Unix datagram socket is closed`,
        ),
      );
    }
    if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
      return Promise.reject(systemError('sendto', 'ENAMETOOLONG', path));
    }
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const queue = this.#queues.get(path);
    if (queue === undefined) {
      const result = this.#trySend(buffer, path);
      if (result === 'sent') return Promise.resolve();
      if (result !== 'again') return Promise.reject(result);
    }
    return new Promise<void>((resolve, reject) => {
      const item: PendingSend = { buffer, resolve, reject };
      if (queue !== undefined) {
        queue.items.push(item);
        return;
      }
      const created: SendQueue = { items: [item], attempt: 0, cancel: undefined };
      this.#queues.set(path, created);
      this.#scheduleRetry(path, created);
    });
  }

  /** Closes the socket and rejects sends still waiting. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const queues = [...this.#queues];
    this.#queues.clear();
    for (const [path, queue] of queues) {
      queue.cancel?.();
      for (const item of queue.items) {
        item.reject(
          new ConnectionClosedError(`Unix datagram socket closed before the datagram to ${path} was sent`),
        );
      }
    }
    this.#errorListeners.clear();
    this.#addon.unixClose(this.#handle);
  }

  #trySend(buffer: Buffer, path: string): SendResult {
    const result = this.#addon.unixSendTo(this.#handle, buffer, path);
    if (result === 0) return 'sent';
    const error = systemError('sendto', result, path);
    // EAGAIN/ENOBUFS mean "the receiver's queue or our send buffer is full": retry.
    return error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK' || error.code === 'ENOBUFS'
      ? 'again'
      : error;
  }

  #scheduleRetry(path: string, queue: SendQueue): void {
    const delay = RETRY_DELAYS_MS[Math.min(queue.attempt, RETRY_DELAYS_MS.length - 1)] ?? 16;
    queue.attempt += 1;
    const run = (): void => {
      queue.cancel = undefined;
      this.#drain(path, queue);
    };
    if (delay === 0) {
      const immediate = setImmediate(run);
      queue.cancel = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(run, delay);
      queue.cancel = () => clearTimeout(timer);
    }
  }

  #drain(path: string, queue: SendQueue): void {
    if (this.#closed || this.#queues.get(path) !== queue) return;
    while (queue.items.length > 0) {
      const item = queue.items[0]!;
      const result = this.#trySend(item.buffer, path);
      if (result === 'again') {
        this.#scheduleRetry(path, queue);
        return;
      }
      queue.items.shift();
      queue.attempt = 0;
      if (result === 'sent') item.resolve();
      else item.reject(result);
    }
    this.#queues.delete(path);
  }
}

/**
 * True when a datagram socket is bound and open at `path` (connecting to it succeeds, which sends
 * nothing); false for a stale socket file (ECONNREFUSED) or a missing one.
 */
export function isDatagramSocketLive(path: string): Promise<boolean> {
  const { addon, handle } = createRaw();
  const result = addon.unixConnect(handle, path);
  addon.unixClose(handle);
  if (result === 0) return Promise.resolve(true);
  const code = systemError('connect', result, path).code;
  return Promise.resolve(code !== 'ECONNREFUSED' && code !== 'ENOENT');
}
