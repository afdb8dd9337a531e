/**
 * `MemoryHub`: the chat hub of one process (sync and threading servers). Its public API is exactly
 * `ChatHub`, so a process hub can run one as the broker in a forking server's parent and forward
 * each call of its children to it.
 */
import type {
  ChatHub,
  ChatJoinResult,
  ChatRenameResult,
  ChatRoomSummary,
  ChatSessionId,
  ChatSink,
  ChatWelcome,
} from './chat-hub.js';
import { guestName, guestNumber, LOBBY, nameKey } from './chat-names.js';
import * as ChatText from './chat-text.js';

interface Session {
  readonly id: ChatSessionId;
  readonly sink: ChatSink;
  nick: string;
  room: Room;
  /** Got the closing notice of `close()`: nothing more is delivered to it. */
  ended: boolean;
}

interface Room {
  /** The room's name as its first member spelled it. */
  readonly name: string;
  readonly members: Set<Session>;
}

/**
 * Keeps sessions, nicknames and rooms in memory and delivers lines by calling the sessions' sinks
 * synchronously. Every method does its work in one synchronous step (it is async only to fit
 * `ChatHub`), so each change is atomic with the notices it sends.
 *
 * A sink that throws is skipped: one broken session never stops a delivery to the others.
 * `close(notice)` ends every session (and every later one) with a last line.
 *
 * ```ts
 * const hub = new MemoryHub();
 * const server = new ThreadingTCPServer({ port: 7000 }, ChatHandler.with({ hub }));
 * ```
 */
export class MemoryHub implements ChatHub {
  readonly #sessions = new Map<ChatSessionId, Session>();
  /** nameKey(nick) → session. */
  readonly #nicks = new Map<string, Session>();
  /** nameKey(room) → room with at least one member. */
  readonly #rooms = new Map<string, Room>();
  #nextSession = 1;
  /** Every guestN below this is taken (a hint: the search for a free one starts here). */
  #guestFloor = 1;
  /** Set by `close()`: the last line of every session (`null`: closed without a notice). */
  #closing: string | null | undefined;

  async connect(sink: ChatSink): Promise<ChatWelcome> {
    if (typeof sink !== 'object' || sink === null || typeof sink.deliver !== 'function') {
      throw new TypeError('connect(sink): sink must have deliver(text) and close(reason)');
    }
    let n = this.#guestFloor;
    while (this.#nicks.has(guestName(n))) n++;
    this.#guestFloor = n + 1;
    const nick = guestName(n);
    const id = `s${this.#nextSession++}`;
    const room = this.#room(LOBBY);
    const session: Session = { id, sink, nick, room, ended: false };
    this.#sessions.set(id, session);
    this.#nicks.set(nameKey(nick), session);
    this.#broadcast(room, ChatText.joined(nick, room.name), session);
    room.members.add(session);
    // Too late to chat: the handler writes its welcome first (it holds deliveries until then).
    if (this.#closing !== undefined) end(session, this.#closing);
    return { session: id, nick, room: room.name };
  }

  async rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    const current = this.#session(session);
    const key = nameKey(nick);
    const owner = this.#nicks.get(key);
    if (owner !== undefined && owner !== current) return { ok: false, reason: 'taken' };
    const previous = current.nick;
    if (previous !== nick) {
      this.#release(current);
      current.nick = nick;
      this.#nicks.set(key, current);
      this.#broadcast(current.room, ChatText.renamed(previous, nick), current);
    }
    return { ok: true, nick, previous };
  }

  async join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    const current = this.#session(session);
    const from = current.room;
    if (nameKey(room) === nameKey(from.name)) {
      return { room: from.name, previous: null, members: this.#members(from) };
    }
    const to = this.#room(room);
    this.#leave(current, ChatText.joinedReason(to.name));
    this.#broadcast(to, ChatText.joined(current.nick, to.name), current);
    to.members.add(current);
    current.room = to;
    return { room: to.name, previous: from.name, members: this.#members(to) };
  }

  async who(room: string): Promise<string[]> {
    const found = this.#rooms.get(nameKey(room));
    return found === undefined ? [] : this.#members(found);
  }

  async rooms(): Promise<ChatRoomSummary[]> {
    const list: ChatRoomSummary[] = [];
    for (const room of this.#rooms.values()) list.push({ room: room.name, members: room.members.size });
    return list;
  }

  async sendToRoom(room: string, text: string, exceptSession?: ChatSessionId | null): Promise<void> {
    const found = this.#rooms.get(nameKey(room));
    if (found !== undefined) {
      const except = exceptSession == null ? undefined : this.#sessions.get(exceptSession);
      this.#broadcast(found, text, except);
    }
  }

  async sendToUser(nick: string, text: string): Promise<string | null> {
    const session = this.#nicks.get(nameKey(nick));
    if (session === undefined) return null;
    deliver(session, text);
    return session.nick;
  }

  async disconnect(session: ChatSessionId, reason: string): Promise<void> {
    const current = this.#sessions.get(session);
    if (current !== undefined) {
      this.#sessions.delete(session);
      this.#release(current);
      this.#leave(current, reason);
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

  #session(id: ChatSessionId): Session {
    const session = this.#sessions.get(id);
    if (session === undefined) throw new Error(`unknown chat session: ${id}`);
    return session;
  }

  /** The room named `name`, created (empty) when nobody is in it. */
  #room(name: string): Room {
    const key = nameKey(name);
    let room = this.#rooms.get(key);
    if (room === undefined) {
      room = { name, members: new Set() };
      this.#rooms.set(key, room);
    }
    return room;
  }

  /** Takes the session out of its room, telling the others why; an empty room disappears. */
  #leave(session: Session, reason: string): void {
    const room = session.room;
    room.members.delete(session);
    if (room.members.size === 0) this.#rooms.delete(nameKey(room.name));
    else this.#broadcast(room, ChatText.left(session.nick, room.name, reason));
  }

  /** Frees the session's nickname. */
  #release(session: Session): void {
    const key = nameKey(session.nick);
    if (this.#nicks.get(key) !== session) return;
    this.#nicks.delete(key);
    const n = guestNumber(key);
    if (n !== undefined && n < this.#guestFloor) this.#guestFloor = n;
  }

  #members(room: Room): string[] {
    const nicks: string[] = [];
    for (const member of room.members) nicks.push(member.nick);
    return nicks;
  }

  #broadcast(room: Room, text: string, except?: Session): void {
    for (const member of room.members) if (member !== except) deliver(member, text);
  }
}

function deliver(session: Session, text: string): void {
  if (session.ended) return;
  try {
    session.sink.deliver(text);
  } catch {
    // A broken sink is that session's problem; the others still get the line.
  }
}

/** Gives the session its last line (when there is one) and asks its handler to end it. */
function end(session: Session, notice: string | null): void {
  if (session.ended) return;
  if (notice !== null) deliver(session, notice);
  session.ended = true;
  try {
    session.sink.close(ChatText.Reasons.connectionClosed);
  } catch {
    // As for deliver: one broken sink does not stop the others.
  }
}
