/**
 * Node.js warnings go through the demo's log: under `--log-format json` every stderr line stays a
 * JSON record, even when the process gets a warning, and when a forking server's children run out of
 * file descriptors (which used to make Node print SentHandleNotReceivedWarning, or kill the parent).
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseUrl, startServer, streamRoundTrip, withDeadline } from './helpers.js';

const WARN_ON_SIGNAL = fileURLToPath(new URL('./fixtures/warn-on-signal.cjs', import.meta.url));

/** Every stderr line as a JSON record (throws on a line that is not JSON). */
function records(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('process warnings under --log-format json', () => {
  it('a Node.js warning is one warn-level JSON record, not a line of its own', async () => {
    const { cli } = await startServer(['echo', '--port', '0', '--log-format', 'json'], 1, [
      'env',
      `NODE_OPTIONS=--require=${WARN_ON_SIGNAL}`,
    ]);
    await using _cli = cli;
    cli.signal('SIGUSR2');
    await cli.until(() => cli.stderr.includes('SentHandleNotReceivedWarning'), 'the warning');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    expect(records(cli.stderr)).toContainEqual(
      expect.objectContaining({
        level: 40,
        warning: 'SentHandleNotReceivedWarning',
        msg: 'Handle did not reach the receiving process correctly',
      }),
    );
  });

  it.runIf(process.platform === 'linux')(
    'forking mode, children out of descriptors: the log stays JSON and the server serves after',
    async () => {
      const { cli, urls } = await startServer(
        ['echo', '--port', '0', '--mode', 'forking', '--workers', '1', '--log-format', 'json'],
        1,
        ['prlimit', '--nofile=64:64'],
      );
      await using _cli = cli;
      const echo = parseUrl(urls[0]!);
      expect(await streamRoundTrip(echo, 'ready\n')).toBe('ready\n'); // the child is up
      const clients: net.Socket[] = [];
      let closed = 0;
      try {
        // More connections than the child has descriptors for: those it cannot take are closed.
        for (let i = 0; i < 150; i++) {
          const socket = net.connect({ host: '127.0.0.1', port: echo.port });
          socket.on('error', () => {});
          socket.once('close', () => (closed += 1));
          await withDeadline(
            new Promise((resolve) => {
              socket.once('connect', resolve);
              socket.once('close', resolve);
            }),
            'a connection',
          );
          socket.write('held\n');
          clients.push(socket);
        }
        await cli.until(
          () => closed > 0 && cli.stderr.includes('never received the connection'),
          'a connection the child could not take, closed and logged',
        );
      } finally {
        for (const socket of clients) socket.destroy();
      }
      // Served again once the children have let go of the flood's connections.
      let reply = '';
      for (let attempt = 0; attempt < 100 && reply !== 'back\n'; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        reply = await streamRoundTrip(echo, 'back\n').catch(() => '');
      }
      expect(reply).toBe('back\n');
      cli.signal('SIGTERM');
      expect(await cli.exit()).toEqual({ code: 0, signal: null });
      expect(cli.stderr).not.toContain('ERR_INTERNAL_ASSERTION');
      expect(() => records(cli.stderr)).not.toThrow();
    },
  );
});
