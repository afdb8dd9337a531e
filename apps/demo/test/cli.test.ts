import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../src/cli.js';

const usageError = (argv: string[]): string => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('parseCommandLine', () => {
  it('gives echo and chat their defaults', () => {
    expect(parseCommandLine(['echo'])).toEqual({
      name: 'echo',
      server: {
        transport: 'tcp',
        host: '127.0.0.1',
        port: 9999,
        path: undefined,
        mode: 'threading',
        workers: undefined,
        perRequest: false,
        timeout: undefined,
        maxConnections: undefined,
      },
      log: { format: 'pretty', level: 'info', quiet: false },
    });
    const chat = parseCommandLine(['chat']);
    expect(chat.name === 'chat' && chat.server.port).toBe(9998);
    expect(chat.name === 'chat' && chat.chat).toEqual({
      maxLineBytes: undefined,
      maxPendingBytes: undefined,
      hub: 'memory',
      redisUrl: undefined,
    });
  });

  it('reads every server option', () => {
    const command = parseCommandLine([
      'chat',
      '--host=::1',
      '--port',
      '0',
      '--mode',
      'forking',
      '--workers',
      '3',
      '--timeout',
      '1.5',
      '--max-connections',
      '10',
      '--max-line-bytes',
      '100',
      '--max-pending-bytes',
      '2000',
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '-q',
    ]);
    expect(command).toMatchObject({
      name: 'chat',
      server: { host: '::1', port: 0, mode: 'forking', workers: 3, timeout: 1.5, maxConnections: 10 },
      chat: { maxLineBytes: 100, maxPendingBytes: 2000 },
      log: { format: 'json', level: 'debug', quiet: true },
    });
  });

  it('takes a Unix path, and --path alone means --transport unix', () => {
    const expected = { transport: 'unix', path: '/tmp/x.sock' };
    expect(parseCommandLine(['echo', '--transport', 'unix', '--path', '/tmp/x.sock'])).toMatchObject({
      server: expected,
    });
    expect(parseCommandLine(['echo', '--path', '/tmp/x.sock'])).toMatchObject({ server: expected });
  });

  it('parses connect HOST PORT, PORT, flags and a Unix PATH', () => {
    expect(parseCommandLine(['connect', 'localhost', '7'])).toMatchObject({
      connect: { transport: 'tcp', host: 'localhost', port: 7 },
    });
    expect(parseCommandLine(['connect', '7'])).toMatchObject({ connect: { host: '127.0.0.1', port: 7 } });
    expect(parseCommandLine(['connect'])).toMatchObject({ connect: { host: '127.0.0.1', port: 9999 } });
    expect(parseCommandLine(['connect', '--transport', 'udp', '--port', '53'])).toMatchObject({
      connect: { transport: 'udp', port: 53 },
    });
    expect(parseCommandLine(['connect', '--transport', 'unix', '/tmp/s'])).toMatchObject({
      connect: { transport: 'unix', path: '/tmp/s' },
    });
  });

  it('has start, help and version', () => {
    expect(parseCommandLine(['start'])).toMatchObject({
      name: 'start',
      server: { port: 9999 },
      chatPort: 9998,
    });
    expect(parseCommandLine(['start', '--port', '0', '--chat-port', '0'])).toMatchObject({
      server: { port: 0 },
      chatPort: 0,
    });
    expect(parseCommandLine(['--help'])).toEqual({ name: 'help', topic: undefined });
    expect(parseCommandLine(['chat', '-h'])).toEqual({ name: 'help', topic: 'chat' });
    expect(parseCommandLine(['connect', '--help', 'x', 'y'])).toEqual({ name: 'help', topic: 'connect' });
    expect(parseCommandLine(['--version'])).toEqual({ name: 'version' });
  });

  it.each([
    [[], 'missing command'],
    [['serve'], "unknown command 'serve'"],
    [['echo', '--verbose'], "unknown option '--verbose'"],
    [['echo', '--port'], "option '--port' needs a value"],
    [['echo', '--quiet=yes'], "option '-q, --quiet' does not take a value"],
    [['echo', '--port', 'http'], "--port must be a port number from 0 to 65535, not 'http'"],
    [['echo', '--port', '65536'], "--port must be a port number from 0 to 65535, not '65536'"],
    [['echo', '--port', '-1'], "--port must be a port number from 0 to 65535, not '-1'"],
    [['start', '--chat-port', '-5'], "--chat-port must be a port number from 0 to 65535, not '-5'"],
    [['echo', '--timeout', '-3'], "--timeout must be a number of seconds above 0, not '-3'"],
    [['echo', '--timeout', '-.5'], "--timeout must be a number of seconds above 0, not '-.5'"],
    [['chat', '--max-line-bytes', '-1'], "--max-line-bytes must be a whole number of at least 1, not '-1'"],
    [
      ['connect', '127.0.0.1', 'notaport'],
      "the PORT argument of 'connect' must be a port number from 0 to 65535, not 'notaport'",
    ],
    [
      ['connect', '127.0.0.1', '70000'],
      "the PORT argument of 'connect' must be a port number from 0 to 65535, not '70000'",
    ],
    [['chat', '--transport', 'udp'], 'the chat needs a stream transport (tcp or unix), not udp'],
    [['echo', '--transport', 'unix'], '--transport unix needs --path PATH'],
    [['echo', '--transport', 'tcp', '--path', '/tmp/x'], '--path needs --transport unix (not tcp)'],
    [['echo', '--path', '/tmp/x', '--port', '1'], '--host and --port do not apply to --transport unix'],
    [['echo', '--transport', 'sctp'], "--transport must be tcp, udp or unix, not 'sctp'"],
    [['echo', '--mode', 'async'], "--mode must be sync, threading or forking, not 'async'"],
    [['echo', '--workers', '2'], '--workers needs --mode forking'],
    [['echo', '--per-request'], '--per-request needs --mode forking'],
    [
      ['echo', '--mode', 'forking', '--workers', '0'],
      "--workers must be a whole number of at least 1, not '0'",
    ],
    [['echo', '--timeout', '0'], "--timeout must be a number of seconds above 0, not '0'"],
    [['echo', '--transport', 'udp', '--timeout', '1'], '--timeout does not apply to udp'],
    [['echo', '--hub', 'memory'], "option --hub does not apply to 'echo'"],
    [['chat', '--redis-url', 'redis://x'], '--redis-url needs --hub redis'],
    [['start', '--transport', 'unix'], "option --transport does not apply to 'start'"],
    [['echo', 'extra'], "unexpected argument 'extra'"],
    [['connect', 'a', '1', 'b'], "unexpected argument 'b'"],
  ])('rejects %j: %s', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});
