import net from 'node:net';
import { bindError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { readInPlace, receiveBufferSizeOf } from '../io/in-place-reads.js';
import { optional, validateInteger } from '../validators.js';
import { BaseServer, type BaseServerOptions, type SocketType } from './base-server.js';
import { watchDescriptors } from './descriptor-watch.js';
import { reportSocketError } from './socket-error.js';
import { fdOf } from './socket-fd.js';

/** Options of every stream server (TCP and Unix stream). */
export interface StreamServerOptions extends BaseServerOptions {
  /** Connections open at once; further ones are closed at accept and reported as `request-refused`. Default: no limit. */
  maxConnections?: number;
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
  /** True makes accepted sockets start paused (forking servers hand them on unread). */
  protected pauseOnConnect = false;
  /** The handler class's `receiveBufferSize`: accepted sockets read in place (see StreamRequestHandler). */
  readonly #receiveBufferSize: number | undefined;
  /** Stops the descriptor checks (see descriptor-watch.ts). */
  #unwatch: (() => void) | undefined;

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
  }

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
    if (Number.isFinite(this.maxConnections)) server.maxConnections = this.maxConnections;
    // A forking parent (pauseOnConnect) hands its sockets on unread: its children read them in place.
    const inPlace = this.pauseOnConnect ? undefined : this.#receiveBufferSize;
    server.on('connection', (socket) => {
      socket.on('error', ignoreError);
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

  protected override closeSocket(): Promise<void> {
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
    const close = (): void => this.closeRequest(socket);
    socket.once('finish', close);
    socket.once('close', close);
    // A peer that does not take our last bytes would otherwise hold the connection forever.
    if (socket.writableLength > 0) socket.setTimeout(LINGER_MS, close);
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
