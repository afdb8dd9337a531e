/**
 * `EchoStreamHandler`: RFC 862 echo over stream sockets (TCP, Unix), byte for byte.
 */
import { StreamRequestHandler } from '@sockserve/core';

/**
 * Sends back every byte it receives, unchanged and in order (RFC 862). When the client half-closes,
 * every byte still to echo is sent, then the server closes its side.
 *
 * It moves bytes straight from the socket to itself, pausing reads while the socket's write buffer is
 * full (as `readable.pipe()` does), so it is as fast as a hand-written `node:net` echo; it therefore
 * creates no `rfile`/`wfile`. The same echo written with them, as a user would:
 *
 * ```ts
 * class MyEcho extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *   }
 * }
 * ```
 *
 * Honours `timeout` (seconds without traffic, then the connection is ended) and
 * `disableNagleAlgorithm`. A reset by the client ends the request quietly.
 */
export class EchoStreamHandler extends StreamRequestHandler {
  override setup(): void {
    this.connection = this.request;
    if (this.disableNagleAlgorithm) this.connection.setNoDelay(true);
  }

  override handle(): Promise<void> | void {
    const socket = this.connection;
    if (socket.destroyed) return;
    // Listeners are added once and never removed: the server ends and destroys the socket after
    // handle(), and nothing else reads from it.
    return new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        if (!socket.write(chunk)) socket.pause();
      });
      socket.on('drain', () => socket.resume());
      // The client half-closed: the server sends what is still queued, then its FIN (shutdownRequest).
      socket.on('end', resolve);
      socket.on('close', resolve);
      const timeout = this.timeout;
      if (timeout !== undefined) {
        socket.setTimeout(timeout * 1000, () => {
          socket.pause();
          resolve();
        });
      }
      socket.resume();
    });
  }
}
