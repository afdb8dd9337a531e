import type { InetAddress, UnixAddress } from '../address.js';
import { invalidType } from '../errors.js';
import { StreamReader } from '../io/stream-reader.js';
import type { DatagramRequest, DatagramSocket } from '../servers/datagram-server.js';
import { BaseRequestHandler } from './base-request-handler.js';

const done: Promise<void> = Promise.resolve();
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Collects what a datagram handler writes; `finish()` sends it as one datagram after `handle()`,
 * even when it is empty (as CPython's `DatagramRequestHandler.finish()` sends `wfile.getvalue()`),
 * unless `discard()` was called.
 */
export class DatagramWriter {
  #chunks: Buffer[] = [];
  #written = false;
  #discarded = false;

  /** True once anything (even an empty buffer) was written since the last `discard()`. */
  get written(): boolean {
    return this.#written;
  }

  /** True after `discard()` (until the next `write()`): `finish()` then sends no datagram at all. */
  get discarded(): boolean {
    return this.#discarded;
  }

  /** Appends to the reply (and undoes an earlier `discard()`). Resolves at once (nothing is sent before `finish()`). */
  write(data: string | Uint8Array): Promise<void> {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw invalidType('data', 'a string or Uint8Array', data);
    }
    this.#written = true;
    this.#discarded = false;
    this.#chunks.push(
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
    return done;
  }

  /**
   * Drops what was written and sends no reply at all, not even an empty datagram (the default is to
   * send one, as CPython does). A later `write()` starts a new reply.
   */
  discard(): void {
    this.#chunks = [];
    this.#written = false;
    this.#discarded = true;
  }

  /** The reply so far. */
  getValue(): Buffer {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    if (this.#chunks.length === 0) return EMPTY;
    return Buffer.concat(this.#chunks);
  }
}

/**
 * A handler for datagram servers (UDP, Unix datagram), as socketserver's DatagramRequestHandler:
 * `packet` is the datagram, `rfile` reads it, and what `handle()` writes to `wfile` is sent back to
 * the client as one datagram in `finish()`. As in CPython, a reply is sent even when nothing was
 * written (an empty datagram); call `this.wfile.discard()` to send none, or override `finish()`
 * without calling `super.finish()` for a handler that never replies.
 *
 * ```ts
 * class Echo extends DatagramRequestHandler {
 *   override async handle() { await this.wfile.write(this.packet); }
 * }
 * ```
 */
export class DatagramRequestHandler<
  Server = unknown,
  ClientAddress = InetAddress | UnixAddress,
> extends BaseRequestHandler<DatagramRequest<ClientAddress>, ClientAddress, Server> {
  /** The datagram's bytes. */
  packet!: Buffer;
  /** The server's socket: `await this.socket.sendTo(data, address)` sends more datagrams. */
  socket!: DatagramSocket<ClientAddress>;
  #rfile: StreamReader | undefined;
  #wfile: DatagramWriter | undefined;

  /** Reads the datagram (EOF at its end). Made on first use. */
  get rfile(): StreamReader {
    this.#rfile ??= StreamReader.fromBuffer(this.packet);
    return this.#rfile;
  }

  /** The reply, sent as one datagram after `handle()`. Made on first use. */
  get wfile(): DatagramWriter {
    this.#wfile ??= new DatagramWriter();
    return this.#wfile;
  }

  override setup(): void {
    this.packet = this.request.packet;
    this.socket = this.request.socket;
  }

  /**
   * Sends what `handle()` wrote as one datagram, an empty one when nothing was written, unless
   * `wfile.discard()` was called; without waiting (a failure is the server's `socket-error`).
   */
  override finish(): void {
    const reply = this.#wfile;
    if (reply?.discarded) return;
    this.socket.send(reply === undefined ? EMPTY : reply.getValue(), this.clientAddress);
  }
}
