/**
 * The conformance suite of the chat protocol (`chat-protocol.md`, version 1.1): one table of scripted
 * sessions, run against any server through a `ChatServerFactory`, so that the same lines are checked,
 * letter for letter, for every server mode (threading, and forking with clients spread over children).
 *
 * The expected lines are written out literally here, never built with `ChatText`, so that a typo in
 * the implementation's texts cannot hide.
 */
import type { InetAddress, UnixAddress } from '@sockserve/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ChatHandlerOptions } from '../src/index.js';
import { LineClient, pause } from './helpers.js';

/** A running chat server, as the suite sees it. */
export interface RunningChatServer {
  readonly address: InetAddress | UnixAddress;
  /** Stops the server (connections still open are closed). */
  close(): Promise<void>;
}

/**
 * Gives each case a chat server whose hub holds nobody: a fresh one, or (for servers that are slow to
 * start, like a forking server's children) one kept for the suite, whose `close()` waits until every
 * session of the case has left.
 */
export interface ChatServerFactory {
  readonly name: string;
  start(options: ChatHandlerOptions): Promise<RunningChatServer>;
  /** After the last case: stops the servers kept for the suite (and checks what it must about them). */
  dispose?(): Promise<void>;
}

/**
 * One step of a script, for the client named first:
 * - `connect`: opens a connection and expects `expect` (by default the welcome of the next guestN);
 * - `>`: sends the text and an LF; `send`: sends the bytes or pieces as they are (pieces separately);
 * - `<`: expects exactly these next lines; `<~`: the next line matches the pattern;
 * - `quiet`: nothing was sent to it since its last expected line (checked with a barrier command);
 * - `closed`: the server closes the connection, with no line left unread;
 * - `end`: half-closes; `reset`: aborts the connection;
 * - `wait`: pauses the script for that many milliseconds (pacing, never a timing assertion).
 */
export type Step =
  | readonly [client: string, 'connect', expect?: string]
  | readonly [client: string, '>', text: string]
  | readonly [client: string, 'send', data: string | Buffer | readonly (string | Buffer)[]]
  | readonly [client: string, '<', ...lines: string[]]
  | readonly [client: string, '<~', pattern: RegExp]
  | readonly [client: string, 'quiet' | 'closed' | 'end' | 'reset']
  | readonly [client: string, 'wait', ms: number];

export interface ChatCase {
  readonly name: string;
  readonly options?: ChatHandlerOptions;
  readonly steps: readonly Step[];
}

/** What no server line may carry (1.1): C0 but TAB, DEL, C1, bidi marks/overrides/isolates, U+2028/9. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what the test looks for.
const TERMINAL_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** A command that changes nothing and is answered in order: what came before its reply came before it. */
const BARRIER = '/sync';
const BARRIER_REPLY = '! unknown command: /sync (try /help)';

const welcome = (n: number): string => `-- welcome, you are guest${n} in #lobby (type /help for commands)`;

/**
 * Steps that connect `names.length` clients (named by their nicknames) in order and rename each
 * from guestN to its name, with every notice the earlier clients receive. Each rename frees its
 * guestN, so (unless a name is itself a guestN) every client is guest1 at first.
 */
export function users(...names: string[]): Step[] {
  const steps: Step[] = [];
  const taken = new Set<string>();
  names.forEach((name, i) => {
    let n = 1;
    while (taken.has(`guest${n}`)) n++;
    const guest = `guest${n}`;
    taken.add(name.toLowerCase());
    steps.push([name, 'connect', welcome(n)]);
    for (const earlier of names.slice(0, i)) steps.push([earlier, '<', `-- ${guest} joined #lobby`]);
    steps.push([name, '>', `/nick ${name}`], [name, '<', `-- you are now ${name}`]);
    for (const earlier of names.slice(0, i))
      steps.push([earlier, '<', `-- ${guest} is now known as ${name}`]);
  });
  return steps;
}

export const CASES: readonly ChatCase[] = [
  // ---- session --------------------------------------------------------------------------------
  {
    name: 'gives the first client guest1 in #lobby and tells it exactly the welcome line',
    steps: [
      ['a', 'connect', welcome(1)],
      ['a', 'quiet'],
    ],
  },
  {
    name: 'tells the others in #lobby that a new guestN joined',
    steps: [
      ['a', 'connect', welcome(1)],
      ['b', 'connect', welcome(2)],
      ['a', '<', '-- guest2 joined #lobby'],
      ['c', 'connect', welcome(3)],
      ['a', '<', '-- guest3 joined #lobby'],
      ['b', '<', '-- guest3 joined #lobby'],
      ['c', 'quiet'],
    ],
  },
  {
    name: 'gives the first free guestN: names freed by leaving or renaming are reused',
    steps: [
      ['a', 'connect', welcome(1)],
      ['b', 'connect', welcome(2)],
      ['a', '<', '-- guest2 joined #lobby'],
      ['c', 'connect', welcome(3)],
      ['a', '<', '-- guest3 joined #lobby'],
      ['b', '<', '-- guest3 joined #lobby'],
      ['b', 'end'],
      ['b', 'closed'],
      ['a', '<', '-- guest2 left #lobby (connection closed)'],
      ['c', '<', '-- guest2 left #lobby (connection closed)'],
      ['a', '>', '/nick alice'],
      ['a', '<', '-- you are now alice'],
      ['c', '<', '-- guest1 is now known as alice'],
      ['d', 'connect', welcome(1)],
      ['a', '<', '-- guest1 joined #lobby'],
      ['c', '<', '-- guest1 joined #lobby'],
      ['e', 'connect', welcome(2)],
    ],
  },
  {
    name: 'sends a line without a leading / to every other member of the room, not back to the sender',
    steps: [
      ...users('alice', 'bob', 'carol'),
      ['alice', '>', 'hello everyone'],
      ['bob', '<', '<alice> hello everyone'],
      ['carol', '<', '<alice> hello everyone'],
      ['alice', 'quiet'],
    ],
  },
  {
    name: 'sends a line starting with // as a message starting with / (one slash dropped)',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '//shrug'],
      ['alice', '>', '///two'],
      ['alice', '>', '//'],
      ['bob', '<', '<alice> /shrug', '<alice> //two', '<alice> /'],
      ['alice', 'quiet'],
    ],
  },
  {
    name: 'drops one CR before the LF (telnet sends CRLF), for messages and commands',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', 'hi there\r\n/who\r\nx\r\r\n'],
      ['bob', '<', '<alice> hi there'],
      ['alice', '<', '-- online in #lobby: alice, bob'],
      // Only one CR is dropped; the other is a control character, replaced (1.1).
      ['bob', '<', '<alice> x\ufffd'],
    ],
  },
  {
    name: 'ends every server line with a single LF',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', 'one\r\n/who\r\n/nope\r\n'],
      ['bob', '<', '<alice> one'],
      ['alice', '<', '-- online in #lobby: alice, bob', '! unknown command: /nope (try /help)'],
      // LineClient keeps raw bytes; checked in the runner for every case: no CR before an LF.
    ],
  },
  {
    name: 'processes a final line without LF before EOF, then tells the room the client left',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', 'last words'],
      ['alice', 'end'],
      ['bob', '<', '<alice> last words', '-- alice left #lobby (connection closed)'],
      ['alice', 'closed'],
    ],
  },
  {
    name: 'answers commands sent just before EOF before closing',
    steps: [
      ...users('alice'),
      ['alice', 'send', '/who'],
      ['alice', 'end'],
      ['alice', '<', '-- online in #lobby: alice'],
      ['alice', 'closed'],
    ],
  },
  {
    name: 'ignores empty lines (also CR-only lines)',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', '\n\r\n\n\r\n'],
      ['alice', 'quiet'],
      ['bob', 'quiet'],
    ],
  },
  {
    name: 'decodes invalid UTF-8 with U+FFFD and keeps the connection open',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', Buffer.from([0x68, 0x69, 0x20, 0xff, 0xfe, 0x20, 0xe4, 0xbd, 0x0a])],
      ['bob', '<', '<alice> hi \uFFFD\uFFFD \uFFFD'],
      ['alice', 'send', Buffer.from([0xc0, 0xaf, 0x0a])],
      ['bob', '<', '<alice> \uFFFD\uFFFD'],
      ['alice', '>', 'still here'],
      ['bob', '<', '<alice> still here'],
    ],
  },
  {
    name: 'decodes a multi-byte character split across TCP segments',
    steps: [
      ...users('alice', 'bob'),
      // 你好 🌏 = e4 bd a0 | e5 a5 bd | 20 | f0 9f 8c 8f, sent in pieces that cut every character.
      [
        'alice',
        'send',
        [
          Buffer.from([0xe4]),
          Buffer.from([0xbd, 0xa0, 0xe5]),
          Buffer.from([0xa5]),
          Buffer.from([0xbd, 0x20, 0xf0, 0x9f]),
          Buffer.from([0x8c]),
          Buffer.from([0x8f, 0x0a]),
        ],
      ],
      ['bob', '<', '<alice> 你好 🌏'],
    ],
  },
  {
    name: 'discards a line longer than 4096 bytes, tells the sender, and keeps the connection',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', 'x'.repeat(4097)],
      ['alice', '<', '! line too long (max 4096 bytes)'],
      ['alice', '>', `${'y'.repeat(5000)}\r`],
      ['alice', '<', '! line too long (max 4096 bytes)'],
      ['alice', '>', 'short again'],
      ['bob', '<', '<alice> short again'],
      ['bob', 'quiet'],
    ],
  },
  {
    name: 'accepts a line of exactly 4096 bytes (not counting CRLF)',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', `${'z'.repeat(4096 - 8)}\r\n`],
      ['bob', '<', `<alice> ${'z'.repeat(4096 - 8)}`],
      ['alice', 'send', `${'é'.repeat(2048)}\n`],
      ['bob', '<', `<alice> ${'é'.repeat(2048)}`],
      ['alice', 'quiet'],
    ],
  },
  {
    name: 'honours maxLineBytes in the error line',
    options: { maxLineBytes: 10 },
    steps: [
      ...users('al', 'bo'),
      ['al', '>', '0123456789'],
      ['bo', '<', '<al> 0123456789'],
      ['al', '>', '01234567890'],
      ['al', '<', '! line too long (max 10 bytes)'],
      ['bo', 'quiet'],
    ],
  },

  // ---- commands -------------------------------------------------------------------------------
  {
    name: '/help: one -- line per command, starting with -- commands:',
    steps: [
      ['a', 'connect'],
      ['a', '>', '/help'],
      ['a', '<~', /^-- commands:/],
      ['a', '<~', /^-- \/help\b/],
      ['a', '<~', /^-- \/nick NAME\b/],
      ['a', '<~', /^-- \/who\b/],
      ['a', '<~', /^-- \/rooms\b/],
      ['a', '<~', /^-- \/join #room\b/],
      ['a', '<~', /^-- \/msg NICK TEXT\b/],
      ['a', '<~', /^-- \/me TEXT\b/],
      ['a', '<~', /^-- \/quit \[REASON\]/],
      ['a', 'quiet'],
    ],
  },
  {
    name: 'command names are case-insensitive',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/WHO'],
      ['alice', '<', '-- online in #lobby: alice, bob'],
      ['alice', '>', '/Me shouts'],
      ['bob', '<', '* alice shouts'],
      ['alice', '>', '/NICK Al'],
      ['alice', '<', '-- you are now Al'],
      ['bob', '<', '-- alice is now known as Al'],
    ],
  },
  {
    name: 'an unknown command is named as typed',
    steps: [
      ['a', 'connect'],
      ['a', '>', '/foo'],
      ['a', '<', '! unknown command: /foo (try /help)'],
      ['a', '>', '/FOO bar baz'],
      ['a', '<', '! unknown command: /FOO (try /help)'],
      ['a', '>', '/'],
      ['a', '<', '! unknown command: / (try /help)'],
    ],
  },
  {
    name: '/nick NAME renames: the sender is told, and so is the room',
    steps: [
      ['a', 'connect', welcome(1)],
      ['b', 'connect', welcome(2)],
      ['a', '<', '-- guest2 joined #lobby'],
      ['a', '>', '/nick alice'],
      ['a', '<', '-- you are now alice'],
      ['b', '<', '-- guest1 is now known as alice'],
      ['a', '>', '/nick   Alice  '],
      ['a', '<', '-- you are now Alice'],
      ['b', '<', '-- alice is now known as Alice'],
    ],
  },
  {
    name: '/nick refuses a nickname in use, case-insensitively',
    steps: [
      ...users('alice', 'bob'),
      ['bob', '>', '/nick ALICE'],
      ['bob', '<', '! nickname taken: ALICE'],
      ['bob', '>', '/nick guest1'],
      ['bob', '<', '-- you are now guest1'],
      ['alice', '<', '-- bob is now known as guest1'],
      ['alice', '>', '/nick Guest1'],
      ['alice', '<', '! nickname taken: Guest1'],
      ['alice', 'quiet'],
    ],
  },
  {
    name: '/nick refuses invalid nicknames and accepts Unicode letters and digits',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/nick -dash'],
      ['alice', '<', '! invalid nickname: -dash'],
      ['alice', '>', '/nick two words'],
      ['alice', '<', '! invalid nickname: two words'],
      ['alice', '>', '/nick bad!'],
      ['alice', '<', '! invalid nickname: bad!'],
      ['alice', '>', `/nick ${'n'.repeat(33)}`],
      ['alice', '<', `! invalid nickname: ${'n'.repeat(33)}`],
      ['alice', '>', '/nick #room'],
      ['alice', '<', '! invalid nickname: #room'],
      ['bob', 'quiet'],
      ['alice', '>', '/nick 李雷'],
      ['alice', '<', '-- you are now 李雷'],
      ['bob', '<', '-- alice is now known as 李雷'],
      ['alice', '>', `/nick _a-1${'n'.repeat(28)}`],
      ['alice', '<', `-- you are now _a-1${'n'.repeat(28)}`],
      ['bob', '<', `-- 李雷 is now known as _a-1${'n'.repeat(28)}`],
    ],
  },
  {
    name: '/nick without a name shows its usage',
    steps: [
      ['a', 'connect'],
      ['a', '>', '/nick'],
      ['a', '<', '! usage: /nick NAME'],
      ['a', '>', '/nick   '],
      ['a', '<', '! usage: /nick NAME'],
    ],
  },
  {
    name: '/who lists the room, sorted case-insensitively',
    steps: [
      ...users('bob', 'Alice', 'carol', 'Dave'),
      ['carol', '>', '/who'],
      ['carol', '<', '-- online in #lobby: Alice, bob, carol, Dave'],
    ],
  },
  {
    name: '/rooms lists the non-empty rooms, sorted, with their member counts',
    steps: [
      ...users('alice', 'bob', 'carol'),
      ['alice', '>', '/rooms'],
      ['alice', '<', '-- rooms: #lobby (3)'],
      ['alice', '>', '/join #a'],
      ['alice', '<', '-- you joined #a', '-- online in #a: alice'],
      ['bob', '<', '-- alice left #lobby (joined #a)'],
      ['carol', '<', '-- alice left #lobby (joined #a)'],
      ['bob', '>', '/join #a'],
      ['bob', '<', '-- you joined #a', '-- online in #a: alice, bob'],
      ['alice', '<', '-- bob joined #a'],
      ['carol', '<', '-- bob left #lobby (joined #a)'],
      ['carol', '>', '/rooms'],
      ['carol', '<', '-- rooms: #a (2), #lobby (1)'],
      ['alice', '>', '/join #zeta'],
      ['alice', '<', '-- you joined #zeta', '-- online in #zeta: alice'],
      ['bob', '<', '-- alice left #a (joined #zeta)'],
      ['bob', '>', '/join #lobby'],
      ['bob', '<', '-- you joined #lobby', '-- online in #lobby: bob, carol'],
      ['carol', '<', '-- bob joined #lobby'],
      ['carol', '>', '/rooms'],
      ['carol', '<', '-- rooms: #lobby (2), #zeta (1)'],
      ['alice', 'quiet'],
    ],
  },
  {
    name: '/join #room moves the sender and tells both rooms',
    steps: [
      ...users('alice', 'bob', 'carol'),
      ['alice', '>', '/join #dev'],
      ['alice', '<', '-- you joined #dev', '-- online in #dev: alice'],
      ['bob', '<', '-- alice left #lobby (joined #dev)'],
      ['carol', '<', '-- alice left #lobby (joined #dev)'],
      ['carol', '>', '/join #dev'],
      ['carol', '<', '-- you joined #dev', '-- online in #dev: alice, carol'],
      ['alice', '<', '-- carol joined #dev'],
      ['bob', '<', '-- carol left #lobby (joined #dev)'],
      ['alice', '>', 'only dev hears this'],
      ['carol', '<', '<alice> only dev hears this'],
      ['bob', '>', 'only the lobby hears this'],
      ['bob', '>', '/who'],
      ['bob', '<', '-- online in #lobby: bob'],
      ['alice', '>', '/who'],
      ['alice', '<', '-- online in #dev: alice, carol'],
      ['alice', 'quiet'],
      ['carol', 'quiet'],
    ],
  },
  {
    name: '/join refuses invalid rooms and shows its usage without one',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/join dev'],
      ['alice', '<', '! invalid room: dev'],
      ['alice', '>', '/join #'],
      ['alice', '<', '! invalid room: #'],
      ['alice', '>', '/join #a b'],
      ['alice', '<', '! invalid room: #a b'],
      ['alice', '>', `/join #${'r'.repeat(33)}`],
      ['alice', '<', `! invalid room: #${'r'.repeat(33)}`],
      ['alice', '>', '/join'],
      ['alice', '<', '! usage: /join #room'],
      ['alice', '>', `/join #${'r'.repeat(32)}`],
      ['alice', '<', `-- you joined #${'r'.repeat(32)}`, `-- online in #${'r'.repeat(32)}: alice`],
      ['bob', '<', `-- alice left #lobby (joined #${'r'.repeat(32)})`],
    ],
  },
  {
    name: '/msg NICK TEXT reaches NICK only, wherever they are',
    steps: [
      ...users('alice', 'bob', 'carol'),
      ['bob', '>', '/join #elsewhere'],
      ['bob', '<', '-- you joined #elsewhere', '-- online in #elsewhere: bob'],
      ['alice', '<', '-- bob left #lobby (joined #elsewhere)'],
      ['carol', '<', '-- bob left #lobby (joined #elsewhere)'],
      ['alice', '>', '/msg bob psst, two  spaces'],
      ['alice', '<', '[you -> bob] psst, two  spaces'],
      ['bob', '<', '[alice -> you] psst, two  spaces'],
      ['carol', 'quiet'],
    ],
  },
  {
    name: '/msg to nobody, or without text, is an error for the sender only',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/msg zed hi'],
      ['alice', '<', '! no such user: zed'],
      ['alice', '>', '/msg bob'],
      ['alice', '<', '! usage: /msg NICK TEXT'],
      ['alice', '>', '/msg bob   '],
      ['alice', '<', '! usage: /msg NICK TEXT'],
      ['alice', '>', '/msg'],
      ['alice', '<', '! usage: /msg NICK TEXT'],
      ['bob', 'quiet'],
    ],
  },
  {
    name: '/me TEXT sends an action to the others in the room',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/me waves'],
      ['bob', '<', '* alice waves'],
      ['alice', 'quiet'],
      ['alice', '>', '/me'],
      ['alice', '<', '! usage: /me TEXT'],
      ['bob', 'quiet'],
    ],
  },
  {
    name: '/quit says bye, closes the connection and tells the room (reason quit)',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/quit'],
      ['alice', '<', '-- bye'],
      ['alice', 'closed'],
      ['bob', '<', '-- alice left #lobby (quit)'],
    ],
  },
  {
    name: '/quit REASON gives the reason, and lines after /quit are not processed',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'send', '/quit gone fishing\nnever delivered\n'],
      ['alice', '<', '-- bye'],
      ['alice', 'closed'],
      ['bob', '<', '-- alice left #lobby (gone fishing)'],
      ['bob', 'quiet'],
    ],
  },
  // ---- 1.1: text from clients carries no terminal control; names compared after NFKC + folding ---
  {
    name: 'replaces terminal controls in messages with U+FFFD, so no line can fake a server notice',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '\x1b[2K\r-- server shutting down'],
      ['bob', '<', '<alice> \ufffd[2K\ufffd-- server shutting down'],
      ['alice', '>', 'tab\tstays, DEL\x7f, C1\u009b31m, NUL\u0000 go'],
      ['bob', '<', '<alice> tab\tstays, DEL\ufffd, C1\ufffd31m, NUL\ufffd go'],
      [
        'alice',
        '>',
        'bidi \u202eevil\u202c \u2066iso\u2069 \u200emark\u200f line\u2028para\u2029 \u202a\u202b\u202d\u2067\u2068',
      ],
      [
        'bob',
        '<',
        '<alice> bidi \ufffdevil\ufffd \ufffdiso\ufffd \ufffdmark\ufffd line\ufffdpara\ufffd \ufffd\ufffd\ufffd\ufffd\ufffd',
      ],
      ['alice', '>', '//\x1b]0;title\x07'],
      ['bob', '<', '<alice> /\ufffd]0;title\ufffd'],
      ['alice', 'quiet'],
    ],
  },
  {
    name: 'replaces terminal controls in actions, private messages and /quit reasons',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/me waves\x1b[1A'],
      ['bob', '<', '* alice waves\ufffd[1A'],
      ['alice', '>', '/msg bob psst\r-- fake\u0085'],
      ['alice', '<', '[you -> bob] psst\ufffd-- fake\ufffd'],
      ['bob', '<', '[alice -> you] psst\ufffd-- fake\ufffd'],
      ['alice', '>', '/quit bye\x1b[2J\u2028now'],
      ['alice', '<', '-- bye'],
      ['alice', 'closed'],
      ['bob', '<', '-- alice left #lobby (bye\ufffd[2J\ufffdnow)'],
    ],
  },
  {
    name: 'compares nicknames after NFKC and case folding, and shows them as their owners typed them',
    steps: [
      ...users('bob', 'alice'),
      ['alice', '>', '/nick ｂｏｂ'],
      ['alice', '<', '! nickname taken: ｂｏｂ'],
      ['alice', '>', '/nick ＢＯＢ'],
      ['alice', '<', '! nickname taken: ＢＯＢ'],
      ['alice', '>', '/msg ＢＯＢ hi'],
      ['alice', '<', '[you -> bob] hi'],
      ['bob', '<', '[alice -> you] hi'],
      ['alice', '>', '/nick Straße'],
      ['alice', '<', '-- you are now Straße'],
      ['bob', '<', '-- alice is now known as Straße'],
      ['bob', '>', '/nick STRASSE'],
      ['bob', '<', '! nickname taken: STRASSE'],
      ['bob', '>', '/nick ｅｖｅ'],
      ['bob', '<', '-- you are now ｅｖｅ'],
      ['alice', '<', '-- bob is now known as ｅｖｅ'],
      ['alice', '>', '/msg eve hello'],
      ['alice', '<', '[you -> ｅｖｅ] hello'],
      ['bob', '<', '[Straße -> you] hello'],
    ],
  },
  {
    name: 'refuses nicknames that mix scripts',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/nick b\u043eb'],
      ['alice', '<', '! invalid nickname: b\u043eb'],
      ['alice', '>', '/nick \u0430lice'],
      ['alice', '<', '! invalid nickname: \u0430lice'],
      ['alice', '>', '/nick мария'],
      ['alice', '<', '-- you are now мария'],
      ['bob', '<', '-- alice is now known as мария'],
    ],
  },
  {
    name: 'compares rooms after NFKC and case folding',
    steps: [
      ...users('alice', 'bob'),
      ['alice', '>', '/join #Dev'],
      ['alice', '<', '-- you joined #Dev', '-- online in #Dev: alice'],
      ['bob', '<', '-- alice left #lobby (joined #Dev)'],
      ['bob', '>', '/join #ｄｅｖ'],
      ['bob', '<', '-- you joined #Dev', '-- online in #Dev: alice, bob'],
      ['alice', '<', '-- bob joined #Dev'],
    ],
  },
  {
    name: 'a reset connection leaves with reason connection closed',
    steps: [
      ...users('alice', 'bob'),
      ['alice', 'reset'],
      ['bob', '<', '-- alice left #lobby (connection closed)'],
      ['carol', 'connect', welcome(1)],
      ['bob', '<', '-- guest1 joined #lobby'],
    ],
  },
  {
    name: 'an idle client is disconnected with reason timed out',
    options: { timeout: 0.5 },
    steps: [
      ['a', 'connect', welcome(1)],
      ['b', 'connect', welcome(2)],
      ['a', '<', '-- guest2 joined #lobby'],
      // a stays idle; b sends an (ignored) empty line 0.2 s later, so it times out well after a and is
      // told about a first (with a hub in another process the notice takes a few hops: it must not race
      // b's own timeout).
      ['b', 'wait', 200],
      ['b', 'send', '\n'],
      ['b', '<', '-- guest1 left #lobby (timed out)'],
      ['a', 'closed'],
    ],
  },
];

/** Runs one case against a fresh server. */
async function runCase(factory: ChatServerFactory, chatCase: ChatCase, opened: LineClient[]): Promise<void> {
  const server = await factory.start(chatCase.options ?? {});
  const clients = new Map<string, LineClient>();
  let guests = 0;
  try {
    for (const [index, step] of chatCase.steps.entries()) {
      const [name, action] = step;
      const where = `step ${index + 1} (${name} ${action})`;
      if (action === 'connect') {
        const client = await LineClient.connect(server.address);
        opened.push(client);
        clients.set(name, client);
        guests += 1;
        expect(await client.line(), where).toBe(step[2] ?? welcome(guests));
        continue;
      }
      const client = clients.get(name);
      if (client === undefined) throw new Error(`${where}: no client named ${name}`);
      switch (action) {
        case '>':
          client.sendLine(step[2]);
          break;
        case 'send': {
          const data = step[2];
          if (typeof data === 'string' || Buffer.isBuffer(data)) {
            await client.send(data);
          } else {
            for (const piece of data as readonly (string | Buffer)[]) {
              await client.send(piece);
              await pause(2);
            }
          }
          break;
        }
        case '<':
          for (const expected of step.slice(2) as string[]) expect(await client.line(), where).toBe(expected);
          break;
        case '<~':
          expect(await client.line(), where).toMatch(step[2]);
          break;
        case 'quiet':
          client.sendLine(BARRIER);
          expect(await client.line(), `${where}: nothing before the barrier's reply`).toBe(BARRIER_REPLY);
          break;
        case 'closed':
          expect(await client.untilClosed(), `${where}: no lines left`).toEqual([]);
          break;
        case 'end':
          client.end();
          break;
        case 'reset':
          client.reset();
          break;
        case 'wait':
          await pause(step[2]);
          break;
      }
    }
    for (const [name, client] of clients) {
      // Every server line ends with a single LF, and no line carries terminal control (1.1).
      const raw = client.raw.toString('utf8');
      if (raw.length > 0) expect(raw.endsWith('\n'), `${name}'s output ends with LF`).toBe(true);
      const controlled = client.received.filter((line) => TERMINAL_CONTROL.test(line));
      expect(controlled, `${name}'s lines with terminal control`).toEqual([]);
    }
  } finally {
    for (const client of clients.values()) client.destroy();
    await server.close();
  }
}

/** Declares the suite for one server factory. */
export function describeChatConformance(
  factory: ChatServerFactory,
  cases: readonly ChatCase[] = CASES,
): void {
  describe(`chat protocol v1.1 conformance on ${factory.name}`, () => {
    const opened: LineClient[] = [];
    afterEach(() => {
      for (const client of opened.splice(0)) client.destroy();
    });
    afterAll(async () => {
      await factory.dispose?.();
    });
    it.each(cases.map((chatCase) => [chatCase.name, chatCase] as const))('%s', (_name, chatCase) =>
      runCase(factory, chatCase, opened),
    );
  });
}
