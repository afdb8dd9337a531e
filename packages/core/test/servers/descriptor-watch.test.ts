/**
 * Descriptor exhaustion is reported: a server run with a limit of 64 descriptors (prlimit) and sent
 * 100 connections says `accept EMFILE` (as a socket-error, here its default report on stderr), and
 * serves a new client once the others are gone.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { descriptorShortage } from '../../src/servers/descriptor-watch.js';
import { streamRoundTrip, withDeadline } from '../helpers.js';
import { ServerProcess } from './server-process.js';

const SERVER = fileURLToPath(new URL('../fixtures/tcp-echo-server.mjs', import.meta.url));
const hasPrlimit = process.platform === 'linux' && spawnSync('prlimit', ['--version']).status === 0;

describe('descriptorShortage', () => {
  it('is undefined while a descriptor can be opened', () => {
    expect(descriptorShortage()).toBeUndefined();
  });
});

describe.runIf(hasPrlimit)('a server out of descriptors', () => {
  it('reports accept EMFILE with counts, and serves again once descriptors are free', async () => {
    await using server = new ServerProcess([SERVER], ['prlimit', '--nofile=64:64']);
    const port = await server.port();
    const clients: net.Socket[] = [];
    try {
      // More connections than descriptors: libuv closes the ones it cannot accept, silently.
      for (let i = 0; i < 100; i++) {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        clients.push(socket);
      }
      await withDeadline(
        server.until(() => server.stderr.includes('\n')),
        'a report of the exhausted descriptors',
      );
      expect(server.stderr).toMatch(
        new RegExp(
          `^sockserve: socket error on tcp://127\\.0\\.0\\.1:${port}: accept EMFILE tcp://127\\.0\\.0\\.1:${port}: no file descriptor left \\(the process is at its limit, \\d+ connections open\\); new connections are closed at accept \\(found 1 time since the last report\\) \\(listen for 'socket-error' to handle it yourself\\)\\n$`,
        ),
      );
    } finally {
      for (const socket of clients) socket.destroy();
    }
    // The server is still there for a new client once the flood is gone (retried: the server
    // frees the descriptors as it sees the closes).
    const echo = { host: '127.0.0.1', port, family: 'IPv4' as const };
    const deadline = Date.now() + 10_000;
    let reply = '';
    while (reply !== 'back\n' && Date.now() < deadline) {
      reply = String(await streamRoundTrip(echo, Buffer.from('back\n')).catch(() => Buffer.alloc(0)));
    }
    expect(reply).toBe('back\n');
  });
});
