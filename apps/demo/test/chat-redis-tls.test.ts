/**
 * `sockserve-demo chat --hub redis` with TLS, through the real binary: two demo nodes on one Redis,
 * one serving TLS (`--tls-cert/--tls-key`) and one plain TCP, in threading and forking modes; a
 * node:tls client and a plain client chat across them. Then both nodes reach a Redis that speaks
 * TLS only, with `--redis-url rediss://…` (the test CA given by NODE_EXTRA_CA_CERTS). Skipped with a
 * note when redis-server is missing (not in CI), like @sockserve/redis's own tests.
 */
import { join } from 'node:path';
import type { InetAddress } from '@sockserve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatUser } from '../../../packages/redis/test/chat-users.js';
import { describeRedis, RedisServer } from '../../../packages/redis/test/redis-server.js';
import { makeTestCerts } from '../../../test-support/tls-certs.js';
import { type Cli, startServer } from './helpers.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());
const SERVER_TLS = ['--tls-cert', join(certs.dir, 'server.crt'), '--tls-key', join(certs.dir, 'server.key')];

/** `tls://127.0.0.1:PORT` or `tcp://127.0.0.1:PORT` → the address. */
function address(url: string, scheme: 'tls' | 'tcp'): InetAddress {
  const match = new RegExp(`^${scheme}://127\\.0\\.0\\.1:(\\d+)$`).exec(url);
  if (!match) throw new Error(`not a ${scheme}:// listening URL: ${url}`);
  return { host: '127.0.0.1', port: Number(match[1]), family: 'IPv4' } as InetAddress;
}

/** Alice (TLS) on `secure`, bob (plain) on `plain`: names, room lines, /msg and /who across the nodes. */
async function chatAcross(secure: InetAddress, plain: InetAddress): Promise<void> {
  const users: ChatUser[] = [];
  try {
    const alice = await (await ChatUser.tls(secure, certs.ca)).named('alice');
    users.push(alice);
    const bob = await (await ChatUser.plain(plain)).named('bob');
    users.push(bob);
    await alice.lineMatching(/^-- guest\d+ is now known as bob$/);
    alice.send('hello over tls');
    expect(await bob.line()).toBe('<alice> hello over tls');
    bob.send('hello in plain text');
    expect(await alice.line()).toBe('<bob> hello in plain text');
    bob.send('/msg alice psst');
    expect(await bob.line()).toBe('[you -> alice] psst');
    expect(await alice.line()).toBe('[bob -> you] psst');
    alice.send('/join #secret');
    expect(await alice.line()).toBe('-- you joined #secret');
    expect(await alice.line()).toBe('-- online in #secret: alice');
    expect(await bob.line()).toBe('-- alice left #lobby (joined #secret)');
    bob.send('/rooms');
    expect(await bob.line()).toBe('-- rooms: #lobby (1), #secret (1)');
    alice.send('/quit');
    expect(await alice.line()).toBe('-- bye');
  } finally {
    for (const user of users) user.close();
  }
}

/** Starts the two nodes, chats across them, then stops them with SIGTERM (exit 0). */
async function twoNodes(secureArgs: string[], plainArgs: string[], prefix?: string[]): Promise<void> {
  const nodes: Cli[] = [];
  try {
    const secure = await startServer([...secureArgs, ...SERVER_TLS], 1, prefix);
    nodes.push(secure.cli);
    const plain = await startServer(plainArgs, 1, prefix);
    nodes.push(plain.cli);
    await chatAcross(address(secure.urls[0]!, 'tls'), address(plain.urls[0]!, 'tcp'));
    for (const node of nodes) node.signal('SIGTERM');
    for (const node of nodes) expect(await node.exit()).toEqual({ code: 0, signal: null });
  } finally {
    for (const node of nodes) await node[Symbol.asyncDispose]();
  }
}

describeRedis(
  'sockserve-demo chat --hub redis: a TLS node and a plain node',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    const THREADING = ['--mode', 'threading'];
    const FORKING = ['--mode', 'forking', '--workers', '1'];
    it.each([
      ['threading', 'forking', THREADING, FORKING, 1],
      ['forking', 'threading', FORKING, THREADING, 2],
    ])('TLS %s node, plain %s node: one chat', async (_secure, _plain, secureMode, plainMode, db) => {
      // Each case on its own Redis database (the demo's key prefix is fixed).
      const chat = ['chat', '--port', '0', '--hub', 'redis', '--redis-url', `${redis.url}/${db}`];
      await twoNodes([...chat, ...secureMode], [...chat, ...plainMode]);
    });
  },
  true,
);

describeRedis(
  'sockserve-demo chat --hub redis --redis-url rediss://…',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      // TLS only, no client certificate asked for (the demo has no flag for one).
      redis = await RedisServer.start(undefined, { dir: certs.dir, authClients: false });
    });
    afterAll(async () => {
      await redis?.stop();
    });

    describe('with the Redis server’s CA in NODE_EXTRA_CA_CERTS', () => {
      it('a TLS threading node and a plain forking node chat through a Redis over TLS', async () => {
        expect(redis.url).toMatch(/^rediss:/);
        const chat = ['chat', '--port', '0', '--hub', 'redis', '--redis-url', redis.url];
        // `env` execs node with one more variable (the pid stays the demo's).
        const env = ['env', `NODE_EXTRA_CA_CERTS=${join(certs.dir, 'ca.crt')}`];
        await twoNodes(
          [...chat, '--mode', 'threading'],
          [...chat, '--mode', 'forking', '--workers', '1'],
          env,
        );
      });
    });
  },
  true,
);
