/**
 * `LineOutbox`: the lines waiting to go to one chat client. Lines queued during one turn of the event
 * loop leave in a single `socket.write()` (in `setImmediate`), so a fan-out of many small lines costs
 * one write per client per turn, not one per line. It also enforces `maxPendingBytes` on the client's
 * unsent output as `chat-protocol.md` (1.1) defines it: what the socket has not accepted after the
 * lines were offered to it. Lines queued and accepted within the same turn never count, so a client
 * that keeps reading is never reported, however large a burst; one whose output stays unsent is
 * reported through `onOverflow` instead of growing the server's memory.
 */
import type { Writable } from 'node:stream';

/** Options of `new LineOutbox(socket, options)`. */
export interface LineOutboxOptions {
  /** Unsent output allowed (bytes the socket has not accepted after a write), in bytes. */
  maxPendingBytes: number;
  /** Called once when the unsent output exceeds `maxPendingBytes`; the outbox is closed by then. */
  onOverflow: () => void;
}

/**
 * The parts of a `net.Socket` that tell how much of what it was given the kernel has not taken yet.
 * `writableLength` alone counts a write the kernel took only partly as wholly unsent (8 MiB written, 4
 * MiB accepted: 8 MiB), so the outbox asks libuv's queue (`_handle.writeQueueSize`: the unsent part of
 * the writes in flight) and subtracts the size of those writes (`_writableState.writelen`) from
 * `writableLength`. Both are long-standing fields of Node's streams; when either is missing (another
 * kind of stream), `writableLength` is used as it is, which only overcounts.
 */
interface SocketInternals {
  readonly _handle?: { readonly writeQueueSize?: unknown } | null;
  readonly _writableState?: { readonly writing?: unknown; readonly writelen?: unknown };
}

/** Bytes given to `socket` that it has not handed to the kernel yet. */
export function unsentBytes(socket: Writable): number {
  const length = socket.writableLength;
  if (length === 0) return 0;
  const { _handle: handle, _writableState: state } = socket as unknown as SocketInternals;
  const inKernelQueue = handle?.writeQueueSize;
  if (typeof inKernelQueue !== 'number' || state === undefined) return length;
  if (state.writing !== true) return length;
  const inFlight = state.writelen;
  if (typeof inFlight !== 'number' || inFlight > length) return length;
  return length - inFlight + Math.min(inKernelQueue, inFlight);
}

/** Queued characters at which the outbox writes at once instead of waiting for the end of the turn. */
const FLUSH_BYTES = 256 * 1024;

/** Outboxes with lines to write at the next flush, in the order they were first queued. */
let dirty: LineOutbox[] = [];
let flushScheduled = false;
/** `performance.now()` before which the next flush waits (0: at the end of the turn). */
let pausedUntil = 0;
/** A flush of every dirty outbox that takes at least this long (ms) makes the next one wait. */
const PACING_MS = 1;
/** How long that wait is, as a multiple of the time the flush took. */
const PAUSE_FACTOR = 2;

/** Lines queued (by any outbox) since the paced flush last looked: still busy while non-zero. */
let queuedSinceCheck = 0;

/**
 * Writes the lines of every outbox that has some, one write each; normally at the end of the turn
 * (`setImmediate`). In a large room that costs one system call per member, and a room whose members
 * each get a line per turn (a join storm: one `-- guestN joined` per turn, as connections are
 * accepted one per turn) would cost as many calls as members × joins: 5,000 joins, 12.5 million
 * writes. So after a flush that took long, the next one waits while lines keep coming, turn after
 * turn, for up to twice as long as that flush took: the lines of those turns leave together, in one
 * write per member, and the server spends at most about a third of its time writing. A turn that
 * brings no new line ends the wait at once, so a quiet room is never delayed; a small room (a flush
 * under `PACING_MS`) is not paced at all.
 */
function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  queuedSinceCheck = 0;
  setImmediate(pacedFlush);
}

function pacedFlush(): void {
  if (queuedSinceCheck > 0 && pausedUntil !== 0 && performance.now() < pausedUntil) {
    queuedSinceCheck = 0;
    setImmediate(pacedFlush);
    return;
  }
  flushDirty();
}

function flushDirty(): void {
  const outboxes = dirty;
  dirty = [];
  // Stays set while flushing: encode() must not schedule another flush before the pause is known.
  flushScheduled = true;
  const start = performance.now();
  for (const outbox of outboxes) outbox.flush();
  recent.length = 0;
  const end = performance.now();
  pausedUntil = end - start >= PACING_MS ? end + PAUSE_FACTOR * (end - start) : 0;
  flushScheduled = false;
  if (dirty.length > 0) scheduleFlush();
}

/**
 * The last few batches encoded, to share between clients: in a fan-out most clients of a room get the
 * very same lines in a turn (the same string objects, delivered by the hub), so they can be sent the
 * same Buffer, encoded once — as a raw broadcaster writes one received chunk to every client.
 */
const recent: { lines: string[]; data: Buffer }[] = [];
const RECENT_BATCHES = 4;

function encode(lines: string[]): Buffer {
  for (const batch of recent) if (sameLines(batch.lines, lines)) return batch.data;
  const data = Buffer.from(lines.length === 1 ? `${lines[0]}\n` : `${lines.join('\n')}\n`, 'utf8');
  if (recent.length === RECENT_BATCHES) recent.shift();
  recent.push({ lines, data });
  // The cache lives until the next flushDirty(), which empties it.
  scheduleFlush();
  return data;
}

/** What `lines` count for in `queued`: their characters and an LF each. */
function queuedLength(lines: string[]): number {
  let length = lines.length;
  for (const line of lines) length += line.length;
  return length;
}

function sameLines(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * For the caller: `deliver()` (lines from other sessions), `reply()` (the session's own replies),
 * both taking one line or several joined by LF, without the final LF;
 * `hold()`/`release()`, `flush()`, `close()`, `pendingBytes`.
 *
 * Between `hold()` and `release()`, delivered lines wait behind the replies queued meanwhile: the
 * handler holds while a hub call is in flight so that its reply (`-- welcome …`, `-- you joined …`)
 * reaches the client before lines that other sessions sent in the meantime.
 */
export class LineOutbox {
  private readonly socket: Writable;
  private readonly maxPendingBytes: number;
  private readonly onOverflow: () => void;
  private lines: string[] = [];
  private held: string[] = [];
  /** Characters queued here (lines plus their LF): a lower bound of their UTF-8 size. */
  private queued = 0;
  private holding = false;
  private scheduled = false;
  private closed = false;

  constructor(socket: Writable, options: LineOutboxOptions) {
    this.socket = socket;
    this.maxPendingBytes = options.maxPendingBytes;
    this.onOverflow = options.onOverflow;
  }

  /** Bytes not yet handed to the kernel: what the socket has not accepted plus the lines queued here. */
  get pendingBytes(): number {
    if (this.closed) return 0;
    let bytes = unsentBytes(this.socket);
    for (const line of this.lines) bytes += Buffer.byteLength(line) + 1;
    for (const line of this.held) bytes += Buffer.byteLength(line) + 1;
    return bytes;
  }

  /** Queues a line from the hub (held while `hold()` is in effect). */
  deliver(line: string): void {
    if (this.closed) return;
    if (this.holding) this.held.push(line);
    else this.lines.push(line);
    this.added(line);
  }

  /** Queues one of the session's own replies (never held). */
  reply(line: string): void {
    if (this.closed) return;
    this.lines.push(line);
    this.added(line);
  }

  /** Makes delivered lines wait behind the replies queued until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Queues the held lines after the replies. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    const held = this.held;
    if (held.length > 0) {
      this.held = [];
      for (const line of held) this.lines.push(line);
    }
    if (this.lines.length > 0) this.schedule();
  }

  /** Writes the queued lines now, in one write. */
  flush(): void {
    this.scheduled = false;
    const lines = this.lines;
    if (lines.length === 0 || this.closed) return;
    this.lines = [];
    this.queued -= queuedLength(lines);
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(encode(lines));
    // What the socket did not accept now is unsent output; what it took does not count.
    if (socket.writableLength > this.maxPendingBytes && unsentBytes(socket) > this.maxPendingBytes) {
      this.overflow();
    }
  }

  /** Drops whatever is queued; later lines are ignored. Safe to repeat. */
  close(): void {
    this.closed = true;
    this.lines = [];
    this.held = [];
    this.queued = 0;
  }

  private added(line: string): void {
    this.queued += line.length + 1;
    queuedSinceCheck++;
    // Lines queued in this turn are not unsent output yet: they are offered to the socket at the end
    // of the turn, or now once FLUSH_BYTES have piled up. Only lines held for a slow hub call may wait
    // longer; past `maxPendingBytes` + FLUSH_BYTES of them, memory comes first.
    if (this.holding) {
      if (this.queued > this.maxPendingBytes + FLUSH_BYTES) this.overflow();
      else this.schedule();
      return;
    }
    if (this.queued >= FLUSH_BYTES) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.holding) return;
    this.scheduled = true;
    dirty.push(this);
    scheduleFlush();
  }

  private overflow(): void {
    this.close();
    this.onOverflow();
  }
}
