/**
 * The base of every request handler, as socketserver's BaseRequestHandler: a fresh instance per
 * request; the server calls `setup()`, then `handle()`, then `finish()` (which always runs, even when
 * `setup` or `handle` throws).
 *
 * For subclasses: override `handle()` (and `setup()`/`finish()` when needed, calling `super`).
 */
export class BaseRequestHandler<Request = unknown, ClientAddress = unknown, Server = unknown> {
  /** The request: a `net.Socket` for stream servers, a `DatagramRequest` for datagram servers. */
  readonly request: Request;
  /** The peer's address. */
  readonly clientAddress: ClientAddress;
  /** The server that runs this handler (shared by every handler of that server). */
  readonly server: Server;

  constructor(request: Request, clientAddress: ClientAddress, server: Server) {
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
  setup(): unknown;
  handle(): unknown;
  finish(): unknown;
};
