// Sums vitest JSON reports (one per workspace package) into the plain line `N passed, N failed`.
// Exits non-zero when any test failed or no report was written (a package whose run crashed).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: test-summary.mjs REPORT_DIR');

let passed = 0;
let failed = 0;
const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
for (const file of files) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A test file that failed to load counts as a failure even though it ran no test.
  failed += report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
}
if (files.length === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
