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
  readonly quit: 'quit';
  readonly connectionClosed: 'connection closed';
  readonly timedOut: 'timed out';
  readonly tooSlow: 'too slow';
} = Object.freeze({
  quit: 'quit',
  connectionClosed: 'connection closed',
  timedOut: 'timed out',
  tooSlow: 'too slow',
});

/** Usage of each command that takes an argument, as `! usage: …` shows it. */
export const Usage: {
  readonly nick: '/nick NAME';
  readonly join: '/join #room';
  readonly msg: '/msg NICK TEXT';
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

export function unknownCommand(command: string): string {
  return `! unknown command: ${command} (try /help)`;
}

/** `usage` is one of `Usage`. */
export function usage(usage: string): string {
  return `! usage: ${usage}`;
}

export function nicknameTaken(nick: string): string {
  return `! nickname taken: ${nick}`;
}

export function invalidNickname(nick: string): string {
  return `! invalid nickname: ${nick}`;
}

export function invalidRoom(room: string): string {
  return `! invalid room: ${room}`;
}

export function noSuchUser(nick: string): string {
  return `! no such user: ${nick}`;
}

export function lineTooLong(maxLineBytes: number): string {
  return `! line too long (max ${maxLineBytes} bytes)`;
}

/** To the sender of a line that needed the hub while it is unreachable (e.g. Redis is restarting). */
export const UNAVAILABLE = '! chat is temporarily unavailable';
