/**
 * Several chat nodes in this process sharing one Redis: a ThreadingTCPServer with its own RedisHub
 * each, behind a round-robin proxy (so consecutive clients land on different nodes).
 */
import { randomBytes } from 'node:crypto';
import { type InetAddress, ThreadingTCPServer } from '@sockserve/core';
import { ChatHandler, type ChatHandlerOptions } from '@sockserve/handlers';
import { serving } from '../../handlers/test/helpers.js';
import { RedisHub, type RedisHubOptions } from '../src/index.js';
import { RoundRobinProxy } from './round-robin-proxy.js';

type Serving = Awaited<ReturnType<typeof serving<ThreadingTCPServer>>>;

/** One node: its hub and its server. */
export interface ChatNode {
  readonly hub: RedisHub;
  readonly server: Serving;
  readonly address: InetAddress;
}

/** `count` nodes and the proxy in front of them. */
export interface ChatNodes {
  readonly nodes: ChatNode[];
  /** The proxy's address: connection i goes to node i mod count. */
  readonly address: InetAddress;
  /** The key prefix the nodes share. */
  readonly prefix: string;
  close(): Promise<void>;
}

/** A prefix of keys no other test uses. */
export function freshPrefix(): string {
  return `test:${randomBytes(4).toString('hex')}:`;
}

/** Starts one node on `url` with `hubOptions` (prefix included). */
export async function startNode(
  url: string,
  hubOptions: RedisHubOptions,
  handlerOptions: ChatHandlerOptions = {},
): Promise<ChatNode> {
  const hub = new RedisHub({ url, ...hubOptions });
  await hub.ready();
  const server = await serving(
    new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with({ ...handlerOptions, hub })),
  );
  return { hub, server, address: server.serverAddress as InetAddress };
}

/** Starts `count` nodes sharing one fresh prefix on `url`, and a proxy in front of them. */
export async function startNodes(
  url: string,
  count: number,
  handlerOptions: ChatHandlerOptions = {},
  hubOptions: RedisHubOptions | ((index: number) => RedisHubOptions) = {},
): Promise<ChatNodes> {
  const prefix = freshPrefix();
  const nodes: ChatNode[] = [];
  for (let i = 0; i < count; i++) {
    const options = typeof hubOptions === 'function' ? hubOptions(i) : hubOptions;
    nodes.push(await startNode(url, { prefix, ...options }, handlerOptions));
  }
  const proxy = await RoundRobinProxy.start(nodes.map((node) => node.address));
  return {
    nodes,
    address: proxy.address,
    prefix,
    async close() {
      await proxy.close();
      for (const node of nodes) await node.server[Symbol.asyncDispose]();
      for (const node of nodes) await node.hub.quit();
    },
  };
}
