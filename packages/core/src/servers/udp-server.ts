import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { formatAddress, type InetAddress, type InetBindAddress, UDPAddress } from '../address.js';
import { bindError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { type DatagramBatch, Outbox, openBatch } from '../io/udp-batch.js';
import { assertReusePort } from '../node-features.js';
import { optional, validateBoolean, validateInteger } from '../validators.js';
import type { AddressFamily } from './base-server.js';
import { type DatagramRequest, DatagramServer, type DatagramServerOptions } from './datagram-server.js';
import { reportSocketError } from './socket-error.js';
import { fdOf, isListeningDescriptor, type ListeningDescriptor, listeningFd } from './socket-fd.js';
import { inetBindAddress } from './tcp-server.js';

/** Options of `UDPServer` and its Threading/Forking variants. */
export interface UDPServerOptions extends DatagramServerOptions {
  /** SO_REUSEADDR. Default false (as in socketserver). */
  allowReuseAddress?: boolean;
  /** SO_REUSEPORT: several servers share one port (Node.js 22.12+). Default false. */
  allowReusePort?: boolean;
  /** With host `::`, IPv6 only. Default false. */
  ipv6Only?: boolean;
  /** SO_RCVBUF in bytes. Default: the system's. */
  recvBufferSize?: number;
  /** SO_SNDBUF in bytes. Default: the system's. */
  sendBufferSize?: number;
  /**
   * Read and send many datagrams per system call (recvmmsg, sendmmsg) when the optional package
   * `@sockserve/udp-native` is installed (Linux). Default true; false keeps node:dgram's one per call.
   */
  nativeBatching?: boolean;
}

type SendCallback = (error: Error | null) => void;

/**
 * A UDP server: each datagram is one request, handled one at a time (ThreadingUDPServer runs them
 * concurrently). Reply with a DatagramRequestHandler's `wfile`, or `this.socket.sendTo(data, address)`.
 */
export class UDPServer extends DatagramServer<InetAddress> {
  /** The bound `dgram.Socket`, once bound. */
  socket: dgram.Socket | undefined;
  /** SO_REUSEADDR, applied by `serverBind()` (the `allowReuseAddress` option; default false). */
  allowReuseAddress: boolean;
  /** SO_REUSEPORT, applied by `serverBind()` (Node.js 22.12+; default false). */
  allowReusePort: boolean;
  /** IPV6_V6ONLY with host `''`/`'::'`, applied by `serverBind()` (default false). */
  ipv6Only: boolean;
  /** SO_RCVBUF in bytes, applied by `serverBind()`; `undefined` (default): the system's. */
  recvBufferSize: number | undefined;
  /** SO_SNDBUF in bytes, applied by `serverBind()`; `undefined` (default): the system's. */
  sendBufferSize: number | undefined;
  /** Use `@sockserve/udp-native`'s batched I/O when it is installed (default true); see `batching`. */
  nativeBatching: boolean;
  /** The already bound descriptor given as `{ fd }`, if any. */
  readonly fd: number | undefined;
  /** Datagrams waiting for the end of this turn of the event loop (`#send`). */
  #outbox = new Outbox();
  /** Batched reading and sending, when `nativeBatching` found `@sockserve/udp-native`. */
  #batch: DatagramBatch | null = null;
  /** node:dgram has queued sends (the send buffer was full): later ones queue behind them. */
  #dgramQueued = false;

  /** `{ fd, family? }` instead of an address serves a descriptor that is already bound (socket activation). */
  constructor(
    serverAddress: InetBindAddress | ListeningDescriptor,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<InetAddress>, InetAddress>,
    options: UDPServerOptions = {},
  ) {
    const fd = isListeningDescriptor(serverAddress) ? listeningFd(serverAddress) : undefined;
    super(
      isListeningDescriptor(serverAddress)
        ? serverAddress.family === 'IPv6'
          ? { host: '::', port: 0, family: 'IPv6' }
          : { host: '0.0.0.0', port: 0, family: 'IPv4' }
        : inetBindAddress(serverAddress),
      RequestHandlerClass,
      options,
    );
    this.fd = fd;
    this.allowReuseAddress = optional(options.allowReuseAddress, false, validateBoolean, 'allowReuseAddress');
    this.allowReusePort = optional(options.allowReusePort, false, validateBoolean, 'allowReusePort');
    this.ipv6Only = optional(options.ipv6Only, false, validateBoolean, 'ipv6Only');
    this.recvBufferSize = optional(
      options.recvBufferSize,
      undefined,
      (v, n) => validateInteger(v, n, 1),
      'recvBufferSize',
    );
    this.sendBufferSize = optional(
      options.sendBufferSize,
      undefined,
      (v, n) => validateInteger(v, n, 1),
      'sendBufferSize',
    );
    this.nativeBatching = optional(options.nativeBatching, true, validateBoolean, 'nativeBatching');
  }

  /** Python's `address_family`: `'AF_INET6'` for an IPv6 address (and host `''`, bound as `::`). */
  get addressFamily(): AddressFamily {
    const { host, family } = this.serverAddress;
    return family === 'IPv6' || host === '' ? 'AF_INET6' : 'AF_INET';
  }

  /** The bound socket's file descriptor (-1 before binding and after closing). */
  override fileno(): number {
    return fdOf(this.socket);
  }

  /** True while datagrams are read and sent in batches through `@sockserve/udp-native`. */
  get batching(): boolean {
    return this.#batch !== null;
  }

  /**
   * Options for `dgram.createSocket()`, read by `serverBind()` from the attributes (`allowReuseAddress`,
   * `allowReusePort`, `ipv6Only`, `recvBufferSize`, `sendBufferSize`): override it (calling super) to
   * change what Node.js sets on the socket before binding.
   */
  protected socketOptions(): dgram.SocketOptions & {
    /** SO_REUSEPORT (Node.js 22.12+), from `allowReusePort`. */
    reusePort?: boolean;
  } {
    const { host, family } = this.serverAddress;
    const options: dgram.SocketOptions & { reusePort?: boolean } = {
      type: host === '' || family === 'IPv6' ? 'udp6' : 'udp4',
      reuseAddr: this.allowReuseAddress,
      ipv6Only: this.ipv6Only,
    };
    if (this.allowReusePort) {
      assertReusePort(formatAddress(this.serverAddress, 'udp'));
      options.reusePort = true;
    }
    if (this.recvBufferSize !== undefined) options.recvBufferSize = this.recvBufferSize;
    if (this.sendBufferSize !== undefined) options.sendBufferSize = this.sendBufferSize;
    return options;
  }

  override async serverBind(): Promise<void> {
    const { host, port } = this.serverAddress;
    const where = this.fd === undefined ? formatAddress(this.serverAddress, 'udp') : `udp fd ${this.fd}`;
    const options = this.socketOptions();
    // Replies go to the address a datagram came from, an IP literal: resolve those at once instead of
    // through dns.lookup() and a process.nextTick() per datagram (as soon as the socket is bound).
    let bound = false;
    options.lookup = (address, family, callback) => {
      const version = bound ? isIP(address) : 0;
      if (version !== 0) callback(null, address, version);
      else dns.lookup(address, family as dns.LookupOneOptions, callback);
    };
    const socket = dgram.createSocket(options);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close();
        reject(bindError(error, where));
      };
      socket.once('error', onError);
      const target = this.fd === undefined ? { address: host === '' ? '::' : host, port } : { fd: this.fd };
      socket.bind(target, () => {
        bound = true;
        socket.off('error', onError);
        resolve();
      });
    });
    // After binding, errors of single sends come through their callbacks; others are reported.
    const reportError = (error: Error): void =>
      reportSocketError(this, formatAddress(this.serverAddress, 'udp'), error);
    socket.on('error', reportError);
    const receive = (packet: Buffer, clientAddress: InetAddress): void => this.receive(packet, clientAddress);
    this.#batch = this.nativeBatching ? openBatch(socket, this.maxPacketSize, receive, reportError) : null;
    if (this.#batch === null) {
      socket.on('message', (packet, remote) => {
        receive(packet, new UDPAddress(remote.address, remote.port, remote.family as 'IPv4' | 'IPv6'));
      });
    }
    const local = socket.address();
    this.serverAddress = new UDPAddress(local.address, local.port, local.family as 'IPv4' | 'IPv6');
    this.socket = socket;
  }

  protected override closeSocket(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return Promise.resolve();
    this.#flush(); // replies already made still go out
    this.#batch?.close();
    this.#batch = null;
    return new Promise((resolve) => socket.close(() => resolve()));
  }

  protected override sendTo(data: Uint8Array, address: InetAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#send(data, address, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** No promise: a reply costs the datagram and one callback (a handler's reply goes this way). */
  protected override send(data: Uint8Array, address: InetAddress): void {
    this.#send(data, address, (error) => {
      if (error) this.sendFailed(error, address);
    });
  }

  /**
   * Queues a datagram for the end of this turn of the event loop, so that a turn's replies leave
   * together: in one sendmmsg when batching, else with all their dgram callbacks (each one a tick of
   * its own) in one pass of the tick queue.
   */
  #send(data: Uint8Array, address: InetAddress, callback: SendCallback): void {
    if (this.#outbox.push(data, address, callback) === 1) setImmediate(this.#flush);
  }

  /** Sends the queued datagrams, in order. */
  readonly #flush = (): void => {
    const outbox = this.#outbox;
    const { datas, callbacks } = outbox;
    if (datas.length === 0) return;
    this.#outbox = new Outbox();
    const socket = this.socket;
    if (socket === undefined) {
      const error = new Error(`${formatAddress(this.serverAddress, 'udp')} is not bound`);
      for (const callback of callbacks) callback(error);
      return;
    }
    if (this.#dgramQueued) this.#dgramQueued = socket.getSendQueueCount() > 0;
    let next = 0;
    while (next < datas.length) {
      if (this.#batch !== null && !this.#dgramQueued) next = this.#batch.send(outbox, next);
      if (next === datas.length) break;
      // node:dgram sends what the batch could not: a host that needs a lookup, or all the rest when
      // the send buffer is full (dgram queues them until the socket is writable).
      try {
        socket.send(datas[next]!, outbox.ports[next]!, outbox.hosts[next]!, callbacks[next]);
      } catch (error) {
        callbacks[next]!(error as Error); // the socket was closed
      }
      next++;
      this.#dgramQueued ||= this.#batch !== null && socket.getSendQueueCount() > 0;
    }
  };

  protected override describeClient(clientAddress: InetAddress): string {
    return formatAddress(clientAddress, 'udp');
  }
}
