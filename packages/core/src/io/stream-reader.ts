/**
 * `StreamReader`: the buffered reader behind a stream handler's `rfile`.
 *
 * It listens to the socket's `'data'` events and keeps the chunks it receives
 * in an array with a head offset, so a read that one chunk satisfies returns a
 * view of that chunk without copying. It pauses the socket while
 * `highWaterMark` bytes are buffered and no read is waiting, and resumes it
 * when a read drains the buffer or needs more bytes.
 *
 * It reads the way Python's buffered `rfile` does: `read(n)` waits for
 * exactly `n` bytes (fewer only at EOF), `read1(n)`/`recv(n)` return what has
 * arrived, `readline()` returns one line with its LF, and `for await` yields
 * lines as `for line in rfile` does. Lines (and `readUntil` records) are
 * bounded by `maxLineBytes` (64 KiB, asyncio's default) unless a read says
 * otherwise.
 *
 * EOF is signalled the way Python's `rfile` does it: `readline()`, `read()`
 * and `read1()` return an empty Buffer; `readExactly()` and `readUntil()`
 * reject with `IncompleteReadError`; iteration ends.
 */
import type { Duplex } from 'node:stream';
import {
  ErrorCodes,
  IncompleteReadError,
  invalidType,
  invalidValue,
  LineTooLongError,
  SockserveError,
  TimeoutError,
} from '../errors.js';
import { optional, validateInteger, validateSeconds } from '../validators.js';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY: Buffer = Buffer.alloc(0);
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
/** The default of `maxLineBytes`: asyncio's stream limit. */
const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
/** Stands in for the socket of a reader made by `StreamReader.fromBuffer()`. */
const NO_SOCKET = { pause: (): void => {}, resume: (): void => {} } as unknown as Duplex;

/** Options of `new StreamReader(socket, options)`. */
export interface StreamReaderOptions {
  /** Idle time allowed per read, in seconds (no data for that long rejects it with TimeoutError); default undefined = wait forever. */
  timeout?: number | undefined;
  /** Buffered bytes at which the socket is paused while no read is waiting, in bytes; default 65536 (64 KiB). */
  highWaterMark?: number | undefined;
  /**
   * Longest line or `readUntil` record accepted when a read gives no `maxBytes`, in bytes, not
   * counting its delimiter; `Infinity` for no limit. Default 65536 (64 KiB, asyncio's default).
   */
  maxLineBytes?: number | undefined;
}

/** Options of `readline()`, `readUntil()` and `lines()`. */
export interface ReadLimitOptions {
  /**
   * Longest line or record accepted, in bytes, not counting its delimiter (for lines: LF and one CR
   * before it); `Infinity` for no limit. Default: the reader's `maxLineBytes` (64 KiB).
   */
  maxBytes?: number | undefined;
}

/** The one read that may be waiting for data. */
interface Waiter {
  /** Returns the result, `undefined` when more data is needed, or throws. Never returns `undefined` at EOF. */
  readonly attempt: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout | undefined;
  readonly seconds: number;
}

/**
 * A buffered reader over a connected socket (any `Duplex`, normally a `net.Socket`).
 *
 * For the caller: `readline()`, `read()`, `read1()`, `recv()`, `readExactly()`,
 * `readUntil()`, `for await (const line of reader)`, `lines()`, `chunks()`,
 * `atEof`, `buffered`, and the settable `timeout` and `maxLineBytes`. Only one
 * read may be pending at a time.
 *
 * The reader takes over the socket's flow: it adds a `'data'` listener and
 * resumes the socket, then pauses and resumes it for backpressure. Once the
 * socket closes it removes its listeners. A socket error rejects the pending
 * read and every later read with that error; the reader never destroys the
 * socket itself (a timeout leaves it open for the handler to decide).
 */
export class StreamReader implements AsyncIterable<Buffer> {
  /** Idle time allowed per read, in seconds; undefined waits forever. Read when a read starts waiting. */
  timeout: number | undefined;
  /** Buffered bytes at which the socket is paused while no read is waiting. */
  readonly highWaterMark: number;
  /**
   * Longest line or `readUntil` record a read without `maxBytes` accepts, in bytes (`Infinity`: no
   * limit). Read when a read (or an iteration) starts. Default 65536.
   */
  maxLineBytes: number;

  private readonly socket: Duplex;
  /** Received chunks; `queue[head]` is the first with unread bytes, from `headOffset` on. */
  private queue: Array<Buffer | undefined> = [];
  private head = 0;
  private headOffset = 0;
  /** Unread bytes in `queue`. */
  private size = 0;
  private eof = false;
  private failed = false;
  private error: unknown = undefined;
  private waiter: Waiter | undefined = undefined;
  private pausedByReader = false;
  private attached = false;
  /** After a LineTooLongError: the delimiter whose record the next readline/readUntil skips first. */
  private skipThrough: number | Buffer | undefined = undefined;
  /** Where the delimiter search of the current read resumes: chunk index, position in it, bytes already searched. */
  private scanChunk = 0;
  private scanPos = 0;
  private scanned = 0;

  constructor(socket: Duplex, options?: StreamReaderOptions) {
    if (socket === NO_SOCKET) {
      this.socket = socket;
      this.timeout = undefined;
      this.highWaterMark = DEFAULT_HIGH_WATER_MARK;
      this.maxLineBytes = Number.POSITIVE_INFINITY;
      this.eof = true;
      return;
    }
    if (typeof socket !== 'object' || socket === null || typeof socket.on !== 'function') {
      throw invalidType('socket', 'a stream.Duplex such as a net.Socket', socket);
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw invalidType('options', 'an object', options);
    }
    this.timeout = optional<number | undefined>(options?.timeout, undefined, validateSeconds, 'timeout');
    this.highWaterMark = optional(
      options?.highWaterMark,
      DEFAULT_HIGH_WATER_MARK,
      (value, name) => validateInteger(value, name, 1),
      'highWaterMark',
    );
    this.maxLineBytes = optional(
      options?.maxLineBytes,
      DEFAULT_MAX_LINE_BYTES,
      validateLimit,
      'maxLineBytes',
    );
    this.socket = socket;

    if (socket.errored) {
      this.failed = true;
      this.error = socket.errored;
    } else if (socket.readableEnded) {
      this.eof = true;
    }
    if (socket.closed) {
      if (!this.failed) this.eof = true;
      return;
    }
    this.attached = true;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    if (socket.isPaused()) socket.resume();
  }

  /**
   * A reader over bytes already received (a datagram, a test fixture): it
   * returns them, then EOF. The bytes are not copied. Its `maxLineBytes` is
   * `Infinity` (the bytes are already in memory), as Python's `BytesIO` has no limit.
   */
  static fromBuffer(data: Uint8Array): StreamReader {
    if (!(data instanceof Uint8Array)) throw invalidType('data', 'a Buffer or Uint8Array', data);
    const reader = new StreamReader(NO_SOCKET);
    if (data.length > 0) {
      reader.queue.push(
        Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length),
      );
      reader.size = data.length;
    }
    return reader;
  }

  /** True once the peer's end (or the socket's close) arrived and every buffered byte has been read. */
  get atEof(): boolean {
    return this.eof && this.size === 0;
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.size;
  }

  /**
   * Reads one line and returns it with its LF (and CR, if any), like Python's
   * `rfile.readline()`. At EOF it returns the remaining bytes without LF, then
   * an empty Buffer on every later call.
   *
   * `readline(size)` returns at most `size` bytes, as Python's does: a longer
   * line comes in pieces of `size` bytes, the last one with its LF, and no
   * error is raised (a negative `size` is the same as none).
   *
   * Without `size`, a line longer than `maxBytes` (default: the reader's
   * `maxLineBytes`, 64 KiB; not counting the LF and one CR before it) rejects
   * with `LineTooLongError` as soon as the limit is passed, without buffering
   * more of it; the next `readline()` first skips the rest of that line, up to
   * and including its LF (a `read()`, `readExactly()` or chunk iteration in
   * between cancels the skip and sees the raw bytes).
   */
  readline(size?: number | ReadLimitOptions): Promise<Buffer> {
    if (typeof size === 'number') {
      if (!Number.isInteger(size)) throw invalidValue('size', 'an integer', size);
      const pieceBytes = size;
      if (pieceBytes >= 0) return this.start(() => this.attemptLinePiece(pieceBytes));
    }
    const maxBytes = this.readLimit(typeof size === 'number' ? undefined : size);
    return this.start(() => this.attemptRecord(LF, maxBytes, true));
  }

  /**
   * `read(n)` with n >= 0 returns exactly n bytes, waiting for them, and fewer
   * only at EOF (Python's `BufferedReader.read`); `read()` (n < 0) returns
   * everything until EOF. Both return an empty Buffer at EOF. For "whatever
   * has arrived, up to n bytes", use `read1(n)` or `recv(n)`.
   */
  read(n = -1): Promise<Buffer> {
    validateCount(n);
    if (n < 0) {
      return this.start(() => {
        this.skipThrough = undefined;
        return this.eof ? this.take(this.size) : undefined;
      });
    }
    return this.start(() => {
      this.skipThrough = undefined;
      if (this.size >= n) return this.take(n);
      return this.eof ? this.take(this.size) : undefined;
    });
  }

  /**
   * Returns up to `n` bytes as soon as at least one is buffered (Python's
   * `BufferedReader.read1`), or every buffered byte when `n` is negative or
   * omitted; an empty Buffer at EOF (and for `n` = 0).
   */
  read1(n = -1): Promise<Buffer> {
    validateCount(n);
    return this.start(() => {
      this.skipThrough = undefined;
      if (this.size > 0) return this.take(n < 0 ? this.size : Math.min(n, this.size));
      return this.eof || n === 0 ? EMPTY : undefined;
    });
  }

  /**
   * `read1(n)` under the name Python code calls on a socket: `data = await
   * this.rfile.recv(1024)` for `data = self.request.recv(1024)`. Resolves with
   * 1 to `n` bytes as soon as some arrive, an empty Buffer at EOF.
   */
  recv(n: number): Promise<Buffer> {
    validateInteger(n, 'n', 0);
    return this.read1(n);
  }

  /** Returns exactly `n` bytes, or rejects with `IncompleteReadError` (holding what arrived) at EOF. */
  readExactly(n: number): Promise<Buffer> {
    validateInteger(n, 'n', 0);
    return this.start(() => {
      this.skipThrough = undefined;
      if (this.size >= n) return this.take(n);
      if (this.eof) throw new IncompleteReadError(this.take(this.size), n);
      return undefined;
    });
  }

  /**
   * Returns the bytes up to and including `delimiter` (a string is UTF-8).
   * At EOF before the delimiter it rejects with `IncompleteReadError` holding
   * the bytes that arrived. A record longer than `maxBytes` (default: the
   * reader's `maxLineBytes`, 64 KiB; not counting the delimiter) rejects with
   * `LineTooLongError`, and the next `readline()`/`readUntil()` first skips
   * past this delimiter.
   */
  readUntil(delimiter: string | Uint8Array, options?: ReadLimitOptions): Promise<Buffer> {
    let bytes: Buffer;
    if (typeof delimiter === 'string') bytes = Buffer.from(delimiter, 'utf8');
    else if (delimiter instanceof Uint8Array) bytes = Buffer.from(delimiter);
    else throw invalidType('delimiter', 'a string or Uint8Array', delimiter);
    if (bytes.length === 0) throw invalidValue('delimiter', 'at least one byte', '(empty)');
    const maxBytes = this.readLimit(options);
    const search = bytes.length === 1 ? bytes[0]! : bytes;
    return this.start(() => this.attemptRecord(search, maxBytes, false));
  }

  /**
   * Yields lines **with** their LF, as Python's `for line in rfile` does; a
   * final line without LF is yielded as it is at EOF. Lines are bounded by
   * `maxLineBytes`: a longer one rejects `next()` with `LineTooLongError`
   * (which ends a `for await` loop). `lines()` yields them without LF, and
   * `chunks()` yields the bytes as they arrive. Breaking out of the loop
   * leaves the reader usable.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    const maxBytes = this.readLimit(undefined);
    return this.iterate((): IteratorResult<Buffer> | undefined => {
      const line = this.attemptRecord(LF, maxBytes, true);
      if (line === undefined) return undefined;
      return line.length === 0 ? DONE : { done: false, value: line };
    });
  }

  /**
   * Yields the received chunks (buffered ones first, without copying) until
   * EOF, each as it arrived. Breaking out of the loop leaves the reader usable.
   */
  chunks(): AsyncIterableIterator<Buffer> {
    return this.iterate(this.attemptChunk);
  }

  /**
   * Yields lines without their terminator (the LF and one CR before it); a
   * final line without LF is yielded as it is at EOF. A line longer than
   * `maxBytes` (default: the reader's `maxLineBytes`, 64 KiB) rejects `next()`
   * with `LineTooLongError` (which ends a `for await` loop); a later `next()`,
   * `lines()` or `readline()` continues after that line.
   */
  lines(options?: ReadLimitOptions): AsyncIterableIterator<Buffer> {
    const maxBytes = this.readLimit(options);
    return this.iterate((): IteratorResult<Buffer> | undefined => {
      const line = this.attemptRecord(LF, maxBytes, true);
      if (line === undefined) return undefined;
      const length = line.length;
      if (length === 0) return DONE;
      if (line[length - 1] !== LF) return { done: false, value: line };
      const end = length >= 2 && line[length - 2] === CR ? length - 2 : length - 1;
      return { done: false, value: line.subarray(0, end) };
    });
  }

  /** The limit of one read: its `maxBytes`, else `maxLineBytes`; undefined for none. */
  private readLimit(options: ReadLimitOptions | undefined): number | undefined {
    let limit = this.maxLineBytes;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
      limit = optional(options.maxBytes, limit, validateLimit, 'maxBytes');
    }
    return limit === Number.POSITIVE_INFINITY ? undefined : limit;
  }

  /** An iterator whose `next()` is one read: no generator, no extra promise per item. */
  private iterate(attempt: () => IteratorResult<Buffer> | undefined): AsyncIterableIterator<Buffer> {
    let finished = false;
    const iterator: AsyncIterableIterator<Buffer> = {
      next: (): Promise<IteratorResult<Buffer>> => {
        if (finished) return Promise.resolve(DONE);
        return this.start(attempt);
      },
      return: (): Promise<IteratorResult<Buffer>> => {
        finished = true;
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  // --- reading machinery ---------------------------------------------------

  /** Runs `attempt` now; if it needs more data, parks it as the pending read. */
  private start<T>(attempt: () => T | undefined): Promise<T> {
    if (this.waiter !== undefined) {
      throw new SockserveError(ErrorCodes.INVALID_STATE, 'a read is already pending on this StreamReader');
    }
    if (this.failed) return Promise.reject(this.error);
    this.resetScan();
    let result: T | undefined;
    try {
      result = attempt();
    } catch (error) {
      this.updateFlow();
      return Promise.reject(error);
    }
    if (result !== undefined) {
      this.updateFlow();
      return Promise.resolve(result);
    }
    return new Promise<T>((resolve, reject) => {
      const seconds = this.timeout;
      let timer: NodeJS.Timeout | undefined;
      if (seconds != null) {
        timer = setTimeout(this.onTimeout, seconds * 1000);
        timer.unref();
      }
      this.waiter = {
        attempt,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
        seconds: seconds ?? 0,
      };
      this.updateFlow();
    });
  }

  /** Gives the pending read another try after new data, EOF or close. */
  private wake(waiter: Waiter): void {
    let result: unknown;
    try {
      result = waiter.attempt();
    } catch (error) {
      this.settle(waiter);
      waiter.reject(error);
      return;
    }
    if (result === undefined) {
      waiter.timer?.refresh();
      return;
    }
    this.settle(waiter);
    waiter.resolve(result);
  }

  private settle(waiter: Waiter): void {
    this.waiter = undefined;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    this.updateFlow();
  }

  /** Pauses the socket while the buffer is full and no read waits; resumes it otherwise. */
  private updateFlow(): void {
    const pause = this.size >= this.highWaterMark && this.waiter === undefined;
    if (pause === this.pausedByReader) return;
    this.pausedByReader = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private readonly attemptChunk = (): IteratorResult<Buffer> | undefined => {
    this.skipThrough = undefined;
    if (this.size > 0) return { done: false, value: this.takeChunk() };
    return this.eof ? DONE : undefined;
  };

  /** One try at `readline(size)`: a line of at most `size` bytes, or its first `size` bytes. */
  private attemptLinePiece(size: number): Buffer | undefined {
    if (this.skipThrough !== undefined && !this.skipRecord()) {
      if (!this.eof) return undefined;
      this.discard(this.size);
      this.skipThrough = undefined;
    }
    if (size === 0) return EMPTY;
    const at = this.find(LF);
    if (at !== -1 && at < size) return this.take(at + 1);
    if (this.size >= size) return this.take(size);
    return this.eof ? this.take(this.size) : undefined;
  }

  /**
   * One try at reading a record that ends with `delimiter` (LF for lines).
   * Returns `undefined` when more data is needed.
   */
  private attemptRecord(
    delimiter: number | Buffer,
    maxBytes: number | undefined,
    isLine: boolean,
  ): Buffer | undefined {
    if (this.skipThrough !== undefined && !this.skipRecord()) {
      if (!this.eof) return undefined;
      this.discard(this.size);
      this.skipThrough = undefined;
    }
    const delimiterLength = typeof delimiter === 'number' ? 1 : delimiter.length;
    const at = this.find(delimiter);
    if (at !== -1) {
      const end = at + delimiterLength;
      if (
        maxBytes !== undefined &&
        at > maxBytes &&
        (!isLine || at > maxBytes + 1 || this.byteAt(at - 1) !== CR)
      ) {
        this.discard(end);
        throw new LineTooLongError(maxBytes);
      }
      return this.take(end);
    }
    if (maxBytes !== undefined) {
      const searched = this.scanned;
      const tooLong = isLine
        ? searched > maxBytes + 1 || (searched === maxBytes + 1 && this.lastByte() !== CR)
        : searched - (delimiterLength - 1) > maxBytes;
      if (tooLong) {
        // Keep a possible start of the delimiter; the next read skips the rest of the record.
        this.discard(this.size - (delimiterLength - 1));
        this.skipThrough = this.eof ? undefined : delimiter;
        throw new LineTooLongError(maxBytes);
      }
    }
    if (!this.eof) return undefined;
    if (isLine) return this.take(this.size);
    throw new IncompleteReadError(this.take(this.size));
  }

  /** Discards the rest of an over-long record; true once its delimiter has been passed. */
  private skipRecord(): boolean {
    const delimiter = this.skipThrough!;
    const length = typeof delimiter === 'number' ? 1 : delimiter.length;
    const at = this.find(delimiter);
    if (at !== -1) {
      this.discard(at + length);
      this.skipThrough = undefined;
      return true;
    }
    this.discard(Math.max(0, this.size - (length - 1)));
    return false;
  }

  /**
   * Offset (from the first unread byte) of the first `delimiter`, or -1.
   * Resumes where the previous search of the same read stopped, so each
   * byte is searched once however many chunks a long line spans.
   */
  private find(delimiter: number | Buffer): number {
    const queue = this.queue;
    const extra = typeof delimiter === 'number' ? 0 : delimiter.length - 1;
    let index = this.scanChunk;
    let pos = this.scanPos;
    let scanned = this.scanned;
    while (index < queue.length) {
      const chunk = queue[index]!;
      if (extra > 0 && scanned > 0) {
        // A delimiter may start in the bytes already searched and end in this chunk.
        const tail = Math.min(extra, scanned);
        const window = Buffer.allocUnsafe(tail + Math.min(extra, chunk.length - pos));
        this.copyTail(index, tail, window);
        chunk.copy(window, tail, pos, pos + window.length - tail);
        const at = window.indexOf(delimiter);
        if (at !== -1) return scanned - tail + at;
      }
      const at = chunk.indexOf(delimiter, pos);
      if (at !== -1) return scanned + at - pos;
      scanned += chunk.length - pos;
      index++;
      pos = 0;
    }
    this.scanChunk = index;
    this.scanPos = 0;
    this.scanned = scanned;
    return -1;
  }

  /** Copies the `count` unread bytes just before `queue[index]` to the start of `target`. */
  private copyTail(index: number, count: number, target: Buffer): void {
    let remaining = count;
    while (remaining > 0) {
      index--;
      const chunk = this.queue[index]!;
      const start = index === this.head ? this.headOffset : 0;
      const n = Math.min(remaining, chunk.length - start);
      remaining -= n;
      chunk.copy(target, remaining, chunk.length - n);
    }
  }

  /** The unread byte at `offset` (which must be < size). */
  private byteAt(offset: number): number {
    let index = this.head;
    let position = this.headOffset + offset;
    for (;;) {
      const chunk = this.queue[index]!;
      if (position < chunk.length) return chunk[position]!;
      position -= chunk.length;
      index++;
    }
  }

  private lastByte(): number | undefined {
    const chunk = this.queue[this.queue.length - 1];
    return chunk === undefined ? undefined : chunk[chunk.length - 1];
  }

  /** Removes and returns the first `n` unread bytes (n <= size): a view when one chunk holds them, else a copy. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const chunk = this.queue[this.head]!;
    const start = this.headOffset;
    const available = chunk.length - start;
    let out: Buffer;
    if (n < available) {
      out = chunk.subarray(start, start + n);
      this.headOffset = start + n;
    } else if (n === available) {
      out = start === 0 ? chunk : chunk.subarray(start);
      this.advance();
    } else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      while (copied < n) {
        const current = this.queue[this.head]!;
        const from = this.headOffset;
        const want = n - copied;
        const have = current.length - from;
        if (want < have) {
          current.copy(out, copied, from, from + want);
          this.headOffset = from + want;
          copied = n;
        } else {
          current.copy(out, copied, from);
          copied += have;
          this.advance();
        }
      }
    }
    this.size -= n;
    this.resetScan();
    return out;
  }

  /** Removes and returns the rest of the first chunk (size must be > 0). */
  private takeChunk(): Buffer {
    const chunk = this.queue[this.head]!;
    const out = this.headOffset === 0 ? chunk : chunk.subarray(this.headOffset);
    this.size -= out.length;
    this.advance();
    this.resetScan();
    return out;
  }

  /** Drops the first `n` unread bytes (n <= size). */
  private discard(n: number): void {
    this.size -= n;
    while (n > 0) {
      const chunk = this.queue[this.head]!;
      const have = chunk.length - this.headOffset;
      if (n < have) {
        this.headOffset += n;
        break;
      }
      n -= have;
      this.advance();
    }
    this.resetScan();
  }

  /** Moves past the head chunk, releasing it; compacts the array now and then. */
  private advance(): void {
    const queue = this.queue;
    queue[this.head] = undefined;
    this.head++;
    this.headOffset = 0;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private resetScan(): void {
    this.scanChunk = this.head;
    this.scanPos = this.headOffset;
    this.scanned = 0;
  }

  // --- socket events -------------------------------------------------------

  private readonly onData = (data: Buffer | string): void => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (chunk.length === 0 || this.failed) return;
    this.queue.push(chunk);
    this.size += chunk.length;
    const waiter = this.waiter;
    if (waiter !== undefined) this.wake(waiter);
    else if (!this.pausedByReader && this.size >= this.highWaterMark) {
      this.pausedByReader = true;
      this.socket.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.eof = true;
    const waiter = this.waiter;
    if (waiter !== undefined) this.wake(waiter);
  };

  private readonly onError = (error: Error): void => {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    this.queue = [];
    this.head = 0;
    this.headOffset = 0;
    this.size = 0;
    this.resetScan();
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.settle(waiter);
      waiter.reject(error);
    }
  };

  private readonly onClose = (): void => {
    if (this.attached) {
      this.attached = false;
      const socket = this.socket;
      socket.off('data', this.onData);
      socket.off('end', this.onEnd);
      socket.off('error', this.onError);
      socket.off('close', this.onClose);
    }
    if (this.failed) return;
    // Closed without an end from the peer (e.g. destroyed locally): no more data will come.
    this.eof = true;
    const waiter = this.waiter;
    if (waiter !== undefined) this.wake(waiter);
  };

  private readonly onTimeout = (): void => {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.settle(waiter);
    waiter.reject(new TimeoutError(waiter.seconds));
  };
}

/** Validates a byte limit: an integer >= 0, or `Infinity` for none. */
function validateLimit(value: unknown, name: string): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return validateInteger(value, name, 0);
}

/** Validates the `n` of `read(n)`/`read1(n)`: any integer, negative meaning "no count". */
function validateCount(n: unknown): void {
  if (typeof n !== 'number') throw invalidType('n', 'an integer', n);
  if (!Number.isInteger(n)) throw invalidValue('n', 'an integer', n);
}
