/**
 * `RedisHub`: a `ChatHub` shared by every node (server process) connected to one Redis.
 */
import { randomBytes } from 'node:crypto';
import {
  type ChatHub,
  ChatHubUnavailableError,
  type ChatJoinResult,
  ChatNames,
  type ChatRenameResult,
  type ChatRoomSummary,
  type ChatSessionId,
  type ChatSink,
  ChatText,
  type ChatWelcome,
} from '@sockserve/handlers';
import { Redis, type RedisOptions } from 'ioredis';
import { invalidType, invalidValue } from './option-errors.js';
import { SCRIPTS, type ScriptName, scriptSource } from './scripts.js';

/** Options of `new RedisHub(options)`. */
export interface RedisHubOptions {
  /** The Redis to use, as a URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS); default `redis://127.0.0.1:6379`. */
  url?: string | undefined;
  /**
   * More ioredis options (`tls`, `password`, `sentinels`, …); default none. What `url` itself sets
   * (host, port, and password or database when given) wins over them, as ioredis merges the two.
   * For a TLS-enabled Redis: a `rediss://` URL, with `tls: { ca, cert, key }` for a private CA or a
   * client certificate.
   */
  redis?: RedisOptions | undefined;
  /** Prefix of every key and channel, so several chats can share one Redis; default `sockserve:chat:`. */
  prefix?: string | undefined;
  /** Seconds between two heartbeats of this node (each also removes dead nodes); default 2. */
  heartbeatInterval?: number | undefined;
  /** Seconds without a heartbeat after which a node counts as dead and its users leave; default 6. */
  nodeTimeout?: number | undefined;
  /** Seconds a hub call may wait for Redis before it fails as unavailable; default 5. */
  callTimeout?: number | undefined;
  /** This node's id in Redis (unique among the nodes); default a random one. */
  nodeId?: string | undefined;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PREFIX = 'sockserve:chat:';
/** Placeholders of the notice templates the scripts fill (see scripts.ts). */
const NICK = '\u0001';
const ROOM = '\u0002';
const OTHER_ROOM = '\u0003';
/**
 * The old room's notice when a session joins another room. `ChatText.left()` cleans its reason of
 * control characters (protocol 1.1), so the new room's placeholder goes in after, in place of a
 * private-use stand-in that cleaning keeps.
 */
const LEFT_FOR_JOIN = ChatText.left(NICK, ROOM, ChatText.joinedReason('\uE003')).replace(
  '\uE003',
  OTHER_ROOM,
);

type Commands = {
  [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown>;
};

interface LocalSession {
  readonly id: ChatSessionId;
  readonly sink: ChatSink;
  /** Nickname and room as this node last set them (what it re-asserts after Redis lost its state). */
  nick: string;
  room: string;
  /** nameKey of `room`, in the order of this node's event stream (undefined until connected). */
  roomKey: string | undefined;
  ended: boolean;
}

interface Pending {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** An event on this node's channel (see scripts.ts). */
type NodeEvent =
  | { t: 'r'; r: string; x: string; m: string }
  | { t: 'u'; s: string; m: string }
  | { t: 'a'; o: string; s?: string; r?: string };

/**
 * A `ChatHub` on Redis, for several chat nodes behind a load balancer that must behave as one chat.
 * Nicknames, `guestN` numbers, rooms and sessions live in Redis and change only inside Lua scripts
 * (atomic); each script publishes the lines it causes to the nodes that have members concerned, on
 * one channel per node, so every node sees them in the order Redis ran the scripts.
 *
 * Each node heartbeats; a node silent for `nodeTimeout` is removed by the others, and its users leave
 * their rooms (`-- nick left #room (connection closed)`). While Redis cannot be reached, calls reject
 * with `ChatHubUnavailableError` (the handler answers `! chat is temporarily unavailable`); ioredis
 * reconnects by itself, and the node then re-asserts its users.
 *
 * ```ts
 * const hub = new RedisHub({ url: 'redis://127.0.0.1:6379' });
 * await hub.ready();
 * const server = new ThreadingTCPServer({ port: 7000 }, ChatHandler.with({ hub }));
 * ```
 */
export class RedisHub implements ChatHub {
  /** This node's id in Redis. */
  readonly nodeId: string;
  /** The prefix of this hub's keys and channels. */
  readonly prefix: string;
  readonly #commands: Redis & Commands;
  readonly #subscriber: Redis;
  readonly #heartbeatMs: number;
  readonly #nodeTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #channel: string;
  readonly #sessions = new Map<ChatSessionId, LocalSession>();
  /** roomKey → this node's sessions in that room (in the order of this node's event stream). */
  readonly #rooms = new Map<string, Set<LocalSession>>();
  readonly #pending = new Map<string, Pending>();
  /** Sessions that ended while Redis was unreachable: removed from Redis once it is back. */
  readonly #orphans = new Map<ChatSessionId, string>();
  readonly #heartbeat: NodeJS.Timeout;
  #nextSession = 1;
  #nextOp = 1;
  #available = false;
  #recovering: Promise<void> | undefined;
  #closing: string | null | undefined;
  #ended = false;
  #readyWaiters: (() => void)[] = [];

  constructor(options: RedisHubOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    const url = options.url ?? DEFAULT_URL;
    if (typeof url !== 'string') throw invalidType('url', 'a redis:// URL string', url);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof this.prefix !== 'string') throw invalidType('prefix', 'a string', this.prefix);
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    if (typeof this.nodeId !== 'string' || this.nodeId === '') {
      throw invalidType('nodeId', 'a non-empty string', this.nodeId);
    }
    this.#heartbeatMs = seconds(options.heartbeatInterval, 'heartbeatInterval', 2) * 1000;
    this.#nodeTimeoutMs = seconds(options.nodeTimeout, 'nodeTimeout', 6) * 1000;
    this.#callTimeoutMs = seconds(options.callTimeout, 'callTimeout', 5) * 1000;
    if (this.#nodeTimeoutMs <= this.#heartbeatMs) {
      throw invalidValue('nodeTimeout', 'more than heartbeatInterval', options.nodeTimeout);
    }
    this.#channel = `${this.prefix}node:${this.nodeId}`;
    const common: RedisOptions = {
      retryStrategy: (times) => Math.min(times * 100, 1000),
      ...options.redis,
    };
    // Commands fail at once while disconnected (the user is told) instead of waiting in a queue.
    this.#commands = new Redis(url, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#callTimeoutMs,
    }) as Redis & Commands;
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      this.#commands.defineCommand(name, { numberOfKeys: 0, lua: scriptSource(name) });
    }
    this.#subscriber = new Redis(url, { ...common, autoResubscribe: true });
    this.#subscriber.on('message', (_channel: string, message: string) => this.#onEvent(message));
    this.#subscriber.subscribe(this.#channel).catch(() => {
      // Retried on reconnection (autoResubscribe); until then the hub is unavailable.
    });
    for (const connection of [this.#commands, this.#subscriber]) {
      // Errors are reconnected from; the hub reports them as unavailability, never by throwing.
      connection.on('error', () => {});
      connection.on('close', () => this.#lost());
      connection.on('ready', () => void this.#recover());
    }
    this.#heartbeat = setInterval(() => void this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  /** True while Redis is reachable and this node's users are asserted there. */
  get available(): boolean {
    return this.#available;
  }

  /** Resolves once the hub is connected to Redis and usable (the first time, or again after a loss). */
  ready(): Promise<void> {
    if (this.#available) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /**
   * Registers a session (see `ChatHub.connect`). While Redis is unreachable it waits up to
   * `callTimeout` for it, then rejects with `ChatHubUnavailableError`.
   */
  async connect(sink: ChatSink): Promise<ChatWelcome> {
    if (typeof sink !== 'object' || sink === null || typeof sink.deliver !== 'function') {
      throw new TypeError('connect(sink): sink must have deliver(text) and close(reason)');
    }
    // A client that arrives while Redis is (re)connecting waits for it, up to callTimeout.
    if (!this.#available && !this.#ended) await this.#readyWithin(this.#callTimeoutMs);
    this.#check();
    const id = `${this.nodeId}:${this.#nextSession++}`;
    const session: LocalSession = { id, sink, nick: '', room: '', roomKey: undefined, ended: false };
    this.#sessions.set(id, session);
    const op = this.#op();
    try {
      const lobby = ChatNames.LOBBY;
      const [nick, room] = (await this.#both(
        op,
        this.#commands.chatConnect(
          this.prefix,
          this.nodeId,
          id,
          ChatNames.nameKey(lobby),
          lobby,
          ChatText.joined(NICK, ROOM),
          op,
        ),
      )) as [string, string];
      session.nick = nick;
      session.room = room;
    } catch (error) {
      this.#sessions.delete(id);
      throw error;
    }
    if (this.#closing !== undefined) end(session, this.#closing);
    return { session: id, nick: session.nick, room: session.room };
  }

  async rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    const current = this.#session(session);
    this.#check();
    const result = (await this.#call(
      this.#commands.chatRename(
        this.prefix,
        session,
        nick,
        ChatNames.nameKey(nick),
        ChatText.renamed(NICK, nick),
      ),
    )) as [number, string?];
    if (result[0] === -1) throw new Error(`unknown chat session: ${session}`);
    if (result[0] === 0) return { ok: false, reason: 'taken' };
    current.nick = nick;
    return { ok: true, nick, previous: result[1]! };
  }

  async join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    const current = this.#session(session);
    this.#check();
    const op = this.#op();
    // The move takes effect in this node's event stream (its marker may come before the reply).
    const marker = this.#marker(op);
    marker.catch(() => {});
    const script = this.#commands.chatJoin(
      this.prefix,
      session,
      ChatNames.nameKey(room),
      room,
      LEFT_FOR_JOIN,
      ChatText.joined(NICK, ROOM),
      op,
    );
    let result: [number, string, unknown, unknown?];
    try {
      result = (await this.#call(script)) as [number, string, unknown, unknown?];
    } catch (error) {
      this.#settle(op);
      throw error;
    }
    if (result[0] === -1) {
      this.#settle(op);
      throw new Error(`unknown chat session: ${session}`);
    }
    if (result[0] === 0) {
      this.#settle(op);
      return { room: result[1], previous: null, members: result[2] as string[] };
    }
    // Wait for the move, so that the new room's lines come after the handler's `-- you joined` and
    // the old room's lines before.
    await marker;
    current.room = result[1];
    return { room: result[1], previous: result[2] as string, members: result[3] as string[] };
  }

  async who(room: string): Promise<string[]> {
    this.#check();
    return (await this.#call(this.#commands.chatWho(this.prefix, ChatNames.nameKey(room)))) as string[];
  }

  async rooms(): Promise<ChatRoomSummary[]> {
    this.#check();
    const flat = (await this.#call(this.#commands.chatRooms(this.prefix))) as (string | number)[];
    const list: ChatRoomSummary[] = [];
    for (let i = 0; i < flat.length; i += 2)
      list.push({ room: String(flat[i]), members: Number(flat[i + 1]) });
    return list;
  }

  async sendToRoom(room: string, text: string, exceptSession?: ChatSessionId | null): Promise<void> {
    this.#check();
    await this.#call(
      this.#commands.chatSendToRoom(this.prefix, ChatNames.nameKey(room), text, exceptSession ?? ''),
    );
  }

  async sendToUser(nick: string, text: string): Promise<string | null> {
    this.#check();
    const found = await this.#call(this.#commands.chatSendToUser(this.prefix, ChatNames.nameKey(nick), text));
    return typeof found === 'string' ? found : null;
  }

  async disconnect(session: ChatSessionId, reason: string): Promise<void> {
    const current = this.#sessions.get(session);
    if (current === undefined) return;
    this.#sessions.delete(session);
    if (current.roomKey !== undefined) this.#rooms.get(current.roomKey)?.delete(current);
    const template = ChatText.left(NICK, ROOM, String(reason));
    if (!this.#available) {
      this.#orphans.set(session, template);
      return;
    }
    try {
      await this.#call(this.#commands.chatDisconnect(this.prefix, session, template));
    } catch (error) {
      // Redis went away meanwhile: the session is removed there once it is back.
      if (!ChatHubUnavailableError.isInstance(error)) throw error;
      this.#orphans.set(session, template);
    }
  }

  async close(notice?: string): Promise<void> {
    if (notice !== undefined && typeof notice !== 'string') {
      throw new TypeError(`close(notice): notice must be a string, got ${typeof notice}`);
    }
    if (this.#closing !== undefined) return;
    this.#closing = notice ?? null;
    for (const session of this.#sessions.values()) end(session, this.#closing);
  }

  /**
   * Leaves Redis for good: this node's remaining users leave their rooms (`connection closed`), the
   * node is unregistered, heartbeats stop and both connections close. Call it after the server has
   * closed (`close()` ends the sessions first). Safe to call twice.
   */
  async quit(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.#available = false;
    try {
      await this.#commands.chatLeaveNode(
        this.prefix,
        this.nodeId,
        ChatText.left(NICK, ROOM, ChatText.Reasons.connectionClosed),
      );
    } catch {
      // Unreachable: the others remove this node once its heartbeat expires.
    }
    this.#rejectPending();
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  /** Leaves Redis (see `quit()`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.quit();
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Resolves when the hub is available or after `ms`, whichever comes first. */
  #readyWithin(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      void this.ready().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #session(id: ChatSessionId): LocalSession {
    const session = this.#sessions.get(id);
    if (session === undefined) throw new Error(`unknown chat session: ${id}`);
    return session;
  }

  #check(): void {
    if (!this.#available) throw unavailable(this.#ended ? 'the hub has quit' : 'Redis is unreachable');
  }

  #op(): string {
    return `${this.nodeId}.${this.#nextOp++}`;
  }

  /** Waits for a command; a failure of the connection becomes `ChatHubUnavailableError`. */
  async #call<T>(command: Promise<T>): Promise<T> {
    try {
      return await command;
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /** Waits for a script and for the marker `op` it publishes to this node (its effect here). */
  async #both(op: string, command: Promise<unknown>): Promise<unknown> {
    const marker = this.#marker(op);
    marker.catch(() => {});
    try {
      const result = await this.#call(command);
      await marker;
      return result;
    } catch (error) {
      this.#settle(op);
      throw error;
    }
  }

  /** Resolves when marker `op` arrives on this node's channel; rejects when it cannot. */
  #marker(op: string): Promise<void> {
    const existing = this.#pending.get(op);
    if (existing !== undefined) return (existing as Pending & { promise: Promise<void> }).promise;
    let pending!: Pending & { promise: Promise<void> };
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(op);
        reject(unavailable('no answer from Redis in time'));
      }, this.#callTimeoutMs);
      timer.unref();
      pending = { resolve, reject, timer, promise: undefined as unknown as Promise<void> };
    });
    pending.promise = promise;
    this.#pending.set(op, pending);
    return promise;
  }

  /** Forgets a marker nobody waits for any more. */
  #settle(op: string): void {
    const pending = this.#pending.get(op);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#pending.delete(op);
    pending.resolve();
  }

  #rejectPending(): void {
    for (const [op, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(op);
      pending.reject(unavailable('the connection to Redis was lost'));
    }
  }

  #onEvent(message: string): void {
    let event: NodeEvent;
    try {
      event = JSON.parse(message) as NodeEvent;
    } catch {
      return;
    }
    switch (event.t) {
      case 'r': {
        const members = this.#rooms.get(event.r);
        if (members === undefined) return;
        for (const member of members) if (member.id !== event.x) deliver(member, event.m);
        return;
      }
      case 'u': {
        const session = this.#sessions.get(event.s);
        if (session !== undefined) deliver(session, event.m);
        return;
      }
      case 'a': {
        if (event.s !== undefined && event.r !== undefined) this.#move(event.s, event.r);
        const pending = this.#pending.get(event.o);
        if (pending !== undefined) {
          clearTimeout(pending.timer);
          this.#pending.delete(event.o);
          pending.resolve();
        }
        return;
      }
    }
  }

  /** Puts a local session in room `roomKey` (as of this point of the event stream). */
  #move(id: ChatSessionId, roomKey: string): void {
    const session = this.#sessions.get(id);
    if (session === undefined) return;
    if (session.roomKey !== undefined) {
      const old = this.#rooms.get(session.roomKey);
      old?.delete(session);
      if (old?.size === 0) this.#rooms.delete(session.roomKey);
    }
    session.roomKey = roomKey;
    let members = this.#rooms.get(roomKey);
    if (members === undefined) {
      members = new Set();
      this.#rooms.set(roomKey, members);
    }
    members.add(session);
  }

  /** A connection closed: calls fail until both are back and this node's users are re-asserted. */
  #lost(): void {
    this.#available = false;
    this.#rejectPending();
  }

  /** Heartbeat tick: keeps this node alive in Redis, or tries to become available again. */
  async #beat(): Promise<void> {
    if (this.#ended) return;
    if (!this.#available) return this.#recover();
    try {
      await this.#heartbeatOnce();
    } catch {
      // Unreachable for now: the 'close' event makes the hub unavailable; the next tick retries.
    }
  }

  /** One heartbeat; re-asserts this node's users when Redis had forgotten the node. */
  async #heartbeatOnce(): Promise<void> {
    const [known] = (await this.#commands.chatHeartbeat(
      this.prefix,
      this.nodeId,
      this.#nodeTimeoutMs,
      ChatText.left(NICK, ROOM, ChatText.Reasons.connectionClosed),
    )) as [number, number];
    if (known === 0) await this.#reassert();
  }

  /** Once both connections are ready: checks the subscription, re-asserts users, becomes available. */
  #recover(): Promise<void> {
    if (this.#ended || this.#available) return Promise.resolve();
    if (this.#commands.status !== 'ready' || this.#subscriber.status !== 'ready') return Promise.resolve();
    this.#recovering ??= (async () => {
      try {
        const op = this.#op();
        await this.#both(op, this.#commands.chatProbe(this.prefix, this.nodeId, op));
        for (const [session, template] of this.#orphans) {
          await this.#commands.chatDisconnect(this.prefix, session, template);
          this.#orphans.delete(session);
        }
        await this.#heartbeatOnce();
        if (this.#commands.status !== 'ready' || this.#subscriber.status !== 'ready') return;
        this.#available = true;
        for (const wake of this.#readyWaiters.splice(0)) wake();
      } catch {
        // Still unreachable: the next heartbeat tick or 'ready' event tries again.
      } finally {
        this.#recovering = undefined;
      }
    })();
    return this.#recovering;
  }

  /** Puts this node's sessions back in Redis; a session whose nickname someone else took meanwhile is ended. */
  async #reassert(): Promise<void> {
    for (const session of [...this.#sessions.values()]) {
      if (session.roomKey === undefined || session.nick === '') continue;
      const kept = await this.#commands.chatReassert(
        this.prefix,
        this.nodeId,
        session.id,
        session.nick,
        ChatNames.nameKey(session.nick),
        session.room,
        session.roomKey,
      );
      if (kept === 0) end(session, null);
    }
  }
}

/** A hub call failed because Redis is unreachable for now. */
function unavailable(why: string, cause?: unknown): ChatHubUnavailableError {
  return new ChatHubUnavailableError(
    `chat hub unavailable: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Redis replies that mean "not now" rather than a bug: they, and every connection error, make the hub unavailable. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY)\b/;

function asUnavailable(error: unknown): unknown {
  if (ChatHubUnavailableError.isInstance(error)) return error;
  const reply = (error as Error | undefined)?.name === 'ReplyError';
  if (reply && !TRANSIENT_REPLY.test((error as Error).message)) return error;
  return unavailable((error as Error | undefined)?.message ?? String(error), error);
}

/** `value` (seconds) checked, or `fallback`. */
function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidType(name, 'a number of seconds', value);
  if (!(value > 0) || !Number.isFinite(value))
    throw invalidValue(name, 'a positive number of seconds', value);
  return value;
}

function deliver(session: LocalSession, text: string): void {
  if (session.ended) return;
  try {
    session.sink.deliver(text);
  } catch {
    // A broken sink is that session's problem; the others still get the line.
  }
}

/** Gives the session its last line (when there is one) and asks its handler to end it. */
function end(session: LocalSession, notice: string | null): void {
  if (session.ended) return;
  if (notice !== null) deliver(session, notice);
  session.ended = true;
  try {
    session.sink.close(ChatText.Reasons.connectionClosed);
  } catch {
    // One broken sink does not stop the others.
  }
}
