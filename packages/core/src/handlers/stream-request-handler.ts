import type net from 'node:net';
import type { InetAddress, UnixAddress } from '../address.js';
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
 * For subclasses: set `timeout`, `disableNagleAlgorithm` or `readBufferSize` as class fields.
 */
export class StreamRequestHandler<
  Server = unknown,
  ClientAddress = InetAddress | UnixAddress,
> extends BaseRequestHandler<net.Socket, ClientAddress, Server> {
  /** Seconds without data after which a pending read rejects with TimeoutError. Default: no limit. */
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

  override setup(): void {
    this.connection = this.request;
    if (this.disableNagleAlgorithm) this.connection.setNoDelay(true);
    this.rfile = new StreamReader(this.connection, {
      timeout: this.timeout,
      highWaterMark: this.readBufferSize,
    });
    this.wfile = new StreamWriter(this.connection);
  }
}
