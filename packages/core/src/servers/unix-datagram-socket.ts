/**
 * Unix datagram sockets (AF_UNIX / SOCK_DGRAM). Node.js has none built in, so this wraps the optional
 * native package `unix-dgram` in a small promise-based socket.
 *
 * Facts about `unix-dgram` 2.0.x that shape this file (see its lib/unix_dgram.js and src/unix_dgram.cc):
 * - Everything is synchronous: `bind` emits 'error'/'listening' and `send` calls its callback before
 *   returning. Error codes are negative errno numbers (e.g. -98), not names.
 * - It receives into a fixed 65536-byte buffer and does not check MSG_TRUNC, so longer datagrams arrive
 *   silently cut to 65536 bytes ({@link UNIX_DGRAM_MAX_RECEIVE_SIZE}). Sending is bounded by the socket's
 *   SO_SNDBUF (EMSGSIZE above about `net.core.wmem_default` - 32 bytes).
 * - The sender's path is `null` when the sender is unbound (or abstract); we report it as ''.
 * - Its 'congestion'/'writable' events exist only for connected sockets. An unconnected `sendto` to a full
 *   receiver (Linux: more than `net.unix.max_dgram_qlen` queued datagrams) or with our own send buffer full
 *   just fails with EAGAIN, and poll(2) cannot tell when the receiver drains, so we retry with a short backoff.
 * - `bind` truncates paths to the sun_path size without an error, so we check the length first.
 * - An open socket keeps the event loop alive (there is no unref), and closing the same one twice
 *   aborts the process (a C++ assert), hence the idempotent {@link UnixDatagramSocket.close}.
 */

import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import {
  ConnectionClosedError,
  ErrorCodes,
  errnoName,
  invalidType,
  invalidValue,
  SockserveError,
  systemCallError,
} from '../errors.js';

/** What `unix-dgram` passes as the second argument of 'message'. */
export interface UnixDgramRemoteInfo {
  size: number;
  /** The sender's bound path, or `null` when the sender is unbound. */
  path: string | null;
}

/** The error `unix-dgram` reports: `code` and `errno` are a negative errno number (e.g. -111). */
export interface UnixDgramRawError extends Error {
  code: number;
  errno?: number;
  syscall?: string;
}

/** The part of a `unix-dgram` socket that sockserve uses. */
export interface UnixDgramRawSocket {
  fd: number;
  on(event: 'message', listener: (message: Buffer, rinfo: UnixDgramRemoteInfo) => void): this;
  on(event: 'error', listener: (error: UnixDgramRawError) => void): this;
  removeListener(event: 'error', listener: (error: UnixDgramRawError) => void): this;
  removeAllListeners(event?: string): this;
  bind(path: string): void;
  /** Sets the default destination; synchronous: emits 'error' (e.g. ECONNREFUSED) or 'connect'. */
  connect(path: string): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    path: string,
    callback: (error?: UnixDgramRawError) => void,
  ): void;
  close(): void;
}

/** The `unix-dgram` module (it ships no types). */
export interface UnixDgramModule {
  createSocket(
    type: 'unix_dgram',
    listener?: (message: Buffer, rinfo: UnixDgramRemoteInfo) => void,
  ): UnixDgramRawSocket;
}

/** A system error in Node's style: `code` is the errno name, `path` the socket path it concerns. */
export interface UnixDatagramSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path: string;
}

/** Receive buffer size of `unix-dgram`: longer datagrams arrive silently truncated to this many bytes. */
export const UNIX_DGRAM_MAX_RECEIVE_SIZE = 65536;

/** Longest socket path `unix-dgram` passes on unchanged, in bytes (sun_path minus its NUL). */
const MAX_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

const INSTALL_HINT = 'npm install-scripts approve unix-dgram';

let cachedModule: UnixDgramModule | undefined;

/** Loads the optional package `unix-dgram` (once), or throws an UNSUPPORTED error that says how to install it. */
export function loadUnixDgram(): UnixDgramModule {
  if (cachedModule !== undefined) return cachedModule;
  let loaded: UnixDgramModule;
  try {
    loaded = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const text = error instanceof Error ? error.message : String(error);
    const missing = code === 'MODULE_NOT_FOUND' && /['"]unix-dgram['"]/.test(text);
    throw new SockserveError(
      ErrorCodes.UNSUPPORTED,
      missing
        ? 'Unix datagram sockets need the optional package "unix-dgram": npm install unix-dgram ' +
            `(it builds a native addon, so approve its install script if npm asks: ${INSTALL_HINT})`
        : 'Unix datagram sockets need the optional package "unix-dgram", which is installed but its native ' +
            `addon did not load (${text.split('\n')[0]}): approve and run its install script ` +
            `(${INSTALL_HINT} && npm rebuild unix-dgram; building needs python3, make and a C++ compiler)`,
      { cause: error },
    );
  }
  if (typeof loaded?.createSocket !== 'function') {
    throw new SockserveError(ErrorCodes.UNSUPPORTED, 'the package "unix-dgram" has no createSocket()');
  }
  cachedModule = loaded;
  return loaded;
}

function systemError(syscall: string, raw: unknown, path: string): UnixDatagramSystemError {
  const rawCode = (raw as { code?: unknown } | null)?.code;
  return systemCallError(syscall, rawCode, path, { path }, { cause: raw });
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw invalidType('path', 'a string', path);
  if (path === '' || path.includes('\0'))
    throw invalidValue('path', 'a non-empty path without NUL bytes', path);
}

function createRaw(): UnixDgramRawSocket {
  try {
    return loadUnixDgram().createSocket('unix_dgram');
  } catch (error) {
    if (SockserveError.isInstance(error)) throw error;
    if (error instanceof Error && /not available on this platform/.test(error.message)) {
      throw new SockserveError(
        ErrorCodes.UNSUPPORTED,
        'Unix datagram sockets are not available on this platform',
        {
          cause: error,
        },
      );
    }
    throw systemError('socket', error, '');
  }
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
 * or a send-only one with {@link UnixDatagramSocket.create}. Close it when done: an open socket keeps
 * the process alive. The socket file is left in place on close.
 */
export class UnixDatagramSocket {
  readonly #raw: UnixDgramRawSocket;
  readonly #path: string | undefined;
  readonly #listeners = new Set<(packet: Buffer, senderPath: string) => void>();
  /** Sends waiting for EAGAIN to clear, per destination, so each destination gets its datagrams in order. */
  readonly #queues = new Map<string, SendQueue>();
  #closed = false;

  private constructor(raw: UnixDgramRawSocket, path: string | undefined) {
    this.#raw = raw;
    this.#path = path;
    raw.on('message', (message, rinfo) => {
      const sender = rinfo?.path ?? '';
      for (const listener of this.#listeners) listener(message, sender);
    });
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
    let failure: unknown;
    const onError = (error: UnixDgramRawError): void => {
      failure = error;
    };
    raw.on('error', onError);
    try {
      raw.bind(path); // synchronous: emits 'error' or 'listening' before returning
    } catch (error) {
      failure = error;
    }
    raw.removeListener('error', onError);
    if (failure !== undefined) {
      raw.close();
      const cause = systemError('bind', failure, path);
      const inUse = cause.code === 'EADDRINUSE';
      throw new SockserveError(
        inUse ? ErrorCodes.ADDRESS_IN_USE : ErrorCodes.BIND_FAILED,
        `cannot bind Unix datagram socket to ${path}: ${inUse ? 'address already in use' : 'bind failed'} (${cause.code})`,
        { cause },
      );
    }
    return new UnixDatagramSocket(raw, path);
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
   * Datagrams longer than {@link UNIX_DGRAM_MAX_RECEIVE_SIZE} arrive truncated to it.
   * Datagrams that arrive while no listener is registered are dropped. Returns an unsubscribe function.
   */
  onMessage(listener: (packet: Buffer, senderPath: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
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
      return Promise.reject(systemError('sendto', { code: 'ENAMETOOLONG' }, path));
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
    this.#raw.removeAllListeners('message');
    this.#raw.close(); // must run once only: unix-dgram aborts the process on a second close
  }

  #trySend(buffer: Buffer, path: string): SendResult {
    let result = 'sent' as SendResult;
    try {
      this.#raw.send(buffer, 0, buffer.length, path, (error) => {
        if (error == null) return;
        const code = errnoName(error.code);
        // code 1 is unix-dgram's 'congestion' (connected sockets only); EAGAIN/ENOBUFS mean "queue full".
        result =
          error.code === 1 || code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'ENOBUFS'
            ? 'again'
            : systemError('sendto', error, path);
      });
    } catch (error) {
      result = systemError('sendto', error, path);
    }
    return result;
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
  const raw = createRaw();
  let failure: unknown;
  const onError = (error: UnixDgramRawError): void => {
    failure = error;
  };
  raw.on('error', onError);
  try {
    raw.connect(path); // synchronous, like bind
  } catch (error) {
    failure = error;
  }
  raw.removeListener('error', onError);
  raw.close();
  if (failure === undefined) return Promise.resolve(true);
  const code = systemError('connect', failure, path).code;
  return Promise.resolve(code !== 'ECONNREFUSED' && code !== 'ENOENT');
}
