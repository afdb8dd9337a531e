// The echo handlers the sockserve servers under test use. The "shipped" ones come from
// @sockserve/handlers once it exports them; until then the stand-ins below take their place, and
// the runner labels the results "stand-in".
import { BaseRequestHandler, DatagramRequestHandler, StreamRequestHandler } from '@sockserve/core';
import { importHandlers } from './ready.js';

// TODO(bench): stand-in for @sockserve/handlers' EchoStreamHandler; delete once that ships.
// Written against core only: it moves bytes on `this.connection` itself (no rfile/wfile).
export class StandInEchoStreamHandler extends StreamRequestHandler {
  /** @override */
  setup() {
    this.connection = this.request;
  }

  /** @override @returns {Promise<void>} */
  handle() {
    const socket = this.connection;
    return new Promise((resolve) => {
      socket.on('data', (chunk) => {
        if (!socket.write(chunk)) socket.pause();
      });
      socket.on('drain', () => socket.resume());
      socket.once('end', resolve);
      socket.once('close', resolve);
    });
  }
}

// TODO(bench): stand-in for @sockserve/handlers' EchoDatagramHandler; delete once that ships.
/** @extends {BaseRequestHandler<import('@sockserve/core').DatagramRequest<import('@sockserve/core').InetAddress>, import('@sockserve/core').InetAddress>} */
export class StandInEchoDatagramHandler extends BaseRequestHandler {
  /** @override */
  handle() {
    return this.request.socket.sendTo(this.request.packet, this.clientAddress);
  }
}

/** What a user writes with the public reader and writer: every chunk read is written back. */
export class UserEchoStreamHandler extends StreamRequestHandler {
  /** @override */
  async handle() {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** What a user writes with a datagram handler's `rfile` and `wfile`. */
export class UserEchoDatagramHandler extends DatagramRequestHandler {
  /** @override */
  async handle() {
    await this.wfile.write(await this.rfile.read());
  }
}

/** `npm run bench -- --stand-in` measures the stand-ins even where the shipped handlers exist. */
const forceStandIn = process.env.SOCKSERVE_BENCH_STAND_IN === '1';

/**
 * The shipped stream echo handler, or the stand-in while @sockserve/handlers has none.
 * @returns {Promise<{ Handler: any, name: string }>}
 */
export async function shippedEchoStreamHandler() {
  const handlers = forceStandIn ? {} : await importHandlers();
  if (typeof handlers.EchoStreamHandler === 'function') {
    return { Handler: handlers.EchoStreamHandler, name: 'EchoStreamHandler' };
  }
  return { Handler: StandInEchoStreamHandler, name: 'stand-in' };
}

/**
 * The shipped datagram echo handler, or the stand-in while @sockserve/handlers has none.
 * @returns {Promise<{ Handler: any, name: string }>}
 */
export async function shippedEchoDatagramHandler() {
  const handlers = forceStandIn ? {} : await importHandlers();
  if (typeof handlers.EchoDatagramHandler === 'function') {
    return { Handler: handlers.EchoDatagramHandler, name: 'EchoDatagramHandler' };
  }
  return { Handler: StandInEchoDatagramHandler, name: 'stand-in' };
}
