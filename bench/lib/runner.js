// Runs: start a server pinned to its CPU, wait until it listens, drive it with the load generator
// pinned to the other CPU and read what happened; in the end stop the server by its process group.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CPU the server under test runs on, and the one the load generator runs on. */
export const SERVER_CPU = '0';
export const LOADGEN_CPU = '1';

/** Runs "$@" with the open-file limit raised (10 000 idle connections need more than 1024). */
const RAISE_NOFILE = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Process groups of the servers running now, so an interrupted benchmark leaves none behind. */
const running = new Set();

/** Stops every server still running (SIGKILL to its process group). */
export function killRunningServers() {
  for (const pid of running) signalGroup(pid, 'SIGKILL');
  running.clear();
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * @typedef {object} RunResult
 * @property {'ok' | 'failed' | 'unavailable'} status
 * @property {number} [value]
 * @property {string} [error]
 * @property {number} [loadgenCpu]   fraction of one core the load generator used
 * @property {number} [serverCpu]    fraction of one core the server used (single-process servers)
 * @property {number} [serverUserCpu]  the part of `serverCpu` spent in user mode (utime, not stime)
 * @property {string} [handler]      the handler the server announced
 * @property {Record<string, unknown>} [loadgen]  the load generator's JSON line
 * @property {{ before: number, after: number, conns: number, perConnection: number }} [memory]  idle: server RSS in bytes
 * @property {Record<string, number>} [metrics]  script: the other figures of the run (the scenario's `metrics`)
 */

/**
 * @typedef {object} Launched
 * @property {(scenario: import('./catalog.js').Scenario, options: { duration: number, warmup: number }) => Promise<RunResult>} run
 *   one measured run against this server (it must be listening; waits for that)
 * @property {() => Promise<void>} stop
 */

/**
 * Starts a server under test (pinned to the server CPU unless it is multi-process). It stays up for
 * as many runs as the caller makes, then `stop()` ends its process group.
 * @param {import('./catalog.js').ServerSpec} server
 * @param {import('./catalog.js').Tools} tools
 * @returns {Launched}
 */
export function launch(server, tools) {
  const argv = server.command(tools);
  if (typeof argv === 'string') {
    return { run: async () => ({ status: 'unavailable', error: argv }), stop: async () => {} };
  }
  const proc = startServer(argv, !server.multiProcess);
  /** @type {Promise<{ port: number, handler?: string } | { unavailable: string, handler?: string } | { failed: string }>} */
  const ready = proc.ready.catch((error) => ({
    failed: `${error instanceof Error ? error.message : String(error)} ${proc.stderrTail()}`.trim(),
  }));
  return {
    stop: () => proc.stop(),
    run: async (scenario, options) => {
      const state = await ready;
      if ('failed' in state) return { status: 'failed', error: state.failed };
      if ('unavailable' in state)
        return { status: 'unavailable', error: state.unavailable, handler: state.handler };
      if (proc.exited) return { status: 'failed', error: `server exited earlier: ${proc.stderrTail()}` };
      const loadgenArgs = [...(scenario.loadgen?.(options) ?? []), '--port', String(state.port)];
      /** @type {RunResult} */
      let result;
      try {
        result =
          scenario.kind === 'idle'
            ? await measureIdle(proc, loadgenArgv(scenario, tools), loadgenArgs)
            : await measureLoad(proc, loadgenArgv(scenario, tools), loadgenArgs, !server.multiProcess);
      } catch (error) {
        result = { status: 'failed', error: error instanceof Error ? error.message : String(error) };
      }
      if (proc.exited) {
        const detail = [proc.stderrTail(), result.error].filter(Boolean).join('; ');
        return {
          ...result,
          status: 'failed',
          error: `server exited during the run${detail ? `: ${detail}` : ''}`,
        };
      }
      return { ...result, handler: state.handler };
    },
  };
}

/**
 * The load generator's command (before its arguments): the scenario's own (the TLS load generator,
 * a Node script) or the C one.
 * @param {import('./catalog.js').Scenario} scenario
 * @param {import('./catalog.js').Tools} tools
 * @returns {string[]}
 */
function loadgenArgv(scenario, tools) {
  return scenario.loadgenCommand?.(tools) ?? [tools.loadgen];
}

/** A script run's bound (the script bounds its own time; this only catches a hang). */
const SCRIPT_TIMEOUT_MS = 180_000;

/**
 * One run of a `script` scenario: runs the server's command (the script measures by itself) pinned
 * to the server CPU, in its own process group (ended afterwards, with anything the script started),
 * and reads the last JSON line it prints: `{ ok, value, metrics?, error? }`.
 * @param {import('./catalog.js').ServerSpec} server
 * @param {import('./catalog.js').Tools} tools
 * @returns {Promise<RunResult>}
 */
export async function runScript(server, tools) {
  const argv = server.command(tools);
  if (typeof argv === 'string') return { status: 'unavailable', error: argv };
  const command = server.multiProcess ? argv : ['taskset', '-c', SERVER_CPU, ...argv];
  const child = spawn('bash', ['-c', RAISE_NOFILE, 'bench-script', ...command], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = /** @type {number} */ (child.pid);
  running.add(pid);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  /** @type {Record<string, unknown> | undefined} */
  let report;
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const parsed = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object') report = parsed;
    } catch {
      // Not the result line.
    }
  });
  const killer = setTimeout(() => signalGroup(pid, 'SIGKILL'), SCRIPT_TIMEOUT_MS);
  const code = await new Promise((resolve) => child.once('close', resolve));
  clearTimeout(killer);
  signalGroup(pid, 'SIGKILL');
  running.delete(pid);
  const tail = stderr.trim().split('\n').slice(-6).join(' | ');
  if (report === undefined) {
    return {
      status: 'failed',
      error: `script exited (code ${code}) without a result${tail ? `: ${tail}` : ''}`,
    };
  }
  const ok = report.ok === true && Number.isFinite(Number(report.value));
  /** @type {RunResult} */
  const result = { status: ok ? 'ok' : 'failed', value: Number(report.value), loadgen: report };
  if (report.metrics !== null && typeof report.metrics === 'object') {
    result.metrics = /** @type {Record<string, number>} */ (report.metrics);
  }
  if (!ok) result.error = String(report.error ?? `no value${tail ? `: ${tail}` : ''}`);
  return result;
}

/**
 * @param {ServerProcess} proc
 * @param {string[]} command  the load generator (`loadgenArgv`)
 * @param {string[]} args
 * @param {boolean} measureServerCpu
 * @returns {Promise<RunResult>}
 */
async function measureLoad(proc, command, args, measureServerCpu) {
  // Server CPU over the measured window: from the load generator's word to its exit.
  let cpuStart = /** @type {CpuSample | undefined} */ (undefined);
  const loadgen = startLoadgen(command, args, (event) => {
    if (event.event === 'measuring' && measureServerCpu) cpuStart = cpuSample(proc.pid);
  });
  const report = await loadgen.done;
  const cpuEnd = measureServerCpu && cpuStart ? cpuSample(proc.pid) : undefined;
  const seconds = cpuStart && cpuEnd ? (cpuEnd.at - cpuStart.at) / 1000 : 0;
  const share = (/** @type {number} */ ticks) => ticks / CLOCK_TICKS / seconds;
  const serverCpu =
    cpuStart && cpuEnd ? share(cpuEnd.user + cpuEnd.system - (cpuStart.user + cpuStart.system)) : undefined;
  const serverUserCpu = cpuStart && cpuEnd ? share(cpuEnd.user - cpuStart.user) : undefined;
  return fromReport(report, { serverCpu, serverUserCpu });
}

/**
 * Server RSS before the connections and with all of them open and idle, per connection.
 * @param {ServerProcess} proc
 * @param {string[]} command  the load generator (`loadgenArgv`)
 * @param {string[]} args
 * @returns {Promise<RunResult>}
 */
async function measureIdle(proc, command, args) {
  await sleep(500);
  const before = rssBytes(proc.pid);
  let after = 0;
  const loadgen = startLoadgen(command, args, (event) => {
    if (event.event !== 'established') return;
    // Let the server settle (handlers set up, garbage from the connection burst collected).
    setTimeout(() => {
      if (!proc.exited) after = rssBytes(proc.pid);
      loadgen.finish();
    }, 1500);
  });
  const report = await loadgen.done;
  const result = fromReport(report, {});
  if (result.status !== 'ok' || after === 0) return result;
  const conns = Number(report.established);
  const perConnection = (after - before) / conns;
  return { ...result, value: perConnection / 1024, memory: { before, after, conns, perConnection } };
}

/**
 * @param {Record<string, unknown>} report
 * @param {{ serverCpu?: number | undefined, serverUserCpu?: number | undefined }} extra
 * @returns {RunResult}
 */
function fromReport(report, extra) {
  const ok = report.ok === true;
  /** @type {RunResult} */
  const result = {
    status: ok ? 'ok' : 'failed',
    value: Number(report.value),
    loadgenCpu: Number(report.cpu),
    loadgen: report,
  };
  if (extra.serverCpu !== undefined) result.serverCpu = extra.serverCpu;
  if (extra.serverUserCpu !== undefined) result.serverUserCpu = extra.serverUserCpu;
  if (!ok) result.error = `load generator: ${String(report.error)} (${report.errors} errors)`;
  return result;
}

// ---- processes ----------------------------------------------------------------------------

/**
 * @typedef {object} ServerProcess
 * @property {number} pid
 * @property {Promise<{ port: number, handler?: string } | { unavailable: string, handler?: string }>} ready
 * @property {boolean} exited
 * @property {() => string} stderrTail
 * @property {() => Promise<void>} stop
 */

/**
 * Starts a server in its own process group (so stopping it also stops any children it forked).
 * @param {string[]} argv
 * @param {boolean} pinned
 * @returns {ServerProcess}
 */
function startServer(argv, pinned) {
  const command = pinned ? ['taskset', '-c', SERVER_CPU, ...argv] : argv;
  const child = spawn('bash', ['-c', RAISE_NOFILE, 'bench-server', ...command], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exit = new Promise((resolve) => child.once('exit', resolve));
  const proc = {
    pid: /** @type {number} */ (child.pid),
    exited: false,
    stderrTail: () => stderr.trim().split('\n').slice(-6).join(' | '),
    /** @type {any} */
    ready: undefined,
    stop: async () => {
      if (proc.exited) return;
      signalGroup(proc.pid, 'SIGTERM');
      const stopped = await Promise.race([exit.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
      // Whatever is left of the group (a child that ignored SIGTERM) goes too.
      signalGroup(proc.pid, 'SIGKILL');
      if (!stopped) await exit;
    },
  };
  running.add(proc.pid);
  void exit.then(() => {
    proc.exited = true;
    running.delete(proc.pid);
  });
  proc.ready = new Promise((resolve, reject) => {
    /** @type {string | undefined} */
    let handler;
    const timer = setTimeout(
      () => reject(new Error('server did not start listening in time')),
      READY_TIMEOUT_MS,
    );
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const [word, ...rest] = line.trim().split(' ');
      const value = rest.join(' ');
      if (word === 'handler') handler = value;
      else if (word === 'listening') {
        clearTimeout(timer);
        resolve({ port: Number(value), handler });
      } else if (word === 'unavailable') {
        clearTimeout(timer);
        resolve({ unavailable: value, handler });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}) before listening`));
    });
  });
  return proc;
}

/** @param {number} pid @param {NodeJS.Signals} signal */
function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Runs the load generator pinned to its CPU and resolves with its final JSON line. Progress lines
 * (`{"event": …}`) go to `onEvent`; `finish()` tells an idle run to stop holding.
 * @param {string[]} command  the load generator (`loadgenArgv`)
 * @param {string[]} args
 * @param {(event: Record<string, unknown>) => void} [onEvent]
 */
function startLoadgen(command, args, onEvent) {
  const child = spawn(
    'bash',
    ['-c', RAISE_NOFILE, 'bench-loadgen', 'taskset', '-c', LOADGEN_CPU, ...command, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  /** @type {Record<string, unknown> | undefined} */
  let report;
  createInterface({ input: child.stdout }).on('line', (line) => {
    /** @type {Record<string, unknown>} */
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if ('event' in parsed) onEvent?.(parsed);
    else report = parsed;
  });
  // The load generator bounds its own time; this only catches a hang.
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  /** @type {Promise<Record<string, unknown>>} */
  const done = new Promise((resolve, reject) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      if (report !== undefined) resolve(report);
      else reject(new Error(`load generator exited (code ${code}) without a result: ${stderr.trim()}`));
    });
  });
  return {
    done,
    finish: () => child.stdin.end('done\n'),
  };
}

/** @param {number} pid */
function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * CPU time of a process in clock ticks: `user` (utime) and `system` (stime, the kernel's work on
 * its behalf), and when it was read (`performance.now()`).
 * @typedef {{ user: number, system: number, at: number }} CpuSample
 */

/** @param {number} pid @returns {CpuSample | undefined} */
function cpuSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]), system: Number(fields[12]), at: performance.now() };
  } catch {
    return undefined;
  }
}
