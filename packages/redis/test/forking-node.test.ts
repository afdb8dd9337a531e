/**
 * A forking server as one chat node: its children's sessions go through the process hub's broker in
 * the parent, which is in front of a RedisHub. A user on a forking child and a user on a threading
 * node share one chat, and while Redis is down the child's user gets `! chat is temporarily
 * unavailable` (the hub's error crosses the IPC channel intact). Children load the BUILT packages.
 */
import { ForkingTCPServer, type InetAddress } from '@sockserve/core';
import { ChatHandler, ProcessHub } from '@sockserve/handlers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LineClient, serving, until } from '../../handlers/test/helpers.js';
import { RedisHub } from '../src/index.js';
import { freshPrefix, startNode } from './chat-nodes.js';
import { describeRedis, RedisServer } from './redis-server.js';

describeRedis(
  'RedisHub behind the process hub of a forking server',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('shares the chat with other nodes and reports an unreachable Redis to the child’s user', async () => {
      const prefix = freshPrefix();
      const threading = await startNode(redis.url, { prefix });
      const hub = new RedisHub({ url: redis.url, prefix });
      await hub.ready();
      const forking = new ForkingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler, {
        workers: 1,
        handlerModule: { module: new URL('../../handlers/test/fixtures/chat-handler.mjs', import.meta.url) },
      });
      ProcessHub.attach(forking, { hub });
      const running = await serving(forking);
      const clients: LineClient[] = [];
      try {
        const alice = await LineClient.connect(threading.address);
        clients.push(alice);
        expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
        const bob = await LineClient.connect(running.serverAddress as InetAddress); // in the child
        clients.push(bob);
        expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
        expect(await alice.line()).toBe('-- guest2 joined #lobby');
        bob.sendLine('from a forked child');
        expect(await alice.line()).toBe('<guest2> from a forked child');
        alice.sendLine('/msg guest2 hi child');
        expect(await alice.line()).toBe('[you -> guest2] hi child');
        expect(await bob.line()).toBe('[guest1 -> you] hi child');

        await redis.kill('SIGKILL');
        await until(() => !hub.available, 'the parent’s hub to see Redis gone');
        bob.sendLine('while down');
        expect(await bob.line()).toBe('! chat is temporarily unavailable');
        await redis.restart();
        await Promise.all([hub.ready(), threading.hub.ready()]);
        bob.sendLine('/who');
        expect(await bob.line()).toBe('-- online in #lobby: guest1, guest2');
      } finally {
        for (const client of clients) client.destroy();
        await running[Symbol.asyncDispose]();
        await hub.quit();
        await threading.server[Symbol.asyncDispose]();
        await threading.hub.quit();
      }
    });
  },
  true,
);
