/**
 * Every line the chat server sends, in one place, exactly as `chat-protocol.md` (version 1) writes it.
 * Lines are returned without their LF; whoever writes them to a socket adds one.
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
  return `-- ${nick} left ${room} (${reason})`;
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
  return `<${nick}> ${text}`;
}

/** A `/me` action, to every other member. */
export function action(nick: string, text: string): string {
  return `* ${nick} ${text}`;
}

/** A private message as its recipient sees it. */
export function privateFrom(sender: string, text: string): string {
  return `[${sender} -> you] ${text}`;
}

/** A private message as its sender sees it. */
export function privateTo(recipient: string, text: string): string {
  return `[you -> ${recipient}] ${text}`;
}

// ---- errors (`! `), to the sender only --------------------------------------------------------------

/** `! unknown command: CMD (try /help)`: a `/command` the server does not know. */
export function unknownCommand(command: string): string {
  return `! unknown command: ${command} (try /help)`;
}

/** `usage` is one of `Usage`. */
export function usage(usage: string): string {
  return `! usage: ${usage}`;
}

/** `! nickname taken: NICK`: another session owns it (compared case-insensitively). */
export function nicknameTaken(nick: string): string {
  return `! nickname taken: ${nick}`;
}

/** `! invalid nickname: NICK`: not 1 to 32 letters, digits, `_` or `-` (not starting with `-`). */
export function invalidNickname(nick: string): string {
  return `! invalid nickname: ${nick}`;
}

/** `! invalid room: ROOM`: not `#` and 1 to 32 letters, digits, `_` or `-`. */
export function invalidRoom(room: string): string {
  return `! invalid room: ${room}`;
}

/** `! no such user: NICK`: `/msg` to a nickname nobody has. */
export function noSuchUser(nick: string): string {
  return `! no such user: ${nick}`;
}

/** `! line too long (max N bytes)`: a line over the handler's `maxLineBytes` was discarded. */
export function lineTooLong(maxLineBytes: number): string {
  return `! line too long (max ${maxLineBytes} bytes)`;
}
