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

  override handle(): Promise<void> {
    const socket = this.connection;
    if (socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        if (!socket.write(chunk)) socket.pause();
      };
      const onDrain = (): void => {
        socket.resume();
      };
      const onEnd = (): void => {
        // The client half-closed: finish sending what is queued, then send FIN.
        socket.end();
      };
      const onTimeout = (): void => {
        socket.pause();
        done();
      };
      const done = (): void => {
        socket.off('data', onData);
        socket.off('drain', onDrain);
        socket.off('end', onEnd);
        socket.off('finish', done);
        socket.off('close', done);
        socket.off('timeout', onTimeout);
        if (timeout !== undefined) socket.setTimeout(0);
        resolve();
      };
      const timeout = this.timeout;
      socket.on('data', onData);
      socket.on('drain', onDrain);
      socket.once('end', onEnd);
      socket.once('finish', done);
      socket.once('close', done);
      if (timeout !== undefined) {
        socket.setTimeout(timeout * 1000);
        socket.on('timeout', onTimeout);
      }
      socket.resume();
    });
  }
}
