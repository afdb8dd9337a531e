/**
 * Memory of a chat server under a heavy sender, measured in a server process of its own
 * (test/fixtures/chat-memory-server.mjs, the built packages, `--expose-gc`): what a connection sends
 * is released as it is processed, not kept until the client leaves. Margins are generous: the server
 * may keep a few MiB, never the hundred or so it was sent.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LineClient, withDeadline } from './helpers.js';

const MiB = 1024 * 1024;
const FIXTURE = fileURLToPath(new URL('./fixtures/chat-memory-server.mjs', import.meta.url));

interface Stats {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  sessions: number;
}

let child: ChildProcess;
let port: number;

function nextMessage<T>(): Promise<T> {
  return withDeadline(
    new Promise<T>((resolve) => child.once('message', (message) => resolve(message as T))),
    'a message from the chat server process',
    30_000,
  );
}

/** The server's memory after a full garbage collection. */
async function stats(): Promise<Stats> {
  const answer = nextMessage<Stats>();
  child.send('stats');
  return answer;
}

/** JavaScript heap plus Buffers: what a retained chunk shows up in (RSS is noisier, it is logged only). */
const retained = (s: Stats): number => s.heapUsed + s.arrayBuffers;

beforeAll(async () => {
  child = fork(FIXTURE, ['{}'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  ({ port } = await nextMessage<{ port: number }>());
});

afterAll(() => {
  child?.kill();
});

/** Writes `total` bytes of `block` repeated, waiting for drain as a well-behaved client does. */
async function sendRepeated(socket: net.Socket, block: Buffer, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += block.length) {
    if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

it('keeps no memory for the lines one client sends: 128 MiB of ordinary lines, then 64 MiB in one over-long line', async () => {
  const before = await stats();
  const client = await LineClient.connect({ host: '127.0.0.1', port, family: 'IPv4' });
  try {
    await client.line(); // the welcome
    // Ordinary room messages of 100 bytes (nobody else in the room: no output), 64 KiB per write.
    const line = `${'m'.repeat(99)}\n`;
    await sendRepeated(client.socket, Buffer.from(line.repeat(655)), 128 * MiB);
    // The reply to /rooms comes after every line before it was processed.
    client.sendLine('/rooms');
    expect(await withDeadline(client.line(), '/rooms after 128 MiB', 60_000)).toBe('-- rooms: #lobby (1)');
    const afterLines = await stats();

    // One line of 64 MiB: discarded as it arrives, answered once.
    await sendRepeated(client.socket, Buffer.alloc(64 * 1024, 0x6d), 64 * MiB);
    client.sendLine('');
    client.sendLine('/rooms');
    expect(await withDeadline(client.line(), 'the answer to the over-long line', 60_000)).toBe(
      '! line too long (max 4096 bytes)',
    );
    expect(await client.line()).toBe('-- rooms: #lobby (1)');
    const afterLong = await stats();

    const growth = [retained(afterLines) - retained(before), retained(afterLong) - retained(before)];
    // Before the fix: about 128 MiB and 192 MiB (every chunk kept until the client left).
    expect(growth[0]).toBeLessThan(24 * MiB);
    expect(growth[1]).toBeLessThan(24 * MiB);
    expect(afterLong.sessions).toBe(1);
  } finally {
    client.destroy();
  }
  // The server still serves a new client.
  const probe = await LineClient.connect({ host: '127.0.0.1', port, family: 'IPv4' });
  try {
    expect(await probe.line()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
  } finally {
    probe.destroy();
  }
}, 120_000);
