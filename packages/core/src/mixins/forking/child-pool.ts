/**
 * The parent side of a forking server: starts child processes, hands each request to one, follows
 * what the children report, replaces children that die and stops them all on close. It knows
 * nothing of sockets: the forking mixin tells it how to start a child and how to deliver a job.
 */
import type { ChildProcess } from 'node:child_process';
import { ErrorCodes, SockserveError } from '../../errors.js';
import type { ChildExit } from '../../events.js';
import {
  type ChildMessage,
  type ErrorInfo,
  errorFrom,
  isProtocolMessage,
  type ServerFields,
} from './protocol.js';

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
  /** Requests waiting for a child before more are refused (the server's `requestQueueSize`). */
  queueSize: number;
  /** perRequest mode: children starting at once (more would only share the same CPUs). */
  maxStarting: number;
}

/** One request on its way to, or inside, a child. */
export interface Job {
  id: number;
  request: unknown;
  clientAddress: unknown;
  /** Its number among the requests sent to its child (set when it is delivered). */
  seq?: number;
}

/** What the pool needs from the server that owns it. */
export interface PoolHost {
  spawn(): ChildProcess;
  /**
   * Sends the job to the child (with the socket handle for stream requests); `fields` (perRequest
   * mode) is the server's data to apply first.
   */
  deliver(child: ChildProcess, job: Job, fields: ServerFields | undefined): void;
  /** The server's data fields now, as a child should see them. */
  fields(): ServerFields;
  /** The job starts waiting for a child: call `gone()` if its client leaves meanwhile. */
  waitStarted(job: Job, gone: () => void): void;
  /** The job stops waiting (it is delivered, or dropped). */
  waitEnded(job: Job): void;
  /** A child's server reported a handler's error (its handleError passed it on). */
  jobReported(job: Job, error: Error): void;
  /** The child died while holding the job, or never received it. */
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
  /** The `seq` of the last job sent to it. */
  sent: number;
  jobs: Map<number, Job>;
  fatal: ErrorInfo | undefined;
  /** Its process has exited (its last reports may still be on their way). */
  dead: boolean;
  /** Resolves once it has exited and every report it sent has been read. */
  exited: Promise<void>;
  /** Kills it if it has not exited after the grace period it was given to stop. */
  graceTimer: NodeJS.Timeout | undefined;
}

/** Seconds a child may take to exit after being asked to stop, before it is killed. */
const STOP_GRACE_MS = 10_000;
const ignoreError = (): void => {};

/**
 * Node's channel to a child fails an internal assertion, and throws ERR_INTERNAL_ASSERTION where no
 * one can catch it (the parent dies), when a NODE_HANDLE_ACK or NODE_HANDLE_NACK arrives while it is
 * not waiting for one. Children never send one (see ParentLink): this drops such a stray answer
 * before Node's own listener sees it, in case one comes all the same.
 */
function dropStrayAck(child: ChildProcess): (message: unknown) => void {
  return (message) => {
    if (typeof message !== 'object' || message === null) return;
    const answer = message as { cmd?: unknown };
    if (answer.cmd !== 'NODE_HANDLE_ACK' && answer.cmd !== 'NODE_HANDLE_NACK') return;
    // null: nothing sent awaits an answer (a Node.js without that field is left alone).
    if ((child as { _handleQueue?: unknown })._handleQueue === null) answer.cmd = 'NODE_HANDLE_STRAY';
  };
}

/** A child that has not said it is ready after this long is killed (its entry script never served). */
const READY_TIMEOUT_MS = 30_000;
/** Consecutive children that die before they are ready, after which waiting requests are failed. */
const MAX_START_FAILURES = 5;

export class ChildPool {
  readonly #options: PoolOptions;
  readonly #host: PoolHost;
  readonly #children = new Set<Child>();
  /** Jobs waiting for a child, in arrival order (a Set: a job whose client leaves is removed at once). */
  readonly #waiting = new Set<Job>();
  readonly #holder = new Map<unknown, Child>();
  #startFailures = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  #closing = false;
  /**
   * Node drops a message whose handle the child could not take (after three tries) with only a
   * process warning: then every child is asked which requests it never received. A fallback: our
   * children answer such a message themselves before Node's NACK (see ParentLink), so Node neither
   * resends it nor warns.
   */
  readonly #onWarning = (warning: Error): void => {
    if (warning.name !== 'SentHandleNotReceivedWarning') return;
    for (const child of this.#children) {
      if (child.sent > 0 && child.process.connected) {
        child.process.send({ sockserve: 'sync', seq: child.sent }, undefined, {}, ignoreError);
      }
    }
  };

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
    process.on('warning', this.#onWarning);
    this.#grow();
  }

  /** False when `queueSize` jobs already wait for a child: refuse the next one. */
  accepts(): boolean {
    return this.#waiting.size < this.#options.queueSize;
  }

  /**
   * Hands the job to a child now, or queues it until one is free. False when `queueSize` jobs are
   * already waiting: the job is not taken.
   */
  submit(job: Job): boolean {
    const child = this.#waiting.size === 0 ? this.#pick() : undefined;
    if (child !== undefined) {
      this.#deliver(child, job);
      return true;
    }
    if (this.#waiting.size >= this.#options.queueSize) return false;
    this.#waiting.add(job);
    this.#host.waitStarted(job, () => this.#drop(job));
    this.#grow();
    return true;
  }

  /** Ends a job at once: SIGKILLs the child holding it, or drops it if no child has it yet. */
  abort(request: unknown): void {
    const child = this.#holder.get(request);
    if (child !== undefined) {
      this.#kill(child);
      return;
    }
    for (const job of this.#waiting) {
      if (job.request === request) this.#drop(job);
    }
  }

  /**
   * As socketserver's `collect_children()`: resolves once every child that has exited is accounted
   * for (its requests closed, `child-exit` emitted). With `blocking`, also waits for the children
   * that are on their way out (a perRequest child with its request, a pool child being replaced or
   * stopped) to exit. Children that stay in the pool are not waited for.
   */
  async collect(blocking: boolean): Promise<void> {
    const leaving = [...this.#children].filter((child) => child.dead || (blocking && child.retiring));
    await Promise.all(leaving.map((child) => child.exited));
  }

  /**
   * Stops every child: each finishes the jobs it holds, then exits; a child that holds no job and
   * has not exited after the grace period is SIGKILLed. The jobs still waiting are dropped. Resolves
   * when no child process remains.
   */
  async close(): Promise<void> {
    this.#closing = true;
    process.off('warning', this.#onWarning);
    clearTimeout(this.#respawnTimer);
    for (const job of this.#drain()) {
      this.#host.waitEnded(job);
      this.#host.jobEnded(job);
    }
    const children = [...this.#children];
    for (const child of children) this.#retire(child);
    await Promise.all(children.map((child) => child.exited));
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

  /**
   * Starts the children that are missing: the pool's `workers`; in perRequest mode, one for each
   * waiting job plus `spareChildren` warm ones, at most `maxChildren` alive and `maxStarting` starting.
   */
  #grow(): void {
    if (this.#closing || this.#respawnTimer !== undefined) return;
    const { perRequest, workers, maxChildren, spareChildren, maxStarting } = this.#options;
    let available = 0;
    let starting = 0;
    for (const child of this.#children) {
      if (!child.retiring) available += 1;
      if (!child.ready && !child.dead) starting += 1;
    }
    const wanted = perRequest ? this.#waiting.size + spareChildren : workers;
    const limit = perRequest
      ? Math.min(maxChildren - this.#children.size, maxStarting - starting)
      : workers - available;
    const count = Math.min(wanted - available, limit);
    for (let i = 0; i < count; i++) this.#spawn();
  }

  /** perRequest mode: retires ready spares beyond what the waiting jobs and `spareChildren` need. */
  #trim(): void {
    if (!this.#options.perRequest || this.#closing) return;
    let extra = -(this.#waiting.size + this.#options.spareChildren);
    for (const child of this.#children) if (!child.retiring && !child.dead) extra += 1;
    for (const child of this.#children) {
      if (extra <= 0) break;
      if (child.ready && !child.retiring && child.jobs.size === 0) {
        this.#retire(child);
        extra -= 1;
      }
    }
  }

  /** Empties the waiting list and returns what it held. */
  #drain(): Job[] {
    const jobs = [...this.#waiting];
    this.#waiting.clear();
    return jobs;
  }

  /** A waiting job whose client left: it costs no child. */
  #drop(job: Job): void {
    if (!this.#waiting.delete(job)) return;
    this.#host.waitEnded(job);
    this.#host.jobEnded(job);
    this.#trim();
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
      sent: 0,
      jobs: new Map(),
      fatal: undefined,
      dead: false,
      exited: new Promise((resolve) => (exited = resolve)),
      graceTimer: undefined,
    };
    this.#children.add(child);
    process.prependListener('internalMessage' as 'message', dropStrayAck(process));
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
    process.once('exit', () => {
      child.dead = true;
      clearTimeout(readyTimer);
    });
    // 'close' comes after 'exit' once the IPC channel is closed too, so every report the child sent
    // (its last 'done') has been read: a normal exit is never mistaken for one that lost requests.
    process.once('close', (code, signal) => {
      clearTimeout(readyTimer);
      clearTimeout(child.graceTimer);
      this.#onExit(child, code, signal);
      exited();
    });
    if (pid > 0) this.#host.childSpawned(pid);
  }

  #deliver(child: Child, job: Job): void {
    child.jobs.set(job.id, job);
    child.served += 1;
    child.sent += 1;
    job.seq = child.sent;
    this.#holder.set(job.request, child);
    const { perRequest, maxRequestsPerChild } = this.#options;
    if (perRequest) child.retiring = true; // a oneShot child exits after this job
    this.#host.deliver(child.process, job, perRequest ? this.#host.fields() : undefined);
    if (!perRequest && child.served >= maxRequestsPerChild) this.#retire(child);
    if (perRequest || child.retiring) this.#grow();
  }

  #flush(): void {
    while (this.#waiting.size > 0) {
      const child = this.#pick();
      if (child === undefined) break;
      const job = this.#waiting.values().next().value as Job;
      this.#waiting.delete(job);
      this.#host.waitEnded(job);
      this.#deliver(child, job);
    }
    if (this.#waiting.size > 0) this.#grow();
  }

  /** The job is over in its child: the server forgets it. */
  #finish(child: Child, job: Job): void {
    child.jobs.delete(job.id);
    this.#holder.delete(job.request);
    this.#host.jobEnded(job);
    // A pool child asked to stop stops now; a perRequest child stops by itself after its request.
    if (child.jobs.size === 0 && child.retiring && !this.#options.perRequest) this.#retire(child);
  }

  // ---- what children report ------------------------------------------------------------------

  #onMessage(child: Child, message: ChildMessage): void {
    switch (message.sockserve) {
      case 'ready':
        if (child.ready) break;
        child.ready = true;
        this.#startFailures = 0;
        // Pool mode: the server's data as it is now, before the child's first request.
        if (!this.#options.perRequest && child.process.connected) {
          child.process.send(
            { sockserve: 'fields', fields: this.#host.fields() },
            undefined,
            {},
            ignoreError,
          );
        }
        this.#flush();
        this.#trim();
        this.#grow();
        break;
      case 'error': {
        const job = child.jobs.get(message.id);
        if (job !== undefined) this.#host.jobReported(job, errorFrom(message.error));
        break;
      }
      case 'done': {
        const job = child.jobs.get(message.id);
        if (job === undefined) break;
        this.#finish(child, job);
        this.#flush();
        break;
      }
      case 'missed':
        for (const job of child.jobs.values()) {
          if (job.seq === undefined || job.seq < message.from || job.seq > message.to) continue;
          this.#host.jobFailed(
            job,
            new SockserveError(
              ErrorCodes.CHILD_FAILED,
              `child process ${child.pid} never received the connection from ${this.#host.describeClient(job.clientAddress)}: its descriptor could not be passed (is the child out of file descriptors? EMFILE)`,
            ),
          );
          this.#finish(child, job);
        }
        // A perRequest child that never got its request has nothing to do: it is stopped.
        if (this.#options.perRequest && child.jobs.size === 0) this.#retire(child);
        this.#flush();
        break;
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
      for (const job of this.#drain()) {
        this.#host.waitEnded(job);
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

  /**
   * Asks the child to stop: it takes no more jobs, finishes those it holds, then exits. One that holds
   * none and has not exited after the grace period is SIGKILLed; a running request is never cut off.
   */
  #retire(child: Child): void {
    child.retiring = true;
    if (child.jobs.size > 0 || child.graceTimer !== undefined || child.dead) return;
    if (child.process.connected)
      child.process.send({ sockserve: 'stop' }, (error) => error && this.#kill(child));
    child.graceTimer = setTimeout(() => {
      if (child.jobs.size === 0) this.#kill(child);
    }, STOP_GRACE_MS);
  }

  /** SIGKILLs the child; `expected` says the pool meant it (a stuck start is not). */
  #kill(child: Child, expected = true): void {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.killed = expected;
    child.process.kill('SIGKILL');
  }
}
