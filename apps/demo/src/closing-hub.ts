/**
 * `ClosingHub`: a `ChatHub` wrapper that can end every session with a last notice, for a graceful
 * shutdown (`-- server shutting down`). It forwards every call to the hub it wraps; it only keeps
 * the sinks of the sessions it connected, so it can reach each one at the end.
 *
 * (This belongs in `@sockserve/handlers` once the hubs have a `close(notice)` of their own; until
 * then the demo wraps the hub it gives to `ChatHandler.with({ hub })`.)
 */
import type {
  ChatHub,
  ChatJoinResult,
  ChatRenameResult,
  ChatRoomSummary,
  ChatSessionId,
  ChatSink,
  ChatWelcome,
} from '@sockserve/handlers';

interface Entry {
  readonly sink: ChatSink;
  /** False once the session got the closing notice: later deliveries (`-- x left …`) are dropped. */
  open: boolean;
}

export class ClosingHub implements ChatHub {
  readonly #hub: ChatHub;
  readonly #sessions = new Map<ChatSessionId, Entry>();
  #notice: string | undefined;

  constructor(hub: ChatHub) {
    this.#hub = hub;
  }

  /** Sessions connected now. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Sends `-- NOTICE` to every session, then asks each handler to end its session with `NOTICE` as
   * the reason (its connection is flushed and closed). Sessions that connect later get the same.
   * Returns how many sessions were told.
   */
  closeAll(notice: string): number {
    this.#notice = notice;
    for (const entry of this.#sessions.values()) this.#end(entry, notice);
    return this.#sessions.size;
  }

  async connect(sink: ChatSink): Promise<ChatWelcome> {
    const entry: Entry = { sink, open: true };
    const welcome = await this.#hub.connect({
      deliver: (line) => {
        if (entry.open) sink.deliver(line);
      },
      close: (reason) => sink.close(reason),
    });
    this.#sessions.set(welcome.session, entry);
    const notice = this.#notice;
    // Too late to chat: end it once the handler has written its welcome line.
    if (notice !== undefined) setImmediate(() => this.#end(entry, notice));
    return welcome;
  }

  rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    return this.#hub.rename(session, nick);
  }

  join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    return this.#hub.join(session, room);
  }

  who(room: string): Promise<string[]> {
    return this.#hub.who(room);
  }

  rooms(): Promise<ChatRoomSummary[]> {
    return this.#hub.rooms();
  }

  sendToRoom(room: string, line: string, exceptSession?: ChatSessionId | null): Promise<void> {
    return this.#hub.sendToRoom(room, line, exceptSession);
  }

  sendToUser(nick: string, line: string): Promise<string | null> {
    return this.#hub.sendToUser(nick, line);
  }

  disconnect(session: ChatSessionId, reason: string): Promise<void> {
    this.#sessions.delete(session);
    return this.#hub.disconnect(session, reason);
  }

  #end(entry: Entry, notice: string): void {
    if (!entry.open) return;
    entry.sink.deliver(`-- ${notice}`);
    entry.open = false;
    entry.sink.close(notice);
  }
}
