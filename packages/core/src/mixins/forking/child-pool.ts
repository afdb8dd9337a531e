/**
 * The parent side of a forking server: starts child processes, hands each request to one, follows
 * what the children report, replaces children that die and stops them all on close. It knows
 * nothing of sockets: the forking mixin tells it how to start a child and how to deliver a job.
 */
import type { ChildProcess } from 'node:child_process';
import { ErrorCodes, SockserveError } from '../../errors.js';
import type { ChildExit } from '../../events.js';
import { RequestQueue } from '../../servers/request-queue.js';
import { type ChildMessage, type ErrorInfo, errorFrom, isProtocolMessage } from './protocol.js';

export interface PoolOptions {
  /** Pool mode: children kept running. */
  workers: number;
  /** A fresh child for each request (it exits after it). */
  perRequest: boolean;
  /** perRequest mode: children alive at once. */
  maxChildren: number;
  /** perRequest mode: children started ahead of requests. */
  spareChildren: number;
  /** Pool mode: requests a child serves before it is replaced (Infinity: never). */
  maxRequestsPerChild: number;
}

/** One request on its way to, or inside, a child. */
export interface Job {
  id: number;
  request: unknown;
  clientAddress: unknown;
}

/** What the pool needs from the server that owns it. */
export interface PoolHost {
  spawn(): ChildProcess;
  /** Sends the job to the child (with the socket handle for stream requests). */
  deliver(child: ChildProcess, job: Job): void;
  /** A handler in a child threw, or the child died while holding the job. */
  jobFailed(job: Job, error: Error): void;
  /** The job is over (done, or lost with its child): the server forgets it. */
  jobEnded(job: Job): void;
  /** A child asks the parent to send a datagram from the server's socket. */
  relay(data: Buffer, address: unknown): void;
  childSpawned(pid: number): void;
  /** A message a child sent that is not the pool's own (e.g. a chat hub's). */
  childMessage(pid: number, message: unknown): void;
  childExited(exit: ChildExit): void;
  /** Names a client in messages. */
  describeClient(clientAddress: unknown): string;
}

interface Child {
  process: ChildProcess;
  pid: number;
  ready: boolean;
  /** Asked to stop (or oneShot and used): takes no more jobs. */
  retiring: boolean;
  /** SIGKILLed by the pool. */
  killed: boolean;
  served: number;
  jobs: Map<number, Job>;
  fatal: ErrorInfo | undefined;
  exited: Promise<void>;
}

/** Seconds a child may take to exit after being asked to stop, before it is killed. */
const STOP_GRACE_MS = 10_000;
const ignoreError = (): void => {};

/** A child that has not said it is ready after this long is killed (its entry script never served). */
const READY_TIMEOUT_MS = 30_000;
/** Consecutive children that die before they are ready, after which waiting requests are failed. */
const MAX_START_FAILURES = 5;

export class ChildPool {
  readonly #options: PoolOptions;
  readonly #host: PoolHost;
  readonly #children = new Set<Child>();
  readonly #waiting = new RequestQueue<Job>(Number.POSITIVE_INFINITY);
  readonly #holder = new Map<unknown, Child>();
  #startFailures = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: PoolOptions, host: PoolHost) {
    this.#options = options;
    this.#host = host;
  }

  /** Child processes alive now. */
  get size(): number {
    return this.#children.size;
  }

  /** PIDs of the children alive now. */
  get pids(): number[] {
    return [...this.#children].map((child) => child.pid);
  }

  /** Sends an application message to one child; false when it is gone or its channel is closed. */
  send(pid: number, message: unknown): boolean {
    for (const child of this.#children) {
      if (child.pid !== pid || !child.process.connected) continue;
      // A child that dies meanwhile fails the write (EPIPE): its exit reports it, the callback swallows it.
      child.process.send(message as object, undefined, {}, ignoreError);
      return true;
    }
    return false;
  }

  /** Starts the pool's children (or the spares) ahead of the first request. */
  start(): void {
    this.#grow();
  }

  /** Hands the job to a child now, or queues it until one is free. */
  submit(job: Job): void {
    const child = this.#pick();
    if (child === undefined) {
      this.#waiting.push(job);
      this.#grow();
    } else {
      this.#deliver(child, job);
    }
  }

  /** Ends a job at once: SIGKILLs the child holding it, or drops it if no child has it yet. */
  abort(request: unknown): void {
    const child = this.#holder.get(request);
    if (child !== undefined) {
      this.#kill(child);
      return;
    }
    const rest = this.#waiting.drain();
    for (const job of rest) {
      if (job.request === request) this.#host.jobEnded(job);
      else this.#waiting.push(job);
    }
  }

  /**
   * Stops every child: gracefully (each finishes its jobs, then exits), SIGKILLing what is left after
   * the grace period; with `kill`, at once. Resolves when no child process remains.
   */
  async close(kill: boolean): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#respawnTimer);
    for (const job of this.#waiting.drain()) this.#host.jobEnded(job);
    const children = [...this.#children];
    for (const child of children) {
      if (kill) this.#kill(child);
      else this.#retire(child);
    }
    const grace = setTimeout(() => {
      for (const child of this.#children) this.#kill(child);
    }, STOP_GRACE_MS);
    await Promise.all(children.map((child) => child.exited));
    clearTimeout(grace);
  }

  // ---- choosing and starting children --------------------------------------------------------

  /**
   * The child for the next job: a ready spare (perRequest), or the least busy child (pool). While a
   * child that would be less busy is still starting, the job waits for it.
   */
  #pick(): Child | undefined {
    let best: Child | undefined;
    let starting = false;
    for (const child of this.#children) {
      if (child.retiring) continue;
      if (!child.ready) {
        starting = true;
        continue;
      }
      if (this.#options.perRequest) return child; // a ready spare: retiring is set once it has a job
      if (best === undefined || child.jobs.size < best.jobs.size) best = child;
    }
    if (best !== undefined && best.jobs.size > 0 && starting) return undefined;
    return best;
  }

  #grow(): void {
    if (this.#closing || this.#respawnTimer !== undefined) return;
    const { perRequest, workers, maxChildren, spareChildren } = this.#options;
    let available = 0;
    for (const child of this.#children) if (!child.retiring) available += 1;
    const wanted = perRequest ? this.#waiting.length + spareChildren : workers;
    const limit = perRequest ? maxChildren - this.#children.size : workers - available;
    const count = Math.min(wanted - available, limit);
    for (let i = 0; i < count; i++) this.#spawn();
  }

  #spawn(): void {
    const process = this.#host.spawn();
    const pid = process.pid ?? -1;
    let exited!: () => void;
    const child: Child = {
      process,
      pid,
      ready: false,
      retiring: false,
      killed: false,
      served: 0,
      jobs: new Map(),
      fatal: undefined,
      exited: new Promise((resolve) => (exited = resolve)),
    };
    this.#children.add(child);
    const readyTimer = setTimeout(() => this.#kill(child, false), READY_TIMEOUT_MS);
    readyTimer.unref();
    process.on('message', (message: unknown) => {
      if (!isProtocolMessage<ChildMessage>(message)) {
        this.#host.childMessage(pid, message);
        return;
      }
      if (message.sockserve === 'ready') clearTimeout(readyTimer);
      this.#onMessage(child, message);
    });
    process.on('error', (error) => {
      // Other errors (a write to a child that just died) are followed by the child's 'exit'; a
      // failed spawn is not, so it is the child's death.
      if (process.pid !== undefined) return;
      child.fatal ??= { name: error.name, message: error.message, stack: error.stack };
      this.#onExit(child, null, null);
      exited();
    });
    process.once('exit', (code, signal) => {
      clearTimeout(readyTimer);
      this.#onExit(child, code, signal);
      exited();
    });
    if (pid > 0) this.#host.childSpawned(pid);
  }

  #deliver(child: Child, job: Job): void {
    child.jobs.set(job.id, job);
    child.served += 1;
    this.#holder.set(job.request, child);
    const { perRequest, maxRequestsPerChild } = this.#options;
    if (perRequest) child.retiring = true; // a oneShot child exits after this job
    this.#host.deliver(child.process, job);
    if (!perRequest && child.served >= maxRequestsPerChild) this.#retire(child);
    if (perRequest || child.retiring) this.#grow();
  }

  #flush(): void {
    while (this.#waiting.length > 0) {
      const child = this.#pick();
      if (child === undefined) break;
      this.#deliver(child, this.#waiting.shift()!);
    }
    if (this.#waiting.length > 0) this.#grow();
  }

  // ---- what children report ------------------------------------------------------------------

  #onMessage(child: Child, message: ChildMessage): void {
    switch (message.sockserve) {
      case 'ready':
        if (child.ready) break;
        child.ready = true;
        this.#startFailures = 0;
        this.#flush();
        break;
      case 'error': {
        const job = child.jobs.get(message.id);
        if (job !== undefined) this.#host.jobFailed(job, errorFrom(message.error));
        break;
      }
      case 'done': {
        const job = child.jobs.get(message.id);
        if (job === undefined) break;
        child.jobs.delete(message.id);
        this.#holder.delete(job.request);
        this.#host.jobEnded(job);
        this.#flush();
        break;
      }
      case 'send':
        this.#host.relay(message.data, message.address);
        break;
      case 'fatal':
        child.fatal = message.error;
        break;
    }
  }

  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.#children.delete(child)) return;
    const expected = child.killed || (child.retiring && code === 0 && child.jobs.size === 0);
    const lost = [...child.jobs.values()];
    child.jobs.clear();
    const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
    for (const job of lost) {
      this.#holder.delete(job.request);
      if (!child.killed) {
        const reason = child.fatal === undefined ? '' : `: ${child.fatal.name}: ${child.fatal.message}`;
        const error = new SockserveError(
          ErrorCodes.CHILD_FAILED,
          `child process ${child.pid} ${how} while handling a request from ${this.#host.describeClient(job.clientAddress)}${reason}`,
          { cause: child.fatal === undefined ? undefined : errorFrom(child.fatal) },
        );
        this.#host.jobFailed(job, error);
      }
      this.#host.jobEnded(job);
    }
    const exit: ChildExit = { pid: child.pid, code, signal, expected, lostRequests: lost.length };
    if (child.fatal !== undefined) exit.error = { message: child.fatal.message, stack: child.fatal.stack };
    this.#host.childExited(exit);
    if (this.#closing) return;
    if (!child.ready && !expected) this.#startFailed();
    else this.#flush();
    this.#grow();
  }

  /** A child died before it was ready: retry with backoff; after several in a row, fail the waiting jobs. */
  #startFailed(): void {
    this.#startFailures += 1;
    if (this.#startFailures >= MAX_START_FAILURES) {
      for (const job of this.#waiting.drain()) {
        this.#host.jobFailed(
          job,
          new SockserveError(
            ErrorCodes.CHILD_FAILED,
            `${this.#startFailures} child processes in a row died before they were ready`,
          ),
        );
        this.#host.jobEnded(job);
      }
    }
    const delay = Math.min(100 * 2 ** (this.#startFailures - 1), 5000);
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      this.#grow();
    }, delay);
    this.#respawnTimer.unref();
  }

  // ---- stopping ------------------------------------------------------------------------------

  #retire(child: Child): void {
    child.retiring = true;
    if (child.process.connected)
      child.process.send({ sockserve: 'stop' }, (error) => error && this.#kill(child));
  }

  /** SIGKILLs the child; `expected` says the pool meant it (a stuck start is not). */
  #kill(child: Child, expected = true): void {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.killed = expected;
    child.process.kill('SIGKILL');
  }
}
