import type { InetAddress, UnixAddress } from '../address.js';
import { StreamReader } from '../io/stream-reader.js';
import type { DatagramRequest, DatagramSocket } from '../servers/datagram-server.js';
import { BaseRequestHandler } from './base-request-handler.js';

const done: Promise<void> = Promise.resolve();

/** Collects what a datagram handler writes; the server sends it as one datagram after `handle()`. */
export class DatagramWriter {
  readonly #chunks: Buffer[] = [];
  #written = false;

  /** True once anything (even an empty buffer) was written: only then is a reply sent. */
  get written(): boolean {
    return this.#written;
  }

  /** Appends to the reply. Resolves at once (nothing is sent before `finish()`). */
  write(data: string | Uint8Array): Promise<void> {
    this.#written = true;
    this.#chunks.push(
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
    return done;
  }

  /** The reply so far. */
  getValue(): Buffer {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    return Buffer.concat(this.#chunks);
  }
}

/**
 * A handler for datagram servers (UDP, Unix datagram), as socketserver's DatagramRequestHandler:
 * `packet` is the datagram, `rfile` reads it, and what `handle()` writes to `wfile` is sent back to
 * the client as one datagram in `finish()` (nothing is sent when nothing was written).
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

  /** Sends what `handle()` wrote, if anything, without waiting (a failure is the server's `socket-error`). */
  override finish(): void {
    const reply = this.#wfile;
    if (reply?.written) this.socket.send(reply.getValue(), this.clientAddress);
  }
}
