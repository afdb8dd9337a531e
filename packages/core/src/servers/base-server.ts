import { EventEmitter } from 'eventemitter3';
import { ErrorCodes, SockserveError } from '../errors.js';
import type { ServerEvents } from '../events.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { optional, validateBoolean, validateInteger, validateSeconds } from '../validators.js';
import { ActiveRequests } from './active-requests.js';
import { RequestQueue } from './request-queue.js';

/** `idle → listening → serving → listening … → closing → closed`. */
export type ServerState = 'idle' | 'listening' | 'serving' | 'closing' | 'closed';

/** Options of every server (the third constructor argument); each is also a public field of the same name. */
export interface BaseServerOptions {
  /** Seconds `handleRequest()` waits for a request before calling `handleTimeout()`. Default: no limit. */
  timeout?: number;
  /**
   * Stream servers: the `listen()` backlog; connections beyond it wait, none is refused for it.
   * Datagram servers (no backlog): datagrams waiting for the serve loop before more are dropped
   * (`request-refused`, `'queue-full'`), as a full receive buffer drops them. Default 511.
   */
  requestQueueSize?: number;
  /**
   * As Python's `bind_and_activate`. False: `serveForever()` and `handleRequest()` do not bind; call
   * `serverBind()` and `serverActivate()` yourself first (set socket options in between). Default true.
   */
  bindAndActivate?: boolean;
}

/** Options of `serveForever()`. */
export interface ServeOptions {
  /** Aborting it calls `shutdown()`; an already aborted signal shuts down on the next tick. */
  signal?: AbortSignal;
  /** Seconds between `serviceActions()` calls while the loop waits for requests (> 0). Default 0.5. */
  pollInterval?: number;
}

/** Options of `shutdown()`. */
export interface ShutdownOptions {
  /** Seconds to wait for running requests; then their connections are closed. Default: do not wait. */
  deadline?: number;
}

interface PendingRequest<Request, ClientAddress> {
  request: Request;
  clientAddress: ClientAddress;
}

/** One run of the serve loop: how it ends, and the taker it parks on the queue (made once per run). */
interface ServeLoop<Request, ClientAddress> {
  resolve(): void;
  reject(error: unknown): void;
  take(item: PendingRequest<Request, ClientAddress> | undefined): void;
  /** Set when `serviceActions()` threw between requests: the loop ends with that error. */
  failed?: { error: unknown };
}

const HANDLE_ERROR_RULE = '-'.repeat(40);

/** Marks a request whose `closeRequest()` ran (so it runs once, whoever calls it). */
const CLOSED = Symbol('sockserve.closed');

/** True the first time for `request` (always for a request that cannot be marked). */
function markClosed(request: unknown): boolean {
  if (
    ((typeof request !== 'object' || request === null) && typeof request !== 'function') ||
    !Object.isExtensible(request)
  ) {
    return true;
  }
  const marked = request as Record<symbol, boolean | undefined>;
  if (marked[CLOSED] === true) return false;
  marked[CLOSED] = true;
  return true;
}

/** Sets `server[name]` to `hook` as an own, non-enumerable, writable property. */
function defineHook(server: object, name: string, hook: (...args: never[]) => unknown): void {
  Object.defineProperty(server, name, { value: hook, writable: true, configurable: true, enumerable: false });
}

/** Python's `address_family` values. */
export type AddressFamily = 'AF_INET' | 'AF_INET6' | 'AF_UNIX';
/** Python's `socket_type` values. */
export type SocketType = 'SOCK_STREAM' | 'SOCK_DGRAM';

/**
 * The base of every server, as socketserver's BaseServer: it owns a listening socket and a request
 * handler class, and runs each request through the same pipeline (Template Method):
 *
 * ```
 * serveForever()                  (serviceActions() every pollInterval while idle)
 *   verifyRequest() → false: shutdownRequest()
 *   processRequest()              ← the only place where concurrency differs (mixins override it)
 *     finishRequest()             ← new Handler(request, clientAddress, server): setup, handle, finish
 *   on error: handleError()
 *   shutdownRequest() → closeRequest()
 * ```
 *
 * For the caller: `listen()`, `serverBind()`, `serverActivate()`, `serveForever()`, `handleRequest()`,
 * `shutdown()`, `serverClose()`, `[Symbol.asyncDispose]`, `serverAddress`, `state`, the events.
 * May be overridden: `serverBind`, `serverActivate` (public), `verifyRequest`, `processRequest`,
 * `finishRequest`, `handleError`, `handleTimeout`, `serviceActions`, `shutdownRequest`, `closeRequest`.
 * Whoever calls them, `serverBind`/`serverActivate` run once per server, and `shutdownRequest` and
 * `closeRequest` once per request (a second call does nothing).
 * For subclasses: `enqueueRequest`, `runRequest`, `endRequest`, `joinRequests`, `closeSocket`.
 */
export abstract class BaseServer<Request, Address, ClientAddress = Address> extends EventEmitter<
  ServerEvents<Address, ClientAddress>
> {
  /** The handler class: one instance per request. */
  readonly RequestHandlerClass: RequestHandlerClass<Request, ClientAddress>;
  /** The address asked for until the server is bound; then the real one (the port chosen for port 0). */
  serverAddress: Address;
  /** Seconds `handleRequest()` waits for a request; undefined waits forever. */
  timeout: number | undefined;
  /** The listen backlog (stream servers); datagrams waiting for the serve loop (datagram servers). */
  requestQueueSize: number;
  /** False: `serveForever()` and `handleRequest()` leave binding to you (`serverBind()`, `serverActivate()`). */
  readonly bindAndActivate: boolean;

  #state: ServerState = 'idle';
  #listening: Promise<void> | undefined;
  #binding: Promise<void> | undefined;
  #activating: Promise<void> | undefined;
  /** The subclass's own `shutdownRequest` (the instance's is wrapped to run once per request). */
  readonly #shutdownRequest: (request: Request) => void;
  #queue: RequestQueue<PendingRequest<Request, ClientAddress>> | undefined;
  #taking = false;
  #stopRequested = false;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Requests handed to processRequest and not yet shut down, with their client address. */
  readonly #active = new ActiveRequests<Request, ClientAddress>();
  #idleWaiters: Array<() => void> = [];

  constructor(
    serverAddress: Address,
    RequestHandlerClass: RequestHandlerClass<Request, ClientAddress>,
    options: BaseServerOptions = {},
  ) {
    super();
    if (typeof RequestHandlerClass !== 'function') {
      throw new TypeError('RequestHandlerClass must be a class (a subclass of BaseRequestHandler)');
    }
    this.serverAddress = serverAddress;
    this.RequestHandlerClass = RequestHandlerClass;
    this.timeout = optional(options.timeout, undefined, validateSeconds, 'timeout');
    this.requestQueueSize = optional(
      options.requestQueueSize,
      511,
      (v, n) => validateInteger(v, n, 1),
      'requestQueueSize',
    );
    this.bindAndActivate = optional(options.bindAndActivate, true, validateBoolean, 'bindAndActivate');
    // The hooks as the subclass defines them; the instance's own wrappers make each run once, whoever
    // calls it (the serve loop, listen(), or the user, as Python code calls them).
    const bind = this.serverBind;
    const activate = this.serverActivate;
    const close = this.closeRequest;
    this.#shutdownRequest = this.shutdownRequest;
    // Not enumerable: the server's own data fields stay the only enumerable ones.
    defineHook(this, 'serverBind', () => this.#bindOnce(bind));
    defineHook(this, 'serverActivate', () => this.#activateOnce(activate));
    defineHook(this, 'shutdownRequest', (request: Request) => {
      if (this.#active.has(request)) this.endRequest(request, this.#active.get(request) as ClientAddress);
    });
    // The default closeRequest does nothing: running it twice is harmless, and marks nothing.
    if (close !== BaseServer.prototype.closeRequest) {
      defineHook(this, 'closeRequest', (request: Request) => {
        if (markClosed(request)) close.call(this, request);
      });
    }
  }

  /** Where the server is in its life. */
  get state(): ServerState {
    return this.#state;
  }

  /** Number of requests being processed now. */
  get activeRequestCount(): number {
    return this.#active.size;
  }

  /**
   * The listening socket's file descriptor, as Python's `fileno()`; -1 before binding, after closing,
   * and where Node.js does not expose it (a forking server's child, a Unix datagram server).
   */
  fileno(): number {
    return -1;
  }

  /**
   * Binds and activates the socket (`serverBind()` then `serverActivate()`), each unless already done
   * by hand. Idempotent.
   */
  async listen(): Promise<this> {
    this.#assertOpen('listen');
    if (this.#listening === undefined) {
      const attempt = this.#bindAndActivate();
      this.#listening = attempt;
      attempt.catch(() => {
        if (this.#listening === attempt) this.#listening = undefined;
      });
    }
    await this.#listening;
    return this;
  }

  /**
   * Handles requests until `shutdown()` (or the signal) stops it, listening first if needed.
   * Resolves once the loop has stopped; a request the loop itself was running is finished first.
   * As in socketserver, a `shutdown()` called while no loop runs makes the next one return at once.
   */
  async serveForever(options: ServeOptions = {}): Promise<void> {
    this.#assertOpen('serveForever');
    if (this.#loop !== undefined || this.#taking) {
      throw new SockserveError(ErrorCodes.INVALID_STATE, 'serveForever() is already running on this server');
    }
    const { signal } = options;
    const pollInterval = optional(options.pollInterval, 0.5, validatePollInterval, 'pollInterval');
    const onAbort = (): void => void this.shutdown();
    let ticker: NodeJS.Timeout | undefined;
    let loopDone!: () => void;
    this.#loop = new Promise((resolve) => (loopDone = resolve));
    this.#taking = true;
    try {
      await this.#listenUnlessManual('serveForever');
      if (signal?.aborted) process.nextTick(onAbort);
      else signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#state === 'listening') this.#state = 'serving';
      await new Promise<void>((resolve, reject) => {
        const loop: ServeLoop<Request, ClientAddress> = {
          resolve,
          reject,
          take: (item) => this.#serve(loop, item),
        };
        // As serve_forever's poll: serviceActions() also runs while the loop waits for requests.
        ticker = setInterval(() => {
          if (!this.#queue!.waiting || this.#stopRequested || loop.failed !== undefined) return;
          try {
            this.serviceActions();
          } catch (error) {
            loop.failed = { error };
            this.#queue!.wake();
          }
        }, pollInterval * 1000);
        ticker.unref();
        this.#serve(loop);
      });
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
      if (this.#state === 'serving') this.#state = 'listening';
      // As in socketserver: a shutdown() that came before serveForever() ends it at once, then is spent.
      if (this.#closing === undefined) this.#stopRequested = false;
      this.#taking = false;
      this.#loop = undefined;
      loopDone();
    }
  }

  /**
   * Handles one request, or calls `handleTimeout()` when none arrives within `timeout` seconds.
   * With a threading or forking server it returns once the request has been started. `shutdown()`
   * or `serverClose()` ends the wait without a request, and without `handleTimeout()`.
   */
  async handleRequest(): Promise<void> {
    this.#assertOpen('handleRequest');
    if (this.#taking) {
      throw new SockserveError(
        ErrorCodes.INVALID_STATE,
        'handleRequest() cannot run while serveForever() runs',
      );
    }
    await this.#listenUnlessManual('handleRequest');
    this.#taking = true;
    const queue = this.#queue!;
    let next: PendingRequest<Request, ClientAddress> | undefined = queue.shift();
    let timedOut = false;
    try {
      if (next === undefined) {
        [next, timedOut] = await new Promise<[PendingRequest<Request, ClientAddress> | undefined, boolean]>(
          (resolve) => queue.wait((item, expired) => resolve([item, expired]), this.timeout),
        );
      }
    } finally {
      this.#taking = false;
    }
    if (next !== undefined) await this.dispatchRequest(next.request, next.clientAddress);
    else if (timedOut && this.#closing === undefined) this.handleTimeout();
  }

  /**
   * Stops `serveForever()` from taking more requests, and resolves once its loop has stopped (as
   * Python's `shutdown()` returns once `serve_forever()` has). A sync server's loop stops after the
   * request it runs: from that request's own handler, call it without `await` (awaiting it there
   * waits forever, as Python's deadlocks). Safe to call twice. With no loop running, it resolves at
   * once and the next `serveForever()` returns at once. With `deadline`, it also waits for running
   * requests, and resolves within that many seconds: then it closes what remains (a sync loop stops
   * once its request has seen that).
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const deadline = optional(options.deadline, undefined, validateSeconds, 'deadline');
    this.#stopRequested = true;
    this.#queue?.wake();
    const loop = this.#loop ?? Promise.resolve();
    if (deadline === undefined) return loop;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, deadline * 1000, true);
    });
    const done = Promise.all([this.#idle(), loop]).then(() => false);
    const timedOut = await Promise.race([done, expired]);
    clearTimeout(timer);
    if (timedOut) for (const request of this.#active.toArray()) this.abortRequest(request);
  }

  /**
   * Stops serving, closes the listening socket and every request still queued, then waits for running
   * requests as the server class says (`blockOnClose`). Safe to call twice; the second call waits too.
   */
  serverClose(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** `await using server = …` closes the server; nothing happens for a server that never listened. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.serverClose();
  }

  // ---- may be overridden --------------------------------------------------------------------

  /**
   * Binds the socket to `serverAddress` and starts listening (Node binds and listens in one step).
   * Called by `listen()`, or by you with `bindAndActivate: false`; it binds once however often it is
   * called (a failed bind may be retried). Set socket options (`allowReusePort`, …) before it.
   */
  serverBind(): Promise<void> {
    return Promise.reject(
      new SockserveError(
        ErrorCodes.INVALID_STATE,
        `${this.constructor.name} does not implement serverBind()`,
      ),
    );
  }

  /**
   * Called after `serverBind()` (by `listen()`, or by you); runs once. The default does nothing.
   * Once it has run, the server is `listening` and emits `listening`.
   */
  serverActivate(): void | Promise<void> {}

  /** Return false (or a promise of false) to close the request without handling it. */
  protected verifyRequest(_request: Request, _clientAddress: ClientAddress): boolean | Promise<boolean> {
    return true;
  }

  /** Runs the request to completion (one at a time). Mixins override this to run requests concurrently. */
  protected processRequest(request: Request, clientAddress: ClientAddress): void | Promise<void> {
    return this.runRequest(request, clientAddress);
  }

  /**
   * Creates the handler and runs `setup()`, `handle()` and (always) `finish()`. Hooks that return
   * nothing are not awaited: a request whose hooks are synchronous completes without a promise.
   */
  protected finishRequest(request: Request, clientAddress: ClientAddress): void | Promise<void> {
    const handler = new this.RequestHandlerClass(request, clientAddress, this);
    let work: unknown;
    try {
      work = handler.setup();
      work = work instanceof Promise ? work.then(() => handler.handle()) : handler.handle();
    } catch (error) {
      return finishAfterFailure(handler, error);
    }
    if (!(work instanceof Promise)) return handler.finish() as void | Promise<void>;
    return work.then(
      () => handler.finish() as void | Promise<void>,
      (error: unknown) => finishAfterFailure(handler, error),
    );
  }

  /**
   * Called when a handler throws. Emits `request-error`; with no listener for it, writes the error to
   * stderr as socketserver does (the one place the library prints). Override to log elsewhere.
   */
  protected handleError(_request: Request, clientAddress: ClientAddress, error: unknown): void {
    if (this.emit('request-error', error, clientAddress)) return;
    const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    process.stderr.write(
      `${HANDLE_ERROR_RULE}\nException occurred during processing of request from ${this.describeClient(clientAddress)}\n${detail}\n${HANDLE_ERROR_RULE}\n`,
    );
  }

  /** Called by `handleRequest()` when no request came within `timeout`; emits `timeout`. */
  protected handleTimeout(): void {
    this.emit('timeout');
  }

  /**
   * Called by the serve loop after each request it dispatched, and every `pollInterval` seconds while
   * it waits for requests.
   */
  protected serviceActions(): void {}

  /**
   * Ends the request gracefully (stream servers: flush and half-close), then `closeRequest()`.
   * Runs once per request, whoever calls it: the server after `processRequest`, or your own
   * `processRequest` (as socketserver's mixins call `shutdown_request`); later calls do nothing.
   */
  protected shutdownRequest(request: Request): void {
    this.closeRequest(request);
  }

  /** Releases the request's resources; runs once per request. The default does nothing. */
  protected closeRequest(_request: Request): void {}

  // ---- for subclasses -----------------------------------------------------------------------

  /** Closes the listening socket (without waiting for connections). The default has nothing to close. */
  protected closeSocket(): Promise<void> {
    return Promise.resolve();
  }

  /** How a client address reads in messages. */
  protected abstract describeClient(clientAddress: ClientAddress): string;

  /** Ends a request at once (shutdown deadline passed); the default is `closeRequest()`. */
  protected abortRequest(request: Request): void {
    this.closeRequest(request);
  }

  /** How many requests may wait for the serve loop: `requestQueueSize` (stream servers: no limit). */
  protected requestQueueCapacity(): number {
    return this.requestQueueSize;
  }

  /**
   * Called by the listening socket for each new request. Queues it for the serve loop; a full queue
   * (datagram servers) or a closing server refuses it: the request is closed and `request-refused` emitted.
   */
  protected enqueueRequest(request: Request, clientAddress: ClientAddress): void {
    if (this.#closing === undefined && this.#queue!.push({ request, clientAddress })) return;
    this.emit(
      'request-refused',
      this.#closing === undefined ? 'queue-full' : 'server-closing',
      clientAddress,
    );
    this.closeRequest(request);
  }

  /**
   * The body of a request, as socketserver's `process_request_thread`: finish, report errors, shut
   * down. Returns a promise only when the request did not complete synchronously. Never rejects.
   */
  protected runRequest(request: Request, clientAddress: ClientAddress): void | Promise<void> {
    this.emit('request-start', clientAddress);
    let processing: void | Promise<void>;
    try {
      processing = this.finishRequest(request, clientAddress);
    } catch (error) {
      this.#reportError(request, clientAddress, error);
      processing = undefined;
    }
    if (!(processing instanceof Promise)) {
      this.endRequest(request, clientAddress);
      return;
    }
    return processing.then(
      () => this.endRequest(request, clientAddress),
      (error: unknown) => {
        this.#reportError(request, clientAddress, error);
        this.endRequest(request, clientAddress);
      },
    );
  }

  /**
   * Shuts the request down (the subclass's `shutdownRequest`) and forgets it; every path out of
   * `processRequest` ends here once, and so does a call to `shutdownRequest()`.
   */
  protected endRequest(request: Request, clientAddress: ClientAddress): void {
    if (!this.#active.delete(request)) return;
    try {
      this.#shutdownRequest.call(this, request);
    } catch (error) {
      this.#reportError(request, clientAddress, error);
    }
    if (this.#active.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
    this.emit('request-end', clientAddress);
  }

  /** What `serverClose()` waits for: by default every running request. Mixins honour `blockOnClose`. */
  protected joinRequests(): Promise<void> {
    return this.#idle();
  }

  // ---- internals ----------------------------------------------------------------------------

  async #bindAndActivate(): Promise<void> {
    await this.serverBind();
    await this.serverActivate();
  }

  /** listen() for serveForever()/handleRequest(), which do not bind when `bindAndActivate` is false. */
  async #listenUnlessManual(method: string): Promise<void> {
    if (this.bindAndActivate || this.#activating !== undefined) {
      await this.listen();
      return;
    }
    throw new SockserveError(
      ErrorCodes.INVALID_STATE,
      `${method}() with bindAndActivate: false: call serverBind() and serverActivate() first`,
    );
  }

  #bindOnce(bind: () => Promise<void>): Promise<void> {
    this.#assertOpen('serverBind');
    if (this.#binding === undefined) {
      // Requests can arrive as soon as the socket is bound.
      this.#queue ??= new RequestQueue(this.requestQueueCapacity());
      const attempt = callAsync(() => bind.call(this));
      this.#binding = attempt;
      attempt.catch(() => {
        if (this.#binding === attempt) this.#binding = undefined;
      });
    }
    return this.#binding;
  }

  #activateOnce(activate: () => void | Promise<void>): Promise<void> {
    this.#assertOpen('serverActivate');
    const bound = this.#binding;
    if (bound === undefined) {
      return Promise.reject(
        new SockserveError(ErrorCodes.INVALID_STATE, 'serverActivate() called before serverBind()'),
      );
    }
    if (this.#activating === undefined) {
      const attempt = bound
        .then(() => activate.call(this))
        .then(() => {
          if (this.#state === 'idle') this.#state = 'listening';
          this.emit('listening', this.serverAddress);
        });
      this.#activating = attempt;
      attempt.catch(() => {
        if (this.#activating === attempt) this.#activating = undefined;
      });
    }
    return this.#activating;
  }

  /**
   * Runs one request through the pipeline (`verifyRequest`, then `processRequest`, errors to
   * `handleError`). The serve loop calls it for each queued request; a subclass whose requests need
   * no queue (a forking server's child) calls it directly, with `verified` when that already happened.
   */
  protected dispatchRequest(
    request: Request,
    clientAddress: ClientAddress,
    verified = false,
  ): void | Promise<void> {
    this.#active.add(request, clientAddress);
    try {
      if (!verified) {
        const answer = this.verifyRequest(request, clientAddress);
        if (answer !== true && answer !== false) {
          return answer.then(
            (ok) =>
              ok ? this.dispatchRequest(request, clientAddress, true) : this.#refuse(request, clientAddress),
            (error: unknown) => this.#failed(request, clientAddress, error),
          );
        }
        if (!answer) return this.#refuse(request, clientAddress);
      }
      // Threading and forking servers return at once; only a sync server's request is awaited.
      const processing = this.processRequest(request, clientAddress);
      if (processing !== undefined) {
        return processing.catch((error: unknown) => this.#failed(request, clientAddress, error));
      }
    } catch (error) {
      this.#failed(request, clientAddress, error);
    }
  }

  /**
   * The serve loop of `serveForever()`, written with callbacks instead of `await`: a request that
   * arrives while the loop waits is dispatched from the socket event that delivered it, and requests
   * whose processing returns nothing (threading, forking) cost no promise and no extra turn.
   * `arrived`: the request the queue handed over; `dispatched`: a request has just been processed.
   */
  #serve(
    loop: ServeLoop<Request, ClientAddress>,
    arrived?: PendingRequest<Request, ClientAddress>,
    dispatched = false,
  ): void {
    const queue = this.#queue!;
    try {
      if (dispatched) this.serviceActions();
      for (let next = arrived; !this.#stopRequested && loop.failed === undefined; next = undefined) {
        next ??= queue.shift();
        if (next === undefined) {
          queue.wait(loop.take);
          return;
        }
        const processing = this.dispatchRequest(next.request, next.clientAddress);
        if (processing !== undefined) {
          void processing.then(() => this.#serve(loop, undefined, true));
          return;
        }
        this.serviceActions();
      }
    } catch (error) {
      loop.reject(error);
      return;
    }
    if (loop.failed !== undefined) loop.reject(loop.failed.error);
    else loop.resolve();
  }

  #refuse(request: Request, clientAddress: ClientAddress): void {
    this.emit('request-refused', 'not-verified', clientAddress);
    this.endRequest(request, clientAddress);
  }

  /** processRequest itself threw (socketserver: handle_error, then shutdown_request). */
  #failed(request: Request, clientAddress: ClientAddress, error: unknown): void {
    this.#reportError(request, clientAddress, error);
    this.endRequest(request, clientAddress);
  }

  #reportError(request: Request, clientAddress: ClientAddress, error: unknown): void {
    try {
      this.handleError(request, clientAddress, error);
    } catch {
      // An overridden handleError that throws must not take the server down.
    }
  }

  #idle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #close(): Promise<void> {
    this.#stopRequested = true;
    this.#queue?.wake();
    await this.#activating?.catch(() => {});
    const wasBound =
      this.#binding !== undefined &&
      (await this.#binding.then(
        () => true,
        () => false,
      ));
    this.#state = 'closing';
    if (wasBound) await this.closeSocket();
    for (const { request, clientAddress } of this.#queue?.drain() ?? []) {
      this.emit('request-refused', 'server-closing', clientAddress);
      this.closeRequest(request);
    }
    await this.joinRequests();
    await this.#loop;
    this.#state = 'closed';
    this.emit('close');
  }

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) {
      throw new SockserveError(ErrorCodes.SERVER_CLOSED, `${method}() called after serverClose()`);
    }
  }
}

type Hooks = { finish(): unknown };

/** `fn()` as a promise: a synchronous throw becomes a rejection. */
function callAsync(fn: () => void | Promise<void>): Promise<void> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function validatePollInterval(value: unknown, name: string): number {
  const seconds = validateSeconds(value, name);
  if (seconds === 0) throw new RangeError(`${name} must be a number of seconds > 0, got 0`);
  return seconds;
}

/** `finish()` after `setup()` or `handle()` failed, then the failure again (as `try … finally`). */
function finishAfterFailure(handler: Hooks, error: unknown): void | Promise<void> {
  const finish = handler.finish();
  if (finish instanceof Promise) {
    return finish.then(() => {
      throw error;
    });
  }
  throw error;
}
