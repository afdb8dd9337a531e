/**
 * `StreamWriter`: the writer behind a stream handler's `wfile`.
 *
 * `await writer.write(data)` is the backpressure point: it resolves at once
 * while the socket can take more, and otherwise when the socket drains, so a
 * peer that never reads makes the handler wait instead of growing the write
 * buffer without bound. With a `timeout`, that wait is bounded, as Python's
 * `sendall()` is by the socket timeout.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, invalidType, TimeoutError } from '../errors.js';
import { optional, validateSeconds } from '../validators.js';
import { type SendfileSource, sendFile } from './sendfile.js';

export type { SendfileSource } from './sendfile.js';

const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};

/** A promise whose rejection is not reported as unhandled (a fire-and-forget `write()` must not crash the process). */
function quiet(promise: Promise<void>): Promise<void> {
  promise.catch(noop);
  return promise;
}

interface DrainWaiter {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

/** Options of `new StreamWriter(socket, options)`. */
export interface StreamWriterOptions {
  /**
   * Longest wait of a `write()`, `drain()` or `end()` for the peer to take the bytes, in seconds;
   * past it the wait rejects with `TimeoutError` and the connection is destroyed. Default undefined =
   * wait forever.
   */
  timeout?: number | undefined;
}

/**
 * A writer over a connected socket (any `Duplex`, normally a `net.Socket`).
 *
 * For the caller: `write()`, `end()`, `drain()`, `sendfile()`, `writableLength`
 * and the settable `timeout`. Writes need not be awaited one by one, but
 * awaiting them is what bounds memory.
 *
 * With `timeout` set, a write that waits for the peer longer than that (a
 * peer that stopped reading) rejects with `TimeoutError`, as Python's
 * `sendall()` raises `TimeoutError`, and the connection is destroyed: what
 * was queued can no longer be delivered in order, so the request ends (later
 * writes reject with `ConnectionClosedError` whose `cause` is that timeout).
 * A write or end that fails because the connection closed or errored rejects
 * with `ConnectionClosedError` whose `cause` is the socket error, if any; such
 * a rejection is never reported as unhandled, so an un-awaited write to a
 * dead connection is dropped like `socket.write()` would drop it.
 */
export class StreamWriter {
  /** Longest wait for the peer to take written bytes, in seconds; undefined waits forever. Read when a wait starts. */
  timeout: number | undefined;

  private readonly socket: Duplex;
  private drainWaiter: DrainWaiter | undefined = undefined;
  private error: unknown = undefined;
  private attached = false;
  /** A write was made in this tick (`endTick` is scheduled). */
  private wroteThisTick = false;
  private corked = false;

  constructor(socket: Duplex, options?: StreamWriterOptions) {
    if (typeof socket !== 'object' || socket === null || typeof socket.write !== 'function') {
      throw invalidType('socket', 'a stream.Duplex such as a net.Socket', socket);
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw invalidType('options', 'an object', options);
    }
    this.timeout = optional<number | undefined>(options?.timeout, undefined, validateSeconds, 'timeout');
    this.socket = socket;
    if (socket.closed) return;
    this.attached = true;
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /**
   * Writes `data` (a string is UTF-8). Resolves at once when the socket can
   * take more, otherwise when it drains; rejects with `ConnectionClosedError`
   * if the connection closes first, and at once if it is already closed or
   * ended, and with `TimeoutError` after `timeout` seconds of waiting.
   */
  write(data: string | Uint8Array): Promise<void> {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw invalidType('data', 'a string or Uint8Array', data);
    }
    const socket = this.socket;
    if (socket.destroyed) return quiet(Promise.reject(this.closedError('connection closed')));
    if (socket.writableEnded) return quiet(Promise.reject(this.closedError('write after end')));
    // The first write of a tick goes out at once; later ones in the same tick (a readline/write loop
    // makes many small ones) are corked and leave together, as one writev, when the tick ends.
    if (!this.wroteThisTick) {
      this.wroteThisTick = true;
      process.nextTick(this.endTick);
    } else if (!this.corked) {
      this.corked = true;
      socket.cork();
    }
    if (socket.write(data)) return RESOLVED;
    return this.waitForDrain();
  }

  /**
   * Writes `data`, if given, then half-closes the connection (sends FIN) and
   * resolves once everything is flushed (`'finish'`), or rejects with
   * `TimeoutError` after `timeout` seconds. Safe to repeat.
   */
  end(data?: string | Uint8Array): Promise<void> {
    if (data !== undefined && typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw invalidType('data', 'a string or Uint8Array', data);
    }
    const socket = this.socket;
    if (data !== undefined && socket.writableEnded) {
      return quiet(Promise.reject(this.closedError('write after end')));
    }
    if (socket.writableFinished) return RESOLVED;
    if (socket.destroyed)
      return quiet(Promise.reject(this.closedError('connection closed before end() flushed')));
    return quiet(
      new Promise<void>((resolve, reject) => {
        const onFinish = (): void => {
          cleanup();
          resolve();
        };
        const onEnded = (): void => {
          cleanup();
          if (socket.writableFinished) resolve();
          else reject(this.closedError('connection closed before end() flushed'));
        };
        const seconds = this.timeout;
        const timer =
          seconds === undefined
            ? undefined
            : setTimeout(() => {
                cleanup();
                reject(this.timedOut(seconds));
              }, seconds * 1000);
        const cleanup = (): void => {
          if (timer !== undefined) clearTimeout(timer);
          socket.off('finish', onFinish);
          socket.off('error', onEnded);
          socket.off('close', onEnded);
        };
        socket.on('finish', onFinish);
        socket.on('error', onEnded);
        socket.on('close', onEnded);
        if (!socket.writableEnded) {
          if (data === undefined) socket.end();
          else socket.end(data);
        }
      }),
    );
  }

  /**
   * Sends `count` bytes of `file` from byte `offset`, as Python's `socket.sendfile(file, offset,
   * count)`: `file` is a path (opened and closed here), a `FileHandle` or a file descriptor (read at
   * explicit positions, so its file position does not move; Python's does). `count` undefined or 0
   * sends until the end of the file; `offset` defaults to 0. Resolves with the bytes sent once the
   * last of them is handed to the socket, with the same backpressure and `timeout` as `write()`.
   * Zero-copy (sendfile(2)) on Linux with `@sockserve/udp-native` installed, for a plain TCP or Unix
   * socket; streamed through `write()` otherwise. Nothing else should be written until it resolves.
   */
  sendfile(file: SendfileSource, offset?: number, count?: number): Promise<number> {
    return sendFile(this, this.socket, file, offset, count);
  }

  /** Resolves when the socket's write buffer has drained (at once if it needs no drain). */
  drain(): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed) return quiet(Promise.reject(this.closedError('connection closed')));
    return socket.writableNeedDrain ? this.waitForDrain() : RESOLVED;
  }

  private waitForDrain(): Promise<void> {
    let waiter = this.drainWaiter;
    if (waiter === undefined) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = quiet(
        new Promise<void>((resolvePromise, rejectPromise) => {
          resolve = resolvePromise;
          reject = rejectPromise;
        }),
      );
      const seconds = this.timeout;
      const timer = seconds === undefined ? undefined : setTimeout(this.onTimeout, seconds * 1000, seconds);
      waiter = { promise, resolve, reject, timer };
      this.drainWaiter = waiter;
    }
    return waiter.promise;
  }

  /** Records a write timeout and destroys the connection; returns the error to reject with. */
  private timedOut(seconds: number): TimeoutError {
    const error = new TimeoutError(seconds, 'write');
    this.error ??= error;
    this.socket.destroy();
    return error;
  }

  private readonly onTimeout = (seconds: number): void => {
    const waiter = this.drainWaiter;
    if (waiter === undefined) return;
    this.drainWaiter = undefined;
    waiter.reject(this.timedOut(seconds));
  };

  private closedError(message: string): ConnectionClosedError {
    const cause = this.error ?? this.socket.errored ?? undefined;
    return new ConnectionClosedError(message, cause === undefined ? undefined : { cause });
  }

  private rejectDrain(message: string): void {
    const waiter = this.drainWaiter;
    if (waiter === undefined) return;
    this.drainWaiter = undefined;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.reject(this.closedError(message));
  }

  private readonly endTick = (): void => {
    this.wroteThisTick = false;
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onDrain = (): void => {
    const waiter = this.drainWaiter;
    if (waiter === undefined) return;
    this.drainWaiter = undefined;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve();
  };

  private readonly onError = (error: Error): void => {
    this.error ??= error;
    this.rejectDrain('connection failed before the write completed');
  };

  private readonly onClose = (): void => {
    if (this.attached) {
      this.attached = false;
      const socket = this.socket;
      socket.off('drain', this.onDrain);
      socket.off('error', this.onError);
      socket.off('close', this.onClose);
    }
    this.rejectDrain('connection closed before the write completed');
  };
}
