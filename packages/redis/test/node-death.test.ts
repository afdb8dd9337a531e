/**
 * Presence heals: a node killed with SIGKILL (a chat node in a child process) stops heartbeating; the
 * other node removes it once its heartbeat expires, its users leave their rooms with
 * `-- nick left #room (connection closed)`, and their nicknames are free again. The child loads the
 * BUILT packages (`npm run build` first; `npm test` does it through turbo).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InetAddress } from '@sockserve/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LineClient } from '../../handlers/test/helpers.js';
import { freshPrefix, startNode } from './chat-nodes.js';
import { describeRedis, EXTERNAL_URL, HAS_REDIS_SERVER, RedisServer } from './redis-server.js';

const HEARTBEAT = 0.2;
const NODE_TIMEOUT = 1;

describeRedis('RedisHub: a node that dies', () => {
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

  it('its users leave their rooms on the other node (connection closed) and their nicknames come free', async () => {
    const prefix = freshPrefix();
    const options = { prefix, heartbeatInterval: HEARTBEAT, nodeTimeout: NODE_TIMEOUT };
    const survivor = await startNode(url, options);
    const script = fileURLToPath(new URL('./fixtures/chat-node.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, url, prefix, String(HEARTBEAT), String(NODE_TIMEOUT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const clients: LineClient[] = [];
    try {
      const doomed = await new Promise<InetAddress>((resolve, reject) => {
        child.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
        child.once('exit', (code) => reject(new Error(`the chat node exited (${code}) before serving`)));
      });
      const alice = await LineClient.connect(survivor.address);
      clients.push(alice);
      expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
      const bob = await LineClient.connect(doomed);
      clients.push(bob);
      expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
      expect(await alice.line()).toBe('-- guest2 joined #lobby');
      alice.sendLine('/nick alice');
      expect(await alice.line()).toBe('-- you are now alice');
      expect(await bob.line()).toBe('-- guest1 is now known as alice');
      bob.sendLine('/nick bob');
      expect(await bob.line()).toBe('-- you are now bob');
      expect(await alice.line()).toBe('-- guest2 is now known as bob');
      bob.sendLine('/join #doomed');
      expect(await bob.lines(2)).toEqual(['-- you joined #doomed', '-- online in #doomed: bob']);
      expect(await alice.line()).toBe('-- bob left #lobby (joined #doomed)');
      alice.sendLine('/join #doomed');
      expect(await alice.lines(2)).toEqual(['-- you joined #doomed', '-- online in #doomed: alice, bob']);
      expect(await bob.line()).toBe('-- alice joined #doomed');
      alice.sendLine('/nick bob');
      expect(await alice.line()).toBe('! nickname taken: bob');

      child.kill('SIGKILL'); // the child this test started
      await exited;
      // Within nodeTimeout + heartbeatInterval (1.2 s here), well inside the line's wait.
      expect(await alice.line()).toBe('-- bob left #doomed (connection closed)');
      alice.sendLine('/who');
      expect(await alice.line()).toBe('-- online in #doomed: alice');
      alice.sendLine('/rooms');
      expect(await alice.line()).toBe('-- rooms: #doomed (1)');
      alice.sendLine('/nick bob');
      expect(await alice.line()).toBe('-- you are now bob');
      alice.sendLine('/msg alice anyone?');
      expect(await alice.line()).toBe('! no such user: alice');
      // guest2 is free again: the next client gets it... after guest1.
      const carol = await LineClient.connect(survivor.address);
      clients.push(carol);
      expect(await carol.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
    } finally {
      for (const client of clients) client.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await survivor.server[Symbol.asyncDispose]();
      await survivor.hub.quit();
    }
  });
});
