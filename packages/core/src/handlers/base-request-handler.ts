/**
 * The base of every request handler, as socketserver's BaseRequestHandler: a fresh instance per
 * request; the server calls `setup()`, then `handle()`, then `finish()` (which always runs, even when
 * `setup` or `handle` throws).
 *
 * For subclasses: override `handle()` (and `setup()`/`finish()` when needed, calling `super`).
 * Name the server class as the type argument and `request`, `clientAddress` and `server` are typed
 * for it: `class Handler extends BaseRequestHandler<TCPServer>` has a `net.Socket` as `this.request`
 * (a `DatagramRequest` with a datagram server). `BaseRequestHandler<Request, ClientAddress, Server>`
 * names each type itself.
 */
export class BaseRequestHandler<
  Request = unknown,
  ClientAddress = ClientAddressOf<Request>,
  Server = ServerOf<Request>,
> {
  /** The request: a `net.Socket` for stream servers, a `DatagramRequest` for datagram servers. */
  readonly request: RequestOf<Request>;
  /** The peer's address. */
  readonly clientAddress: ClientAddress;
  /** The server that runs this handler (shared by every handler of that server). */
  readonly server: Server;

  constructor(request: RequestOf<Request>, clientAddress: ClientAddress, server: Server) {
    this.request = request;
    this.clientAddress = clientAddress;
    this.server = server;
  }

  /** Called before `handle()`. */
  setup(): void | Promise<void> {}

  /** Does the work of the request. The default does nothing. */
  handle(): void | Promise<void> {}

  /** Called after `handle()`, also when it threw. */
  finish(): void | Promise<void> {}
}

/** What a server needs of a handler class: `new Handler(request, clientAddress, server)`. */
export type RequestHandlerClass<Request, ClientAddress> = new (
  request: Request,
  clientAddress: ClientAddress,
  server: any,
) => {
  /** Runs first; may return a promise, which is awaited. */
  setup(): unknown;
  /** Serves the request; may return a promise, which is awaited. */
  handle(): unknown;
  /** Runs last, also when `setup()` or `handle()` threw; may return a promise. */
  finish(): unknown;
};

/** A server type, as handlers see it: its handler class says what its requests are. */
type ServerShape<Request, ClientAddress> = {
  readonly RequestHandlerClass: RequestHandlerClass<Request, ClientAddress>;
};

/** The request type of server type `T` (a `net.Socket`, a `DatagramRequest`); any other `T` as it is. */
export type RequestOf<T> = T extends ServerShape<infer Request, any> ? Request : T;

/** The client address type of server type `T`; `unknown` for any other `T`. */
export type ClientAddressOf<T> = T extends ServerShape<any, infer ClientAddress> ? ClientAddress : unknown;

/** `T` when it is a server type, else `unknown`. */
export type ServerOf<T> = T extends ServerShape<any, any> ? T : unknown;
