/**
 * Property tests: whatever bytes clients send, however TCP splits them, and whatever commands they
 * issue in whatever order, the server never fails (no handler error, it keeps serving), every line it
 * sends starts with one of the protocol's prefixes and ends with LF.
 */
import { ThreadingTCPServer } from '@sockserve/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatHandler } from '../src/index.js';
import { LineClient, pause, serving } from './helpers.js';

const PREFIXES = ['-- ', '! ', '<', '* ', '['];

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

describe('chat properties', () => {
  it('random byte streams with random splits never break the server', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(byteStream, fc.array(fc.nat(), { maxLength: 8 })), { minLength: 1, maxLength: 3 }),
        async (streams) => {
          const clients = await session(streams.length, async (clients) => {
            // Every client sends its pieces, interleaved with the others', a turn of the loop apart.
            const queues = streams.map(([data, cuts]) => split(data, cuts));
            while (queues.some((queue) => queue.length > 0)) {
              for (const [i, queue] of queues.entries()) {
                const piece = queue.shift();
                if (piece !== undefined && !clients[i]!.closed) await clients[i]!.send(piece).catch(() => {});
              }
              await pause(0);
            }
          });
          checkOutput(clients);
          await checkAlive();
        },
      ),
      { numRuns: 40 },
    );
  });

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

  it('random command sequences from several clients never break the server', async () => {
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
      { numRuns: 40 },
    );
  });
});
