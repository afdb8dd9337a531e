#!/usr/bin/env node
// npm run bench [-- SCENARIO... --runs N --duration S --warmup S --servers a,b --update-readme --profile]
//
// Runs sockserve and its baselines under the same load in one invocation, alternating them
// (A B C A B C …) because these machines are noisy, and reports medians and ratios of medians.
// Results: a table on stdout, bench/results/latest.json, and with --update-readme the root README.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildTools } from '../lib/build.js';
import { SCENARIOS, SERVERS } from '../lib/catalog.js';
import { RESULTS_DIR, ROOT_DIR } from '../lib/paths.js';
import { summarizeProfile } from '../lib/profile.js';
import {
  compare,
  formatValue,
  loadgenCheck,
  README_END,
  README_START,
  renderMarkdown,
  renderTerminal,
  summarizeServer,
  updateReadme,
} from '../lib/report.js';
import { killRunningServers, LOADGEN_CPU, launch, runScript, SERVER_CPU } from '../lib/runner.js';

const HELP = `usage: npm run bench [-- [scenario...] [options]]

scenarios: ${SCENARIOS.map((s) => s.id).join(', ')} (default: all)
options:
  --runs N          alternation rounds, every server once per round (default 7)
  --duration S      measured seconds per run (default 1.5)
  --warmup S        seconds of load before each measured window (default 0.3)
  --servers a,b     only these servers (ids: ${Object.keys(SERVERS).join(', ')})
  --update-readme   write the table into README.md between ${README_START} and ${README_END}
  --profile         run the Node servers under node --cpu-prof; print their hottest functions
  --json FILE       where to write the results (default bench/results/latest.json)
`;

const log = (/** @type {string} */ line) => process.stderr.write(`${line}\n`);

function parseOptions() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '7' },
      duration: { type: 'string', default: '1.5' },
      warmup: { type: 'string', default: '0.3' },
      servers: { type: 'string' },
      'update-readme': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      json: { type: 'string', default: path.join(RESULTS_DIR, 'latest.json') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const number = (/** @type {string} */ name, /** @type {string} */ text, /** @type {number} */ min) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}`);
    return value;
  };
  const unknown = positionals.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n\n${HELP}`);
  const servers = values.servers?.split(',').filter(Boolean);
  for (const id of servers ?? []) if (!(id in SERVERS)) throw new Error(`unknown server ${id}\n\n${HELP}`);
  return {
    scenarios: positionals.length > 0 ? SCENARIOS.filter((s) => positionals.includes(s.id)) : SCENARIOS,
    runs: Math.round(number('runs', values.runs, 1)),
    duration: number('duration', values.duration, 0.1),
    warmup: number('warmup', values.warmup, 0),
    servers,
    updateReadme: values['update-readme'],
    profile: values.profile,
    json: path.resolve(values.json),
  };
}

/** @param {string} command @param {string[]} args */
function capture(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function checkPrerequisites() {
  if (capture('taskset', ['-V']) === undefined) {
    throw new Error(
      'taskset not found: install util-linux (it pins the server and the load generator to CPUs)',
    );
  }
  if (os.cpus().length < 2)
    throw new Error('the benchmark needs 2 CPUs: one for the server, one for the load generator');
  if (!existsSync(path.join(ROOT_DIR, 'packages', 'core', 'dist', 'index.js'))) {
    throw new Error(
      '@sockserve/core is not built: run `npm run bench` from the repository root (it builds first)',
    );
  }
}

function describeMachine() {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const virtual = readFileSync('/proc/cpuinfo', 'utf8').includes(' hypervisor') ? ' (virtual machine)' : '';
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`;
  return `${cpus.length} x ${model}${virtual}, ${memory}, Linux ${os.release()}, Node.js ${process.version}`;
}

/** Seconds of load each server gets, unmeasured, before the first round (JIT warm-up). */
const WARMUP_RUN_SECONDS = 1;

/**
 * Every server of the scenario once per round, in the same order each round. For load scenarios
 * each server stays up for the whole scenario (started once, one unmeasured warm-up run, then its
 * runs), so runs can be short and rounds many; the idle scenario starts a fresh server for each run,
 * since it measures how much that server's RSS grows, and so does a scenario marked `freshServer`
 * (the join storm, whose 5,000 clients leave when a run ends). A `script` scenario's runs are scripts
 * that start, measure and stop what they measure by themselves.
 * @param {import('../lib/catalog.js').Scenario} scenario
 * @param {string[]} ids
 * @param {import('../lib/catalog.js').Tools} tools
 * @param {{ runs: number, duration: number, warmup: number }} options
 */
async function runScenario(scenario, ids, tools, options) {
  /** @type {Map<string, import('../lib/runner.js').RunResult[]>} */
  const runs = new Map(ids.map((id) => [id, []]));
  /** @type {Map<string, string>} */
  const handlers = new Map();
  /** @type {Map<string, import('../lib/runner.js').Launched>} */
  const launched = new Map();
  const spec = (/** @type {string} */ id) =>
    /** @type {import('../lib/catalog.js').ServerSpec} */ (SERVERS[id]);
  const record = (
    /** @type {string} */ id,
    /** @type {string} */ when,
    /** @type {import('../lib/runner.js').RunResult} */ result,
  ) => {
    runs.get(id)?.push(result);
    if (result.handler) handlers.set(id, result.handler);
    const note = typeof result.loadgen?.note === 'string' ? `; ${result.loadgen.note}` : '';
    const detail =
      scenario.kind === 'script'
        ? (scenario.metrics ?? [])
            .map((m) => `${m.title} ${formatValue(result.metrics?.[m.key], m.unit)} ${m.unit}`)
            .join(', ')
        : `load generator cpu ${Math.round((result.loadgenCpu ?? 0) * 100)}%${note}`;
    const shown =
      result.status === 'ok'
        ? `${formatValue(result.value, scenario.unit)} ${scenario.unit}  (${detail})`
        : `${result.status}: ${result.error}${note}`;
    log(`[${scenario.id} ${when}] ${id}: ${shown}`);
  };
  const skipped = (/** @type {string} */ id) => runs.get(id)?.some((run) => run.status === 'unavailable');
  const missing = scenario.unavailable?.(tools);
  if (missing !== undefined) {
    log(`[${scenario.id}] skipped: ${missing}`);
    for (const id of ids) runs.get(id)?.push({ status: 'unavailable', error: missing });
    return { runs, handlers };
  }
  if (scenario.kind === 'script') {
    // Each run is a script that starts what it measures, measures and stops it (no warm-up run:
    // the script warms up by itself).
    for (let round = 1; round <= options.runs; round++) {
      for (const id of ids) {
        if (!skipped(id)) record(id, `${round}/${options.runs}`, await runScript(spec(id), tools));
      }
    }
    return { runs, handlers };
  }
  try {
    if (scenario.kind === 'load' && !scenario.freshServer) {
      for (const id of ids) {
        const server = launch(spec(id), tools);
        launched.set(id, server);
        const warm = await server.run(scenario, { duration: WARMUP_RUN_SECONDS, warmup: 0 });
        // A clean warm-up run is not counted; an unavailable or failed one is.
        if (warm.status !== 'ok') record(id, 'warm-up', warm);
        else if (warm.handler) handlers.set(id, warm.handler);
      }
    }
    for (let round = 1; round <= options.runs; round++) {
      for (const id of ids) {
        if (skipped(id)) continue;
        const kept = launched.get(id);
        const server = kept ?? launch(spec(id), tools);
        try {
          record(id, `${round}/${options.runs}`, await server.run(scenario, options));
        } finally {
          if (kept === undefined) await server.stop();
        }
      }
    }
  } finally {
    for (const server of launched.values()) await server.stop();
  }
  return { runs, handlers };
}

async function main() {
  const options = parseOptions();
  checkPrerequisites();
  const built = buildTools(log);
  const python = capture('python3', ['-c', 'import sys; print(sys.executable)']);
  const pythonVersion =
    python && capture(python, ['-c', 'import platform; print(platform.python_version())']);
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  /** @type {import('../lib/catalog.js').Tools} */
  const tools = {
    loadgen: built.loadgen,
    echod: built.echod,
    python,
    profileDir: undefined,
    redisServer: capture('bash', ['-c', 'command -v redis-server']) || undefined,
  };
  if (options.profile) rmSync(profileDir, { recursive: true, force: true });
  const date = new Date().toISOString();
  const machine = `${describeMachine()}${pythonVersion ? `, Python ${pythonVersion}` : ''}`;
  log(`machine: ${machine}`);
  log(
    `server on CPU ${SERVER_CPU}, load generator on CPU ${LOADGEN_CPU}; ${options.runs} rounds, ${options.duration} s per run`,
  );

  const started = performance.now();
  /** @type {import('../lib/report.js').ScenarioReport[]} */
  const reports = [];
  for (const scenario of options.scenarios) {
    if (options.profile) tools.profileDir = path.join(profileDir, scenario.id);
    const ids = scenario.servers.filter(
      (id) => options.servers === undefined || options.servers.includes(id),
    );
    const { runs, handlers } = await runScenario(scenario, ids, tools, options);
    const servers = ids.map((id) => {
      const spec = /** @type {import('../lib/catalog.js').ServerSpec} */ (SERVERS[id]);
      const handler = handlers.get(id) ?? 'shipped echo';
      const label = spec.label.replace('{handler}', handler);
      return summarizeServer(
        id,
        { label, short: spec.short, calibration: spec.calibration === true },
        runs.get(id) ?? [],
      );
    });
    const report = {
      scenario,
      servers,
      comparisons: compare(scenario, servers),
      loadgen: loadgenCheck(scenario, servers),
    };
    reports.push(report);
    process.stdout.write(`${renderTerminal(report)}\n`);
  }
  const elapsed = (performance.now() - started) / 1000;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const markdown = renderMarkdown(reports, { date: date.slice(0, 10), machine, command });
  process.stdout.write(`\n${markdown}\n\n`);

  mkdirSync(path.dirname(options.json), { recursive: true });
  const json = {
    date,
    machine,
    compiler: built.compiler,
    python: pythonVersion,
    cpus: { server: SERVER_CPU, loadgen: LOADGEN_CPU },
    options: {
      runs: options.runs,
      duration: options.duration,
      warmup: options.warmup,
    },
    elapsedSeconds: Math.round(elapsed),
    scenarios: reports.map(({ scenario, servers, comparisons, loadgen }) => ({
      id: scenario.id,
      title: scenario.title,
      unit: scenario.unit,
      higherIsBetter: scenario.higherIsBetter,
      ...(scenario.metrics ? { metrics: scenario.metrics } : {}),
      servers,
      comparisons,
      loadgen,
    })),
  };
  writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
  log(`results: ${path.relative(process.cwd(), options.json)} (${Math.round(elapsed)} s)`);

  if (options.updateReadme) {
    const readme = path.join(ROOT_DIR, 'README.md');
    if (updateReadme(readme, markdown)) log(`README.md: Performance table updated`);
    else log(`README.md: add ${README_START} and ${README_END} to its Performance section, then run again`);
  }
  if (options.profile && existsSync(profileDir)) {
    for (const scenario of readdirSync(profileDir)) {
      for (const server of readdirSync(path.join(profileDir, scenario))) {
        const summary = summarizeProfile(path.join(profileDir, scenario, server), 25);
        process.stdout.write(`\n${scenario}: ${summary}\n`);
      }
    }
  }
  const failed = reports.some((r) => r.servers.some((s) => s.status === 'failed'));
  if (failed) process.exitCode = 1;
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    killRunningServers();
    process.exit(130);
  });
}

main().catch((error) => {
  log(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
