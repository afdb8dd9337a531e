/**
 * `ChatHub`: the state the chat handlers of a server share — who is connected, which nickname belongs
 * to whom, who is in which room — and the delivery of lines to a session or a room.
 *
 * The handler never knows which hub it has. `MemoryHub` keeps everything in one process (sync and
 * threading servers); a process hub lets the children of a forking server share one broker in the
 * parent; `RedisHub` (`@sockserve/redis`) spans several nodes. So that all of them fit:
 *
 * - every method is async (a remote hub answers over IPC or the network);
 * - arguments and results are strings, numbers, `null` and plain objects/arrays (they cross process
 *   boundaries as JSON); only the sink given to `connect()` stays in the handler's process;
 * - a method that changes shared state does it atomically, and sends the notices the other sessions
 *   must see itself (with `ChatText`), so that they match the state change exactly;
 * - the sender's own replies (`-- you are now …`, `-- you joined …`) are the handler's business:
 *   methods return what it needs to write them.
 */

/** A session's identity in a hub: opaque, unique among the hub's sessions. */
export type ChatSessionId = string;

/**
 * Where a hub delivers to one session. The handler registers one with `connect()`; the hub calls it
 * in the handler's process (a remote hub forwards its deliveries to the sink of the right session).
 */
export interface ChatSink {
  /**
   * Queues server lines for the client: `text` is one line, or several joined by LF, without a final
   * LF (the handler adds it). Must not throw and must not block.
   */
  deliver(text: string): void;
  /**
   * Ends the session from the hub's side (for instance, the hub is shutting down or lost its
   * connection): the handler closes the client connection and then calls `disconnect(session,
   * reason)`, which the hub must accept even when it already forgot the session.
   */
  close(reason: string): void;
}

/** What `connect()` gives a new session. */
export interface ChatWelcome {
  /** The new session's id. */
  session: ChatSessionId;
  /** Its nickname: the first free `guestN`. */
  nick: string;
  /** Its room: `#lobby`. */
  room: string;
}

/** What `rename()` answers. */
export type ChatRenameResult =
  /** The session now owns `nick`; `previous` is the nickname it released. */
  | {
      /** The rename was done. */
      ok: true;
      /** The session's nickname now. */
      nick: string;
      /** The nickname the session released. */
      previous: string;
    }
  /** Another session owns the nickname (compared with `nameKey()`: NFKC and case folding). */
  | {
      /** The rename was refused. */
      ok: false;
      /** Why: another session owns the nickname. */
      reason: 'taken';
    };

/** What `join()` answers. */
export interface ChatJoinResult {
  /** The room as it is named (when it existed, the spelling of its first member; else as asked). */
  room: string;
  /** The room the session left, or `null` when it was already in that room (nothing was announced). */
  previous: string | null;
  /** The nicknames in the room now, the joiner included, in any order. */
  members: string[];
}

/** One line of `/rooms`. */
export interface ChatRoomSummary {
  /** The room's name, with its `#`, as its first member spelled it. */
  room: string;
  /** Members, at least 1 (empty rooms are not listed). */
  members: number;
}

/**
 * The state shared by every chat session of a server (or of many servers). Names follow
 * `chat-names.ts`: nicknames and rooms are compared with `nameKey()` (NFKC, then case folding).
 */
export interface ChatHub {
  /**
   * Registers a session that delivers to `sink`: gives it the first free nickname `guestN`
   * (N = 1, 2, …, claimed atomically), puts it in `#lobby` and sends `-- guestN joined #lobby` to
   * the other members there.
   */
  connect(sink: ChatSink): Promise<ChatWelcome>;

  /**
   * Claims `nick` (already validated by the handler) for the session, atomically: it fails when
   * another session owns it (by `nameKey()`: NFKC and case folding). On success it releases the old nickname and sends
   * `-- OLD is now known as NEW` to the other members of the session's room. Renaming to the very
   * same nickname succeeds and announces nothing; a change of case (`bob` → `Bob`) is a rename.
   */
  rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult>;

  /**
   * Moves the session to `room` (already validated): the old room's other members receive
   * `-- NICK left #old (joined #room)`, the new room's other members `-- NICK joined #room`.
   * Joining the room one is in changes nothing and announces nothing.
   */
  join(session: ChatSessionId, room: string): Promise<ChatJoinResult>;

  /** The nicknames in `room` (compared with `nameKey`), in any order; empty when nobody is there. */
  who(room: string): Promise<string[]>;

  /** Every room with at least one member, in any order. */
  rooms(): Promise<ChatRoomSummary[]>;

  /**
   * Delivers `text` to every member of `room` except `exceptSession` (when given), in one `deliver`
   * each. `text` is one line or several joined by LF (the handler sends a chunk's room messages at
   * once), without a final LF.
   */
  sendToRoom(room: string, text: string, exceptSession?: ChatSessionId | null): Promise<void>;

  /** Delivers `text` (as for `sendToRoom`) to the session whose nickname is `nick`; resolves with that nickname, or `null` when nobody has it. */
  sendToUser(nick: string, text: string): Promise<string | null>;

  /**
   * Forgets the session (its nickname becomes free, it leaves its room) and sends
   * `-- NICK left #room (reason)` to the other members of its room. Safe to call twice, and for a
   * session the hub no longer knows.
   */
  disconnect(session: ChatSessionId, reason: string): Promise<void>;

  /**
   * Ends every session, for a graceful shutdown: each one is delivered `notice` (one line, e.g.
   * `ChatText.SHUTTING_DOWN`, `-- server shutting down`; nothing when omitted) as its last line, and
   * then its sink is closed with reason `connection closed`. Nothing else is delivered to a session
   * once it got the notice (so nobody hears the others leave), and a session that connects later is
   * welcomed, given the notice and closed at once. Resolves once every session has been told; it does
   * not wait for them to end (the server's `serverClose()` does). Safe to call twice.
   */
  close(notice?: string): Promise<void>;
}
