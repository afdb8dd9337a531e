/**
 * Property tests: whatever bytes clients send, however TCP splits them, and whatever commands they
 * issue in whatever order, the server never fails (no handler error, it keeps serving), every line it
 * sends starts with one of the protocol's prefixes, ends with LF and carries no terminal control; and
 * the line framing gives the same lines however the bytes are split.
 *
 * Short in the normal run; `SOCKSERVE_FUZZ_RUNS=N` runs each property N times (e.g. 2000).
 */
import { LineFramer, ThreadingTCPServer } from '@sockserve/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatHandler } from '../src/index.js';
import { LineClient, pause, serving } from './helpers.js';

const PREFIXES = ['-- ', '! ', '<', '* ', '['];
/** What no server line may carry (protocol 1.1): C0 but TAB, DEL, C1, bidi controls, U+2028/9. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what the test looks for.
const TERMINAL_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
/** Runs of each server property: a few in the normal run, more with SOCKSERVE_FUZZ_RUNS. */
const RUNS = Number(process.env.SOCKSERVE_FUZZ_RUNS) || 40;
/** Runs of the pure (serverless) properties, which are cheap. */
const PURE_RUNS = Math.max(RUNS * 10, 200);
/** A long run needs a longer test timeout. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 1500);

let server: Awaited<ReturnType<typeof serving<ThreadingTCPServer>>>;
const errors: unknown[] = [];

beforeAll(async () => {
  // Small limits so that random input reaches them too.
  server = await serving(
    new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with({ maxLineBytes: 64 })),
  );
  server.on('request-error', (error) => errors.push(error));
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

/** Pieces of protocol and of garbage: random streams made of them hit commands, escapes and edge cases. */
const fragment: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .constantFrom(
      '/nick ',
      '/NICK ',
      '/join #',
      '/join ',
      '/msg ',
      '/me ',
      '/who',
      '/rooms',
      '/help',
      '/quit',
      '//',
      '/',
      '#lobby',
      'guest1',
      'guest2',
      'alice',
      '\n',
      '\r\n',
      '\r',
      ' ',
      '  ',
      '-',
      '_',
      '李雷',
      '🌏',
      'x'.repeat(70),
      '\x1b[2K',
      '\x07',
      '\x7f',
      '\u009b',
      '\u202e',
      '\u2066',
      '\u2028',
      '\t',
      'ｂｏｂ',
      'b\u043eb',
    )
    .map((text) => new Uint8Array(Buffer.from(text, 'utf8'))),
  fc.uint8Array({ minLength: 1, maxLength: 12 }),
  fc.constantFrom(
    new Uint8Array([0xff]),
    new Uint8Array([0xe4, 0xbd]),
    new Uint8Array([0xf0, 0x9f]),
    new Uint8Array([0xc0]),
  ),
);

const byteStream: fc.Arbitrary<Buffer> = fc
  .array(fragment, { maxLength: 60 })
  .map((parts) => Buffer.concat(parts.map((part) => Buffer.from(part))));

/** Splits `data` at the given offsets (taken modulo its length). */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (data.length === 0 ? 0 : cut % data.length)))].sort(
    (a, b) => a - b,
  );
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    if (point > start) pieces.push(data.subarray(start, point));
    start = Math.max(start, point);
  }
  pieces.push(data.subarray(start));
  return pieces.filter((piece) => piece.length > 0);
}

/** Connects `count` clients, lets `act` drive them, half-closes them all and returns every line each received. */
async function session(count: number, act: (clients: LineClient[]) => Promise<void>): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = await LineClient.connect(server.serverAddress);
      await client.line(); // the welcome
      clients.push(client);
    }
    await act(clients);
    for (const client of clients) client.end();
    for (const client of clients) await client.untilClosed();
    return clients;
  } finally {
    for (const client of clients) client.destroy();
  }
}

function checkOutput(clients: LineClient[]): void {
  for (const client of clients) {
    for (const line of client.received) {
      expect(
        PREFIXES.some((prefix) => line.startsWith(prefix)),
        `line ${JSON.stringify(line)}`,
      ).toBe(true);
      expect(TERMINAL_CONTROL.test(line), `terminal control in ${JSON.stringify(line)}`).toBe(false);
    }
    const raw = client.raw;
    if (raw.length > 0) expect(raw[raw.length - 1]).toBe(0x0a);
  }
  expect(errors).toEqual([]);
}

/** After each run the server still serves a new client normally. */
async function checkAlive(): Promise<void> {
  const probe = await LineClient.connect(server.serverAddress);
  try {
    expect(await probe.line()).toMatch(
      /^-- welcome, you are guest\d+ in #lobby \(type \/help for commands\)$/,
    );
    probe.sendLine('/rooms');
    expect(await probe.line()).toBe(`-- rooms: #lobby (1)`);
    // The server has forgotten the probe once it closes the connection: the next run starts clean.
    probe.end();
    await probe.untilClosed();
  } finally {
    probe.destroy();
  }
}

describe('line framing properties', () => {
  /** The lines of `data` as the protocol frames them, computed at once: the reference. */
  function reference(data: Buffer, maxLineBytes: number): (string | 'too long')[] {
    const lines: (string | 'too long')[] = [];
    const parts: Buffer[] = [];
    let start = 0;
    for (let lf = data.indexOf(0x0a); lf !== -1; lf = data.indexOf(0x0a, start)) {
      parts.push(data.subarray(start, lf));
      start = lf + 1;
    }
    if (start < data.length) parts.push(data.subarray(start));
    for (const [i, part] of parts.entries()) {
      const hasLf = i < parts.length - 1 || start === data.length;
      const body = hasLf && part[part.length - 1] === 0x0d ? part.subarray(0, part.length - 1) : part;
      lines.push(body.length > maxLineBytes ? 'too long' : body.toString('latin1'));
    }
    return lines;
  }

  it('gives the same lines and over-long reports however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map((bytes) =>
          // Plenty of LF and CR, so that lines are short and terminators land on every boundary.
          Buffer.from(bytes.map((b) => (b % 7 === 0 ? 0x0a : b % 11 === 0 ? 0x0d : b))),
        ),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 1, max: 24 }),
        (data, cuts, maxLineBytes) => {
          const got: (string | 'too long')[] = [];
          const framer = new LineFramer({
            maxLineBytes,
            onLine: (line) => got.push(line.toString('latin1')),
            onLineTooLong: () => got.push('too long'),
          });
          for (const piece of split(data, cuts)) framer.push(piece);
          framer.end();
          // An over-long line is reported once, as soon as it passes the limit (before its LF arrives).
          expect(got).toEqual(reference(data, maxLineBytes));
        },
      ),
      { numRuns: PURE_RUNS },
    );
  });
});

describe('chat properties', () => {
  it(
    'random byte streams with random splits never break the server',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(byteStream, fc.array(fc.nat(), { maxLength: 8 })), {
            minLength: 1,
            maxLength: 3,
          }),
          async (streams) => {
            const clients = await session(streams.length, async (clients) => {
              // Every client sends its pieces, interleaved with the others', a turn of the loop apart.
              const queues = streams.map(([data, cuts]) => split(data, cuts));
              while (queues.some((queue) => queue.length > 0)) {
                for (const [i, queue] of queues.entries()) {
                  const piece = queue.shift();
                  if (piece !== undefined && !clients[i]!.closed)
                    await clients[i]!.send(piece).catch(() => {});
                }
                await pause(0);
              }
            });
            checkOutput(clients);
            await checkAlive();
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  const nickname = fc.constantFrom(
    'alice',
    'Alice',
    'bob',
    'guest1',
    'guest3',
    '李雷',
    '-bad',
    'a b',
    'x'.repeat(33),
    '',
  );
  const room = fc.constantFrom(
    '#lobby',
    '#Lobby',
    '#dev',
    '#a',
    'dev',
    '#',
    '#bad room',
    `#${'r'.repeat(33)}`,
    '',
  );
  const text = fc.constantFrom('hello', '/slash', '', '  spaced  ', '你好', 'x'.repeat(80));
  const command: fc.Arbitrary<string> = fc.oneof(
    nickname.map((name) => `/nick ${name}`),
    room.map((name) => `/join ${name}`),
    fc.tuple(nickname, text).map(([name, body]) => `/msg ${name} ${body}`),
    text.map((body) => `/me ${body}`),
    text.map((body) => `//${body}`),
    text,
    fc.constantFrom('/who', '/rooms', '/help', '/WHO', '/unknown', '/', '/quit', '/quit bored', ''),
  );

  it(
    'random command sequences from several clients never break the server',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(fc.tuple(fc.nat(3), command), { maxLength: 40 }),
          async (count, script) => {
            const clients = await session(count, async (clients) => {
              for (const [who, line] of script) {
                const client = clients[who % count]!;
                if (!client.closed) await client.send(`${line}\r\n`).catch(() => {});
              }
            });
            checkOutput(clients);
            await checkAlive();
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});
