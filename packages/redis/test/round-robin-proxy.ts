/**
 * A TCP load balancer for the tests, as HAProxy or nginx `stream` in front of chat nodes: each new
 * connection goes to the next node in turn, bytes are relayed both ways, half-closes and resets pass.
 */
import net from 'node:net';
import type { InetAddress } from '@sockserve/core';

export class RoundRobinProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #next = 0;

  private constructor(backends: readonly InetAddress[]) {
    this.#server = net.createServer({ allowHalfOpen: true }, (client) => {
      const backend = backends[this.#next++ % backends.length]!;
      const upstream = net.connect({ host: backend.host, port: backend.port, allowHalfOpen: true });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.resetAndDestroy());
      upstream.on('error', () => client.resetAndDestroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  /** Listens on 127.0.0.1, a free port, in front of `backends` (in this order). */
  static async start(backends: readonly InetAddress[]): Promise<RoundRobinProxy> {
    const proxy = new RoundRobinProxy(backends);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get address(): InetAddress {
    const { port } = this.#server.address() as net.AddressInfo;
    return { host: '127.0.0.1', port, family: 'IPv4' };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
