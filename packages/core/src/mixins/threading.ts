import type net from 'node:net';
import type { InetAddress, InetBindAddress, UnixAddress } from '../address.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import type { BaseServer } from '../servers/base-server.js';
import type { DatagramRequest } from '../servers/datagram-server.js';
import { RequestQueue } from '../servers/request-queue.js';
import { TCPServer, type TCPServerOptions } from '../servers/tcp-server.js';
import { UDPServer, type UDPServerOptions } from '../servers/udp-server.js';
import { UnixDatagramServer, type UnixDatagramServerOptions } from '../servers/unix-datagram-server.js';
import { UnixStreamServer, type UnixStreamServerOptions } from '../servers/unix-stream-server.js';
import { optional, validateBoolean, validateInteger } from '../validators.js';

/** The options `ThreadingMixIn` reads from a server's third constructor argument. */
export interface ThreadingOptions {
  /** `serverClose()` waits for running handlers. Default true. */
  blockOnClose?: boolean;
  /** Handlers are not waited for by `serverClose()` (Python's daemon threads). Default false. */
  daemonThreads?: boolean;
  /** Handlers running at once; further requests wait in arrival order (none is dropped). Default: no limit. */
  maxThreads?: number;
}

/** What ThreadingMixIn adds to a server. */
export interface ThreadingServer {
  /** `serverClose()` waits for running handlers (the `blockOnClose` option; default true). */
  blockOnClose: boolean;
  /** `serverClose()` does not wait for handlers (the `daemonThreads` option; default false). */
  daemonThreads: boolean;
  /** Handlers running at once (the `maxThreads` option; default `Infinity`, no limit). */
  maxThreads: number;
  /** Requests waiting for a free slot under `maxThreads`. */
  readonly waitingRequestCount: number;
}

type ServerClass = abstract new (...args: any[]) => BaseServer<any, any, any>;
type ThreadingClass = abstract new (...args: any[]) => ThreadingServer;

interface Waiting {
  request: unknown;
  clientAddress: unknown;
}

/**
 * Runs every request concurrently, as socketserver's ThreadingMixIn. In Node the unit of concurrency
 * is an async task on the event loop: handlers share memory exactly as Python threads do, and one
 * that blocks the CPU blocks them all (use ForkingMixIn for CPU-bound handlers).
 *
 * ```ts
 * class MyServer extends ThreadingMixIn(UnixStreamServer) {}
 * ```
 */
export function ThreadingMixIn<TBase extends ServerClass>(Base: TBase): TBase & ThreadingClass {
  abstract class ThreadingMixInServer extends Base implements ThreadingServer {
    blockOnClose: boolean;
    daemonThreads: boolean;
    maxThreads: number;
    #running = 0;
    readonly #waiting = new RequestQueue<Waiting>(Number.POSITIVE_INFINITY);
    /** True while #onDone starts waiting requests (one that completes at once must not recurse). */
    #starting = false;
    readonly #onDone = (): void => {
      this.#running -= 1;
      if (this.#starting) return;
      this.#starting = true;
      try {
        while (this.#running < this.maxThreads) {
          const next = this.#waiting.shift();
          if (next === undefined) break;
          this.#start(next.request, next.clientAddress);
        }
      } finally {
        this.#starting = false;
      }
    };

    constructor(...args: any[]) {
      super(...args);
      const options: ThreadingOptions = args[2] ?? {};
      this.blockOnClose = optional(options.blockOnClose, true, validateBoolean, 'blockOnClose');
      this.daemonThreads = optional(options.daemonThreads, false, validateBoolean, 'daemonThreads');
      this.maxThreads = optional(
        options.maxThreads,
        Number.POSITIVE_INFINITY,
        (v, n) => (v === Number.POSITIVE_INFINITY ? v : validateInteger(v, n, 1)),
        'maxThreads',
      );
    }

    get waitingRequestCount(): number {
      return this.#waiting.length;
    }

    protected override processRequest(request: unknown, clientAddress: unknown): void {
      if (this.#running >= this.maxThreads) this.#waiting.push({ request, clientAddress });
      else this.#start(request, clientAddress);
    }

    protected override joinRequests(): Promise<void> {
      if (!this.blockOnClose || this.daemonThreads) return Promise.resolve();
      return super.joinRequests();
    }

    #start(request: unknown, clientAddress: unknown): void {
      this.#running += 1;
      let running: void | Promise<void>;
      try {
        running = this.runRequest(request, clientAddress);
      } catch (error) {
        this.#onDone(); // a request-start listener threw
        throw error;
      }
      // A request that completed synchronously is done already.
      if (running instanceof Promise) void running.then(this.#onDone);
      else this.#onDone();
    }
  }
  return ThreadingMixInServer;
}

const ThreadingTCPBase: typeof TCPServer & ThreadingClass = ThreadingMixIn(TCPServer);
const ThreadingUDPBase: typeof UDPServer & ThreadingClass = ThreadingMixIn(UDPServer);
const ThreadingUnixStreamBase: typeof UnixStreamServer & ThreadingClass = ThreadingMixIn(UnixStreamServer);
const ThreadingUnixDatagramBase: typeof UnixDatagramServer & ThreadingClass =
  ThreadingMixIn(UnixDatagramServer);

/** A TCP server that handles every connection concurrently. */
export class ThreadingTCPServer extends ThreadingTCPBase {
  constructor(
    serverAddress: InetBindAddress,
    RequestHandlerClass: RequestHandlerClass<net.Socket, InetAddress>,
    options: TCPServerOptions & ThreadingOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
  }
}

/** A UDP server that handles every datagram concurrently. */
export class ThreadingUDPServer extends ThreadingUDPBase {
  constructor(
    serverAddress: InetBindAddress,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<InetAddress>, InetAddress>,
    options: UDPServerOptions & ThreadingOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
  }
}

/** A Unix stream server that handles every connection concurrently. */
export class ThreadingUnixStreamServer extends ThreadingUnixStreamBase {
  constructor(
    path: string,
    RequestHandlerClass: RequestHandlerClass<net.Socket, UnixAddress>,
    options: UnixStreamServerOptions & ThreadingOptions = {},
  ) {
    super(path, RequestHandlerClass, options);
  }
}

/** A Unix datagram server that handles every datagram concurrently. */
export class ThreadingUnixDatagramServer extends ThreadingUnixDatagramBase {
  constructor(
    path: string,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<UnixAddress>, UnixAddress>,
    options: UnixDatagramServerOptions & ThreadingOptions = {},
  ) {
    super(path, RequestHandlerClass, options);
  }
}
