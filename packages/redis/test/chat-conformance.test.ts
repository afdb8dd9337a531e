/**
 * The chat protocol's conformance suite (from @sockserve/handlers' tests) with its clients spread over
 * two and three nodes sharing one real Redis: each case connects its clients through a round-robin
 * proxy, so a case's clients are on different nodes, and every line crosses Redis.
 */
import { afterAll, beforeAll } from 'vitest';
import { type ChatServerFactory, describeChatConformance } from '../../handlers/test/chat-conformance.js';
import { startNodes } from './chat-nodes.js';
import { describeRedis, EXTERNAL_URL, HAS_REDIS_SERVER, RedisServer } from './redis-server.js';

let redis: RedisServer | undefined;
let url = '';

function nodesFactory(count: number): ChatServerFactory {
  return {
    name: `${count} ThreadingTCPServer nodes sharing one Redis (RedisHub), clients spread round-robin`,
    async start(options) {
      const nodes = await startNodes(url, count, options);
      return { address: nodes.address, close: () => nodes.close() };
    },
  };
}

describeRedis('RedisHub: chat protocol conformance across nodes', () => {
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
  describeChatConformance(nodesFactory(2));
  describeChatConformance(nodesFactory(3));
});
