// Sums vitest JSON reports (one per workspace package) into the plain line `N passed, N failed`.
// As a command (`node scripts/test-summary.mjs REPORT_DIR`) it prints that line and exits non-zero
// when any test failed or no report was written (a package whose run crashed).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `{ passed, failed, reports }` summed over the `*.json` reports in `dir`. */
export function summarize(dir) {
  let passed = 0;
  let failed = 0;
  const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
  for (const file of files) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    // A test file that failed to load counts as a failure even though it ran no test.
    failed += report.testResults.filter(
      (r) => r.status === 'failed' && r.assertionResults.length === 0,
    ).length;
  }
  if (files.length === 0) failed += 1;
  return { passed, failed, reports: files.length };
}

/** The summary line. */
export function summaryLine({ passed, failed }) {
  return `${passed} passed, ${failed} failed`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: test-summary.mjs REPORT_DIR');
  const summary = summarize(dir);
  console.log(summaryLine(summary));
  process.exit(summary.failed > 0 ? 1 : 0);
}
