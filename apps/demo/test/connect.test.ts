/** `sockserve-demo connect`, in a pipe, against the demo's own servers. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli, startServer, tempDir, withDeadline } from './helpers.js';

describe('connect', () => {
  it('sends stdin lines to the TCP echo server and prints the answers', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0']);
    await using _server = cli;
    const port = urls[0]!.split(':').at(-1)!;
    const result = await runCli(['connect', '127.0.0.1', port], 'hello\nworld\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('hello\nworld\n');
    expect(result.stderr).toBe('');
  });

  it('sends one datagram per line over UDP', async () => {
    const { cli, urls } = await startServer(['echo', '--transport', 'udp', '--port', '0']);
    await using _server = cli;
    const port = urls[0]!.split(':').at(-1)!;
    const result = await runCli(
      ['connect', '--transport', 'udp', '--timeout', '0.5', '127.0.0.1', port],
      'one\ntwo\n',
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(['one', 'two']);
  });

  it('talks over a Unix socket', async () => {
    using dir = tempDir();
    const path = dir.file('demo.sock');
    const { cli } = await startServer(['echo', '--path', path]);
    await using _server = cli;
    const result = await runCli(['connect', '--transport', 'unix', path], 'over unix\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('over unix\n');
  });

  it('talks to the chat server until it closes', async () => {
    const { cli, urls } = await startServer(['chat', '--port', '0']);
    await using _server = cli;
    const port = urls[0]!.split(':').at(-1)!;
    const result = await runCli(['connect', '--port', port], '/nick carol\n/who\n/quit\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '-- welcome, you are guest1 in #lobby (type /help for commands)',
        '-- you are now carol',
        '-- online in #lobby: carol',
        '-- bye',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 naming the address when nothing listens', async () => {
    const probe = net.createServer();
    await withDeadline(new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve)), 'listen');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const result = await runCli(['connect', '127.0.0.1', String(port)], 'x\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `sockserve-demo: cannot connect to tcp://127.0.0.1:${port}: connection refused\n`,
    );
  });
});
