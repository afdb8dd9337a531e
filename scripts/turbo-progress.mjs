// Runs turbo with the build's own logs out of sight, saying what is being built instead:
//
//   node scripts/turbo-progress.mjs run build --filter=@sockserve/demo...   (npm start)
//   node scripts/turbo-progress.mjs run test                                 (npm test)
//
// turbo runs with --output-logs=new-only, so cached tasks replay nothing. Each `build` task that
// really runs (a first run, or changed sources) shows one line, `building @sockserve/core …`, after a
// notice that this happens on the first run only; its own output (tsup, node-gyp) is kept back and
// shown only if the run fails. Other tasks' output (the tests) and turbo's own lines pass through,
// less turbo's `cache bypass, force executing HASH` line per task and vitest's `JSON report written to`.
// A warm run therefore prints what it printed before: turbo's header and summary.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The line shown once, before the first package is built. */
export const FIRST_RUN_NOTICE =
  'building the packages (first run only, and after a change; this can take a minute):';

/**
 * Turns turbo's output lines into what the user sees. `write(line)` shows a line; `finish(failed)`
 * shows the hidden build output when the run failed.
 */
export function createProgress(write) {
  const hidden = new Map(); // task → its build output lines, shown only on failure
  let announced = false;
  return {
    line(text) {
      // Other tasks (the tests) show their output, less turbo's cache line and vitest's report path.
      const other = /^\S+:(?!build:)[\w-]+: ?(.*)$/.exec(text);
      if (other !== null && /^(cache (hit|miss|bypass)|JSON report written to )/.test(other[1])) return;
      const task = /^(\S+):build: ?(.*)$/.exec(text);
      if (task === null) {
        write(text);
        return;
      }
      const [, name, rest] = task;
      if (/^cache hit/.test(rest)) return;
      if (/^cache (miss|bypass)/.test(rest)) {
        if (!announced) write(FIRST_RUN_NOTICE);
        announced = true;
        write(`  building ${name} …`);
        hidden.set(name, []);
        return;
      }
      if (!hidden.has(name)) hidden.set(name, []);
      hidden.get(name).push(rest);
    },
    finish(failed) {
      if (!failed) return;
      for (const [name, lines] of hidden) {
        if (lines.length === 0) continue;
        write(`--- build output of ${name}:`);
        for (const line of lines) write(`${name}:build: ${line}`);
      }
    },
  };
}

/** The turbo of this repository (node_modules/.bin/turbo), or `turbo` on the PATH. */
function turboCommand() {
  const local = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
  return process.env.SOCKSERVE_TURBO ?? (existsSync(local) ? local : 'turbo');
}

/** Runs `turbo ARGS --output-logs=new-only` through the progress filter; resolves with its exit status. */
export function runTurbo(args, { stdout = process.stdout, env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(turboCommand(), [...args, '--output-logs=new-only'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const progress = createProgress((line) => stdout.write(`${line}\n`));
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => progress.line(line));
    child.stderr.pipe(process.stderr);
    const closed = new Promise((done) => lines.once('close', done));
    child.once('error', (error) => {
      process.stderr.write(`cannot run turbo: ${error.message}\n`);
      resolve(1);
    });
    child.once('close', async (code, signal) => {
      await closed;
      const status = code ?? (signal === 'SIGINT' ? 130 : 1);
      progress.finish(status !== 0);
      resolve(status);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await runTurbo(process.argv.slice(2));
}
