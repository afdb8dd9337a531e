/**
 * Logging: pino, writing synchronously to stderr, either as JSON lines (`--log-format json`) or
 * through the small pretty formatter below (`--log-format pretty`, the default).
 *
 * Why pino and not a hand-written logger: levels, child loggers with bindings (`server`, `child`),
 * error serialization (type, message, stack, code), safe stringifying of any value and a fast
 * synchronous destination (no line lost at `process.exit()`) are all things a demo should not
 * re-invent, and its JSON lines are the format log tools already read (`| npx pino-pretty` works).
 * Why not pino-pretty for the human format: it brings a dozen dependencies and a worker-thread
 * transport for what is one line of formatting here (`formatPretty`), and its layout is made for
 * services, not for a CLI someone watches in a terminal.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogSettings } from './cli.js';

export type { Logger };

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '36', 40: '33', 50: '31', 60: '31' };
/** Keys the pretty line shows in its own place (or not at all). */
const PLACED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'server', 'err']);

/** Where log lines go: anything with `write(string)` (stderr by default). */
export type LogSink = DestinationStream;

/**
 * The logger of the CLI. `--quiet` keeps errors only (errors are always logged); JSON lines carry
 * the level as pino's number, an ISO time and the pid.
 */
export function createLogger(settings: LogSettings, sink?: LogSink): Logger {
  const destination = sink ?? pino.destination({ dest: 2, sync: true });
  const colors = sink === undefined && stderrHasColors();
  return pino(
    {
      level: settings.quiet ? 'error' : settings.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    settings.format === 'json' ? destination : prettySink(destination, colors),
  );
}

/** A destination that turns each JSON line from pino into one `formatPretty` line. */
export function prettySink(sink: LogSink, colors: boolean): LogSink {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        sink.write(line);
        return;
      }
      sink.write(`${formatPretty(record, colors)}\n`);
    },
  };
}

/**
 * `12:00:01.234 DEBUG chat: connection opened client=tcp://127.0.0.1:53422`; an error's message
 * follows its line, and its stack (indented) when it has one and the record is an error.
 */
export function formatPretty(record: Record<string, unknown>, colors = false): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const time =
    typeof record.time === 'string' || typeof record.time === 'number' ? new Date(record.time) : new Date();
  const label = (LEVELS[level] ?? String(level)).padEnd(5);
  const paint = (code: string | undefined, text: string): string =>
    colors && code !== undefined ? `\u001b[${code}m${text}\u001b[39m` : text;
  let line = `${paint('90', clock(time))} ${paint(COLORS[level], label)} `;
  if (typeof record.server === 'string') line += `${record.server}: `;
  line += String(record.msg ?? '');
  for (const [key, value] of Object.entries(record)) {
    if (PLACED.has(key) || value === undefined) continue;
    line += ` ${paint('90', `${key}=`)}${showValue(value)}`;
  }
  const err = record.err as { message?: unknown; stack?: unknown } | undefined;
  if (err !== undefined && err !== null) {
    const stack = typeof err.stack === 'string' && level >= 50 ? err.stack : undefined;
    if (stack !== undefined) line += `\n${stack.replace(/^/gm, '    ')}`;
    else if (err.message !== undefined) line += `: ${String(err.message)}`;
  }
  return line;
}

function clock(time: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}.${String(time.getMilliseconds()).padStart(3, '0')}`;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function stderrHasColors(): boolean {
  return process.stderr.isTTY === true && process.stderr.hasColors?.() === true;
}
