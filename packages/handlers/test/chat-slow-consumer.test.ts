/**
 * maxPendingBytes: a client that never reads is disconnected (`too slow`) while another sends 20 MiB;
 * the clients that do read receive every line, and what the server holds for its clients stays bounded.
 */
import { type InetAddress, ThreadingTCPServer } from '@sockserve/core';
import { expect, it } from 'vitest';
import { ChatHandler } from '../src/index.js';
import { LineClient, serving, withDeadline } from './helpers.js';

const MiB = 1024 * 1024;
const TOTAL_BYTES = 20 * MiB;
const LINE_BYTES = 1024;
const LINES = TOTAL_BYTES / LINE_BYTES;

/** A line of exactly LINE_BYTES bytes (LF included) that carries its number. */
function numberedLine(i: number): string {
  const head = `${i}:`;
  return `${head}${'m'.repeat(LINE_BYTES - 1 - head.length)}\n`;
}

/** Counts `<alice> N:…` lines, checking that they arrive complete and in order, without keeping them. */
class CountingReader {
  count = 0;
  sawSlowLeave = -1;
  outOfOrder = 0;
  private partial = '';

  constructor(client: LineClient) {
    client.socket.removeAllListeners('data');
    client.socket.setEncoding('utf8');
    client.socket.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('<alice> ')) {
          if (`${line.slice(8)}\n` !== numberedLine(this.count)) this.outOfOrder++;
          this.count++;
        } else if (line === '-- dave left #lobby (too slow)') {
          this.sawSlowLeave = this.count;
        }
      }
    });
  }
}

it('disconnects a client that never reads while another sends 20 MiB; the others get everything', async () => {
  const live = new Set<ChatHandler>();
  class ProbedChat extends ChatHandler {
    override async handle(): Promise<void> {
      live.add(this);
      try {
        await super.handle();
      } finally {
        live.delete(this);
      }
    }
  }
  const errors: unknown[] = [];
  await using server = await serving(new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ProbedChat));
  server.on('request-error', (error) => errors.push(error));

  const alice = await LineClient.connect(server.serverAddress);
  await alice.line();
  alice.sendLine('/nick alice');
  await alice.lineMatching('-- you are now alice');
  const receivers: LineClient[] = [];
  for (const name of ['bob', 'carol']) {
    const client = await LineClient.connect(server.serverAddress);
    await client.line();
    client.sendLine(`/nick ${name}`);
    await client.lineMatching(`-- you are now ${name}`);
    receivers.push(client);
  }
  const dave = await LineClient.connect(server.serverAddress);
  await dave.line();
  dave.sendLine('/nick dave');
  await dave.lineMatching('-- you are now dave');
  await alice.lineMatching('-- guest1 is now known as dave');
  for (const client of receivers) await client.lineMatching('-- guest1 is now known as dave');
  dave.socket.pause(); // from now on dave reads nothing

  const counters = receivers.map((client) => new CountingReader(client));
  // What the server holds for its clients (queued lines + socket write buffers), sampled while it runs.
  let peakPending = 0;
  const sampler = setInterval(() => {
    let total = 0;
    for (const handler of live) total += handler.pendingBytes;
    peakPending = Math.max(peakPending, total);
  }, 2);

  try {
    const socket = alice.socket;
    for (let i = 0; i < LINES; i++) {
      if (!socket.write(numberedLine(i))) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await withDeadline(
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (counters.every((counter) => counter.count >= LINES)) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      }),
      'delivery of all 20 MiB to bob and carol',
      60_000,
    );
  } finally {
    clearInterval(sampler);
  }

  for (const counter of counters) {
    expect(counter.count).toBe(LINES);
    expect(counter.outOfOrder).toBe(0);
    // Dave was dropped while alice was still sending: the server did not wait for him.
    expect(counter.sawSlowLeave).toBeGreaterThan(0);
    expect(counter.sawSlowLeave).toBeLessThan(LINES);
  }
  // Dave's connection is gone on the server's side.
  expect([...live].map((handler) => handler.nick).sort()).toEqual(['alice', 'bob', 'carol']);
  // Bounded: at most maxPendingBytes (1 MiB) for dave plus one turn's worth of lines, far below 20 MiB.
  expect(peakPending).toBeLessThan(4 * MiB);
  expect(errors).toEqual([]);

  for (const client of [alice, ...receivers, dave]) client.destroy();
});

/** Connects a client, takes its welcome and names it; `guest` is the name it had first. */
async function named(
  server: { serverAddress: InetAddress },
  nick: string,
): Promise<LineClient & { guest: string }> {
  const client = await LineClient.connect(server.serverAddress);
  const guest = /you are (guest\d+)/.exec(await client.line())![1]!;
  client.sendLine(`/nick ${nick}`);
  await client.lineMatching(`-- you are now ${nick}`);
  return Object.assign(client, { guest });
}

it('never drops a client that reads, however large one turn’s burst: 64 lines of 1 KiB with maxPendingBytes 65536', async () => {
  const errors: unknown[] = [];
  await using server = await serving(
    new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with({ maxPendingBytes: 65536 })),
  );
  server.on('request-error', (error) => errors.push(error));
  const alice = await named(server, 'alice');
  const bob = await named(server, 'bob');
  await alice.lineMatching(`-- ${bob.guest} is now known as bob`);
  try {
    const burst = Array.from({ length: 64 }, (_, i) => numberedLine(i)).join('');
    for (let round = 0; round < 8; round++) {
      await alice.send(burst); // one write: the server reads it in one chunk, one turn
      for (let i = 0; i < 64; i++) expect(`${(await bob.line()).slice(8)}\n`).toBe(numberedLine(i));
    }
    bob.sendLine('/who');
    expect(await bob.line()).toBe('-- online in #lobby: alice, bob');
    expect(bob.closed).toBe(false);
    expect(errors).toEqual([]);
  } finally {
    alice.destroy();
    bob.destroy();
  }
});

it('drops a client that does not read once its unsent output passes maxPendingBytes, with a reset', async () => {
  // The default limit (1 MiB): by the time dave is dropped, the kernel's buffers for him are full.
  await using server = await serving(new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler));
  const alice = await named(server, 'alice');
  const dave = await named(server, 'dave');
  await alice.lineMatching(`-- ${dave.guest} is now known as dave`);
  dave.socket.pause(); // dave reads nothing from now on
  const daveEnd = new Promise<void>((resolve) => dave.socket.once('close', () => resolve()));
  try {
    // Far more than the kernel's buffers hold for dave, sent as a well-behaved client does.
    const block = Array.from({ length: 64 }, (_, i) => numberedLine(i)).join('');
    let left = 64 * MiB;
    const dropped = alice.lineMatching('-- dave left #lobby (too slow)');
    let seen = false;
    void dropped.then(() => {
      seen = true;
    });
    while (!seen && left > 0) {
      await alice.send(block);
      left -= block.length;
    }
    await dropped;
    expect(left).toBeGreaterThan(0); // dropped long before alice was done
    const before = dave.raw.length;
    dave.socket.resume();
    await withDeadline(daveEnd, 'the end of dave’s connection');
    // A reset: what the server's kernel still held for dave (megabytes: a plain close sent it all,
    // about 4 MiB here) was thrown away. Dave reads what had reached his own receive buffer, no more.
    expect(dave.raw.length - before).toBeLessThan(1 * MiB);
  } finally {
    alice.destroy();
    dave.destroy();
  }
});
