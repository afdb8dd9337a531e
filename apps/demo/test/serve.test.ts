/** The servers of `sockserve-demo echo|chat`, started as the real CLI and used over real sockets. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { native } from '../../../test-support/native.js';
import {
  Cli,
  datagramRoundTrip,
  LineClient,
  parseUrl,
  startServer,
  streamRoundTrip,
  tempDir,
  withDeadline,
} from './helpers.js';

const LISTENING = {
  tcp: /^listening on tcp:\/\/127\.0\.0\.1:\d+$/,
  udp: /^listening on udp:\/\/127\.0\.0\.1:\d+$/,
  unix: /^listening on unix:\/\/\/.+\/demo\.sock$/,
};

describe.each([
  ['tcp', 'sync', []],
  ['tcp', 'threading', []],
  ['tcp', 'forking', ['--workers', '1']],
  ['tcp', 'forking', ['--per-request']],
  ['udp', 'sync', []],
  ['udp', 'threading', []],
  ['udp', 'forking', ['--workers', '1']],
  ['unix', 'sync', []],
  ['unix', 'threading', []],
  ['unix', 'forking', ['--workers', '1']],
] as const)('echo --transport %s --mode %s %j', (transport, mode, extra) => {
  it('prints one listening line and a hint, echoes, and exits 0 on SIGTERM', async () => {
    using dir = tempDir();
    const where = transport === 'unix' ? ['--path', dir.file('demo.sock')] : ['--port', '0'];
    const { cli, urls } = await startServer([
      'echo',
      '--transport',
      transport,
      ...where,
      '--mode',
      mode,
      ...extra,
    ]);
    await using _cli = cli;
    const endpoint = parseUrl(urls[0]!);
    expect(cli.stdoutLines).toEqual([expect.stringMatching(LISTENING[transport])]);
    const nc = { tcp: 'nc', udp: 'nc -u', unix: 'nc -U' }[transport];
    await cli.until(() => cli.stderr.includes(`try: ${nc} `), 'hint');

    if (transport === 'udp') {
      // @sockserve/udp-native is a dependency of the demo (not built on a machine without a C compiler).
      expect(cli.stderr).toContain(
        native.batching
          ? 'reads and sends datagrams in batches (@sockserve/udp-native)'
          : 'reads datagrams one at a time',
      );
      expect(await datagramRoundTrip(endpoint, 'ping\n')).toBe('ping\n');
      expect(await datagramRoundTrip(endpoint, 'pong\n')).toBe('pong\n');
    } else {
      expect(await streamRoundTrip(endpoint, 'hello\nworld\n')).toBe('hello\nworld\n');
      expect(await streamRoundTrip(endpoint, 'again\n')).toBe('again\n');
    }

    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    expect(cli.stdoutLines).toHaveLength(1);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('chat', () => {
  it('lets two clients talk, and tells them when the server shuts down', async () => {
    const { cli, urls } = await startServer(['chat', '--port', '0']);
    await using _cli = cli;
    expect(cli.stdoutLines).toEqual([expect.stringMatching(LISTENING.tcp)]);
    const endpoint = parseUrl(urls[0]!);
    using alice = await LineClient.connect(endpoint);
    expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
    using bob = await LineClient.connect(endpoint);
    expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
    expect(await alice.line()).toBe('-- guest2 joined #lobby');

    alice.send('/nick alice');
    expect(await alice.line()).toBe('-- you are now alice');
    expect(await bob.line()).toBe('-- guest1 is now known as alice');
    bob.send('/nick bob');
    expect(await bob.line()).toBe('-- you are now bob');
    expect(await alice.line()).toBe('-- guest2 is now known as bob');
    alice.send('hi bob');
    expect(await bob.line()).toBe('<alice> hi bob');
    bob.send('/who');
    expect(await bob.line()).toBe('-- online in #lobby: alice, bob');

    cli.signal('SIGTERM');
    expect(await alice.line()).toBe('-- server shutting down');
    expect(await bob.line()).toBe('-- server shutting down');
    await alice.untilClosed();
    await bob.untilClosed();
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });

  it('forking: users on different children chat as one, and all are told when the server shuts down', async () => {
    const { cli, urls } = await startServer([
      'chat',
      '--port',
      '0',
      '--mode',
      'forking',
      '--workers',
      '2',
      '--log-level',
      'debug',
    ]);
    await using _cli = cli;
    const endpoint = parseUrl(urls[0]!);
    using alice = await LineClient.connect(endpoint);
    expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
    using bob = await LineClient.connect(endpoint);
    expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
    expect(await alice.line()).toBe('-- guest2 joined #lobby');
    // A new connection goes to the least busy child: alice and bob are served by different processes.
    await cli.until(
      () => (cli.stderr.match(/connection opened .*child=\d+/g) ?? []).length === 2,
      'child logs',
    );
    const children = new Set(cli.stderr.match(/(?<=connection opened .*child=)\d+/g));
    expect(children.size).toBe(2);

    alice.send('/nick alice');
    expect(await alice.line()).toBe('-- you are now alice');
    expect(await bob.line()).toBe('-- guest1 is now known as alice');
    bob.send('/nick ALICE');
    expect(await bob.line()).toBe('! nickname taken: ALICE');
    bob.send('/nick bob');
    expect(await bob.line()).toBe('-- you are now bob');
    expect(await alice.line()).toBe('-- guest2 is now known as bob');
    alice.send('hi bob');
    expect(await bob.line()).toBe('<alice> hi bob');
    bob.send('/msg alice psst');
    expect(await bob.line()).toBe('[you -> alice] psst');
    expect(await alice.line()).toBe('[bob -> you] psst');
    bob.send('/who');
    expect(await bob.line()).toBe('-- online in #lobby: alice, bob');

    cli.signal('SIGTERM');
    expect(await alice.line()).toBe('-- server shutting down');
    expect(await bob.line()).toBe('-- server shutting down');
    await alice.untilClosed();
    await bob.untilClosed();
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    expect(alice.received.at(-1)).toBe('-- server shutting down');
    expect(bob.received.at(-1)).toBe('-- server shutting down');
  });

  it.each([
    ['sync', []],
    ['threading', []],
    ['forking', ['--workers', '1']],
  ] as const)('listens on a Unix socket in %s mode', async (mode, extra) => {
    using dir = tempDir();
    const { cli, urls } = await startServer([
      'chat',
      '--path',
      dir.file('demo.sock'),
      '--mode',
      mode,
      ...extra,
    ]);
    await using _cli = cli;
    expect(cli.stdoutLines).toEqual([expect.stringMatching(LISTENING.unix)]);
    using client = await LineClient.connect(parseUrl(urls[0]!));
    expect(await client.line()).toMatch(/^-- welcome, you are guest1 in #lobby/);
    client.send('/quit');
    expect(await client.line()).toBe('-- bye');
    cli.signal('SIGINT');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });
});

describe('shutdown', () => {
  it('stops accepting, lets a running connection finish, then exits 0', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0']);
    await using _cli = cli;
    const endpoint = parseUrl(urls[0]!);
    using running = await LineClient.connect(endpoint);
    running.send('before');
    expect(await running.line()).toBe('before');

    cli.signal('SIGTERM');
    // Said once the listening socket is closed, while the connection runs.
    await cli.until(() => cli.stderr.includes('waiting up to 5 s for 1 open connection'), 'shutdown log');
    const refused = await withDeadline(
      new Promise<string>((resolve) => {
        const socket = net.connect({ host: endpoint.host, port: endpoint.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      }),
      'connection attempt',
    );
    expect(refused).toBe('ECONNREFUSED');
    running.send('during');
    expect(await running.line()).toBe('during');
    running.socket.end();
    await running.untilClosed();
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });

  it('stops at once on a second SIGINT', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0']);
    await using _cli = cli;
    using idle = await LineClient.connect(parseUrl(urls[0]!));
    idle.send('x');
    expect(await idle.line()).toBe('x');
    cli.signal('SIGINT');
    await cli.until(() => cli.stderr.includes('shutting down'), 'shutdown log');
    cli.signal('SIGINT');
    expect(await cli.exit()).toEqual({ code: 130, signal: null });
  });
});

describe('output', () => {
  it('--quiet keeps the listening line and nothing else', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0', '--quiet']);
    await using _cli = cli;
    expect(await streamRoundTrip(parseUrl(urls[0]!), 'q\n')).toBe('q\n');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    expect(cli.stdoutLines).toEqual([expect.stringMatching(LISTENING.tcp)]);
    expect(cli.stderr).toBe('');
  });

  it('--log-format json writes one JSON object per stderr line, with a line per connection at debug', async () => {
    const { cli, urls } = await startServer([
      'echo',
      '--port',
      '0',
      '--log-format',
      'json',
      '--log-level',
      'debug',
    ]);
    await using _cli = cli;
    expect(await streamRoundTrip(parseUrl(urls[0]!), 'j\n')).toBe('j\n');
    await cli.until(() => cli.stderr.includes('connection closed'), 'close log');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    const records = cli.stderr
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string; server?: string; client?: string });
    expect(records.map((record) => record.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^try: nc 127\.0\.0\.1 \d+$/),
        'connection opened',
        'connection closed',
        'shutting down (Ctrl-C again to stop now)',
        'stopped',
      ]),
    );
    const opened = records.find((record) => record.msg === 'connection opened')!;
    expect(opened).toMatchObject({
      level: 20,
      server: 'echo',
      client: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
    });
  });

  it('logs connections only at debug level', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0']);
    await using _cli = cli;
    expect(await streamRoundTrip(parseUrl(urls[0]!), 'd\n')).toBe('d\n');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
    expect(cli.stderr).not.toContain('connection opened');
    expect(cli.stderr).toMatch(/INFO {2}stopped/);
  });
});

it('runs a forking server whose children do not print the listening line', async () => {
  const { cli, urls } = await startServer([
    'echo',
    '--port',
    '0',
    '--mode',
    'forking',
    '--workers',
    '2',
    '--log-level',
    'debug',
  ]);
  await using _cli = cli;
  const endpoint = parseUrl(urls[0]!);
  const replies = await Promise.all(
    ['a', 'b', 'c', 'd'].map((text) => streamRoundTrip(endpoint, `${text}\n`)),
  );
  expect(replies).toEqual(['a\n', 'b\n', 'c\n', 'd\n']);
  // Connections are logged by the children, which tag their lines with their pid.
  await cli.until(() => (cli.stderr.match(/connection closed child=\d+/g) ?? []).length === 4, 'child logs');
  cli.signal('SIGTERM');
  expect(await cli.exit()).toEqual({ code: 0, signal: null });
  expect(cli.stdoutLines).toHaveLength(1);
});

it('closes a Unix socket file when it stops', async () => {
  using dir = tempDir();
  const path = dir.file('demo.sock');
  const cli = new Cli(['echo', '--path', path]);
  await using _cli = cli;
  await cli.listening();
  cli.signal('SIGTERM');
  expect(await cli.exit()).toEqual({ code: 0, signal: null });
  // The path is free again: a new server can take it.
  const { cli: again } = await startServer(['echo', '--path', path]);
  await using _again = again;
  again.signal('SIGTERM');
  expect(await again.exit()).toEqual({ code: 0, signal: null });
});

describe('options reach the servers', () => {
  it('--timeout closes an idle connection', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0', '--timeout', '0.2']);
    await using _cli = cli;
    using idle = await LineClient.connect(parseUrl(urls[0]!));
    idle.send('still here');
    expect(await idle.line()).toBe('still here');
    await idle.untilClosed();
  });

  it('--max-connections refuses a connection over the limit', async () => {
    const { cli, urls } = await startServer(['chat', '--port', '0', '--max-connections', '1']);
    await using _cli = cli;
    const endpoint = parseUrl(urls[0]!);
    using first = await LineClient.connect(endpoint);
    expect(await first.line()).toMatch(/^-- welcome, you are guest1/);
    using second = await LineClient.connect(endpoint);
    await second.untilClosed();
    expect(second.received).toEqual([]);
    await cli.until(() => cli.stderr.includes('connection refused'), 'refusal log');
    expect(cli.stderr).toMatch(
      /WARN {2}chat: connection refused client=tcp:\/\/127\.0\.0\.1:\d+ reason=max-connections/,
    );
  });

  it('--max-line-bytes limits chat lines', async () => {
    const { cli, urls } = await startServer(['chat', '--port', '0', '--max-line-bytes', '10']);
    await using _cli = cli;
    using client = await LineClient.connect(parseUrl(urls[0]!));
    expect(await client.line()).toMatch(/^-- welcome/);
    client.send('x'.repeat(11));
    expect(await client.line()).toBe('! line too long (max 10 bytes)');
  });
});

describe('what the log says when things go wrong', () => {
  it('a client that reset before its address was read is logged as unknown, not tcp://:0', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0', '--log-level', 'debug']);
    await using _cli = cli;
    const { port } = parseUrl(urls[0]!);
    // Stopped, the server cannot accept: the connection waits in the kernel's queue, and is reset there.
    cli.signal('SIGSTOP');
    try {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      await withDeadline(new Promise((resolve) => socket.once('connect', resolve)), 'connection');
      socket.resetAndDestroy();
      await withDeadline(new Promise((resolve) => socket.once('close', resolve)), 'reset');
    } finally {
      cli.signal('SIGCONT');
    }
    await cli.until(() => cli.stderr.includes('connection closed'), 'the reset connection logged');
    expect(cli.stderr).toContain('connection opened client="unknown (reset before read)"');
    expect(cli.stderr).not.toContain('tcp://:0');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });

  it.runIf(process.platform === 'linux')(
    'running out of file descriptors is logged (one line, no stack), and the server serves again after',
    async () => {
      const { cli, urls } = await startServer(['echo', '--port', '0'], 1, ['prlimit', '--nofile=64:64']);
      await using _cli = cli;
      const echo = parseUrl(urls[0]!);
      const clients: net.Socket[] = [];
      try {
        for (let i = 0; i < 100; i++) {
          const socket = net.connect({ host: '127.0.0.1', port: echo.port });
          socket.on('error', () => {});
          clients.push(socket);
        }
        await cli.until(() => cli.stderr.includes('socket error'), 'a log line about the descriptors');
      } finally {
        for (const socket of clients) socket.destroy();
      }
      expect(cli.stderr).toMatch(
        new RegExp(
          `ERROR echo: socket error: accept EMFILE tcp://127\\.0\\.0\\.1:${echo.port}: no file descriptor left .*new connections are closed at accept.* code=EMFILE count=1\\n`,
        ),
      );
      expect(cli.stderr).not.toContain('    at ');
      let reply = '';
      for (let attempt = 0; attempt < 50 && reply !== 'back\n'; attempt++) {
        reply = await streamRoundTrip(echo, 'back\n').catch(() => '');
      }
      expect(reply).toBe('back\n');
      cli.signal('SIGTERM');
      expect(await cli.exit()).toEqual({ code: 0, signal: null });
    },
  );
});
