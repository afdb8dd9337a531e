import net from 'node:net';
import type tls from 'node:tls';
import { bindError, ErrorCodes, SockserveError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { readInPlace, receiveBufferSizeOf } from '../io/in-place-reads.js';
import { optional, validateInteger, validateSeconds } from '../validators.js';
import { BaseServer, type BaseServerOptions, type SocketType } from './base-server.js';
import { watchDescriptors } from './descriptor-watch.js';
import { reportSocketError } from './socket-error.js';
import { fdOf } from './socket-fd.js';
import { TLSAcceptor, type TLSOptions } from './tls.js';

/** Options of every stream server (TCP and Unix stream). */
export interface StreamServerOptions extends BaseServerOptions {
  /** Connections open at once; further ones are closed at accept and reported as `request-refused`. Default: no limit. */
  maxConnections?: number;
  /**
   * Serve TLS: the options of `tls.createSecureContext()` / `tls.TLSSocket` (`key`, `cert`, `ca`,
   * `requestCert`, `ALPNProtocols`, `SNICallback`, `minVersion`, …; Node's defaults otherwise). Each
   * connection completes its handshake before it becomes a request; handlers get the `tls.TLSSocket`.
   * Default: plain connections.
   */
  tls?: TLSOptions;
  /**
   * TLS only: seconds a client has to complete its handshake; then the connection is closed and
   * reported as `tls-error`. Default 10.
   */
  handshakeTimeout?: number;
}

/** `server.listen()` options; Node.js also takes `fd`, missing from its types. */
export type ListenOptions = net.ListenOptions & { fd?: number };

/** Milliseconds of silence after which a connection that does not take our last bytes is destroyed. */
const LINGER_MS = 30_000;

const ignoreError = (): void => {};

/**
 * Shared by TCPServer and UnixStreamServer: a `net.Server` whose connections are the requests.
 * Connections are half-open capable (the peer may half-close and still receive everything).
 */
export abstract class StreamServer<Address, ClientAddress> extends BaseServer<
  net.Socket,
  Address,
  ClientAddress
> {
  /** The listening `net.Server`, once bound. */
  socket: net.Server | undefined;
  /** Connections open at once before new ones are refused. */
  maxConnections: number;
  /**
   * The TLS options (see `StreamServerOptions.tls`), or undefined for plain connections. New
   * connections use the value set here; `setSecureContext()` replaces some of them.
   */
  tls: TLSOptions | undefined;
  /** TLS handshake timeout, in seconds. */
  handshakeTimeout: number;
  /** True makes accepted sockets start paused (forking servers hand them on unread). */
  protected pauseOnConnect = false;
  /** The handler class's `receiveBufferSize`: accepted sockets read in place (see StreamRequestHandler). */
  readonly #receiveBufferSize: number | undefined;
  /** Stops the descriptor checks (see descriptor-watch.ts). */
  #unwatch: (() => void) | undefined;
  /** Runs the handshakes for `tls` (rebuilt when `tls` or `handshakeTimeout` change). */
  #acceptor: TLSAcceptor | undefined;
  /** TLS connections established and not yet closed (they count against maxConnections). */
  #sessions = 0;
  /** Connections in their TLS handshake (closed by `serverClose()`). */
  readonly #handshaking = new Set<net.Socket>();
  /** TLS requests still flushing their last bytes after `shutdownRequest()` (`serverClose()` waits). */
  readonly #flushing = new Set<net.Socket>();
  #flushWaiters: Array<() => void> = [];

  constructor(
    serverAddress: Address,
    RequestHandlerClass: RequestHandlerClass<net.Socket, ClientAddress>,
    options: StreamServerOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
    this.maxConnections = optional(
      options.maxConnections,
      Number.POSITIVE_INFINITY,
      (v, n) => (v === Number.POSITIVE_INFINITY ? v : validateInteger(v, n, 1)),
      'maxConnections',
    );
    this.#receiveBufferSize = optional<number | undefined>(
      receiveBufferSizeOf(RequestHandlerClass),
      undefined,
      (v, n) => validateInteger(v, n, 1),
      `${RequestHandlerClass.name}.receiveBufferSize`,
    );
    this.handshakeTimeout = optional(options.handshakeTimeout, 10, validateSeconds, 'handshakeTimeout');
    this.tls = options.tls;
    if (this.tls !== undefined) this.#acceptor = new TLSAcceptor(this.tls, this.handshakeTimeout);
  }

  /**
   * Replaces TLS options (a new certificate, say) for the connections accepted from now on: `options`
   * is merged into `tls` (as `{ ...tls, ...options }`) and checked at once; sessions already established
   * keep theirs. Throws for a server without `tls`, or options node:tls refuses (the server keeps its
   * old ones).
   */
  setSecureContext(options: TLSOptions): void {
    if (this.tls === undefined) {
      throw new SockserveError(
        ErrorCodes.INVALID_STATE,
        `setSecureContext() on ${this.describeAddress()}, a server without the tls option`,
      );
    }
    const merged = { ...this.tls, ...options };
    this.#acceptor = new TLSAcceptor(merged, this.handshakeTimeout, 'setSecureContext');
    this.tls = merged;
    this.tlsChanged();
  }

  /** Called by `setSecureContext()` once `tls` changed (forking servers pass it on to their children). */
  protected tlsChanged(): void {}

  /** Python's `socket_type`. */
  get socketType(): SocketType {
    return 'SOCK_STREAM';
  }

  /** The listening socket's file descriptor (-1 before binding and after closing). */
  override fileno(): number {
    return fdOf(this.socket);
  }

  /**
   * Options for `net.createServer()`, read by `serverBind()`: override it (calling super) to set
   * options that Node.js applies to the listening socket or to every accepted connection.
   */
  protected serverOptions(): net.ServerOpts {
    return { allowHalfOpen: true, pauseOnConnect: this.pauseOnConnect };
  }

  /**
   * Options for `server.listen()`, read by `serverBind()`: the address, or `{ fd }` for a descriptor
   * that is already listening, and `backlog` (`requestQueueSize`). Override it (calling super) to
   * change what Node.js sets before binding.
   */
  protected abstract listenOptions(): ListenOptions;

  /** Connections wait for the serve loop without limit (the backlog is the kernel's; `maxConnections` refuses). */
  protected override requestQueueCapacity(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** The client address of an accepted socket (or of a dropped one, from Node's `drop` data). */
  protected abstract clientAddressOf(socket: net.Socket | net.DropArgument | undefined): ClientAddress;

  /** The address as `tcp://host:port` or `unix://path`, for messages. */
  protected abstract describeAddress(): string;

  override async serverBind(): Promise<void> {
    const server = net.createServer(this.serverOptions());
    // A forking parent (pauseOnConnect) hands its sockets on unread: its children read them in place,
    // and run the TLS handshakes.
    const secure = this.tls !== undefined && !this.pauseOnConnect;
    // TLS connections count once established (secureRequest); handshakes take no slot.
    if (Number.isFinite(this.maxConnections) && !secure) server.maxConnections = this.maxConnections;
    const inPlace = this.pauseOnConnect ? undefined : this.#receiveBufferSize;
    server.on('connection', (socket) => {
      socket.on('error', ignoreError);
      if (secure) {
        this.secureRequest(socket, this.clientAddressOf(socket), (request, clientAddress) => {
          if (this.#sessions >= this.maxConnections) {
            this.emit('request-refused', 'max-connections', clientAddress);
            request.destroy();
            return;
          }
          this.#sessions += 1;
          request.once('close', () => {
            this.#sessions -= 1;
          });
          this.enqueueRequest(request, clientAddress);
        });
        return;
      }
      if (inPlace !== undefined) readInPlace(socket, inPlace);
      this.enqueueRequest(socket, this.clientAddressOf(socket));
    });
    server.on('drop', (data) => this.emit('request-refused', 'max-connections', this.clientAddressOf(data)));
    await listenOn(server, this.listenOptions(), this.describeAddress());
    // From now on an error (EMFILE on accept, say) is reported, never thrown at the process.
    server.on('error', (error) => reportSocketError(this, this.describeAddress(), error));
    // libuv hides EMFILE on accept (it closes such connections itself): check for it (descriptor-watch.ts).
    this.#unwatch = watchDescriptors(
      () => this.describeAddress(),
      () => this.activeRequestCount,
      (error) => reportSocketError(this, this.describeAddress(), error),
    );
    this.socket = server;
  }

  /**
   * With `tls`: runs the TLS handshake on an accepted `socket`, then calls `then` with the established
   * `tls.TLSSocket`. A handshake that fails, times out (`handshakeTimeout`) or is cut by the client
   * closes the connection and emits `tls-error`; `then` is not called. Without `tls`, `then` gets
   * the socket as it is. Forking servers call it in the child, on the socket the parent handed over.
   */
  protected secureRequest(
    socket: net.Socket,
    clientAddress: ClientAddress,
    then: (request: tls.TLSSocket | net.Socket, clientAddress: ClientAddress) => void,
    failed?: (error: Error) => void,
  ): void {
    if (this.tls === undefined) {
      then(socket, clientAddress);
      return;
    }
    let acceptor = this.#acceptor;
    try {
      // `tls` or `handshakeTimeout` set by hand (or by a forking parent): rebuild the acceptor.
      if (acceptor?.options !== this.tls || acceptor.handshakeTimeout !== this.handshakeTimeout) {
        acceptor = new TLSAcceptor(this.tls, this.handshakeTimeout);
        this.#acceptor = acceptor;
      }
    } catch (error) {
      socket.destroy();
      this.emit('tls-error', error as Error, clientAddress);
      failed?.(error as Error);
      return;
    }
    this.#handshaking.add(socket);
    acceptor.accept(
      socket,
      (request) => {
        this.#handshaking.delete(socket);
        then(request, clientAddress);
      },
      (error) => {
        // A handshake cut short by serverClose() is no client's failure.
        if (!this.#handshaking.delete(socket)) error.code = ErrorCodes.SERVER_CLOSED;
        this.emit('tls-error', error, clientAddress);
        failed?.(error);
      },
    );
  }

  protected override closeSocket(): Promise<void> {
    // Handshakes in progress would otherwise finish (or time out) after the server closed.
    const handshaking = [...this.#handshaking];
    this.#handshaking.clear();
    for (const socket of handshaking) socket.destroy();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.socket?.close();
    return Promise.resolve();
  }

  /**
   * Flushes what the handler wrote and half-closes; `closeRequest()` (which destroys the socket) runs
   * once that is done, or at once for a connection already gone (reset by the peer, say).
   */
  protected override shutdownRequest(socket: net.Socket): void {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
    if (socket.destroyed || socket.writableFinished) {
      this.closeRequest(socket);
      return;
    }
    // closeRequest runs once, whichever comes first: the flush, the socket closing (a peer that
    // half-closed makes it destroy itself once flushed), or the linger timeout.
    // A TLS socket holds its last bytes in the TLS layer, not yet in the kernel: serverClose() waits
    // for them, so that a process that exits right after it (a perRequest child) sends them.
    const tracked = (socket as Partial<tls.TLSSocket>).encrypted === true;
    if (tracked) this.#flushing.add(socket);
    const close = (): void => {
      if (tracked && this.#flushing.delete(socket) && this.#flushing.size === 0) {
        for (const wake of this.#flushWaiters.splice(0)) wake();
      }
      this.closeRequest(socket);
    };
    socket.once('finish', close);
    socket.once('close', close);
    // A peer that does not take our last bytes would otherwise hold the connection forever.
    if (socket.writableLength > 0) socket.setTimeout(LINGER_MS, close);
  }

  /** Waits for running requests (as BaseServer), then for TLS requests still flushing their last bytes. */
  protected override async joinRequests(): Promise<void> {
    await super.joinRequests();
    if (this.#flushing.size > 0) await new Promise<void>((resolve) => this.#flushWaiters.push(resolve));
  }

  protected override closeRequest(socket: net.Socket): void {
    socket.destroy();
  }
}

/** `server.listen()` as a promise; failures become ADDRESS_IN_USE / BIND_FAILED naming `where`. */
export function listenOn(server: net.Server, options: ListenOptions, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(bindError(error, where));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}
