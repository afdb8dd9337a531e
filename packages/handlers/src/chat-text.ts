/**
 * Every line the chat server sends, in one place, exactly as `chat-protocol.md` (version 1.1) writes it.
 * Lines are returned without their LF; whoever writes them to a socket adds one.
 *
 * Text that came from a client (messages, actions, private messages, `/quit` reasons, and the names
 * and commands quoted back in errors) goes through `clean()` here, so no line can carry terminal
 * control, whichever hub or process formats it.
 *
 * Hubs use these too (the join, rename and leave notices they send to a room), so a hub in another
 * package (Redis) or process speaks the protocol to the letter by importing `ChatText`.
 */

/** The prefixes every server line starts with: notice, error, room message, action, private message. */
export const PREFIXES: readonly string[] = Object.freeze(['-- ', '! ', '<', '* ', '[']);

/** The reasons of `-- nick left #room (reason)` that the server itself gives (`/quit REASON` gives its own). */
export const Reasons: {
  /** The client sent `/quit` without a reason. */
  readonly quit: 'quit';
  /** The client closed or reset its connection. */
  readonly connectionClosed: 'connection closed';
  /** The connection timed out (the handler's `timeout`, in seconds). */
  readonly timedOut: 'timed out';
  /** The client did not read its output fast enough (its outbox overflowed). */
  readonly tooSlow: 'too slow';
} = Object.freeze({
  quit: 'quit',
  connectionClosed: 'connection closed',
  timedOut: 'timed out',
  tooSlow: 'too slow',
});

/** Usage of each command that takes an argument, as `! usage: …` shows it. */
export const Usage: {
  /** Usage of `/nick`. */
  readonly nick: '/nick NAME';
  /** Usage of `/join`. */
  readonly join: '/join #room';
  /** Usage of `/msg`. */
  readonly msg: '/msg NICK TEXT';
  /** Usage of `/me`. */
  readonly me: '/me TEXT';
} = Object.freeze({
  nick: '/nick NAME',
  join: '/join #room',
  msg: '/msg NICK TEXT',
  me: '/me TEXT',
});

const HELP: readonly string[] = Object.freeze([
  '-- commands: (a line starting with // is a message starting with /)',
  '-- /help             show this list',
  '-- /nick NAME        change your nickname',
  '-- /who              list the members of your room',
  '-- /rooms            list the rooms that have members',
  '-- /join #room       move to another room',
  '-- /msg NICK TEXT    send a private message',
  '-- /me TEXT          send an action to your room',
  '-- /quit [REASON]    leave the chat',
]);

// ---- text from clients ----------------------------------------------------------------------------

/**
 * The characters that control a terminal and never leave the server in client text: C0 controls but
 * TAB, DEL, C1 controls, the bidirectional marks, embeddings, overrides and isolates (U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, without the g flag (for test()).
const HAS_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
/** U+FFFD REPLACEMENT CHARACTER, which stands for each character `clean()` takes out. */
export const REPLACEMENT = '\ufffd';

/**
 * `text` with every character that could control the reader's terminal replaced by U+FFFD, as
 * `chat-protocol.md` 1.1 requires of relayed text: C0 controls except TAB, DEL, C1 controls, the
 * bidirectional marks and overrides, and U+2028/U+2029. So `\x1b[2K\r-- server shutting down` in a
 * message arrives as `\ufffd[2K\ufffd-- server shutting down`, after the sender's `<nick> `.
 */
export function clean(text: string): string {
  return HAS_CONTROL.test(text) ? text.replace(CONTROL, REPLACEMENT) : text;
}

// ---- notices (`-- `) ---------------------------------------------------------------------------

/** The first line a client receives. */
export function welcome(nick: string, room: string): string {
  return `-- welcome, you are ${nick} in ${room} (type /help for commands)`;
}

/** To the room: someone arrived. */
export function joined(nick: string, room: string): string {
  return `-- ${nick} joined ${room}`;
}

/** To the room: someone left, with the reason (`quit`, the `/quit` argument, `joined #other`, …). */
export function left(nick: string, room: string, reason: string): string {
  return `-- ${nick} left ${room} (${clean(reason)})`;
}

/** The reason of the notice the old room gets when someone uses `/join`. */
export function joinedReason(room: string): string {
  return `joined ${room}`;
}

/** To the room: someone changed their nickname. */
export function renamed(previous: string, nick: string): string {
  return `-- ${previous} is now known as ${nick}`;
}

/** To the sender of `/nick`. */
export function youAreNow(nick: string): string {
  return `-- you are now ${nick}`;
}

/** To the sender of `/join`, before the `/who` line of the room. */
export function youJoined(room: string): string {
  return `-- you joined ${room}`;
}

/** The `/who` line; `nicks` must already be sorted (see `compareNames`). */
export function online(room: string, nicks: readonly string[]): string {
  return `-- online in ${room}: ${nicks.join(', ')}`;
}

/** The `/rooms` line; `rooms` must already be sorted and non-empty rooms only. */
export function rooms(list: readonly { readonly room: string; readonly members: number }[]): string {
  return `-- rooms: ${list.map(({ room, members }) => `${room} (${members})`).join(', ')}`;
}

/** The reply to `/help`: `-- commands:`, then one line per command. */
export function help(): readonly string[] {
  return HELP;
}

/** The reply to `/quit`, just before the server closes the connection. */
export const BYE = '-- bye';

/** The last line every session gets when the server shuts down gracefully (`hub.close(SHUTTING_DOWN)`). */
export const SHUTTING_DOWN = '-- server shutting down';

// ---- room messages, actions, private messages ----------------------------------------------------

/** A room message, to every other member. */
export function message(nick: string, text: string): string {
  return `<${nick}> ${clean(text)}`;
}

/** A `/me` action, to every other member. */
export function action(nick: string, text: string): string {
  return `* ${nick} ${clean(text)}`;
}

/** A private message as its recipient sees it. */
export function privateFrom(sender: string, text: string): string {
  return `[${sender} -> you] ${clean(text)}`;
}

/** A private message as its sender sees it. */
export function privateTo(recipient: string, text: string): string {
  return `[you -> ${recipient}] ${clean(text)}`;
}

// ---- errors (`! `), to the sender only --------------------------------------------------------------

/** `! unknown command: CMD (try /help)`: a `/command` the server does not know. */
export function unknownCommand(command: string): string {
  return `! unknown command: ${clean(command)} (try /help)`;
}

/** `usage` is one of `Usage`. */
export function usage(usage: string): string {
  return `! usage: ${usage}`;
}

/** `! nickname taken: NICK`: another session owns it (compared case-insensitively). */
export function nicknameTaken(nick: string): string {
  return `! nickname taken: ${clean(nick)}`;
}

/** `! invalid nickname: NICK`: not 1 to 32 letters, digits, `_` or `-` (not starting with `-`). */
export function invalidNickname(nick: string): string {
  return `! invalid nickname: ${clean(nick)}`;
}

/** `! invalid room: ROOM`: not `#` and 1 to 32 letters, digits, `_` or `-`. */
export function invalidRoom(room: string): string {
  return `! invalid room: ${clean(room)}`;
}

/** `! no such user: NICK`: `/msg` to a nickname nobody has. */
export function noSuchUser(nick: string): string {
  return `! no such user: ${clean(nick)}`;
}

/** `! line too long (max N bytes)`: a line over the handler's `maxLineBytes` was discarded. */
export function lineTooLong(maxLineBytes: number): string {
  return `! line too long (max ${maxLineBytes} bytes)`;
}

/** To the sender of a line that needed the hub while it is unreachable (e.g. Redis is restarting). */
export const UNAVAILABLE = '! chat is temporarily unavailable';
