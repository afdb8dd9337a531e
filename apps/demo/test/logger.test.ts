import { describe, expect, it } from 'vitest';
import { createLogger, formatPretty } from '../src/logger.js';

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (text) => lines.push(...text.split('\n').filter((line) => line !== '')) };
}

describe('logger', () => {
  it('writes one JSON object per line with --log-format json', () => {
    const sink = capture();
    const log = createLogger({ format: 'json', level: 'debug', quiet: false }, sink);
    log.child({ server: 'chat' }).debug({ client: 'tcp://127.0.0.1:5000' }, 'connection opened');
    log.error({ err: new Error('boom') }, 'request failed');
    expect(sink.lines).toHaveLength(2);
    const [opened, failed] = sink.lines.map((line) => JSON.parse(line));
    expect(opened).toMatchObject({
      level: 20,
      server: 'chat',
      client: 'tcp://127.0.0.1:5000',
      msg: 'connection opened',
    });
    expect(typeof opened.time).toBe('string');
    expect(opened.pid).toBe(process.pid);
    expect(failed).toMatchObject({
      level: 50,
      msg: 'request failed',
      err: { type: 'Error', message: 'boom' },
    });
  });

  it('keeps debug lines out at the default level, and only errors with --quiet', () => {
    const normal = capture();
    const info = createLogger({ format: 'json', level: 'info', quiet: false }, normal);
    info.debug('connection opened');
    info.info('stopped');
    expect(normal.lines.map((line) => JSON.parse(line).msg)).toEqual(['stopped']);

    const quiet = capture();
    const log = createLogger({ format: 'pretty', level: 'debug', quiet: true }, quiet);
    log.info('stopped');
    log.warn('connection refused');
    log.error('listening socket error');
    expect(quiet.lines).toHaveLength(1);
    expect(quiet.lines[0]).toMatch(/ERROR listening socket error$/);
  });

  it('formats a pretty line: time, level, server, message, fields', () => {
    const time = new Date(2025, 0, 2, 3, 4, 5, 6).toISOString();
    const line = formatPretty({
      level: 20,
      time,
      pid: 1,
      server: 'echo-tcp',
      msg: 'connection closed',
      client: 'tcp://127.0.0.1:5000',
      ms: 12,
      note: 'two words',
    });
    expect(line).toBe(
      '03:04:05.006 DEBUG echo-tcp: connection closed client=tcp://127.0.0.1:5000 ms=12 note="two words"',
    );
  });

  it('shows an error stack only on error lines', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' };
    expect(formatPretty({ level: 40, msg: 'odd', err })).toMatch(/WARN {2}odd: boom$/);
    expect(formatPretty({ level: 50, msg: 'request failed', err }).split('\n')).toEqual([
      expect.stringMatching(/ERROR request failed$/),
      '    Error: boom',
      '        at x',
    ]);
  });
});
