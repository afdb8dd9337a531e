// The echo handlers a user writes with the public reader and writer (`rfile` / `wfile`), measured
// beside the shipped EchoStreamHandler / EchoDatagramHandler from @sockserve/handlers.
import { DatagramRequestHandler, StreamRequestHandler } from '@sockserve/core';

/** What a user writes with the public reader and writer: every chunk read is written back. */
export class UserEchoStreamHandler extends StreamRequestHandler {
  /** @override */
  async handle() {
    for await (const chunk of this.rfile.chunks()) await this.wfile.write(chunk);
  }
}

/** What a user writes with a datagram handler's `rfile` and `wfile`. */
export class UserEchoDatagramHandler extends DatagramRequestHandler {
  /** @override */
  async handle() {
    await this.wfile.write(await this.rfile.read());
  }
}
