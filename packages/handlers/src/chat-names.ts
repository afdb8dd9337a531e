/**
 * Nicknames and room names of the chat protocol: what is valid, when two names are the same, and how
 * lists of names are sorted. Every hub uses these so that all nodes agree.
 */

/** 1 to 32 letters, decimal digits, `_` or `-`; not starting with `-`. */
const NICKNAME = /^[\p{L}\p{Nd}_][\p{L}\p{Nd}_-]{0,31}$/u;
/** `#` and 1 to 32 letters, decimal digits, `_` or `-`. */
const ROOM = /^#[\p{L}\p{Nd}_-]{1,32}$/u;

/** The room every client starts in. */
export const LOBBY = '#lobby';

/**
 * True for a valid nickname: 1 to 32 characters, each a Unicode letter or decimal digit, `_` or `-`,
 * not starting with `-` (so `李雷` and `guest7` are valid).
 */
export function isValidNickname(name: string): boolean {
  return NICKNAME.test(name);
}

/** True for a valid room name: `#` followed by 1 to 32 characters allowed in nicknames (`-` may lead). */
export function isValidRoom(name: string): boolean {
  return ROOM.test(name);
}

/**
 * The identity of a nickname or room name: two names with the same key are the same name
 * (case-insensitive: `Bob`, `BOB` and `bob` are one nickname, `#Dev` and `#dev` one room).
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Orders names case-insensitively (then by code unit, so the order never depends on the locale). */
export function compareNames(a: string, b: string): number {
  const ka = nameKey(a);
  const kb = nameKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `guestN` for N = 1, 2, …: the nicknames given on connect. */
export function guestName(n: number): string {
  return `guest${n}`;
}

/** N when `key` (a `nameKey`) is a `guestN` name, else undefined. */
export function guestNumber(key: string): number | undefined {
  const match = /^guest([1-9][0-9]*)$/.exec(key);
  return match === null ? undefined : Number(match[1]);
}
