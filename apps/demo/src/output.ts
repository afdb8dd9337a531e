/**
 * What the CLI says, and where: the `listening on …` line on stdout (the one line scripts wait for,
 * never silenced), everything else on stderr — human notices (hints, the banner) as plain text, or
 * as log records with `--log-format json` so that stderr stays one JSON object per line.
 */
import { type LogSettings, PROGRAM, USAGE_LINE } from './cli.js';
import type { Logger } from './logger.js';

export interface Output {
  readonly log: Logger;
  /** `listening on tcp://127.0.0.1:9999`, on stdout. */
  listening(url: string): void;
  /** Text for the person at the terminal (hints, banner); silenced by `--quiet`. */
  notice(text: string): void;
  /** The one line that says why the CLI gives up (always shown); with `usage`, the usage hint after it. */
  failure(message: string, usage?: boolean): void;
  /** A signal arrived: after the terminal's `^C`, start the next log line on a line of its own. */
  interrupted(signal: NodeJS.Signals): void;
}

export function createOutput(settings: LogSettings, log: Logger): Output {
  const json = settings.format === 'json';
  return {
    log,
    listening(url) {
      process.stdout.write(`listening on ${url}\n`);
    },
    notice(text) {
      if (settings.quiet) return;
      if (json) log.info(text);
      else process.stderr.write(`${text}\n`);
    },
    failure(message, usage = false) {
      if (json) log.error(message);
      else process.stderr.write(`${PROGRAM}: ${message}\n${usage ? `${USAGE_LINE}\n` : ''}`);
    },
    interrupted(signal) {
      if (signal === 'SIGINT' && !json && process.stderr.isTTY) process.stderr.write('\n');
    },
  };
}
