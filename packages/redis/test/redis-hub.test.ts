/**
 * RedisHub across nodes sharing one real Redis, beyond the conformance table: clients really are on
 * different nodes, nickname claims race across nodes, one sender's lines keep their order on every
 * node, a node that quits takes its users out, and a hub without Redis is unavailable, not broken.
 */
import { ChatHubUnavailableError } from '@sockserve/handlers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineClient, until } from '../../handlers/test/helpers.js';
import { RedisHub } from '../src/index.js';
import { type ChatNodes, startNodes } from './chat-nodes.js';
import { describeRedis, EXTERNAL_URL, freePort, HAS_REDIS_SERVER, RedisServer } from './redis-server.js';

const welcome = (n: number): string => `-- welcome, you are guest${n} in #lobby (type /help for commands)`;

/** Connects clients named `names` in order through the proxy (client i on node i mod count) and renames them. */
async function users(chat: ChatNodes, ...names: string[]): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  for (const name of names) {
    const client = await LineClient.connect(chat.address);
    expect(await client.line()).toBe(welcome(1));
    for (const earlier of clients) expect(await earlier.line()).toBe('-- guest1 joined #lobby');
    client.sendLine(`/nick ${name}`);
    expect(await client.line()).toBe(`-- you are now ${name}`);
    for (const earlier of clients) expect(await earlier.line()).toBe(`-- guest1 is now known as ${name}`);
    clients.push(client);
  }
  return clients;
}

describe('RedisHub options and availability', () => {
  it('refuses bad options with sockserve codes', () => {
    expect(() => new RedisHub({ heartbeatInterval: 2, nodeTimeout: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_SOCKSERVE_INVALID_ARG_VALUE' }),
    );
    expect(() => new RedisHub({ callTimeout: -1 })).toThrow(RangeError);
    expect(() => new RedisHub({ prefix: 7 as unknown as string })).toThrow(TypeError);
  });

  it('rejects calls with ChatHubUnavailableError while Redis cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    const hub = new RedisHub({ url: `redis://127.0.0.1:${port}`, callTimeout: 0.3 });
    try {
      expect(hub.available).toBe(false);
      const sink = { deliver() {}, close() {} };
      await expect(hub.connect(sink)).rejects.toSatisfy(ChatHubUnavailableError.isInstance);
      await expect(hub.rooms()).rejects.toSatisfy(ChatHubUnavailableError.isInstance);
      await expect(hub.sendToRoom('#lobby', 'x')).rejects.toSatisfy(ChatHubUnavailableError.isInstance);
    } finally {
      await hub.quit();
    }
  });
});

describeRedis('RedisHub across nodes', () => {
  let redis: RedisServer | undefined;
  let url = '';
  beforeAll(async () => {
    if (HAS_REDIS_SERVER || EXTERNAL_URL === undefined) {
      redis = await RedisServer.start();
      url = redis.url;
    } else {
      url = EXTERNAL_URL;
    }
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('puts consecutive clients on different nodes; /who, /rooms and /msg see everyone', async () => {
    const chat = await startNodes(url, 3);
    const clients = await users(chat, 'alice', 'bob', 'carol');
    try {
      expect(chat.nodes.map((node) => node.server.activeRequestCount)).toEqual([1, 1, 1]);
      const [alice, bob, carol] = clients as [LineClient, LineClient, LineClient];
      carol.sendLine('/join #dev');
      expect(await carol.lines(2)).toEqual(['-- you joined #dev', '-- online in #dev: carol']);
      for (const other of [alice, bob]) expect(await other.line()).toBe('-- carol left #lobby (joined #dev)');
      bob.sendLine('/rooms');
      expect(await bob.line()).toBe('-- rooms: #dev (1), #lobby (2)');
      alice.sendLine('/msg CAROL over there');
      expect(await alice.line()).toBe('[you -> carol] over there');
      expect(await carol.line()).toBe('[alice -> you] over there');
    } finally {
      for (const client of clients) client.destroy();
      await chat.close();
    }
  });

  it('gives a nickname claimed on two nodes at once to exactly one of them', async () => {
    const chat = await startNodes(url, 2);
    const [alice, bob] = (await users(chat, 'alice', 'bob')) as [LineClient, LineClient];
    try {
      for (let round = 0; round < 5; round++) {
        alice.sendLine(`/nick both${round}`);
        bob.sendLine(`/nick BOTH${round}`);
        const replyOf = async (client: LineClient): Promise<string[]> => {
          const seen: string[] = [];
          for (;;) {
            const line = await client.line();
            seen.push(line);
            if (/^(-- you are now |! nickname taken: )/.test(line)) return seen;
          }
        };
        const [a, b] = [await replyOf(alice), await replyOf(bob)];
        const won = [a.at(-1), b.at(-1)].filter((line) => line!.startsWith('-- you are now'));
        expect(won, `round ${round}: ${JSON.stringify([a, b])}`).toHaveLength(1);
        // Back to the first names (the loser may still owe a notice).
        const aliceWon = a.at(-1) === `-- you are now both${round}`;
        const [winner, loser, name, claimed] = aliceWon
          ? [alice, bob, 'alice', `both${round}`]
          : [bob, alice, 'bob', `BOTH${round}`];
        if ((aliceWon ? b : a).length === 1)
          expect(await loser.line()).toBe(`-- ${name} is now known as ${claimed}`);
        winner.sendLine(`/nick ${name}`);
        expect(await winner.line()).toBe(`-- you are now ${name}`);
        expect(await loser.line()).toBe(`-- ${claimed} is now known as ${name}`);
      }
    } finally {
      alice.destroy();
      bob.destroy();
      await chat.close();
    }
  });

  it("keeps each sender's order on every node, with messages, actions and renames mixed", async () => {
    const chat = await startNodes(url, 3);
    const clients = await users(chat, 'alice', 'bob', 'carol');
    const [alice, bob, carol] = clients as [LineClient, LineClient, LineClient];
    try {
      const expected = { alice: [] as string[], bob: [] as string[] };
      let aliceNick = 'alice';
      for (let i = 0; i < 150; i++) {
        if (i % 50 === 49) {
          const next = `alice${i}`;
          alice.sendLine(`/nick ${next}`);
          expected.alice.push(`-- ${aliceNick} is now known as ${next}`);
          aliceNick = next;
        } else if (i % 7 === 0) {
          alice.sendLine(`/me counts ${i}`);
          expected.alice.push(`* ${aliceNick} counts ${i}`);
        } else {
          alice.sendLine(`a${i}`);
          expected.alice.push(`<${aliceNick}> a${i}`);
        }
        bob.sendLine(`b${i}`);
        expected.bob.push(`<bob> b${i}`);
      }
      // carol (third node) gets both streams interleaved in some order, each in its own order.
      const got = await carol.lines(expected.alice.length + expected.bob.length);
      const fromBob = got.filter((line) => line.startsWith('<bob> '));
      expect(fromBob).toEqual(expected.bob);
      expect(got.filter((line) => !line.startsWith('<bob> '))).toEqual(expected.alice);
      // bob (second node) gets alice's in order, nothing of its own.
      const own = expected.alice.filter((line) => !line.startsWith('-- '));
      const seenByBob = (await bob.lines(expected.alice.length)).filter((line) => !line.startsWith('-- '));
      expect(seenByBob).toEqual(own);
    } finally {
      for (const client of clients) client.destroy();
      await chat.close();
    }
  });

  it('a network blip: users stay, a user who left meanwhile is removed once Redis is back, no state is lost', async () => {
    // Slow reconnection so that the blip lasts long enough to act during it: alice's node (0) after
    // 1 s, bob's (1) after 2.5 s. Delivery is at most once while a node's subscription is down (see the
    // README), so bob's node, which announces his departure when it is back, must come back last.
    const retryAfter = [1000, 2500];
    const chat = await startNodes(url, 2, {}, (index) => ({
      redis: { retryStrategy: () => retryAfter[index] ?? 1000 },
    }));
    const [alice, bob, carol] = (await users(chat, 'alice', 'bob', 'carol')) as [
      LineClient,
      LineClient,
      LineClient,
    ];
    const admin = new Redis(url);
    try {
      // alice and carol on node 0, bob on node 1.
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await until(() => chat.nodes.every((node) => !node.hub.available), 'the nodes to lose Redis');
      bob.destroy(); // leaves while its node cannot reach Redis
      alice.sendLine('anyone?');
      expect(await alice.line()).toBe('! chat is temporarily unavailable');
      await Promise.all(chat.nodes.map((node) => node.hub.ready()));
      expect(await alice.line()).toBe('-- bob left #lobby (connection closed)');
      expect(await carol.line()).toBe('-- bob left #lobby (connection closed)');
      alice.sendLine('/who');
      expect(await alice.line()).toBe('-- online in #lobby: alice, carol');
      alice.sendLine('still one chat');
      expect(await carol.line()).toBe('<alice> still one chat');
    } finally {
      admin.disconnect();
      for (const client of [alice, bob, carol]) client.destroy();
      await chat.close();
    }
  });

  it('quit(): a node leaving Redis takes its users out of their rooms at once', async () => {
    const chat = await startNodes(url, 2);
    const [alice, bob] = (await users(chat, 'alice', 'bob')) as [LineClient, LineClient];
    try {
      await chat.nodes[1]!.hub.quit();
      expect(await alice.line()).toBe('-- bob left #lobby (connection closed)');
      alice.sendLine('/who');
      expect(await alice.line()).toBe('-- online in #lobby: alice');
    } finally {
      alice.destroy();
      bob.destroy();
      await chat.close();
    }
  });
});
