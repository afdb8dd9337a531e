import type net from 'node:net';
import type { InetAddress, UnixAddress } from '../address.js';
import { receiveBufferSizeOf, receiveChunks, releaseInPlace } from '../io/in-place-reads.js';
import { StreamReader } from '../io/stream-reader.js';
import { StreamWriter } from '../io/stream-writer.js';
import { BaseRequestHandler } from './base-request-handler.js';

/**
 * A handler for stream servers (TCP, Unix stream), as socketserver's StreamRequestHandler:
 * `connection` is the `net.Socket`, `rfile` a buffered reader and `wfile` a writer that respects
 * backpressure. When `handle()` returns, the server flushes what was written and half-closes.
 *
 * ```ts
 * class Echo extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const line of this.rfile.lines()) await this.wfile.write(`${line}\n`);
 *   }
 * }
 * ```
 *
 * For subclasses: set `timeout`, `disableNagleAlgorithm` or `readBufferSize` as class fields, and the
 * static `maxLineBytes` (`static override maxLineBytes = 1024 * 1024`), as Python sets class attributes.
 *
 * In-place reads, for handlers that consume each chunk as it arrives (an echo, a proxy, a parser that
 * copies what it keeps): set the static `receiveBufferSize` and override `received()`.
 *
 * ```ts
 * class Echo extends StreamRequestHandler {
 *   static override receiveBufferSize = 64 * 1024;
 *   override received(chunk: Buffer) {
 *     return this.connection.write(chunk); // false: reading stops until connection.resume()
 *   }
 * }
 * ```
 */
export class StreamRequestHandler<
  Server = unknown,
  ClientAddress = InetAddress | UnixAddress,
> extends BaseRequestHandler<net.Socket, ClientAddress, Server> {
  /**
   * Seconds without data after which a pending read rejects with TimeoutError, and seconds a write may
   * wait for a peer that does not read before it rejects with TimeoutError (the connection is then
   * destroyed), as Python's socket timeout bounds `recv` and `sendall`. Default: no limit.
   */
  timeout: number | undefined = undefined;
  /** Sets TCP_NODELAY on the connection (servers already default to it). Default false. */
  disableNagleAlgorithm = false;
  /** Bytes `rfile` buffers before it pauses the socket. Default 64 KiB. */
  readBufferSize: number = 64 * 1024;
  /** The connected socket (the same object as `request`). */
  connection!: net.Socket;
  /** Reads from the connection. */
  rfile!: StreamReader;
  /** Writes to the connection. */
  wfile!: StreamWriter;

  /**
   * In-place reads (set it in a subclass: `static override receiveBufferSize = 64 * 1024`): the server
   * reads the connection into buffers of up to this many bytes that it reuses, with no allocation per
   * read, and `handle()` passes each chunk to `received()`. `rfile` and `wfile` are not made: write to
   * `connection`. In bytes; default undefined (`rfile` and `wfile`).
   */
  static receiveBufferSize: number | undefined = undefined;

  /**
   * Longest line (or `readUntil` record) `rfile` accepts when a read gives no `maxBytes`, in bytes;
   * a longer one rejects with `LineTooLongError`. Set it per handler class
   * (`static override maxLineBytes = 1024 * 1024`); `Infinity` for no limit. Default 65536 (64 KiB,
   * asyncio's default). `rfile.maxLineBytes` changes it for one connection.
   */
  static maxLineBytes: number = 64 * 1024;

  /**
   * In-place reads: called with each chunk. The chunk is a view of a reused buffer, valid until this
   * returns or, when written to `connection`, until that write is done: copy what you keep. Return
   * false to stop reading until `this.connection.resume()`. A throw ends the request with that error.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "keep reading", as in Node's onread
  received(_chunk: Buffer): boolean | void {}

  override setup(): void {
    this.connection = this.request;
    if (this.disableNagleAlgorithm) this.connection.setNoDelay(true);
    if (receiveBufferSizeOf(this.constructor) !== undefined) return;
    this.rfile = new StreamReader(this.connection, {
      timeout: this.timeout,
      highWaterMark: this.readBufferSize,
      maxLineBytes: (this.constructor as typeof StreamRequestHandler).maxLineBytes,
    });
    this.wfile = new StreamWriter(this.connection, { timeout: this.timeout });
  }

  /**
   * In-place reads: gives the chunks to `received()` until the client half-closes (the server then
   * sends what is queued and closes), the connection closes, or `timeout` seconds pass without data.
   * Otherwise it does nothing: override it (a subclass in in-place mode that overrides it calls super).
   */
  override handle(): void | Promise<void> {
    const socket = this.connection;
    if (receiveBufferSizeOf(this.constructor) === undefined) return;
    if (socket.destroyed || socket.readableEnded) return;
    return new Promise<void>((resolve, reject) => {
      let failure: { error: unknown } | undefined;
      const done = (): void => {
        // Reading is over: the socket lets go of this handler (a closed socket can outlive its
        // connection until a full garbage collection, and should not keep the handler alive with it).
        socket.off('end', done);
        socket.off('close', done);
        releaseInPlace(socket);
        if (failure === undefined) resolve();
        else reject(failure.error);
      };
      socket.on('end', done);
      socket.on('close', done);
      if (this.timeout !== undefined) {
        socket.setTimeout(this.timeout * 1000, () => {
          socket.pause();
          resolve();
        });
      }
      receiveChunks(socket, (chunk) => {
        try {
          return this.received(chunk);
        } catch (error) {
          failure = { error };
          socket.destroy();
          return false;
        }
      });
    });
  }
}
