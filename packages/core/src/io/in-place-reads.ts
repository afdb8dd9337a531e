/**
 * In-place reads: an accepted socket reads into a buffer it keeps reusing (Node's `onread`), not into a
 * fresh 64 KiB Buffer per read. For handlers that consume each chunk at once (an echo, a proxy), this
 * removes an allocation, its page faults and its garbage from every read (a stream echo runs about
 * 1.5 times as fast as a plain `node:net` echo; see the benchmark).
 *
 * Node offers `onread` only to sockets it creates for `connect()`, not to accepted ones, so this
 * module turns an accepted socket into one the way Node's own constructor does (`useUserBuffer` on the
 * handle, and the socket's `onread` fields, found by their names). It touches Node's internals (as
 * does udp-batch.ts, for dgram): when anything it needs is missing (another Node.js version), or the
 * socket has already read, the socket is left as it is and chunks come from `'data'` events instead.
 * Handlers see the same thing either way.
 *
 * Buffers: a connection starts with a small slice of a shared slab (idle connections must stay
 * cheap), moves to a buffer of its own eight times larger after each read that fills its buffer (up
 * to the size asked for), and takes a fresh buffer after a read whose bytes the connection's pending
 * writes still hold.
 */
import type net from 'node:net';

/** The `receiveBufferSize` a handler class asks for (a static field), if any. */
export function receiveBufferSizeOf(RequestHandlerClass: unknown): unknown {
  return (RequestHandlerClass as { receiveBufferSize?: unknown }).receiveBufferSize;
}

/** Called with each chunk read; return false to stop reading until `socket.resume()`. Must not throw. */
// biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "keep reading", as in Node's onread
export type ChunkReceiver = (chunk: Buffer) => boolean | void;

/** The socket's own `onread` fields (Node's `kBuffer`, `kBufferCb`, `kBufferGen`). */
interface OnreadFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

interface SocketHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * What an in-place connection reads into and whom it gives the chunks. A class, not an object
 * literal: V8 may pretenure a literal's allocation site (allocate its objects in old space) once they
 * outlive scavenges, and an old-space state would keep its receiver, handler and socket alive until
 * the next full collection (in the connection-rate benchmark, 1.4 µs of scavenging per connection).
 */
class InPlace {
  buffer: Buffer;
  readonly size: number;
  receiver: ChunkReceiver | undefined = undefined;
  /** The last read filled `buffer`. */
  filled = false;
  /** A copy of what was read before there was a receiver (reading stopped there). */
  early: Buffer | undefined = undefined;

  constructor(buffer: Buffer, size: number) {
    this.buffer = buffer;
    this.size = size;
  }
}

/** Bytes of the slab slice a connection starts with. */
const FIRST_BUFFER_BYTES = 256;
/** Small, as Node's own Buffer pool: a long-lived connection keeps its whole slab alive. */
const SLAB_BYTES = 8 * 1024;
const GROWTH = 8;

const kInPlace = Symbol('sockserve.inPlace');
let fields: OnreadFields | null | undefined;
let slab: Buffer = Buffer.alloc(0);
let slabUsed = 0;

function onreadFields(socket: net.Socket): OnreadFields | null {
  if (fields !== undefined) return fields;
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
  const [buffer, callback, generator] = ['kBuffer', 'kBufferCb', 'kBufferGen'].map((n) => byName.get(n));
  fields = buffer && callback && generator ? { buffer, callback, generator } : null;
  return fields;
}

function firstBuffer(): Buffer {
  if (slabUsed + FIRST_BUFFER_BYTES > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  slabUsed += FIRST_BUFFER_BYTES;
  return slab.subarray(slabUsed - FIRST_BUFFER_BYTES, slabUsed);
}

/**
 * Server side, for a socket just accepted (nothing read yet): makes it read in place, into buffers of
 * up to `size` bytes. Returns false, leaving the socket as it is, when that cannot be done. Until
 * `receiveChunks()` gives it a receiver, the first chunk read is kept (copied) and reading stops.
 */
export function readInPlace(socket: net.Socket, size: number): boolean {
  const handle = (socket as unknown as { _handle?: SocketHandle | null })._handle;
  const names = onreadFields(socket);
  const target = socket as unknown as Record<symbol, unknown>;
  if (
    names === null ||
    typeof handle?.useUserBuffer !== 'function' ||
    socket.readableLength !== 0 ||
    socket.readableEnded ||
    target[names.buffer] !== null ||
    target[names.callback] !== null ||
    target[names.generator] !== null
  ) {
    return false;
  }
  const state = new InPlace(firstBuffer(), size);
  target[names.callback] = (nread: number, buffer: Buffer): boolean => {
    state.filled = nread === buffer.length;
    const chunk = buffer.subarray(0, nread);
    const receiver = state.receiver;
    if (receiver !== undefined) return receiver(chunk) !== false;
    state.early = Buffer.from(chunk);
    return false;
  };
  target[names.generator] = (): Buffer => {
    const length = state.buffer.length;
    // A read that filled the buffer moves the connection to one GROWTH times larger (up to `size`), so
    // a buffer is about as large as the connection's largest reads; bytes still queued to be written
    // keep their buffer, so the next read goes to a fresh one.
    if (state.filled && length < state.size) {
      state.buffer = Buffer.allocUnsafeSlow(Math.min(state.size, length * GROWTH));
    } else if (socket.writableLength > 0) {
      state.buffer = length === FIRST_BUFFER_BYTES ? firstBuffer() : Buffer.allocUnsafeSlow(length);
    }
    return state.buffer;
  };
  target[names.buffer] = state.buffer;
  target[kInPlace] = state;
  handle.useUserBuffer(state.buffer);
  return true;
}

/**
 * Handler side: gives every chunk the socket reads to `receiver`, and makes sure it reads. A chunk of
 * an in-place socket is a view of a buffer that is reused: valid until `receiver` returns or, when it
 * was written to the socket, until that write is done. Other sockets give their `'data'` chunks.
 */
export function receiveChunks(socket: net.Socket, receiver: ChunkReceiver): void {
  const state = (socket as unknown as Record<symbol, InPlace | undefined>)[kInPlace];
  if (state === undefined) {
    socket.on('data', (chunk: Buffer) => {
      if (receiver(chunk) === false) socket.pause();
    });
    socket.resume();
    return;
  }
  state.receiver = receiver;
  const early = state.early;
  if (early === undefined) return; // still reading since it was accepted
  state.early = undefined;
  if (receiver(early) !== false) socket.resume();
}

/** The onread callback of a released socket: drops a late chunk and stops reading. */
const dropAndStop = (): boolean => false;

/**
 * Handler side, once the socket has stopped reading (EOF or close): drops the socket's links to the
 * receiver, so that a closed socket, which can outlive its connection until a full garbage
 * collection, does not keep the handler and its state alive with it. The read buffer stays (the
 * handle may still point into it); a read after this would be dropped and stop reading.
 */
export function releaseInPlace(socket: net.Socket): void {
  const target = socket as unknown as Record<symbol, unknown>;
  if (target[kInPlace] === undefined || fields == null) return;
  target[kInPlace] = undefined;
  target[fields.callback] = dropAndStop;
  target[fields.generator] = null;
}
