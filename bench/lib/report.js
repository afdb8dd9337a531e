// Turns runs into medians and ratios of medians, and renders them for the terminal, the JSON file
// and the README.
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * @typedef {object} ServerSummary
 * @property {string} id
 * @property {string} label
 * @property {string} short
 * @property {'ok' | 'failed' | 'unavailable'} status
 * @property {number | undefined} median
 * @property {number[]} values         every run's value, in run order (failed runs left out)
 * @property {number | undefined} loadgenCpu   median
 * @property {number | undefined} serverCpu    median
 * @property {number | undefined} serverMicrosPerOp  median server CPU time per unit of work (µs)
 * @property {number | undefined} serverUserMicrosPerOp  the same for user-mode CPU time only (µs)
 * @property {string | undefined} error
 * @property {boolean} calibration
 * @property {Record<string, { median: number | undefined, values: number[] }>} metrics  script: each
 *   metric's median and its values, in run order (failed runs left out)
 * @property {import('./runner.js').RunResult[]} runs
 */

/**
 * @typedef {object} Comparison
 * @property {string} server
 * @property {string} baseline
 * @property {string} label
 * @property {number | undefined} ratio
 * @property {string} target     e.g. "≥ 0.95", or "" for information only
 * @property {'met' | 'missed' | 'n/a' | ''} result
 */

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * A server is reported as a number only when every one of its runs was clean.
 * @param {string} id
 * @param {{ label: string, short: string, calibration: boolean }} names
 * @param {import('./runner.js').RunResult[]} runs
 * @returns {ServerSummary}
 */
export function summarizeServer(id, { label, short, calibration }, runs) {
  const failed = runs.find((run) => run.status === 'failed');
  const unavailable = runs.find((run) => run.status === 'unavailable');
  const good = runs.filter((run) => run.status === 'ok');
  const status = failed ? 'failed' : unavailable || good.length === 0 ? 'unavailable' : 'ok';
  const cpu = (/** @type {'loadgenCpu' | 'serverCpu'} */ key) =>
    median(good.flatMap((run) => (Number.isFinite(run[key]) ? [/** @type {number} */ (run[key])] : [])));
  const perOp = (/** @type {'serverCpu' | 'serverUserCpu'} */ key) =>
    median(
      good.flatMap((run) => {
        const cpu = run[key];
        return cpu !== undefined && run.value ? [(cpu / run.value) * 1e6] : [];
      }),
    );
  /** @type {ServerSummary['metrics']} */
  const metrics = {};
  for (const key of new Set(good.flatMap((run) => Object.keys(run.metrics ?? {})))) {
    const values = good.flatMap((run) => {
      const value = run.metrics?.[key];
      return typeof value === 'number' && Number.isFinite(value) ? [value] : [];
    });
    metrics[key] = { median: status === 'ok' ? median(values) : undefined, values };
  }
  return {
    id,
    label,
    short,
    status,
    median: status === 'ok' ? median(good.map((run) => /** @type {number} */ (run.value))) : undefined,
    values: good.map((run) => /** @type {number} */ (run.value)),
    loadgenCpu: cpu('loadgenCpu'),
    serverCpu: cpu('serverCpu'),
    serverMicrosPerOp: perOp('serverCpu'),
    serverUserMicrosPerOp: perOp('serverUserCpu'),
    error: failed?.error ?? unavailable?.error,
    calibration,
    metrics,
    runs,
  };
}

/**
 * @param {import('./catalog.js').Scenario} scenario
 * @param {ServerSummary[]} servers
 * @returns {Comparison[]}
 */
export function compare(scenario, servers) {
  const byId = new Map(servers.map((s) => [s.id, s]));
  return scenario.targets.map((target) => {
    const a = byId.get(target.server);
    const b = byId.get(target.baseline);
    const of = (/** @type {ServerSummary | undefined} */ s) =>
      target.metric === undefined ? s?.median : s?.metrics[target.metric]?.median;
    const [am, bm] = [of(a), of(b)];
    const ratio = am !== undefined && bm ? am / bm : undefined;
    const metric = scenario.metrics?.find((m) => m.key === target.metric);
    const limit = target.min ?? target.max;
    const targetText =
      target.min !== undefined ? `≥ ${target.min}` : target.max !== undefined ? `≤ ${target.max}` : '';
    /** @type {Comparison['result']} */
    let result = '';
    if (limit !== undefined) {
      if (ratio === undefined) result = 'n/a';
      else if (target.min !== undefined) result = ratio >= target.min ? 'met' : 'missed';
      else result = ratio <= /** @type {number} */ (target.max) ? 'met' : 'missed';
    }
    return {
      server: target.server,
      baseline: target.baseline,
      label: `${metric ? `${metric.title}: ` : ''}${a?.short ?? target.server} / ${b?.short ?? target.baseline}`,
      ratio,
      target: targetText,
      result,
    };
  });
}

/**
 * What shows the load generator was not the bottleneck: its CPU while driving the fastest server
 * it was compared on, and how much harder it drives the C echo server than that one.
 * @param {import('./catalog.js').Scenario} scenario
 * @param {ServerSummary[]} servers
 */
export function loadgenCheck(scenario, servers) {
  if (scenario.kind !== 'load') return undefined;
  const measured = servers.filter((s) => !s.calibration && s.median !== undefined);
  const fastest = measured.reduce(
    (best, s) => (best === undefined || (s.median ?? 0) > (best.median ?? 0) ? s : best),
    /** @type {ServerSummary | undefined} */ (undefined),
  );
  if (fastest?.median === undefined) return undefined;
  const calibration = servers.find((s) => s.calibration && s.median !== undefined);
  return {
    fastest: fastest.short,
    fastestLoadgenCpu: fastest.loadgenCpu,
    calibrationMedian: calibration?.median,
    headroom: calibration?.median !== undefined ? calibration.median / fastest.median : undefined,
  };
}

// ---- rendering ----------------------------------------------------------------------------

/** @param {number | undefined} value @param {string} unit */
export function formatValue(value, unit) {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (unit === 'KiB/conn') return value.toFixed(2);
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(1);
}

/** @param {number | undefined} fraction */
const percent = (fraction) => (fraction === undefined ? '-' : `${Math.round(fraction * 100)}%`);

/** @param {ServerSummary} s @param {string} unit */
function cell(s, unit) {
  if (s.status === 'ok') return formatValue(s.median, unit);
  if (s.status === 'unavailable') return `not available yet`;
  return 'FAILED';
}

/**
 * @typedef {object} ScenarioReport
 * @property {import('./catalog.js').Scenario} scenario
 * @property {ServerSummary[]} servers
 * @property {Comparison[]} comparisons
 * @property {ReturnType<typeof loadgenCheck>} loadgen
 */

/** @param {string[][]} rows */
function pad(rows) {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `msg/s` → `msg`, `lines/s` → `line`. @param {string} unit */
const unitOfWork = (unit) => (unit.split('/')[0] ?? unit).replace(/(?<=[a-z])s$/, '');

/** @param {number | undefined} micros @param {string} unit */
const micros = (micros, unit) => (micros === undefined ? '-' : micros.toFixed(unit === 'MiB/s' ? 0 : 2));

/** @param {ServerSummary} s @param {string} unit */
function loadRow(s, unit) {
  return [
    s.label,
    cell(s, unit),
    s.values.map((v) => formatValue(v, unit)).join(' '),
    percent(s.loadgenCpu),
    percent(s.serverCpu),
    micros(s.serverMicrosPerOp, unit),
    micros(s.serverUserMicrosPerOp, unit),
  ];
}

/** @param {ServerSummary} s @param {string} unit */
function idleRow(s, unit) {
  const after = median(s.runs.flatMap((run) => (run.memory ? [run.memory.after] : [])));
  return [
    s.label,
    cell(s, unit),
    s.values.map((v) => formatValue(v, unit)).join(' '),
    after === undefined ? '-' : `${(after / 2 ** 20).toFixed(0)} MiB`,
  ];
}

/** @param {ServerSummary} s @param {import('./catalog.js').Scenario} scenario */
function scriptRow(s, scenario) {
  const row = [s.label, cell(s, scenario.unit), s.values.map((v) => formatValue(v, scenario.unit)).join(' ')];
  for (const m of scenario.metrics ?? []) {
    const figures = s.metrics[m.key];
    row.push(
      figures === undefined
        ? '-'
        : `${formatValue(figures.median, m.unit)} (${figures.values.map((v) => formatValue(v, m.unit)).join(' ')})`,
    );
  }
  return row;
}

/** @param {ScenarioReport} report */
export function renderTerminal(report) {
  const { scenario, servers, comparisons } = report;
  const better = scenario.higherIsBetter ? 'higher is better' : 'lower is better';
  const lines = [``, `${scenario.title}  [${scenario.unit}, ${better}, median of runs]`];
  const rows =
    scenario.kind === 'idle'
      ? [
          ['server', 'median', 'runs', 'RSS with the connections open'],
          ...servers.map((s) => idleRow(s, scenario.unit)),
        ]
      : scenario.kind === 'script'
        ? [
            [
              'server',
              'median',
              'runs',
              ...(scenario.metrics ?? []).map((m) => `${m.title} ${m.unit} (runs)`),
            ],
            ...servers.map((s) => scriptRow(s, scenario)),
          ]
        : [
            [
              'server',
              'median',
              'runs',
              'loadgen cpu',
              'server cpu',
              `server µs/${unitOfWork(scenario.unit)}`,
              `user µs/${unitOfWork(scenario.unit)}`,
            ],
            ...servers.map((s) => loadRow(s, scenario.unit)),
          ];
  lines.push(...pad(rows).map((l) => `  ${l}`));
  for (const s of servers) {
    if (s.status !== 'ok' && s.error)
      lines.push(`  ${s.status === 'failed' ? 'FAILED' : 'skipped'}: ${s.label}: ${s.error}`);
  }
  const ratioRows = comparisons.map((c) => [
    `  ${c.label}`,
    c.ratio === undefined ? '-' : `${c.ratio.toFixed(2)}×`,
    c.target ? `target ${c.target}` : '',
    c.result,
  ]);
  if (ratioRows.length > 0) lines.push(...pad(ratioRows));
  const check = report.loadgen;
  if (check) {
    const parts = [
      `load generator at ${percent(check.fastestLoadgenCpu)} of its CPU driving the fastest, ${check.fastest}`,
    ];
    if (check.headroom !== undefined) {
      parts.push(`it drives the C echo server ${check.headroom.toFixed(2)}× as hard`);
    }
    lines.push(`  ${parts.join('; ')}`);
  }
  return lines.join('\n');
}

/**
 * @param {ScenarioReport[]} reports
 * @param {{ date: string, machine: string, command: string }} context
 */
export function renderMarkdown(reports, context) {
  const lines = [
    `Measured ${context.date} on ${context.machine}, with \`${context.command}\`.`,
    'Medians of alternated runs (every server once per round); the server is pinned to one CPU and the C load',
    'generator to the other (multi-process servers use both). Ratios are ratios of medians from the same invocation.',
    '',
    '| scenario | server | median | runs |',
    '|---|---|---:|---|',
  ];
  for (const { scenario, servers } of reports) {
    for (const s of servers) {
      const runs = s.values.map((v) => formatValue(v, scenario.unit)).join(', ');
      lines.push(`| ${scenario.id} (${scenario.unit}) | ${s.label} | ${cell(s, scenario.unit)} | ${runs} |`);
    }
    for (const m of scenario.metrics ?? []) {
      for (const s of servers) {
        const figures = s.metrics[m.key];
        const runs = figures?.values.map((v) => formatValue(v, m.unit)).join(', ') ?? '';
        const value = s.status === 'ok' ? formatValue(figures?.median, m.unit) : cell(s, m.unit);
        lines.push(`| ${scenario.id} ${m.title} (${m.unit}) | ${s.label} | ${value} | ${runs} |`);
      }
    }
  }
  lines.push('', '| ratio of medians | measured | target | |', '|---|---:|---|---|');
  for (const { scenario, comparisons } of reports) {
    for (const c of comparisons) {
      const ratio = c.ratio === undefined ? '-' : `${c.ratio.toFixed(2)}×`;
      lines.push(`| ${scenario.id}: ${c.label} | ${ratio} | ${c.target} | ${c.result} |`);
    }
  }
  /** @param {boolean} own  scenarios with their own load generator (TLS), or the C one's */
  const checks = (own) =>
    reports.flatMap(({ scenario, loadgen }) => {
      if (loadgen === undefined || (scenario.loadgenCommand !== undefined) !== own) return [];
      const headroom =
        loadgen.headroom === undefined ? '' : `, the C echo server ${loadgen.headroom.toFixed(2)}× as hard`;
      const cpu = percent(loadgen.fastestLoadgenCpu);
      return [`${scenario.id}: ${cpu} of its CPU driving the fastest (${loadgen.fastest})${headroom}`];
    });
  const c = checks(false);
  if (c.length > 0) lines.push('', `Load generator (C, epoll): ${c.join('; ')}.`);
  const tls = checks(true);
  if (tls.length > 0)
    lines.push('', `TLS load generator (Node.js, node:tls, pinned like the C one): ${tls.join('; ')}.`);
  const scripts = reports
    .filter(({ scenario }) => scenario.kind === 'script')
    .map(({ scenario }) => scenario.id);
  if (scripts.length > 0) {
    lines.push(
      '',
      `${scripts.join(', ')}: no C load generator; each run is one Node.js process pinned to one CPU with the chat node(s) and the clients (redis-server on the other CPU), latency measured one line at a time between two clients.`,
    );
  }
  return lines.join('\n');
}

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

/**
 * Replaces what is between the markers in the README; false when the file or a marker is missing.
 * @param {string} file @param {string} markdown
 */
export function updateReadme(file, markdown) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end === -1 || end < start) return false;
  const updated = `${text.slice(0, start + README_START.length)}\n${markdown}\n${text.slice(end)}`;
  writeFileSync(file, updated);
  return true;
}
