#!/usr/bin/env node
// The end of .ci/run: one line per tested Node.js version (from scripts/test-summary.mjs on that
// version's vitest reports), one per release check, then the plain total `N passed, N failed`.
//
//   node scripts/ci-summary.mjs REPORT_DIR
//
// REPORT_DIR holds node-<major>/ (vitest JSON reports, one per workspace package with a test script:
// a missing one is a package whose run crashed or was cut short, and counts as 1 failed) and
// checks.txt (lines `pass NAME` or `fail NAME`, each counting as 1 result). Exit 1 if anything failed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reports = process.argv[2];
if (!reports) throw new Error('usage: ci-summary.mjs REPORT_DIR');

/** Report file names the test run must write: one per workspace package that has a test script. */
function expectedReports() {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => join(root, pattern.slice(0, -2), name))
      : [join(root, pattern)],
  );
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .filter((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts?.test)
    .map((dir) => `${basename(dir)}.json`);
}

let passed = 0;
let failed = 0;
const versions = existsSync(reports)
  ? readdirSync(reports)
      .filter((name) => name.startsWith('node-'))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
  : [];
const expected = expectedReports();
for (const version of versions) {
  const dir = join(reports, version);
  let line;
  try {
    line = execFileSync(process.execPath, [join(root, 'scripts', 'test-summary.mjs'), dir], {
      encoding: 'utf8',
    });
  } catch (error) {
    line = String(error.stdout ?? ''); // it exits 1 when a test failed; the line is still there
  }
  const match = /(\d+) passed, (\d+) failed/.exec(line);
  const versionPassed = match ? Number(match[1]) : 0;
  let versionFailed = match ? Number(match[2]) : 1;
  const missing = expected.filter((file) => !existsSync(join(dir, file)));
  // test-summary.mjs counts a directory without any report as 1 failed; count each missing one instead.
  if (missing.length === expected.length && versionPassed === 0)
    versionFailed = Math.max(0, versionFailed - 1);
  versionFailed += missing.length;
  const note = missing.length > 0 ? ` (no report from ${missing.map((f) => f.slice(0, -5)).join(', ')})` : '';
  console.log(`Node.js ${version.slice(5)}: ${versionPassed} passed, ${versionFailed} failed${note}`);
  passed += versionPassed;
  failed += versionFailed;
}
const checks = join(reports, 'checks.txt');
if (existsSync(checks)) {
  for (const line of readFileSync(checks, 'utf8').split('\n').filter(Boolean)) {
    const [result, ...name] = line.split(' ');
    console.log(`check ${name.join(' ')}: ${result === 'pass' ? 'passed' : 'FAILED'}`);
    if (result === 'pass') passed++;
    else failed++;
  }
}
if (versions.length === 0) failed++;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
