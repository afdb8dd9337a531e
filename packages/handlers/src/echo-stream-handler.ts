/**
 * `EchoStreamHandler`: RFC 862 echo over stream sockets (TCP, Unix), byte for byte.
 */
import type net from 'node:net';
import { StreamRequestHandler } from '@sockserve/core';

function resumeReading(this: net.Socket): void {
  this.resume();
}

/**
 * Sends back every byte it receives, unchanged and in order (RFC 862). When the client half-closes,
 * every byte still to echo is sent, then the server closes its side.
 *
 * It reads in place (`receiveBufferSize`): the server reads into buffers it reuses and each chunk is
 * written straight back, reading paused while the socket's write buffer is full (as
 * `readable.pipe()` does). So it creates no `rfile`/`wfile`. The same echo written with them, as a
 * user would:
 *
 * ```ts
 * class MyEcho extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const chunk of this.rfile.chunks()) await this.wfile.write(chunk);
 *   }
 * }
 * ```
 *
 * Honours `timeout` (seconds without traffic, then the connection is ended) and
 * `disableNagleAlgorithm`. A reset by the client ends the request quietly.
 */
export class EchoStreamHandler extends StreamRequestHandler {
  static override receiveBufferSize: number | undefined = 256 * 1024;

  /** Sets up in-place reads, and resumes reading whenever the connection's writes drain. */
  override setup(): void {
    super.setup();
    this.connection.on('drain', resumeReading);
  }

  /** Writes the chunk back; a full write buffer stops reading until it drains. */
  override received(chunk: Buffer): boolean {
    return this.connection.write(chunk);
  }
}
