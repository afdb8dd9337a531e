import net from 'node:net';
import { familyOf, formatAddress, type InetAddress, type InetBindAddress, TCPAddress } from '../address.js';
import { ErrorCodes, SockserveError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { assertReusePort } from '../node-features.js';
import { optional, validateBoolean, validatePort, validateSeconds, validateString } from '../validators.js';
import type { AddressFamily } from './base-server.js';
import { inetAddressOf, isUnknownPeer, PeerAddress, UNKNOWN_PEER } from './peer-address.js';
import { isListeningDescriptor, type ListeningDescriptor, listeningFd } from './socket-fd.js';
import { type ListenOptions, StreamServer, type StreamServerOptions } from './stream-server.js';

/** Options of `TCPServer` and its Threading/Forking variants. */
export interface TCPServerOptions extends StreamServerOptions {
  /** SO_REUSEADDR. Node.js always sets it on TCP listeners, so only `true` (the default) is accepted. */
  allowReuseAddress?: boolean;
  /** SO_REUSEPORT: several servers share one port (Node.js 22.12+). Default false. */
  allowReusePort?: boolean;
  /** TCP_NODELAY on every accepted connection (no Nagle delay). Default true. */
  noDelay?: boolean;
  /** TCP keep-alive on accepted connections: true, or the idle seconds before the first probe. Default false. */
  keepAlive?: boolean | number;
  /** With host `::`, accept IPv6 only (no IPv4-mapped clients). Default false. */
  ipv6Only?: boolean;
}

/** The address a TCP or UDP server was asked to bind: `host` defaults to 127.0.0.1; `''` is every interface. */
export function inetBindAddress(address: InetBindAddress): InetAddress {
  if (typeof address !== 'object' || address === null) {
    throw new TypeError('the server address must be an object { host?, port }');
  }
  const host = optional(address.host, '127.0.0.1', validateString, 'host');
  return { host, port: validatePort(address.port), family: familyOf(host) };
}

/**
 * A TCP server: each accepted connection is one request, handled one at a time (see
 * ThreadingTCPServer and ForkingTCPServer for concurrency).
 *
 * ```ts
 * const server = new TCPServer({ host: '127.0.0.1', port: 0 }, EchoHandler);
 * await server.listen(); // server.serverAddress.port is the real port
 * await server.serveForever();
 * ```
 *
 * `{ fd }` instead of an address serves a descriptor that is already listening (socket activation).
 * The options below are attributes too: with `bindAndActivate: false`, set them before `serverBind()`.
 */
export class TCPServer extends StreamServer<InetAddress, InetAddress> {
  /** SO_REUSEADDR; only `true` can be honoured (Node.js always sets it). */
  allowReuseAddress: boolean;
  /** SO_REUSEPORT, applied by `serverBind()`. */
  allowReusePort: boolean;
  /** TCP_NODELAY on accepted connections. */
  noDelay: boolean;
  /** TCP keep-alive on accepted connections (true, or idle seconds before the first probe). */
  keepAlive: boolean | number;
  /** IPV6_V6ONLY, applied by `serverBind()` (host `::`). */
  ipv6Only: boolean;
  /** The already listening descriptor given as `{ fd }`, if any. */
  readonly fd: number | undefined;

  constructor(
    serverAddress: InetBindAddress | ListeningDescriptor,
    RequestHandlerClass: RequestHandlerClass<net.Socket, InetAddress>,
    options: TCPServerOptions = {},
  ) {
    const fd = isListeningDescriptor(serverAddress) ? listeningFd(serverAddress) : undefined;
    super(
      isListeningDescriptor(serverAddress)
        ? { host: '', port: 0, family: 'IPv4' }
        : inetBindAddress(serverAddress),
      RequestHandlerClass,
      options,
    );
    this.fd = fd;
    this.allowReuseAddress = optional(options.allowReuseAddress, true, validateBoolean, 'allowReuseAddress');
    this.allowReusePort = optional(options.allowReusePort, false, validateBoolean, 'allowReusePort');
    this.noDelay = optional(options.noDelay, true, validateBoolean, 'noDelay');
    this.keepAlive = optional(
      options.keepAlive,
      false,
      (v, n) => (typeof v === 'boolean' ? v : validateSeconds(v, n)),
      'keepAlive',
    );
    this.ipv6Only = optional(options.ipv6Only, false, validateBoolean, 'ipv6Only');
  }

  /** Python's `address_family`: `'AF_INET6'` for an IPv6 address (and host `''`, bound as `::`). */
  get addressFamily(): AddressFamily {
    const { host, family } = this.serverAddress;
    return family === 'IPv6' || (host === '' && this.fd === undefined) ? 'AF_INET6' : 'AF_INET';
  }

  protected override serverOptions(): net.ServerOpts {
    const keepAlive = this.keepAlive !== false;
    return {
      ...super.serverOptions(),
      noDelay: this.noDelay,
      keepAlive,
      keepAliveInitialDelay: typeof this.keepAlive === 'number' ? this.keepAlive * 1000 : 0,
    };
  }

  protected override listenOptions(): ListenOptions {
    if (!this.allowReuseAddress) {
      throw new SockserveError(
        ErrorCodes.UNSUPPORTED,
        `allowReuseAddress: false cannot be honoured for ${this.describeAddress()}: Node.js always sets SO_REUSEADDR on TCP listeners`,
      );
    }
    if (this.fd !== undefined) return { fd: this.fd, backlog: this.requestQueueSize };
    const { host, port } = this.serverAddress;
    const options: ListenOptions & { reusePort?: boolean } = {
      host: host === '' ? '::' : host,
      port,
      backlog: this.requestQueueSize,
      ipv6Only: this.ipv6Only,
    };
    if (this.allowReusePort) {
      assertReusePort(this.describeAddress());
      options.reusePort = true;
    }
    return options;
  }

  /** Binds and listens (`net.Server.listen()` with `listenOptions()`), then reads the real address into `serverAddress`. */
  override async serverBind(): Promise<void> {
    await super.serverBind();
    const bound = this.socket!.address() as net.AddressInfo;
    this.serverAddress = new TCPAddress(bound.address, bound.port);
  }

  /**
   * A `PeerAddress`, read when first used; read at once when something listens for `request-end`,
   * `request-error` or `tls-error`, which may come after the connection closed.
   */
  protected override clientAddressOf(socket: net.Socket | net.DropArgument | undefined): InetAddress {
    if (!(socket instanceof net.Socket)) return inetAddressOf(socket);
    if (
      this.listenerCount('request-end') > 0 ||
      this.listenerCount('request-error') > 0 ||
      this.listenerCount('tls-error') > 0
    ) {
      return inetAddressOf(socket);
    }
    return new PeerAddress(socket);
  }

  protected override describeAddress(): string {
    if (this.fd !== undefined && this.socket === undefined) return `tcp fd ${this.fd}`;
    return formatAddress(this.serverAddress, 'tcp');
  }

  protected override describeClient(clientAddress: InetAddress): string {
    return isUnknownPeer(clientAddress) ? UNKNOWN_PEER : formatAddress(clientAddress, 'tcp');
  }
}
