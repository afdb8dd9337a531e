/**
 * Redis killed (SIGKILL) and restarted mid-chat, empty (no persistence): users stay connected, a line
 * sent while Redis is down gets `! chat is temporarily unavailable`, the nodes reconnect by themselves
 * and re-assert their users, and no line sent while Redis was up is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LineClient, until } from '../../handlers/test/helpers.js';
import { type ChatNodes, startNodes } from './chat-nodes.js';
import { describeRedis, RedisServer } from './redis-server.js';

describeRedis(
  'RedisHub: Redis restarts',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('keeps users connected, answers lines sent meanwhile with the error line, and re-asserts users', async () => {
      const chat: ChatNodes = await startNodes(redis.url, 2, {}, { heartbeatInterval: 0.2, nodeTimeout: 2 });
      const clients: LineClient[] = [];
      try {
        const alice = await LineClient.connect(chat.address); // node 0
        clients.push(alice);
        expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
        const bob = await LineClient.connect(chat.address); // node 1
        clients.push(bob);
        expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
        expect(await alice.line()).toBe('-- guest2 joined #lobby');
        expect(chat.nodes.map((node) => node.server.activeRequestCount)).toEqual([1, 1]);
        alice.sendLine('/nick alice');
        expect(await alice.line()).toBe('-- you are now alice');
        expect(await bob.line()).toBe('-- guest1 is now known as alice');
        bob.sendLine('/nick bob');
        expect(await bob.line()).toBe('-- you are now bob');
        expect(await alice.line()).toBe('-- guest2 is now known as bob');
        for (let i = 1; i <= 20; i++) alice.sendLine(`before ${i}`);
        for (let i = 1; i <= 20; i++) expect(await bob.line()).toBe(`<alice> before ${i}`);

        await redis.kill('SIGKILL');
        await until(() => chat.nodes.every((node) => !node.hub.available), 'the nodes to see Redis gone');
        alice.sendLine('while down');
        expect(await alice.line()).toBe('! chat is temporarily unavailable');
        bob.sendLine('/who');
        expect(await bob.line()).toBe('! chat is temporarily unavailable');
        alice.sendLine('/nick bob');
        expect(await alice.line()).toBe('! chat is temporarily unavailable');
        expect(alice.closed || bob.closed).toBe(false);

        await redis.restart(); // same port, no data
        await Promise.all(chat.nodes.map((node) => node.hub.ready()));
        bob.sendLine('/who');
        expect(await bob.line()).toBe('-- online in #lobby: alice, bob');
        alice.sendLine('/nick bob');
        expect(await alice.line()).toBe('! nickname taken: bob');
        for (let i = 1; i <= 20; i++) alice.sendLine(`after ${i}`);
        for (let i = 1; i <= 20; i++) expect(await bob.line()).toBe(`<alice> after ${i}`);
        bob.sendLine('/msg alice still here');
        expect(await bob.line()).toBe('[you -> alice] still here');
        expect(await alice.line()).toBe('[bob -> you] still here');
        // The guestN numbers start over without clashing with the users re-asserted.
        const carol = await LineClient.connect(chat.address);
        clients.push(carol);
        expect(await carol.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
        expect(await alice.line()).toBe('-- guest1 joined #lobby');
        expect(await bob.line()).toBe('-- guest1 joined #lobby');
        bob.sendLine('/quit');
        expect(await bob.line()).toBe('-- bye');
        expect(await alice.line()).toBe('-- bob left #lobby (quit)');
        expect(await carol.line()).toBe('-- bob left #lobby (quit)');
      } finally {
        for (const client of clients) client.destroy();
        await chat.close();
      }
    });
  },
  true,
);
