// `npm test`: every package's tests through turbo (builds first; build logs out of sight, see
// turbo-progress.mjs), then one total line `N passed, N failed` summed from vitest's JSON reports
// (scripts/test-summary.mjs). Extra arguments go to turbo: `npm test -- --filter=@sockserve/core`.
//
// The reports go to $SOCKSERVE_TEST_REPORT_DIR (as .ci/run sets it), else to
// node_modules/.cache/sockserve-test-reports/.
// Exits non-zero when a test failed, or when turbo failed (a build, a crash) without a failed test
// to show for it: that counts as one failure.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, summaryLine } from './test-summary.mjs';
import { runTurbo } from './turbo-progress.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The default is under node_modules, where neither git nor biome looks.
const reportDir = resolve(
  process.env.SOCKSERVE_TEST_REPORT_DIR ?? join(root, 'node_modules', '.cache', 'sockserve-test-reports'),
);
mkdirSync(reportDir, { recursive: true });
for (const name of readdirSync(reportDir)) if (name.endsWith('.json')) rmSync(join(reportDir, name));

// --continue: every package's tests run even when one package fails.
const status = await runTurbo(['run', 'test', '--continue', ...process.argv.slice(2)], {
  env: { ...process.env, SOCKSERVE_TEST_REPORT_DIR: reportDir },
});
const summary = summarize(reportDir);
if (status !== 0 && summary.failed === 0) {
  console.log(
    `turbo exited with status ${status} without a failed test (a build or a test run failed): counted as 1 failure`,
  );
  summary.failed = 1;
}
console.log();
console.log(summaryLine(summary));
process.exitCode = summary.failed > 0 ? 1 : 0;
