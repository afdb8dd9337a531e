/**
 * TLS on both sides of a RedisHub chat.
 *
 * - Client-facing: one chat on one Redis whose nodes serve TLS or plain TCP (the core servers' `tls`
 *   option): a threading TLS node, a plain threading node, and a forking TLS node (handshakes in its
 *   child, the process hub in front of Redis). Clients: node:tls (checked against the test CA), plain
 *   TCP, and `openssl s_client -quiet` as an nc-style client.
 * - Redis-facing: the hubs' connections to a redis-server that speaks TLS only (`--port 0
 *   --tls-port`, client certificates required), through `rediss://` and ioredis's `tls` options
 *   given as `redis`.
 *
 * Certificates are made by the `openssl` CLI (test-support/tls-certs.ts).
 */
import { join } from 'node:path';
import { ForkingTCPServer, ThreadingTCPServer } from '@sockserve/core';
import { ChatHandler, ChatHubUnavailableError, ProcessHub } from '@sockserve/handlers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTestCerts } from '../../../test-support/tls-certs.js';
import { serving } from '../../handlers/test/helpers.js';
import { RedisHub, type RedisHubOptions } from '../src/index.js';
import { freshPrefix } from './chat-nodes.js';
import { ChatUser } from './chat-users.js';
import { describeRedis, RedisServer } from './redis-server.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const serverTLS = () => ({ key: certs.server.key, cert: certs.server.cert });

/** Every user but `from` receives `line` next. */
async function allReceive(users: ChatUser[], from: ChatUser, line: string): Promise<void> {
  for (const user of users) if (user !== from) expect(await user.line()).toBe(line);
}

describeRedis(
  'one chat on one Redis: TLS and plain-TCP nodes, threading and forking',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('room lines, joins, /msg and /who reach users on every node, over TLS and plain TCP', async () => {
      const prefix = freshPrefix();
      const hubs = [0, 1, 2].map(() => new RedisHub({ url: redis.url, prefix }));
      await Promise.all(hubs.map((hub) => hub.ready()));
      const users: ChatUser[] = [];
      const servers: { [Symbol.asyncDispose](): Promise<void> }[] = [];
      try {
        const secure = await serving(
          new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub: hubs[0] }), { tls: serverTLS() }),
        );
        servers.push(secure);
        const plain = await serving(new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub: hubs[1] })));
        servers.push(plain);
        const forkingServer = new ForkingTCPServer(LOOPBACK, ChatHandler, {
          workers: 1,
          tls: serverTLS(),
          handlerModule: {
            module: new URL('../../handlers/test/fixtures/chat-handler.mjs', import.meta.url),
          },
        });
        ProcessHub.attach(forkingServer, { hub: hubs[2] });
        const forking = await serving(forkingServer);
        servers.push(forking);
        const alice = await (await ChatUser.tls(secure.serverAddress, certs.ca)).named('alice');
        users.push(alice);
        const bob = await (await ChatUser.plain(plain.serverAddress)).named('bob');
        users.push(bob);
        await alice.lineMatching(/^-- guest\d+ is now known as bob$/);
        // carol's handshake runs in the forking node's child.
        const carol = await (await ChatUser.tls(forking.serverAddress, certs.ca)).named('carol');
        users.push(carol);
        for (const other of [alice, bob]) await other.lineMatching(/^-- guest\d+ is now known as carol$/);
        const dave = await ChatUser.openssl(secure.serverAddress, join(certs.dir, 'ca.crt')).named('dave');
        users.push(dave);
        for (const other of [alice, bob, carol])
          await other.lineMatching(/^-- guest\d+ is now known as dave$/);

        alice.send('hello over tls');
        await allReceive(users, alice, '<alice> hello over tls');
        bob.send('hello in plain text');
        await allReceive(users, bob, '<bob> hello in plain text');
        carol.send('hello from a forked child');
        await allReceive(users, carol, '<carol> hello from a forked child');
        dave.send('hello from openssl');
        await allReceive(users, dave, '<dave> hello from openssl');

        bob.send('/msg carol psst');
        expect(await bob.line()).toBe('[you -> carol] psst');
        expect(await carol.line()).toBe('[bob -> you] psst');
        dave.send('/msg alice from openssl');
        expect(await dave.line()).toBe('[you -> alice] from openssl');
        expect(await alice.line()).toBe('[dave -> you] from openssl');
        carol.send('/who');
        expect(await carol.line()).toBe('-- online in #lobby: alice, bob, carol, dave');

        carol.send('/join #tls');
        expect(await carol.line()).toBe('-- you joined #tls');
        expect(await carol.line()).toBe('-- online in #tls: carol');
        await allReceive([alice, bob, dave], carol, '-- carol left #lobby (joined #tls)');
        bob.send('/join #tls');
        expect(await bob.line()).toBe('-- you joined #tls');
        expect(await bob.line()).toBe('-- online in #tls: bob, carol');
        expect(await carol.line()).toBe('-- bob joined #tls');
        await allReceive([alice, dave], bob, '-- bob left #lobby (joined #tls)');
        bob.send('only #tls hears this');
        expect(await carol.line()).toBe('<bob> only #tls hears this');
        alice.send('only #lobby hears this');
        expect(await dave.line()).toBe('<alice> only #lobby hears this');
        dave.send('/who');
        expect(await dave.line()).toBe('-- online in #lobby: alice, dave');
        // Nothing crossed rooms: each user's next line is the answer to its own /rooms.
        for (const user of users) {
          user.send('/rooms');
          expect(await user.line()).toBe('-- rooms: #lobby (2), #tls (2)');
        }
      } finally {
        for (const user of users) user.close();
        for (const server of servers) await server[Symbol.asyncDispose]();
        for (const hub of hubs) await hub.quit();
      }
    });
  },
  true,
);

describeRedis(
  'RedisHub to a Redis that speaks TLS only (rediss://, ioredis tls options)',
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      // No plain port; clients must present a certificate signed by the test CA.
      redis = await RedisServer.start(undefined, { dir: certs.dir });
    });
    afterAll(async () => {
      await redis?.stop();
    });
    const sink = { deliver: () => {}, close: () => {} };

    it('chats across a plain-TCP node and a TLS node whose hubs reach Redis over TLS', async () => {
      expect(redis.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
      const options: RedisHubOptions = {
        url: redis.url,
        prefix: freshPrefix(),
        redis: { tls: { ca: certs.ca, key: certs.client.key, cert: certs.client.cert } },
      };
      const hubs = [new RedisHub(options), new RedisHub(options)];
      await Promise.all(hubs.map((hub) => hub.ready()));
      const users: ChatUser[] = [];
      const servers: { [Symbol.asyncDispose](): Promise<void> }[] = [];
      try {
        const plain = await serving(new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub: hubs[0] })));
        servers.push(plain);
        const secure = await serving(
          new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub: hubs[1] }), { tls: serverTLS() }),
        );
        servers.push(secure);
        const alice = await (await ChatUser.plain(plain.serverAddress)).named('alice');
        users.push(alice);
        const bob = await (await ChatUser.tls(secure.serverAddress, certs.ca)).named('bob');
        users.push(bob);
        await alice.lineMatching(/^-- guest\d+ is now known as bob$/);
        alice.send('hi bob');
        expect(await bob.line()).toBe('<alice> hi bob');
        bob.send('/msg alice hi alice');
        expect(await bob.line()).toBe('[you -> alice] hi alice');
        expect(await alice.line()).toBe('[bob -> you] hi alice');
        alice.send('/who');
        expect(await alice.line()).toBe('-- online in #lobby: alice, bob');
      } finally {
        for (const user of users) user.close();
        for (const server of servers) await server[Symbol.asyncDispose]();
        for (const hub of hubs) await hub.quit();
      }
    });

    it.each([
      [
        'without the CA (the server certificate is refused)',
        { tls: { key: certs.client.key, cert: certs.client.cert } },
      ],
      ['without a client certificate (Redis refuses the client)', { tls: { ca: certs.ca } }],
      ['in plain text (a redis:// URL on the TLS port)', undefined],
    ])('a hub %s stays unavailable: calls fail with ChatHubUnavailableError', async (_, redisOptions) => {
      const url = redisOptions === undefined ? redis.url.replace('rediss:', 'redis:') : redis.url;
      const hub = new RedisHub({ url, prefix: freshPrefix(), callTimeout: 0.5, redis: redisOptions });
      try {
        const error = await hub.connect(sink).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(ChatHubUnavailableError.isInstance(error)).toBe(true);
        expect(hub.available).toBe(false);
      } finally {
        await hub.quit();
      }
    });
  },
  true,
);
