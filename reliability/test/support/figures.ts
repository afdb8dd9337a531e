/**
 * The figures each scenario measured, for docs/reliability.md: printed in the test output and written
 * as one JSON file per scenario under `$SOCKSERVE_TEST_REPORT_DIR/reliability-figures/` (or
 * `<tmpdir>/sockserve-reliability-figures/` when that variable is unset). A subdirectory, so that .ci/run's
 * summary, which reads the `*.json` files of the report directory itself, never takes them for test
 * reports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the figures go. */
export const FIGURES_DIR: string = process.env.SOCKSERVE_TEST_REPORT_DIR
  ? join(process.env.SOCKSERVE_TEST_REPORT_DIR, 'reliability-figures')
  : join(tmpdir(), 'sockserve-reliability-figures');

/** Records what `scenario` measured (plain JSON values), in the output and in `FIGURES_DIR/<scenario>.json`. */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const entry = { scenario, ...figures };
  console.log(`reliability figures ${JSON.stringify(entry)}`);
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(join(FIGURES_DIR, `${scenario}.json`), `${JSON.stringify(entry, null, 2)}\n`);
}
