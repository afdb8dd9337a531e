/**
 * `ChatHandler`: the line chat of `chat-protocol.md` (version 1.1) for stream servers (TCP, Unix).
 */
import type net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ErrorCodes,
  type InetAddress,
  LineFramer,
  SockserveError,
  StreamRequestHandler,
  type UnixAddress,
} from '@sockserve/core';
import type { ChatHub, ChatSink } from './chat-hub.js';
import { ChatHubUnavailableError } from './chat-hub-unavailable.js';
import { compareNames, isValidNickname, isValidRoom } from './chat-names.js';
import * as ChatText from './chat-text.js';
import { defaultChatHub } from './default-hub.js';
import { LineOutbox } from './line-outbox.js';
import { invalidType, validateInteger, validateSeconds } from './option-validators.js';

/** Options of `ChatHandler.with(options)`. */
export interface ChatHandlerOptions {
  /**
   * Where nicknames, rooms and delivery live. Default: one `MemoryHub` per server; in a forking
   * server's child, the process hub's client (see `ProcessHub.attach`).
   */
  hub?: ChatHub | undefined;
  /** Longest line accepted from a client, in bytes, not counting its LF (and one CR before it); default 4096. */
  maxLineBytes?: number | undefined;
  /** Unsent output allowed per client before it is disconnected as `too slow`, in bytes; default 1048576 (1 MiB). */
  maxPendingBytes?: number | undefined;
  /** Seconds without any data from a client before it is disconnected as `timed out`; default: no limit. */
  timeout?: number | undefined;
}

const DEFAULT_MAX_LINE_BYTES = 4096;
const DEFAULT_MAX_PENDING_BYTES = 1024 * 1024;
const SLASH = 0x2f;
const SPACE = 0x20;
/** Input bytes a session handles before it lets the event loop serve others (a fast sender's burst). */
const YIELD_BYTES = 64 * 1024;
/** Stands for an over-long line in the queue of lines to process (it is answered in order). */
const TOO_LONG = Symbol('line too long');

type Line = string | typeof TOO_LONG;

/**
 * A chat session per connection, speaking the protocol of `chat-protocol.md`: `guestN` nicknames,
 * rooms (`#lobby` first), `/nick /who /rooms /join /msg /me /quit /help`, the `//` escape, CRLF,
 * UTF-8 with replacement of invalid bytes, terminal controls in relayed text replaced by U+FFFD,
 * nicknames compared after NFKC and case folding, `maxLineBytes` and `maxPendingBytes`.
 *
 * ```ts
 * // one MemoryHub per server, default limits:
 * new ThreadingTCPServer({ port: 7000 }, ChatHandler);
 * // options (a configured subclass):
 * new ThreadingTCPServer({ port: 7000 }, ChatHandler.with({ maxLineBytes: 1024, timeout: 300 }));
 * ```
 *
 * Shared state lives in `hub` (a `ChatHub`): the handler only frames, parses and formats. Output to
 * the client is coalesced (one write per client per event-loop turn), and a client whose unsent
 * output passes `maxPendingBytes` is disconnected (`too slow`) without slowing anyone else down.
 * Client failures (reset, timeout, invalid bytes) end that session only and are not errors; a failing
 * hub is (it reaches the server's `handleError`).
 *
 * For the caller: `ChatHandler.with(options)`, `ChatHandler.options`.
 * For subclasses: the fields `hub`, `maxLineBytes`, `maxPendingBytes`, `timeout` (settable as class
 * fields), and the read-only `nick`, `room`, `session`, `pendingBytes`.
 */
export class ChatHandler extends StreamRequestHandler {
  /** The options this class was made with by `with()` (empty for `ChatHandler` itself). */
  static readonly options: Readonly<ChatHandlerOptions> = Object.freeze({});

  /**
   * A subclass of this class with `options` (merged over this class's own), for servers that
   * construct handlers themselves: `new ThreadingTCPServer(address, ChatHandler.with({ hub }))`.
   * Options are validated here, once.
   */
  static with<T extends typeof ChatHandler>(this: T, options: ChatHandlerOptions): T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `with()` was called on (a subclass too).
    return configure(this, options) as T;
  }

  /** The hub of this session. Default: `options.hub`, else the server's own `MemoryHub` (in a forking child, the process hub). */
  hub: ChatHub;
  /** Longest line accepted, in bytes, not counting its terminator. */
  maxLineBytes: number;
  /** Unsent output allowed before the client is disconnected as `too slow`, in bytes. */
  maxPendingBytes: number;

  readonly #sink: ChatSink = {
    deliver: (line) => this.#outbox?.deliver(line),
    close: (reason) => this.#stop(String(reason), false),
  };
  #outbox: LineOutbox | undefined;
  #session: string | undefined;
  #nick = '';
  #room = '';
  #stopReason: string | undefined;
  /** Ends the read that `#serve()` is waiting for, when a stop comes from outside the read loop. */
  #wakeReader: (() => void) | undefined;

  constructor(request: net.Socket, clientAddress: InetAddress | UnixAddress, server: unknown) {
    super(request, clientAddress, server);
    const options = (new.target as typeof ChatHandler).options ?? {};
    this.hub = options.hub ?? defaultChatHub(server);
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (options.timeout !== undefined) this.timeout = options.timeout;
  }

  /** The session's nickname ('' before it connected to the hub). */
  get nick(): string {
    return this.#nick;
  }

  /** The session's room ('' before it connected to the hub). */
  get room(): string {
    return this.#room;
  }

  /** The session's id in the hub, once connected. */
  get session(): string | undefined {
    return this.#session;
  }

  /** Output not yet handed to the kernel (what the socket has not accepted, plus lines queued this turn), in bytes. */
  get pendingBytes(): number {
    return this.#outbox?.pendingBytes ?? 0;
  }

  override async handle(): Promise<void> {
    const outbox = new LineOutbox(this.connection, {
      maxPendingBytes: this.maxPendingBytes,
      onOverflow: () => this.#stop(ChatText.Reasons.tooSlow, true),
    });
    this.#outbox = outbox;
    outbox.hold();
    const welcome = await this.hub.connect(this.#sink);
    this.#session = welcome.session;
    this.#nick = welcome.nick;
    this.#room = welcome.room;
    outbox.reply(ChatText.welcome(welcome.nick, welcome.room));
    outbox.release();

    let failed = false;
    let failure: unknown;
    try {
      await this.#serve();
    } catch (error) {
      failed = true;
      failure = error;
    }
    try {
      await this.hub.disconnect(welcome.session, this.#stopReason ?? ChatText.Reasons.connectionClosed);
    } catch (error) {
      if (!failed) {
        failed = true;
        failure = error;
      }
    }
    // What is still queued (`-- bye`, replies to a last line before EOF) leaves before the server ends the connection.
    outbox.release();
    outbox.flush();
    outbox.close();
    if (failed) throw failure;
  }

  /** Reads, frames and answers lines until EOF, an error of the connection, `/quit` or a stop. */
  async #serve(): Promise<void> {
    const lines: Line[] = [];
    const framer = new LineFramer({
      maxLineBytes: this.maxLineBytes,
      onLine: (line) => {
        if (line.length > 0) lines.push(line.toString('utf8'));
      },
      onLineTooLong: () => lines.push(TOO_LONG),
    });
    const chunks = this.rfile.chunks();
    let unyielded = 0;
    while (this.#stopReason === undefined) {
      let next: IteratorResult<Buffer> | undefined;
      try {
        next = await this.#nextChunk(chunks);
      } catch (error) {
        // A reset, or no data within `timeout`: the client's doing, not an error of the server.
        const timedOut = SockserveError.isInstance(error) && error.code === ErrorCodes.TIMEOUT;
        this.#stopReason ??= timedOut ? ChatText.Reasons.timedOut : ChatText.Reasons.connectionClosed;
        return;
      }
      if (next === undefined) return;
      if (next.done) framer.end();
      else framer.push(next.value);
      await this.#process(lines);
      lines.length = 0;
      if (next.done) return;
      // A sender with a burst of data ready is read chunk after chunk in one turn of the event loop;
      // every YIELD_BYTES, let the outboxes flush and the other sockets be served before going on.
      unyielded += next.value.length;
      if (unyielded >= YIELD_BYTES) {
        unyielded = 0;
        await nextTurn();
      }
    }
  }

  /**
   * The next chunk from the client, or `undefined` when the session is stopped first (by its hub or as
   * too slow) while the read waits.
   *
   * The race is against a promise made for this read only. Racing every read against one promise that
   * lives as long as the session (a "stopped" promise) would add a reaction to it per chunk, each
   * holding the chunk it resolved with: every byte a client sent stayed in memory until it left
   * (200 MiB of lines: 200 MiB retained).
   */
  #nextChunk(chunks: AsyncIterator<Buffer>): Promise<IteratorResult<Buffer> | undefined> {
    const read = chunks.next();
    const stopped = new Promise<undefined>((resolve) => {
      this.#wakeReader = () => resolve(undefined);
    });
    return Promise.race([read, stopped]).finally(() => {
      this.#wakeReader = undefined;
    });
  }

  /**
   * Ends the session with `reason`; `abort` drops unsent output and resets the connection now (a TCP
   * RST where the socket allows it), which frees what the socket and the kernel still held for it.
   */
  #stop(reason: string, abort: boolean): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    if (abort) {
      this.#outbox?.close();
      resetConnection(this.connection);
    }
    this.#wakeReader?.();
  }

  #reply(line: string): void {
    this.#outbox!.reply(line);
  }

  /**
   * Answers the lines of one chunk in order. Consecutive room messages go to the hub as one text (lines
   * joined by LF), so a fan-out costs one delivery per member per chunk, not one per line.
   */
  async #process(lines: Line[]): Promise<void> {
    const messages: string[] = [];
    for (let i = 0; i < lines.length && this.#stopReason === undefined; i++) {
      const line = lines[i]!;
      if (line !== TOO_LONG && (line.charCodeAt(0) !== SLASH || line.charCodeAt(1) === SLASH)) {
        messages.push(ChatText.message(this.#nick, line.charCodeAt(0) === SLASH ? line.slice(1) : line));
        continue;
      }
      if (messages.length > 0) await this.#orUnavailable(this.#say(messages));
      if (line === TOO_LONG) this.#reply(ChatText.lineTooLong(this.maxLineBytes));
      else await this.#orUnavailable(this.#command(line));
    }
    if (messages.length > 0 && this.#stopReason === undefined) await this.#orUnavailable(this.#say(messages));
  }

  /** Waits for a hub call; when the hub is unreachable for now, the sender gets `! chat is temporarily unavailable`. */
  async #orUnavailable(call: Promise<void>): Promise<void> {
    try {
      await call;
    } catch (error) {
      if (!ChatHubUnavailableError.isInstance(error)) throw error;
      this.#reply(ChatText.UNAVAILABLE);
    }
  }

  /** Sends the room messages collected (and empties the list). */
  #say(messages: string[]): Promise<void> {
    const text = messages.length === 1 ? messages[0]! : messages.join('\n');
    messages.length = 0;
    return this.hub.sendToRoom(this.#room, text, this.#session);
  }

  /** Answers a line that starts with one `/`. */
  async #command(line: string): Promise<void> {
    const space = line.indexOf(' ');
    const command = space === -1 ? line : line.slice(0, space);
    const argument = space === -1 ? '' : skipSpaces(line, space);
    switch (command.toLowerCase()) {
      case '/help':
        for (const text of ChatText.help()) this.#reply(text);
        return;
      case '/nick':
        return this.#rename(trimSpaces(argument));
      case '/who':
        return this.#who();
      case '/rooms':
        return this.#rooms();
      case '/join':
        return this.#join(trimSpaces(argument));
      case '/msg':
        return this.#msg(argument);
      case '/me':
        return this.#me(argument);
      case '/quit':
        return this.#quit(trimSpaces(argument));
      default:
        this.#reply(ChatText.unknownCommand(command));
    }
  }

  async #rename(nick: string): Promise<void> {
    if (nick === '') return this.#reply(ChatText.usage(ChatText.Usage.nick));
    if (!isValidNickname(nick)) return this.#reply(ChatText.invalidNickname(nick));
    const result = await this.hub.rename(this.#session!, nick);
    if (!result.ok) return this.#reply(ChatText.nicknameTaken(nick));
    this.#nick = result.nick;
    this.#reply(ChatText.youAreNow(result.nick));
  }

  async #who(): Promise<void> {
    const members = await this.hub.who(this.#room);
    this.#reply(ChatText.online(this.#room, members.sort(compareNames)));
  }

  async #rooms(): Promise<void> {
    const list = (await this.hub.rooms()).filter(({ members }) => members > 0);
    list.sort((a, b) => compareNames(a.room, b.room));
    this.#reply(ChatText.rooms(list));
  }

  async #join(room: string): Promise<void> {
    if (room === '') return this.#reply(ChatText.usage(ChatText.Usage.join));
    if (!isValidRoom(room)) return this.#reply(ChatText.invalidRoom(room));
    const outbox = this.#outbox!;
    // Lines of the new room must not reach the client before `-- you joined`.
    outbox.hold();
    try {
      const result = await this.hub.join(this.#session!, room);
      this.#room = result.room;
      this.#reply(ChatText.youJoined(result.room));
      this.#reply(ChatText.online(result.room, result.members.sort(compareNames)));
    } finally {
      outbox.release();
    }
  }

  async #msg(argument: string): Promise<void> {
    const space = argument.indexOf(' ');
    const nick = space === -1 ? argument : argument.slice(0, space);
    const text = space === -1 ? '' : skipSpaces(argument, space);
    if (nick === '' || text === '') return this.#reply(ChatText.usage(ChatText.Usage.msg));
    const recipient = isValidNickname(nick)
      ? await this.hub.sendToUser(nick, ChatText.privateFrom(this.#nick, text))
      : null;
    if (recipient === null) return this.#reply(ChatText.noSuchUser(nick));
    this.#reply(ChatText.privateTo(recipient, text));
  }

  async #me(text: string): Promise<void> {
    if (text === '') return this.#reply(ChatText.usage(ChatText.Usage.me));
    await this.hub.sendToRoom(this.#room, ChatText.action(this.#nick, text), this.#session);
  }

  #quit(reason: string): void {
    this.#reply(ChatText.BYE);
    this.#stop(reason === '' ? ChatText.Reasons.quit : reason, false);
  }
}

/** A subclass of `Base` whose `options` are `options` merged over `Base.options`. */
function configure(Base: typeof ChatHandler, options: ChatHandlerOptions): typeof ChatHandler {
  const merged: Readonly<ChatHandlerOptions> = Object.freeze({
    ...Base.options,
    ...validateChatHandlerOptions(options),
  });
  class ConfiguredChatHandler extends Base {
    static override readonly options: Readonly<ChatHandlerOptions> = merged;
  }
  Object.defineProperty(ConfiguredChatHandler, 'name', { value: Base.name });
  return ConfiguredChatHandler;
}

/** Closes `socket` at once with a TCP RST, or destroys it when it is no plain TCP socket (Unix, TLS). */
function resetConnection(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    // Not a TCP handle (ERR_INVALID_HANDLE_TYPE): destroying drops the queued output just the same.
    socket.destroy();
  }
}

/** The text after the spaces that follow position `from` (which holds a space). */
function skipSpaces(text: string, from: number): string {
  let start = from;
  while (text.charCodeAt(start) === SPACE) start++;
  return text.slice(start);
}

/** `text` without leading and trailing spaces (only U+0020: arguments are separated by spaces). */
function trimSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === SPACE) start++;
  while (end > start && text.charCodeAt(end - 1) === SPACE) end--;
  return text.slice(start, end);
}

/** Validates the options of `ChatHandler.with()` once and returns a copy of them. */
function validateChatHandlerOptions(options: ChatHandlerOptions): ChatHandlerOptions {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  const checked: ChatHandlerOptions = {};
  const { hub, maxLineBytes, maxPendingBytes, timeout } = options;
  if (hub !== undefined) {
    const methods = [
      'connect',
      'rename',
      'join',
      'who',
      'rooms',
      'sendToRoom',
      'sendToUser',
      'disconnect',
      'close',
    ];
    if (
      typeof hub !== 'object' ||
      hub === null ||
      methods.some((name) => typeof (hub as any)[name] !== 'function')
    ) {
      throw invalidType('hub', `a ChatHub (an object with ${methods.join(', ')})`, hub);
    }
    checked.hub = hub;
  }
  if (maxLineBytes !== undefined) checked.maxLineBytes = validateInteger(maxLineBytes, 'maxLineBytes', 1);
  if (maxPendingBytes !== undefined) {
    checked.maxPendingBytes = validateInteger(maxPendingBytes, 'maxPendingBytes', 1);
  }
  if (timeout !== undefined) checked.timeout = validateSeconds(timeout, 'timeout');
  return checked;
}
