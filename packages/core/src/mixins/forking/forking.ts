import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { addressFromData, type InetAddress, type InetBindAddress, type UnixAddress } from '../../address.js';
import { ErrorCodes, SockserveError } from '../../errors.js';
import type { RequestHandlerClass } from '../../handlers/base-request-handler.js';
import { readInPlace, receiveBufferSizeOf } from '../../io/in-place-reads.js';
import type { BaseServer } from '../../servers/base-server.js';
import type { DatagramRequest, DatagramSocket } from '../../servers/datagram-server.js';
import { plainAddress } from '../../servers/peer-address.js';
import { StreamServer } from '../../servers/stream-server.js';
import { TCPServer, type TCPServerOptions } from '../../servers/tcp-server.js';
import { UDPServer, type UDPServerOptions } from '../../servers/udp-server.js';
import { UnixDatagramServer, type UnixDatagramServerOptions } from '../../servers/unix-datagram-server.js';
import { UnixStreamServer, type UnixStreamServerOptions } from '../../servers/unix-stream-server.js';
import { optional, validateBoolean, validateInteger } from '../../validators.js';
import { ChildPool, type Job } from './child-pool.js';
import { ParentLink } from './parent-link.js';
import {
  CHILD_ENV,
  type ChildConfig,
  type ParentMessage,
  readChildConfig,
  type ServerFields,
  type ServerKind,
} from './protocol.js';

/** Where forking children import the handler class from (the `handlerModule` option). */
export interface HandlerModule {
  /** Path (absolute, or relative to the working directory) or URL of an ES or CommonJS module. */
  module: string | URL;
  /** The export that holds the handler class. Default `'default'`. */
  exportName?: string;
}

/** The options `ForkingMixIn` reads from a server's third constructor argument. */
export interface ForkingOptions {
  /** Pool mode: child processes kept running, each serving many requests. Default: the available parallelism. */
  workers?: number;
  /** A fresh child process for each request, as Python's ForkingMixIn. Default false (pool mode). */
  perRequest?: boolean;
  /**
   * perRequest mode: children alive at once; further requests wait in order, at most
   * `requestQueueSize` of them (more are refused as `'queue-full'`). Default 40.
   */
  maxChildren?: number;
  /** perRequest mode: children started ahead of requests to hide their start-up time. Default 2. */
  spareChildren?: number;
  /** Pool mode: requests a child serves before it is replaced, gracefully. Default: no limit. */
  maxRequestsPerChild?: number;
  /**
   * `serverClose()` waits for running requests, then for the children to exit. With false it returns
   * at once, and the children still finish the requests they hold, then exit. Default true.
   */
  blockOnClose?: boolean;
  /** Children import this module's handler instead of re-running the entry script. */
  handlerModule?: HandlerModule;
}

/** What ForkingMixIn adds to a server. */
export interface ForkingServer {
  /** Pool mode: child processes kept running (the `workers` option; default `os.availableParallelism()`). */
  workers: number;
  /** One fresh child process per request (the `perRequest` option; default false). */
  perRequest: boolean;
  /** perRequest mode: children alive at once (the `maxChildren` option; default 40). */
  maxChildren: number;
  /** perRequest mode: children started ahead of requests (the `spareChildren` option; default 2). */
  spareChildren: number;
  /** Pool mode: requests a child serves before it is replaced (default `Infinity`, no limit). */
  maxRequestsPerChild: number;
  /** `serverClose()` waits for running requests and for the children to exit (default true). */
  blockOnClose: boolean;
  /** Where children import the handler class from; `undefined`: they re-run the entry script. */
  handlerModule: HandlerModule | undefined;
  /** PIDs of the child processes alive now (empty in a child). */
  readonly childPids: number[];
  /** True in a child process, where this server runs the requests its parent hands it. */
  readonly isChild: boolean;
  /**
   * Sends an application message to a child over the server's IPC channel (the child reads it with
   * `process.on('message')`; children send with `process.send()`, which arrives as `child-message`).
   * False when that child is gone.
   */
  sendToChild(pid: number, message: unknown): boolean;
  /**
   * As socketserver's `collect_children()`. Node.js reaps exited children by itself, so there are
   * never zombies to collect: this resolves once every child that has exited is accounted for (its
   * requests closed, `child-exit` emitted, gone from `childPids`). With `blocking: true`, it also
   * waits for the children on their way out to exit: perRequest children running their request,
   * pool children being replaced or stopped. Children that stay in the pool are not waited for.
   */
  collectChildren(options?: { blocking?: boolean }): Promise<void>;
}

type ServerClass = abstract new (...args: any[]) => BaseServer<any, any, any>;
type ForkingClass = abstract new (...args: any[]) => ForkingServer;

/** StreamServer's TLS hand-over hook, as a child's connection calls it. */
interface TLSHandover {
  secureRequest(
    socket: net.Socket,
    clientAddress: unknown,
    then: (request: net.Socket, clientAddress: unknown) => void,
    failed: (error: Error) => void,
  ): void;
}

/** True in a process started by a forking server (its entry script runs again there). */
export function isForkChild(): boolean {
  return readChildConfig() !== undefined;
}

/** The script a child runs in handlerModule mode (built next to this module's bundle). */
const CHILD_ENTRY = new URL('./entries/fork-child.js', import.meta.url);

/** Forking servers constructed in this process, in order: a child serves the one with its index. */
let constructed = 0;

/** Bytes the parent reads, at most, from a connection waiting for a child (to see if its client left). */
const PREREAD_LIMIT = 64 * 1024;

/** The server's own fields that belong to the process it runs in, never copied to a child. */
const LOCAL_FIELDS = new Set([
  '_events',
  '_eventsCount',
  'RequestHandlerClass',
  'socket',
  'serverAddress',
  'pauseOnConnect',
  'replySocket',
  'handlerModule',
]);

/** Prototypes whose instances come out of a structured clone as they went in. */
const DATA_PROTOTYPES = new Set<unknown>([
  Object.prototype,
  null,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
]);

/**
 * A value a child can get as it is: a primitive, or a plain object, array, Map, Set, Date, RegExp,
 * ArrayBuffer or typed array (Buffer included) that structured cloning accepts. Class instances are
 * left out (a clone would lose their class), and so are functions and symbols.
 */
function isData(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  if (!DATA_PROTOTYPES.has(Object.getPrototypeOf(value)) && !ArrayBuffer.isView(value)) {
    if (!(value instanceof ArrayBuffer)) return false;
  }
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** How long a waiting connection watches its client; what it read is handed on with it. */
interface Watch {
  chunks: Buffer[];
  stop(): void;
}

function kindOf(server: object): ServerKind {
  if (server instanceof TCPServer) return 'tcp';
  if (server instanceof UnixStreamServer) return 'unix-stream';
  if (server instanceof UDPServer) return 'udp';
  if (server instanceof UnixDatagramServer) return 'unix-datagram';
  throw new TypeError('ForkingMixIn needs a TCP, UDP, Unix stream or Unix datagram server class');
}

function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
    ? module
    : pathToFileURL(resolvePath(module)).href;
}

/** Node options for children: the parent's, without debugger ports that would clash. */
function childExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--(inspect|debug)/.test(arg));
}

/**
 * Runs requests in child processes, as socketserver's ForkingMixIn. Node cannot fork, so the parent
 * starts children with `child_process.fork()`: accepted sockets are handed over as handles (the
 * parent never reads them), datagrams are relayed. In each child the entry script runs again (as
 * with `node:cluster`) and the server constructed there serves what the parent sends; or, with
 * `handlerModule`, the child imports the handler class from that module.
 *
 * Pool mode (default): `workers` children, each running many requests concurrently; a request goes
 * to the least busy child. `perRequest: true`: one fresh child per request, at most `maxChildren`.
 * A child that crashes never takes the server down: the requests it held are closed and reported to
 * `handleError`, `child-exit` says why, and the child is replaced.
 */
export function ForkingMixIn<TBase extends ServerClass>(Base: TBase): TBase & ForkingClass {
  abstract class ForkingMixInServer extends Base implements ForkingServer {
    workers: number;
    perRequest: boolean;
    maxChildren: number;
    spareChildren: number;
    maxRequestsPerChild: number;
    blockOnClose: boolean;
    handlerModule: HandlerModule | undefined;
    readonly #index = constructed++;
    readonly #role: 'parent' | 'child' | 'inert';
    #pool: ChildPool | undefined;
    #nextId = 1;
    #link: ParentLink | undefined;
    readonly #ids = new Map<unknown, number>();
    /** Connections waiting for a child, watched for a client that leaves. */
    readonly #watches = new Map<unknown, Watch>();

    constructor(...args: any[]) {
      super(...args);
      const options: ForkingOptions = args[2] ?? {};
      this.workers = optional(
        options.workers,
        availableParallelism(),
        (v, n) => validateInteger(v, n, 1),
        'workers',
      );
      this.perRequest = optional(options.perRequest, false, validateBoolean, 'perRequest');
      this.maxChildren = optional(options.maxChildren, 40, (v, n) => validateInteger(v, n, 1), 'maxChildren');
      this.spareChildren = optional(
        options.spareChildren,
        2,
        (v, n) => validateInteger(v, n, 0),
        'spareChildren',
      );
      this.maxRequestsPerChild = optional(
        options.maxRequestsPerChild,
        Number.POSITIVE_INFINITY,
        (v, n) => (v === Number.POSITIVE_INFINITY ? v : validateInteger(v, n, 1)),
        'maxRequestsPerChild',
      );
      this.blockOnClose = optional(options.blockOnClose, true, validateBoolean, 'blockOnClose');
      this.handlerModule = options.handlerModule;
      kindOf(this);
      const config = readChildConfig();
      const mine = config !== undefined && config.serverIndex === this.#index;
      this.#role = config === undefined ? 'parent' : mine ? 'child' : 'inert';
      if (this.#role === 'parent' && this instanceof StreamServer) {
        // The parent hands sockets on unread.
        (this as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
      }
    }

    get childPids(): number[] {
      return this.#pool?.pids ?? [];
    }

    get isChild(): boolean {
      return this.#role === 'child';
    }

    sendToChild(pid: number, message: unknown): boolean {
      return this.#pool?.send(pid, message) ?? false;
    }

    async collectChildren(options: { blocking?: boolean } = {}): Promise<void> {
      const blocking = optional(options.blocking, false, validateBoolean, 'blocking');
      await this.#pool?.collect(blocking);
    }

    // ---- binding: the parent binds, a child links to its parent ------------------------------

    override async serverBind(): Promise<void> {
      if (this.#role === 'parent') return super.serverBind();
      if (this.#role === 'inert') return;
      const config = readChildConfig()!;
      this.serverAddress = config.serverAddress;
      const relay: DatagramSocket<unknown> = {
        sendTo: (data, address) => this.#link!.relay(data, address),
        // The parent sends and reports failures; a relay fails only when the parent is gone (and the
        // child stops with it).
        send: (data, address) => void this.#link!.relay(data, address).catch(() => {}),
      };
      this.#link = new ParentLink({
        connection: (socket, id, clientAddress) => {
          // With `tls` the handshake runs here, in the child (a TLS session cannot cross processes);
          // one that fails ends the request unhandled (secureRequest emits tls-error).
          (this as unknown as TLSHandover).secureRequest(
            socket,
            addressFromData(clientAddress),
            (request, address) => {
              this.#ids.set(request, id);
              // Validated by the server's constructor, which ran in this child too.
              const size = receiveBufferSizeOf(this.RequestHandlerClass);
              if (typeof size === 'number' && request === socket) readInPlace(socket, size);
              void this.dispatchRequest(request, address, true);
            },
            (error) => {
              this.#link?.tlsFailed(id, error);
              this.#link?.done(id);
              if (readChildConfig()?.oneShot) this.#stopChild();
            },
          );
        },
        datagram: (packet, id, clientAddress) => {
          const request: DatagramRequest<unknown> = { packet, socket: relay };
          this.#ids.set(request, id);
          void this.dispatchRequest(request, addressFromData(clientAddress, true), true);
        },
        fields: (fields) => Object.assign(this, fields),
        stop: () => this.#stopChild(),
      });
      this.#link.attach();
    }

    override async serverActivate(): Promise<void> {
      await super.serverActivate();
      if (this.#role === 'inert') {
        // Another forking server of this script forked this process: this one serves nothing here.
        void this.shutdown();
        return;
      }
      if (this.#role !== 'parent') return;
      this.#pool = new ChildPool(
        {
          workers: this.workers,
          perRequest: this.perRequest,
          maxChildren: this.maxChildren,
          spareChildren: this.spareChildren,
          maxRequestsPerChild: this.maxRequestsPerChild,
          queueSize: this.requestQueueSize,
          maxStarting: Math.max(4, 2 * availableParallelism()),
        },
        {
          spawn: () => this.#spawn(),
          deliver: (child, job, fields) => this.#deliver(child, job, fields),
          fields: () => this.#fields(),
          waitStarted: (job, gone) => this.#watch(job.request, gone),
          waitEnded: (job) => this.#watches.get(job.request)?.stop(),
          // The child's server ran handleError: in entry re-execution that is your server class, as
          // in CPython, so here only the base class's (the request-error event) runs. A handlerModule
          // child runs a plain server, so your handleError runs here.
          jobReported: (job, error) => {
            // A TLS handshake that failed in the child never became a request.
            if ((error as { tls?: boolean }).tls === true) {
              this.emit('tls-error', error, job.clientAddress);
              return;
            }
            if (this.handlerModule === undefined) super.handleError(job.request, job.clientAddress, error);
            else this.handleError(job.request, job.clientAddress, error);
          },
          jobFailed: (job, error) => this.handleError(job.request, job.clientAddress, error),
          jobEnded: (job) => this.endRequest(job.request, job.clientAddress),
          relay: (data, address) => {
            (this as unknown as { send(data: Uint8Array, address: unknown): void }).send(data, address);
          },
          childSpawned: (pid) => this.emit('child-spawn', pid),
          childMessage: (pid, message) => this.emit('child-message', pid, message),
          childExited: (exit) => this.emit('child-exit', exit),
          describeClient: (clientAddress) => this.describeClient(clientAddress),
        },
      );
      this.#pool.start();
    }

    /**
     * Handed-off sockets leave the parent at once, so Node's own connection count cannot enforce
     * `maxConnections` here: the parent counts the requests its children hold instead.
     */
    protected override enqueueRequest(request: unknown, clientAddress: unknown): void {
      const limit = (this as { maxConnections?: number }).maxConnections ?? Number.POSITIVE_INFINITY;
      if (this.#role === 'parent' && this.activeRequestCount >= limit) {
        this.emit('request-refused', 'max-connections', clientAddress);
        this.closeRequest(request);
        return;
      }
      super.enqueueRequest(request, clientAddress);
    }

    protected override closeSocket(): Promise<void> {
      if (this.#role === 'parent') return super.closeSocket();
      this.#link?.stopReceiving();
      return Promise.resolve();
    }

    /** `setSecureContext()` ran: pool children get the new `tls` before their next request. */
    protected tlsChanged(): void {
      if (this.#pool === undefined) return;
      const fields = this.#fields();
      for (const pid of this.#pool.pids) this.#pool.send(pid, { sockserve: 'fields', fields });
    }

    // ---- requests ----------------------------------------------------------------------------

    protected override processRequest(request: unknown, clientAddress: unknown): void {
      if (this.#role === 'parent') {
        if (!this.#pool!.accepts()) {
          // requestQueueSize requests already wait for a child.
          this.emit('request-refused', 'queue-full', clientAddress);
          this.endRequest(request, clientAddress);
          return;
        }
        this.emit('request-start', clientAddress);
        this.#pool!.submit({ id: this.#nextId++, request, clientAddress });
        return;
      }
      // In a child, requests run concurrently (endRequest reports each to the parent).
      void this.runRequest(request, clientAddress);
    }

    protected override endRequest(request: unknown, clientAddress: unknown): void {
      this.#watches.delete(request);
      super.endRequest(request, clientAddress);
      const id = this.#ids.get(request);
      if (id === undefined) return;
      this.#ids.delete(request);
      this.#link?.done(id);
      if (readChildConfig()?.oneShot) this.#stopChild();
    }

    protected override handleError(request: unknown, clientAddress: unknown, error: unknown): void {
      const id = this.#role === 'child' ? this.#ids.get(request) : undefined;
      if (id === undefined) super.handleError(request, clientAddress, error);
      else this.#link?.failed(id, error);
    }

    protected override abortRequest(request: unknown): void {
      if (this.#pool !== undefined) this.#pool.abort(request);
      else super.abortRequest(request);
    }

    protected override async joinRequests(): Promise<void> {
      if (this.#role === 'child') {
        await super.joinRequests();
        await this.#link?.detach();
        return;
      }
      if (this.blockOnClose) {
        await super.joinRequests();
        await this.#pool?.close();
      } else {
        // As CPython's server_close() with block_on_close = False: return now; the children finish
        // the requests they hold, then exit (shutdown({ deadline }) is what cuts requests off).
        void this.#pool?.close();
      }
    }

    // ---- parent internals ----------------------------------------------------------------------

    #spawn(): ChildProcess {
      const handlerModule = this.handlerModule;
      const entry = handlerModule === undefined ? process.argv[1] : CHILD_ENTRY;
      if (entry === undefined) {
        throw new SockserveError(
          ErrorCodes.UNSUPPORTED,
          'ForkingMixIn runs the entry script again in its children, and this process has none (REPL or -e): pass the handlerModule option',
        );
      }
      const config: ChildConfig = {
        serverIndex: handlerModule === undefined ? this.#index : 0,
        serverAddress: this.serverAddress,
        oneShot: this.perRequest,
      };
      if (handlerModule !== undefined) {
        config.handlerModule = {
          module: moduleHref(handlerModule.module),
          exportName: handlerModule.exportName ?? 'default',
          serverKind: kindOf(this),
        };
      }
      return fork(entry, handlerModule === undefined ? process.argv.slice(2) : [], {
        env: { ...process.env, [CHILD_ENV]: JSON.stringify(config) },
        execArgv: childExecArgv(),
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
    }

    #deliver(child: ChildProcess, job: Job, fields: ServerFields | undefined): void {
      const onSent = (error: Error | null): void => {
        // A child that cannot take its job is beyond help: its exit closes the job.
        if (error) child.kill('SIGKILL');
      };
      const seq = job.seq ?? 0;
      if (job.request instanceof net.Socket) {
        const preread = this.#watches.get(job.request)?.chunks ?? [];
        this.#watches.delete(job.request);
        const message: ParentMessage = {
          sockserve: 'connection',
          id: job.id,
          seq,
          clientAddress: plainAddress(job.clientAddress),
        };
        if (preread.length > 0) message.preread = Buffer.concat(preread);
        if (fields !== undefined) message.fields = fields;
        child.send(message, job.request, { keepOpen: false }, onSent);
      } else {
        const { packet } = job.request as DatagramRequest<unknown>;
        const message: ParentMessage = {
          sockserve: 'datagram',
          id: job.id,
          seq,
          packet,
          clientAddress: job.clientAddress,
        };
        if (fields !== undefined) message.fields = fields;
        child.send(message, onSent);
      }
    }

    /**
     * The server's own data fields (see isData), as a child should see them: the fields of your
     * subclass and those set on the server after construction (`server.secret = …`).
     */
    #fields(): ServerFields {
      const fields: ServerFields = {};
      for (const [key, value] of Object.entries(this)) {
        if (!LOCAL_FIELDS.has(key) && isData(value)) fields[key] = value;
      }
      return fields;
    }

    /**
     * A connection waits for a child: read it (in flowing mode, up to PREREAD_LIMIT bytes, handed on
     * with it) to learn whether its client leaves meanwhile. A client that closed or reset without
     * sending anything is gone: `gone()`; one that sent a request and half-closed is still served.
     */
    #watch(request: unknown, gone: () => void): void {
      if (!(request instanceof net.Socket)) return;
      const socket = request;
      const chunks: Buffer[] = [];
      let bytes = 0;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes >= PREREAD_LIMIT) socket.pause();
      };
      const onEnd = (): void => {
        if (bytes === 0) gone();
      };
      const stop = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', gone);
        socket.pause();
        for (
          let chunk = socket.read() as Buffer | null;
          chunk !== null;
          chunk = socket.read() as Buffer | null
        ) {
          chunks.push(chunk);
        }
        // Stop the handle too (read() may have restarted it): what it read later would be lost when
        // it is handed over. Reads happen only in a later turn of the event loop, after the handover.
        const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?(): number } })
          ._handle;
        if (handle?.reading === true && typeof handle.readStop === 'function') {
          handle.reading = false;
          handle.readStop();
        }
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', gone);
      this.#watches.set(socket, { chunks, stop });
      socket.resume();
    }

    // ---- child internals -----------------------------------------------------------------------

    #stopChild(): void {
      void this.shutdown();
      void this.serverClose();
    }
  }
  return ForkingMixInServer;
}

const ForkingTCPBase: typeof TCPServer & ForkingClass = ForkingMixIn(TCPServer);
const ForkingUDPBase: typeof UDPServer & ForkingClass = ForkingMixIn(UDPServer);
const ForkingUnixStreamBase: typeof UnixStreamServer & ForkingClass = ForkingMixIn(UnixStreamServer);
const ForkingUnixDatagramBase: typeof UnixDatagramServer & ForkingClass = ForkingMixIn(UnixDatagramServer);

/** A TCP server whose connections are handled in child processes. */
export class ForkingTCPServer extends ForkingTCPBase {
  constructor(
    serverAddress: InetBindAddress,
    RequestHandlerClass: RequestHandlerClass<net.Socket, InetAddress>,
    options: TCPServerOptions & ForkingOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
  }
}

/** A UDP server whose datagrams are handled in child processes (replies are relayed through the parent). */
export class ForkingUDPServer extends ForkingUDPBase {
  constructor(
    serverAddress: InetBindAddress,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<InetAddress>, InetAddress>,
    options: UDPServerOptions & ForkingOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
  }
}

/** A Unix stream server whose connections are handled in child processes. */
export class ForkingUnixStreamServer extends ForkingUnixStreamBase {
  constructor(
    path: string,
    RequestHandlerClass: RequestHandlerClass<net.Socket, UnixAddress>,
    options: UnixStreamServerOptions & ForkingOptions = {},
  ) {
    super(path, RequestHandlerClass, options);
  }
}

/** A Unix datagram server whose datagrams are handled in child processes. */
export class ForkingUnixDatagramServer extends ForkingUnixDatagramBase {
  constructor(
    path: string,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<UnixAddress>, UnixAddress>,
    options: UnixDatagramServerOptions & ForkingOptions = {},
  ) {
    super(path, RequestHandlerClass, options);
  }
}
