/** Exit statuses and messages of the real CLI: 0 done, 1 runtime failure, 2 bad usage; no stack traces. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli, startServer, tempDir, withDeadline } from './helpers.js';

const USAGE = 'usage: sockserve-demo <start|echo|chat|connect> [options]  (sockserve-demo --help for more)';

/** A TCP port held by a plain server of the test's own; closed on dispose. */
async function occupiedPort(): Promise<{ port: number; [Symbol.asyncDispose](): Promise<void> }> {
  const server = net.createServer();
  await withDeadline(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 'listen');
  return {
    port: (server.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('bad usage exits 2 with one line and the usage hint', () => {
  it.each([
    [['echo', '--bogus'], "unknown option '--bogus'"],
    [['echo', '--port', '99999'], "--port must be a port number from 0 to 65535, not '99999'"],
    [['chat', '--transport', 'udp'], 'the chat needs a stream transport (tcp or unix), not udp'],
    [['echo', '--transport', 'unix'], '--transport unix needs --path PATH'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['echo', '--port', '-1'], "--port must be a port number from 0 to 65535, not '-1'"],
    [['chat', '--timeout', '-3'], "--timeout must be a number of seconds above 0, not '-3'"],
    [
      ['connect', '127.0.0.1', 'notaport'],
      "the PORT argument of 'connect' must be a port number from 0 to 65535, not 'notaport'",
    ],
  ])('%j', async (argv, message) => {
    const result = await runCli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`sockserve-demo: ${message}\n${USAGE}\n`);
  });
});

describe('runtime failures exit 1 naming the address', () => {
  it('a TCP port in use', async () => {
    await using held = await occupiedPort();
    for (const command of ['echo', 'chat']) {
      const result = await runCli([command, '--port', String(held.port)]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`sockserve-demo: address already in use: tcp://127.0.0.1:${held.port}\n`);
    }
  });

  it('a port in use with --log-format json is one JSON error line', async () => {
    await using held = await occupiedPort();
    const result = await runCli(['echo', '--port', String(held.port), '--log-format', 'json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({
      level: 50,
      msg: `address already in use: tcp://127.0.0.1:${held.port}`,
    });
  });

  it('start closes what it bound when a later port is taken', async () => {
    await using held = await occupiedPort();
    const result = await runCli(['start', '--port', '0', '--chat-port', String(held.port)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`sockserve-demo: address already in use: tcp://127.0.0.1:${held.port}\n`);
  });

  it('a live Unix socket path', async () => {
    using dir = tempDir();
    const path = dir.file('demo.sock');
    const { cli } = await startServer(['echo', '--path', path]);
    await using _cli = cli;
    const result = await runCli(['chat', '--path', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`sockserve-demo: a server is already listening on unix://${path}\n`);
    // The running server was left alone.
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });
});

describe('Unix socket paths the system cannot take exit 1 with one line saying why', () => {
  it('a path longer than the platform allows names the path and the limit', async () => {
    using dir = tempDir();
    const limit = process.platform === 'linux' ? 107 : 103;
    const path = `${dir.path}/${'x'.repeat(limit + 1 - dir.path.length - 1)}`;
    for (const command of ['echo', 'chat']) {
      const result = await runCli([command, '--path', path]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `sockserve-demo: cannot listen on unix://${path}: the path is ${limit + 1} bytes, longer than the ${limit} bytes a Unix socket path can have on ${process.platform}; use a shorter path\n`,
      );
    }
  });

  it('a path in a directory that does not exist names the directory', async () => {
    using dir = tempDir();
    const result = await runCli(['echo', '--path', `${dir.path}/missing/demo.sock`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `sockserve-demo: cannot listen on unix://${dir.path}/missing/demo.sock: the directory ${dir.path}/missing does not exist\n`,
    );
  });
});

describe('help and version', () => {
  it('--help lists the commands, and where their options are, on stdout', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const word of ['start', 'echo', 'chat', 'connect', '<command> --help', '--log-format']) {
      expect(result.stdout).toContain(word);
    }
    expect(result.stderr).toBe('');
  });

  it('each command has its own --help, listing only the options it takes', async () => {
    const takes: Record<string, { has: string[]; lacks: string[] }> = {
      start: {
        has: ['--chat-port', '--mode', '--per-request', '--max-line-bytes'],
        lacks: ['--transport', '--path'],
      },
      echo: { has: ['--transport', '--path', '--mode', '--per-request'], lacks: ['--chat-port', '--hub'] },
      chat: { has: ['--transport', '--max-line-bytes', '--hub'], lacks: ['--chat-port'] },
      connect: {
        has: ['[HOST] [PORT]', '--transport', '--timeout'],
        lacks: ['--mode', '--chat-port', '--hub'],
      },
    };
    const seen = new Set<string>();
    for (const [command, { has, lacks }] of Object.entries(takes)) {
      const result = await runCli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout.startsWith(`sockserve-demo ${command}: `)).toBe(true);
      for (const word of has) expect(result.stdout).toContain(word);
      for (const word of lacks) expect(result.stdout).not.toContain(word);
      seen.add(result.stdout);
    }
    expect(seen.size).toBe(4);
  });

  it('--version prints the version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sockserve-demo \d+\.\d+\.\d+\n$/);
  });
});
