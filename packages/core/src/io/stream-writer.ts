/**
 * `StreamWriter`: the writer behind a stream handler's `wfile`.
 *
 * `await writer.write(data)` is the backpressure point: it resolves at once
 * while the socket can take more, and otherwise when the socket drains, so a
 * peer that never reads makes the handler wait instead of growing the write
 * buffer without bound.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, invalidType } from '../errors.js';

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
}

/**
 * A writer over a connected socket (any `Duplex`, normally a `net.Socket`).
 *
 * For the caller: `write()`, `end()`, `drain()`, `writableLength`. Writes
 * need not be awaited one by one, but awaiting them is what bounds memory.
 * A write or end that fails because the connection closed or errored rejects
 * with `ConnectionClosedError` whose `cause` is the socket error, if any; such
 * a rejection is never reported as unhandled, so an un-awaited write to a
 * dead connection is dropped like `socket.write()` would drop it.
 */
export class StreamWriter {
  private readonly socket: Duplex;
  private drainWaiter: DrainWaiter | undefined = undefined;
  private error: unknown = undefined;
  private attached = false;
  /** A write was made in this tick (`endTick` is scheduled). */
  private wroteThisTick = false;
  private corked = false;

  constructor(socket: Duplex) {
    if (typeof socket !== 'object' || socket === null || typeof socket.write !== 'function') {
      throw invalidType('socket', 'a stream.Duplex such as a net.Socket', socket);
    }
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
   * ended.
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
   * resolves once everything is flushed (`'finish'`). Safe to repeat.
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
        const cleanup = (): void => {
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
      waiter = { promise, resolve, reject };
      this.drainWaiter = waiter;
    }
    return waiter.promise;
  }

  private closedError(message: string): ConnectionClosedError {
    const cause = this.error ?? this.socket.errored ?? undefined;
    return new ConnectionClosedError(message, cause === undefined ? undefined : { cause });
  }

  private rejectDrain(message: string): void {
    const waiter = this.drainWaiter;
    if (waiter === undefined) return;
    this.drainWaiter = undefined;
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
