/**
 * `sockserve-demo chat --hub redis`: real demo processes sharing one real Redis — a threading node
 * and a forking node (2 children, the process hub in front of Redis) — behind a round-robin TCP
 * proxy, checked with the chat protocol's conformance suite (clients alternate between the nodes).
 * Skipped with a note when redis-server is missing (not in CI), like @sockserve/redis's own tests.
 */
import type { InetAddress } from '@sockserve/core';
import type { ChatHandlerOptions } from '@sockserve/handlers';
import { RedisHub } from '@sockserve/redis';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  type ChatServerFactory,
  describeChatConformance,
} from '../../../packages/handlers/test/chat-conformance.js';
import { LineClient } from '../../../packages/handlers/test/helpers.js';
import { describeRedis, RedisServer } from '../../../packages/redis/test/redis-server.js';
import { RoundRobinProxy } from '../../../packages/redis/test/round-robin-proxy.js';
import { type Cli, parseUrl, startServer } from './helpers.js';

interface DemoChat {
  nodes: Cli[];
  proxy: RoundRobinProxy;
  /** A hub on the same Redis database, to see when the chat is empty. */
  observer: RedisHub;
}

/** The demo's flags for the handler options the conformance cases use. */
function flags(options: ChatHandlerOptions): string[] {
  const args: string[] = [];
  if (options.maxLineBytes !== undefined) args.push('--max-line-bytes', String(options.maxLineBytes));
  if (options.maxPendingBytes !== undefined)
    args.push('--max-pending-bytes', String(options.maxPendingBytes));
  if (options.timeout !== undefined) args.push('--timeout', String(options.timeout));
  return args;
}

describeRedis(
  'sockserve-demo chat --hub redis',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    const kept = new Map<string, Promise<DemoChat>>();
    /** Two demo nodes for one set of options, on their own Redis database (the demo's prefix is fixed). */
    async function demoChat(options: ChatHandlerOptions): Promise<DemoChat> {
      const url = `${redis.url}/${kept.size}`;
      const common = ['chat', '--port', '0', '--hub', 'redis', '--redis-url', url, ...flags(options)];
      const nodes: Cli[] = [];
      for (const mode of [
        ['--mode', 'threading'],
        ['--mode', 'forking', '--workers', '2'],
      ]) {
        const { cli, urls } = await startServer([...common, ...mode]);
        nodes.push(cli);
        (cli as Cli & { url?: string }).url = urls[0];
      }
      const backends = nodes.map((cli) => {
        const { host, port } = parseUrl((cli as Cli & { url?: string }).url!);
        return { host, port, family: 'IPv4' } as InetAddress;
      });
      const observer = new RedisHub({ url });
      await observer.ready();
      // Each node answers once its hub is connected to Redis: wait for that before the cases.
      for (const backend of backends) {
        const client = await LineClient.connect(backend);
        expect(await client.line()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
        client.destroy();
      }
      return { nodes, proxy: await RoundRobinProxy.start(backends), observer };
    }
    async function emptied(chat: DemoChat): Promise<void> {
      let rooms: unknown[] = [{}];
      const check = async (): Promise<void> => {
        rooms = await chat.observer.rooms();
      };
      await check();
      for (let i = 0; rooms.length > 0 && i < 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        await check();
      }
      expect(rooms, 'rooms left after the case').toEqual([]);
    }

    const factory: ChatServerFactory = {
      name: 'sockserve-demo chat --hub redis: a threading and a forking node, one Redis',
      async start(options) {
        const key = JSON.stringify(options);
        let chat = kept.get(key);
        if (chat === undefined) {
          chat = demoChat(options);
          kept.set(key, chat);
        }
        const ready = await chat;
        await emptied(ready);
        return { address: ready.proxy.address, close: () => emptied(ready) };
      },
      async dispose() {
        for (const chat of await Promise.all(kept.values())) {
          await chat.proxy.close();
          for (const node of chat.nodes) node.signal('SIGINT');
          for (const node of chat.nodes) expect((await node.exit()).code).toBe(0);
          await chat.observer.quit();
        }
      },
    };
    describeChatConformance(factory);
  },
  true,
);
