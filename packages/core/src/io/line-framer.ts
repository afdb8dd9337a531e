/**
 * `LineFramer`: LF-delimited line framing with a maximum length, pause/resume
 * and safe reentrancy, in the manner of Twisted's `LineReceiver`. Feed it
 * chunks with `push()`; it calls `onLine` once per line.
 */
import { ErrorCodes, invalidType, SockserveError } from '../errors.js';
import { optional, validateInteger } from '../validators.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of `new LineFramer(options)`. */
export interface LineFramerOptions {
  /** Longest line accepted, in bytes, not counting the LF and one CR before it; default 4096. */
  maxLineBytes?: number | undefined;
  /** Called with each line, without its LF and one CR before it (empty lines too). */
  onLine: (line: Buffer) => void;
  /** Called once per over-long line, as soon as it passes `maxLineBytes`, with that limit; default: nothing. */
  onLineTooLong?: ((maxLineBytes: number) => void) | undefined;
}

/**
 * Splits a byte stream into lines.
 *
 * For the caller: `push(chunk)`, `end()`, `pause()`, `resume()`, `paused`,
 * `buffered`.
 *
 * A line longer than `maxLineBytes` is discarded up to its LF and reported
 * once through `onLineTooLong`; the framer never holds more than
 * `maxLineBytes` + 1 bytes of a line plus the chunk being split (and, while
 * paused, the chunks pushed meanwhile: pause the source too).
 *
 * Callbacks may call `pause()`, `resume()` and `push()`: lines are always
 * delivered in order, one callback at a time. After `pause()` the remaining
 * lines of the current chunk are held, and `resume()` delivers them
 * synchronously before it returns (unless a callback pauses again). A line
 * delivered by `onLine` may be a view into a pushed chunk.
 */
export class LineFramer {
  /** Longest line accepted, in bytes, not counting its terminator. */
  readonly maxLineBytes: number;

  private readonly onLine: (line: Buffer) => void;
  private readonly onLineTooLong: ((maxLineBytes: number) => void) | undefined;
  /** Pushed chunks not fully split yet; `queue[queueHead]` is split from `offset` on. */
  private queue: Array<Buffer | undefined> = [];
  private queueHead = 0;
  private offset = 0;
  private queuedBytes = 0;
  /** The start of the current line, when it spans chunks. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  private discarding = false;
  private isPaused = false;
  private delivering = false;
  private ended = false;
  private finished = false;

  constructor(options: LineFramerOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    if (typeof options.onLine !== 'function') throw invalidType('onLine', 'a function', options.onLine);
    if (options.onLineTooLong !== undefined && typeof options.onLineTooLong !== 'function') {
      throw invalidType('onLineTooLong', 'a function', options.onLineTooLong);
    }
    this.maxLineBytes = optional(
      options.maxLineBytes,
      4096,
      (value, name) => validateInteger(value, name, 0),
      'maxLineBytes',
    );
    this.onLine = options.onLine;
    this.onLineTooLong = options.onLineTooLong;
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Bytes held: the start of the current line plus input not split yet. */
  get buffered(): number {
    return this.partialLength + this.queuedBytes;
  }

  /** Adds received bytes; delivers the complete lines at once unless paused or called from a callback. */
  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw invalidType('chunk', 'a Buffer or Uint8Array', chunk);
    if (this.ended) throw new SockserveError(ErrorCodes.INVALID_STATE, 'LineFramer.push() after end()');
    if (chunk.length === 0) return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.queue.push(buffer);
    this.queuedBytes += buffer.length;
    this.process();
  }

  /** Marks the end of input: a final line without LF is delivered (after any held lines). Safe to repeat. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.process();
  }

  /** Holds further lines until `resume()`. */
  pause(): void {
    this.isPaused = true;
  }

  /** Delivers the held lines synchronously, then continues with new input. */
  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.process();
  }

  /** Delivers lines while not paused; a call from inside a callback leaves the work to the outer call. */
  private process(): void {
    if (this.delivering || this.isPaused) return;
    this.delivering = true;
    try {
      while (!this.isPaused) {
        const chunk = this.queue[this.queueHead];
        if (chunk !== undefined) {
          this.split(chunk);
        } else if (this.ended && !this.finished) {
          this.finished = true;
          this.deliverFinal();
        } else {
          break;
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Handles the next line of `chunk` (the head of the queue), or the rest of it. */
  private split(chunk: Buffer): void {
    const start = this.offset;
    const lf = chunk.indexOf(LF, start);
    if (lf === -1) {
      this.nextChunk(chunk.length - start);
      if (this.discarding) return;
      this.partial.push(start === 0 ? chunk : chunk.subarray(start));
      this.partialLength += chunk.length - start;
      const max = this.maxLineBytes;
      if (
        this.partialLength > max + 1 ||
        (this.partialLength === max + 1 && chunk[chunk.length - 1] !== CR)
      ) {
        this.tooLong(true);
      }
      return;
    }

    if (lf + 1 === chunk.length) this.nextChunk(chunk.length - start);
    else {
      this.offset = lf + 1;
      this.queuedBytes -= lf + 1 - start;
    }
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    const partialLength = this.partialLength;
    const before = lf > start ? chunk[lf - 1] : partialLength > 0 ? lastByte(this.partial) : undefined;
    const length = partialLength + (lf - start) - (before === CR ? 1 : 0);
    if (length > this.maxLineBytes) {
      this.tooLong(false);
      return;
    }
    let line: Buffer;
    if (partialLength === 0) {
      line = chunk.subarray(start, start + length);
    } else {
      const pieces = this.partial;
      pieces.push(chunk.subarray(start, lf));
      this.partial = [];
      this.partialLength = 0;
      line = Buffer.concat(pieces, length);
    }
    this.onLine(line);
  }

  /** Drops the current line (and, if its LF has not come yet, the rest of it) and reports it once. */
  private tooLong(discardRest: boolean): void {
    this.partial = [];
    this.partialLength = 0;
    this.discarding = discardRest;
    this.onLineTooLong?.(this.maxLineBytes);
  }

  private deliverFinal(): void {
    if (this.discarding || this.partialLength === 0) {
      this.partial = [];
      this.partialLength = 0;
      return;
    }
    // No LF follows, so a last CR is part of the line: `maxLineBytes` + 1 bytes ending in CR are too long.
    if (this.partialLength > this.maxLineBytes) {
      this.tooLong(false);
      return;
    }
    const line = Buffer.concat(this.partial, this.partialLength);
    this.partial = [];
    this.partialLength = 0;
    this.onLine(line);
  }

  /** Moves past the head chunk, of which `rest` bytes were not yet consumed. */
  private nextChunk(rest: number): void {
    this.queuedBytes -= rest;
    this.queue[this.queueHead] = undefined;
    this.queueHead++;
    this.offset = 0;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 64 && this.queueHead * 2 >= this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }
}

function lastByte(pieces: Buffer[]): number | undefined {
  const piece = pieces[pieces.length - 1];
  return piece === undefined ? undefined : piece[piece.length - 1];
}
