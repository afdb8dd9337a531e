/**
 * The process hub: one chat across the child processes of a forking server.
 *
 * The state lives in the parent, in a broker (`ProcessHubBroker`) that runs a `MemoryHub` (or any
 * `ChatHub`) and answers its children's calls. In each child, `ProcessHubClient` implements `ChatHub`
 * by sending every call to the broker over the server's IPC channel and resolving it with the answer;
 * the broker forwards each session's deliveries to the child that holds it, where they reach the
 * session's sink. When a child dies, the broker disconnects its sessions (`connection closed`), so
 * their rooms are told.
 *
 * ```ts
 * const server = new ForkingTCPServer({ port: 7000 }, ChatHandler, { workers: 4 });
 * const hub = ProcessHub.attach(server); // parent: the broker; child: the client (ChatHandler's default there)
 * await server.serveForever();
 * ```
 */
import { type ChildExit, ErrorCodes, SockserveError } from '@sockserve/core';
import type {
  ChatHub,
  ChatJoinResult,
  ChatRenameResult,
  ChatRoomSummary,
  ChatSessionId,
  ChatSink,
  ChatWelcome,
} from './chat-hub.js';
import { ChatHubUnavailableError } from './chat-hub-unavailable.js';
import * as ChatText from './chat-text.js';
import { MemoryHub } from './memory-hub.js';
import { invalidType, validateSeconds } from './option-validators.js';
import {
  type BrokerEntry,
  type CallEntry,
  entriesOf,
  KEY,
  type Message,
  type Method,
} from './process-hub-protocol.js';

/** What the broker needs from a forking server (every `Forking*Server` of `@sockserve/core` has it). */
export interface ProcessHubServer {
  /** True in a child process, where the server runs the requests its parent hands it. */
  readonly isChild: boolean;
  /** Sends a message to a child over the IPC channel; false when that child is gone. */
  sendToChild(pid: number, message: unknown): boolean;
  /** Listens for a child's application messages (the broker reads hub calls from them). */
  on(event: 'child-message', listener: (pid: number, message: unknown) => void): unknown;
  /** Listens for a child's exit (the broker ends that child's sessions). */
  on(event: 'child-exit', listener: (exit: ChildExit) => void): unknown;
  /** Listens for a new child (a pid in use again is no longer a gone child's). */
  on(event: 'child-spawn', listener: (pid: number) => void): unknown;
}

/** Options of `ProcessHub.attach(server, options)` and `new ProcessHubBroker(server, options)`. */
export interface ProcessHubOptions {
  /** Parent only: the hub that holds the state, which the broker serves to the children. Default: a new `MemoryHub`. */
  hub?: ChatHub | undefined;
}

/** Seconds a child waits for the broker's answer to a call before it fails. */
const DEFAULT_CALL_TIMEOUT = 10;
/** Exited children whose late messages are still recognized and ignored. */
const GONE_REMEMBERED = 1024;
/** Connect calls given up on (timed out) whose late answer is still recognized, to free the session. */
const ABANDONED_REMEMBERED = 1024;

// ---- ProcessHub.attach ----------------------------------------------------------------------------

const BROKERS = Symbol.for('sockserve.processHubBrokers');

/** Server → its broker, shared by every copy of the package (ESM and CommonJS), so that one server never gets two. */
function brokerRegistry(): WeakMap<object, ProcessHubBroker> {
  const store = globalThis as { [BROKERS]?: WeakMap<object, ProcessHubBroker> };
  store[BROKERS] ??= new WeakMap();
  return store[BROKERS];
}

/**
 * `ProcessHub.attach(server)`: the chat hub of a forking server, for the process it is called in.
 *
 * - In the parent it returns the server's `ProcessHubBroker` (made on the first call; later calls
 *   return the same one): it answers the children's hub calls from now on, so call it before
 *   `serveForever()`. The broker is also a `ChatHub` of the parent process itself (another server of
 *   the parent may share the chat with it), and its `close(notice)` ends every session in every child.
 * - In a child (`server.isChild`) it returns this process's `ProcessHubClient`, the hub a
 *   `ChatHandler` there uses by default.
 *
 * With entry-script re-execution the same line runs in both, so `const hub = ProcessHub.attach(server)`
 * is right everywhere. Without a broker in the parent, a child's first hub call fails after 10 s with
 * an error that says to call `ProcessHub.attach(server)` there.
 */
export class ProcessHub {
  private constructor() {}

  /** In the parent: this server's `ProcessHubBroker` (made on first call; `options` only then); in a child: this process's `ProcessHubClient`. */
  static attach(
    server: ProcessHubServer,
    options: ProcessHubOptions = {},
  ): ProcessHubBroker | ProcessHubClient {
    checkServer(server);
    if (server.isChild) return processHubClient();
    const broker = brokerRegistry().get(server);
    if (broker === undefined) return new ProcessHubBroker(server, options);
    if (options.hub !== undefined && options.hub !== broker.hub) {
      throw new SockserveError(
        ErrorCodes.INVALID_STATE,
        'ProcessHub.attach(server, { hub }): this server already has a broker with another hub',
      );
    }
    return broker;
  }
}

const CLIENT = Symbol.for('sockserve.processHubClient');

/** This process's client of the broker in its parent (one per process, shared by every copy of the package). */
export function processHubClient(): ProcessHubClient {
  const store = globalThis as { [CLIENT]?: ProcessHubClient };
  store[CLIENT] ??= new ProcessHubClient();
  return store[CLIENT];
}

function checkServer(server: ProcessHubServer): void {
  if (
    typeof server !== 'object' ||
    server === null ||
    typeof server.sendToChild !== 'function' ||
    typeof server.on !== 'function' ||
    typeof server.isChild !== 'boolean'
  ) {
    throw invalidType('server', 'a forking server (ForkingTCPServer, ForkingUnixStreamServer, …)', server);
  }
}

// ---- the broker, in the parent ---------------------------------------------------------------------

/**
 * The parent side of the process hub: answers the calls of a forking server's children with `hub`
 * (a `MemoryHub` by default) and forwards the deliveries of their sessions to them. Everything sent to
 * one child during a turn of the event loop leaves in one IPC message, in order; a line for several
 * sessions of the same child crosses once.
 *
 * When a child exits (crash or not), its sessions are disconnected with reason `connection closed`, so
 * their rooms hear `-- nick left #room (connection closed)` and their nicknames are free again.
 *
 * It is a `ChatHub` itself (every method goes to `hub`), so a server of the parent process can share the
 * chat; `close(notice)` ends every session, in every child. Make it with `ProcessHub.attach(server)`
 * (one broker per server; constructing a second one for a server throws).
 */
export class ProcessHubBroker implements ChatHub {
  /** The hub that holds the state. */
  readonly hub: ChatHub;
  readonly #server: ProcessHubServer;
  /** Session → the pid of the child that holds it. */
  readonly #owners = new Map<ChatSessionId, number>();
  /** Pid → its sessions. */
  readonly #children = new Map<number, Set<ChatSessionId>>();
  /** Pid → what to send it at the end of this turn. */
  readonly #outgoing = new Map<number, BrokerEntry[]>();
  /** Children that exited: their late messages are ignored (a message may be read after the exit). */
  readonly #gone = new Set<number>();
  #flushScheduled = false;

  constructor(server: ProcessHubServer, options: ProcessHubOptions = {}) {
    checkServer(server);
    if (brokerRegistry().has(server)) {
      throw new SockserveError(ErrorCodes.INVALID_STATE, 'this server already has a process hub broker');
    }
    const hub = options.hub ?? new MemoryHub();
    if (typeof hub !== 'object' || hub === null || typeof hub.connect !== 'function') {
      throw invalidType('hub', 'a ChatHub', hub);
    }
    this.hub = hub;
    this.#server = server;
    brokerRegistry().set(server, this);
    server.on('child-message', (pid, message) => this.#onMessage(pid, message));
    server.on('child-exit', (exit) => this.#onExit(exit.pid));
    server.on('child-spawn', (pid) => this.#gone.delete(pid));
  }

  /** How many sessions each child holds now (pid → sessions). */
  sessionCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [pid, sessions] of this.#children) counts.set(pid, sessions.size);
    return counts;
  }

  // ---- ChatHub, for this process's own sessions ---------------------------------------------------

  connect(sink: ChatSink): Promise<ChatWelcome> {
    return this.hub.connect(sink);
  }

  rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    return this.hub.rename(session, nick);
  }

  join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    return this.hub.join(session, room);
  }

  who(room: string): Promise<string[]> {
    return this.hub.who(room);
  }

  rooms(): Promise<ChatRoomSummary[]> {
    return this.hub.rooms();
  }

  sendToRoom(room: string, text: string, exceptSession?: ChatSessionId | null): Promise<void> {
    return this.hub.sendToRoom(room, text, exceptSession);
  }

  sendToUser(nick: string, text: string): Promise<string | null> {
    return this.hub.sendToUser(nick, text);
  }

  disconnect(session: ChatSessionId, reason: string): Promise<void> {
    return this.hub.disconnect(session, reason);
  }

  /** Ends every session of the chat, in every child and here; what goes to the children leaves at once. */
  async close(notice?: string): Promise<void> {
    try {
      await this.hub.close(notice);
    } finally {
      this.#flush();
    }
  }

  // ---- the children's calls ------------------------------------------------------------------------

  #onMessage(pid: number, message: unknown): void {
    const entries = entriesOf<CallEntry>(message);
    if (entries === undefined || this.#gone.has(pid)) return;
    for (const entry of entries) {
      if (typeof entry !== 'object' || entry === null || entry.type !== 'call') continue;
      const { id } = entry;
      let answer: Promise<unknown>;
      try {
        answer = this.#invoke(pid, entry.method, Array.isArray(entry.args) ? entry.args : []);
      } catch (error) {
        answer = Promise.reject(error);
      }
      answer.then(
        (value) => this.#queue(pid, { type: 'result', id, value: value === undefined ? null : value }),
        (error: unknown) => this.#queue(pid, { type: 'failure', id, error: errorData(error) }),
      );
    }
  }

  #invoke(pid: number, method: Method, args: unknown[]): Promise<unknown> {
    const hub = this.hub;
    switch (method) {
      case 'connect':
        return this.#connect(pid, Number(args[0]));
      case 'rename':
        return hub.rename(this.#owned(pid, args[0]), String(args[1]));
      case 'join':
        return hub.join(this.#owned(pid, args[0]), String(args[1]));
      case 'who':
        return hub.who(String(args[0]));
      case 'rooms':
        return hub.rooms();
      case 'sendToRoom':
        return hub.sendToRoom(String(args[0]), String(args[1]), args[2] == null ? null : String(args[2]));
      case 'sendToUser':
        return hub.sendToUser(String(args[0]), String(args[1]));
      case 'disconnect': {
        const session = String(args[0]);
        const owner = this.#owners.get(session);
        // Idempotent, as ChatHub says; but a child never ends another child's session.
        if (owner !== undefined && owner !== pid) return Promise.resolve();
        this.#forget(session);
        return hub.disconnect(session, String(args[1]));
      }
      default:
        throw new Error(`process hub: unknown method ${String(method)}`);
    }
  }

  async #connect(pid: number, sinkId: number): Promise<ChatWelcome> {
    const sink: ChatSink = {
      deliver: (text) => this.#deliver(pid, sinkId, text),
      close: (reason) => this.#queue(pid, { type: 'close', sink: sinkId, reason: String(reason) }),
    };
    const welcome = await this.hub.connect(sink);
    if (this.#gone.has(pid)) {
      // The child died while its session was being connected: nobody will disconnect it but us.
      await this.hub.disconnect(welcome.session, ChatText.Reasons.connectionClosed);
      return welcome;
    }
    this.#owners.set(welcome.session, pid);
    let sessions = this.#children.get(pid);
    if (sessions === undefined) {
      sessions = new Set();
      this.#children.set(pid, sessions);
    }
    sessions.add(welcome.session);
    return welcome;
  }

  /** The session `value`, when the child `pid` holds it. */
  #owned(pid: number, value: unknown): ChatSessionId {
    const session = String(value);
    if (this.#owners.get(session) !== pid) throw new Error(`unknown chat session: ${session}`);
    return session;
  }

  #forget(session: ChatSessionId): void {
    const pid = this.#owners.get(session);
    if (pid === undefined) return;
    this.#owners.delete(session);
    const sessions = this.#children.get(pid);
    sessions?.delete(session);
    if (sessions?.size === 0) this.#children.delete(pid);
  }

  /** A child exited: its sessions leave their rooms (`connection closed`). */
  #onExit(pid: number): void {
    this.#gone.add(pid);
    if (this.#gone.size > GONE_REMEMBERED) this.#gone.delete(this.#gone.values().next().value!);
    this.#outgoing.delete(pid);
    const sessions = this.#children.get(pid);
    if (sessions === undefined) return;
    this.#children.delete(pid);
    for (const session of sessions) {
      this.#owners.delete(session);
      this.hub.disconnect(session, ChatText.Reasons.connectionClosed).catch(() => {
        // Nothing more can be done for a session whose process is gone.
      });
    }
  }

  // ---- to the children -----------------------------------------------------------------------------

  #deliver(pid: number, sink: number, text: string): void {
    const queue = this.#queueOf(pid);
    if (queue === undefined) return;
    const last = queue[queue.length - 1];
    // A room's line for several sessions of this child crosses once.
    if (last !== undefined && last.type === 'deliver' && last.text === text) last.sinks.push(sink);
    else queue.push({ type: 'deliver', sinks: [sink], text });
  }

  #queue(pid: number, entry: BrokerEntry): void {
    this.#queueOf(pid)?.push(entry);
  }

  #queueOf(pid: number): BrokerEntry[] | undefined {
    if (this.#gone.has(pid)) return undefined;
    let queue = this.#outgoing.get(pid);
    if (queue === undefined) {
      queue = [];
      this.#outgoing.set(pid, queue);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    }
    return queue;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const outgoing = [...this.#outgoing];
    this.#outgoing.clear();
    for (const [pid, entries] of outgoing) {
      const message: Message<BrokerEntry> = { [KEY]: entries };
      try {
        // False (or a throw) when the child is gone: its `child-exit` disconnects its sessions.
        this.#server.sendToChild(pid, message);
      } catch {
        // The same: one child's broken channel never stops the others' deliveries.
      }
    }
  }
}

function errorData(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

// ---- the client, in a child ------------------------------------------------------------------------

/** How a `ProcessHubClient` reaches its broker. The default is this process's IPC channel to its parent. */
export interface ProcessHubChannel {
  /** False once the channel is closed (then calls fail at once). */
  readonly connected: boolean;
  /** Sends one message to the broker; `done` is called once it is sent, or with the error. */
  send(message: object, done: (error: Error | null) => void): void;
  /** Starts handing the broker's messages to `listener` (called once, on the first call). */
  listen(listener: (message: unknown) => void): void;
}

/** Options of `new ProcessHubClient(options)`. */
export interface ProcessHubClientOptions {
  /** Seconds to wait for the broker's answer to a call before it fails; default 10. */
  callTimeout?: number | undefined;
  /** Default: the IPC channel to the parent process (`process.send()`, `process.on('message')`). */
  channel?: ProcessHubChannel | undefined;
}

/** The IPC channel of a process started by `child_process.fork()` (a forking server's child). */
const parentChannel: ProcessHubChannel = {
  get connected() {
    return typeof process.send === 'function' && process.connected;
  },
  send(message, done) {
    process.send!(message, undefined, {}, (error: Error | null) => done(error ?? null));
  },
  listen(listener) {
    process.on('message', listener);
  },
};

interface Pending {
  readonly method: Method;
  readonly deadline: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface LocalSink {
  readonly sink: ChatSink;
  /** False once `close()` gave it its last line: later deliveries are dropped. */
  open: boolean;
}

const NEXT_ID = Symbol.for('sockserve.processHubNextId');

/**
 * Call and sink ids, unique in the process: several clients may share one IPC channel (two copies of
 * the package, or a client made by hand), and each ignores the answers and deliveries that are not its own.
 */
function nextId(): number {
  const store = globalThis as { [NEXT_ID]?: number };
  store[NEXT_ID] = (store[NEXT_ID] ?? 0) + 1;
  return store[NEXT_ID];
}

/**
 * The child side of the process hub: a `ChatHub` whose every call is answered by the broker in the
 * parent (`ProcessHub.attach(server)` there). A session's sink stays here: it is registered under an id
 * before the `connect` call leaves, so the lines the broker sends before its answer are not lost, and
 * the broker's deliveries reach it in the order they were made.
 *
 * A call that gets no answer within `callTimeout` seconds fails (when no broker ever answered, the error
 * says to call `ProcessHub.attach(server)` in the parent); the handler then ends that session only.
 *
 * `ProcessHub.attach(server)` and `ChatHandler`'s default hub in a child give the one client of the
 * process; constructing one is for tests and custom channels.
 */
export class ProcessHubClient implements ChatHub {
  /** Seconds a call waits for its answer. */
  readonly callTimeout: number;
  readonly #channel: ProcessHubChannel;
  readonly #pending = new Map<number, Pending>();
  readonly #sinks = new Map<number, LocalSink>();
  /** Session → the id of its sink. */
  readonly #sessions = new Map<ChatSessionId, number>();
  /** Connect calls that timed out: if the broker answers after all, the session is disconnected. */
  readonly #abandoned = new Set<number>();
  #outgoing: CallEntry[] = [];
  #flushScheduled = false;
  #listening = false;
  /** The broker has answered at least once (so a timeout is not a missing broker). */
  #answered = false;
  #timer: NodeJS.Timeout | undefined;
  /** Set by `close()`: the last line of this process's sessions (`null`: none). */
  #closing: string | null | undefined;

  constructor(options: ProcessHubClientOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    this.callTimeout =
      options.callTimeout === undefined
        ? DEFAULT_CALL_TIMEOUT
        : validateSeconds(options.callTimeout, 'callTimeout');
    this.#channel = options.channel ?? parentChannel;
  }

  async connect(sink: ChatSink): Promise<ChatWelcome> {
    if (typeof sink !== 'object' || sink === null || typeof sink.deliver !== 'function') {
      throw new TypeError('connect(sink): sink must have deliver(text) and close(reason)');
    }
    const sinkId = nextId();
    const local: LocalSink = { sink, open: true };
    this.#sinks.set(sinkId, local);
    let welcome: ChatWelcome;
    try {
      welcome = (await this.#call('connect', [sinkId])) as ChatWelcome;
    } catch (error) {
      this.#sinks.delete(sinkId);
      throw error;
    }
    this.#sessions.set(welcome.session, sinkId);
    if (this.#closing !== undefined) end(local, this.#closing);
    return welcome;
  }

  async rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    return (await this.#call('rename', [session, nick])) as ChatRenameResult;
  }

  async join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    return (await this.#call('join', [session, room])) as ChatJoinResult;
  }

  async who(room: string): Promise<string[]> {
    return (await this.#call('who', [room])) as string[];
  }

  async rooms(): Promise<ChatRoomSummary[]> {
    return (await this.#call('rooms', [])) as ChatRoomSummary[];
  }

  async sendToRoom(room: string, text: string, exceptSession?: ChatSessionId | null): Promise<void> {
    await this.#call('sendToRoom', [room, text, exceptSession ?? null]);
  }

  async sendToUser(nick: string, text: string): Promise<string | null> {
    return (await this.#call('sendToUser', [nick, text])) as string | null;
  }

  async disconnect(session: ChatSessionId, reason: string): Promise<void> {
    const sinkId = this.#sessions.get(session);
    if (sinkId !== undefined) {
      this.#sessions.delete(session);
      this.#sinks.delete(sinkId);
    }
    // With the parent gone, so is the broker's state: there is nothing left to forget.
    if (!this.#channel.connected) return;
    await this.#call('disconnect', [session, reason]);
  }

  /**
   * Ends the sessions of THIS process (their clients get `notice` as their last line, then they are
   * closed; a later session too): a child that stops does not end the chat in the other children.
   * Their rooms hear them leave (`connection closed`). To end every session of the chat, call
   * `close()` on the broker in the parent (the hub `ProcessHub.attach(server)` returns there).
   */
  async close(notice?: string): Promise<void> {
    if (notice !== undefined && typeof notice !== 'string') {
      throw new TypeError(`close(notice): notice must be a string, got ${typeof notice}`);
    }
    if (this.#closing !== undefined) return;
    this.#closing = notice ?? null;
    for (const local of this.#sinks.values()) end(local, this.#closing);
  }

  // ---- calls -------------------------------------------------------------------------------------

  #call(method: Method, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.#channel.connected) {
        reject(
          new SockserveError(
            ErrorCodes.INVALID_STATE,
            "process hub: this process has no IPC channel to a parent (the process hub's client runs in a forking server's child)",
          ),
        );
        return;
      }
      if (!this.#listening) {
        this.#listening = true;
        this.#channel.listen((message) => this.#onMessage(message));
      }
      const id = nextId();
      this.#pending.set(id, { method, deadline: Date.now() + this.callTimeout * 1000, resolve, reject });
      this.#outgoing.push({ type: 'call', id, method, args });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
      this.#timer ??= this.#arm(this.callTimeout * 1000);
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const entries = this.#outgoing;
    if (entries.length === 0) return;
    this.#outgoing = [];
    const message: Message<CallEntry> = { [KEY]: entries };
    const failed = (error: Error): void => {
      for (const { id } of entries) this.#take(id)?.reject(error);
    };
    if (!this.#channel.connected) {
      failed(new Error('process hub: the IPC channel to the parent is closed'));
      return;
    }
    try {
      this.#channel.send(message, (error) => error && failed(error));
    } catch (error) {
      failed(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #onMessage(message: unknown): void {
    const entries = entriesOf<BrokerEntry>(message);
    if (entries === undefined) return;
    this.#answered = true;
    for (const entry of entries) {
      switch (entry.type) {
        case 'deliver':
          for (const id of entry.sinks) {
            const local = this.#sinks.get(id);
            if (local?.open) deliver(local.sink, entry.text);
          }
          break;
        case 'close': {
          const local = this.#sinks.get(entry.sink);
          if (local !== undefined) closeSink(local.sink, entry.reason);
          break;
        }
        case 'result': {
          const pending = this.#take(entry.id);
          if (pending !== undefined) pending.resolve(entry.value);
          else if (this.#abandoned.delete(entry.id)) this.#release(entry.value as ChatWelcome);
          break;
        }
        case 'failure': {
          // An unreachable hub behind the broker (Redis) stays recognisable in the child.
          const error =
            entry.error.name === 'ChatHubUnavailableError'
              ? new ChatHubUnavailableError(entry.error.message)
              : new Error(entry.error.message);
          error.name = entry.error.name;
          this.#take(entry.id)?.reject(error);
          this.#abandoned.delete(entry.id);
          break;
        }
      }
    }
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending !== undefined) this.#pending.delete(id);
    return pending;
  }

  /** A session the broker connected after its caller gave up: nobody here will use it. */
  #release(welcome: ChatWelcome): void {
    if (typeof welcome?.session !== 'string') return;
    this.#call('disconnect', [welcome.session, ChatText.Reasons.connectionClosed]).catch(() => {});
  }

  // ---- timeouts: one timer for every pending call ----------------------------------------------------

  #arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#expire(), Math.max(ms, 1));
    timer.unref();
    return timer;
  }

  /** Fails the calls past their deadline (they are in deadline order), and waits for the next one. */
  #expire(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) {
        this.#timer = this.#arm(pending.deadline - now);
        return;
      }
      this.#pending.delete(id);
      if (pending.method === 'connect') {
        this.#abandoned.add(id);
        if (this.#abandoned.size > ABANDONED_REMEMBERED)
          this.#abandoned.delete(this.#abandoned.values().next().value!);
      }
      pending.reject(this.#timeoutError(pending.method));
    }
  }

  #timeoutError(method: Method): Error {
    if (this.#answered) {
      return new Error(`process hub: the broker did not answer ${method}() within ${this.callTimeout} s`);
    }
    return new SockserveError(
      ErrorCodes.INVALID_STATE,
      `process hub: no broker answered ${method}() within ${this.callTimeout} s; call ProcessHub.attach(server) in the forking server's parent process (before serveForever())`,
    );
  }
}

function deliver(sink: ChatSink, text: string): void {
  try {
    sink.deliver(text);
  } catch {
    // One broken sink does not stop the others.
  }
}

function closeSink(sink: ChatSink, reason: string): void {
  try {
    sink.close(reason);
  } catch {
    // As for deliver.
  }
}

/** Gives a local session its last line (when there is one) and asks its handler to end it. */
function end(local: LocalSink, notice: string | null): void {
  if (!local.open) return;
  if (notice !== null) deliver(local.sink, notice);
  local.open = false;
  closeSink(local.sink, ChatText.Reasons.connectionClosed);
}
