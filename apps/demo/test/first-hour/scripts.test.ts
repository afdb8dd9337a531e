/**
 * The root scripts a newcomer meets first: `npm start` and `npm test` say what they build instead of
 * going silent or replaying build logs (scripts/turbo-progress.mjs), `npm test` ends with one total
 * line (scripts/test.mjs), and `npm run lint` leaves the user's tarballs alone (scripts/attw-pack.mjs).
 * turbo is replaced by a stand-in printing what the real one prints (recorded from turbo 2.11), so
 * that these run in a second and never start a nested build.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir, withDeadline } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const HEADER = [
  '',
  '   • turbo 2.11.11',
  '   • Packages in scope: @sockserve/core, @sockserve/demo, @sockserve/handlers, @sockserve/udp-native',
  '   • Running build in 4 packages',
  '',
];
const FOOTER = [
  '',
  ' Tasks:    4 successful, 4 total',
  'Cached:    4 cached, 4 total',
  '  Time:    189ms >>> FULL TURBO',
];
const WARM = [
  ...HEADER,
  '@sockserve/udp-native:build: cache hit, suppressing logs 4af94495d3007dae',
  '@sockserve/core:build: cache hit, suppressing logs 3bc9ea3f9f9b93ed',
  ...FOOTER,
];
const COLD = [
  ...HEADER,
  '@sockserve/udp-native:build: cache miss, executing 4af94495d3007dae',
  '@sockserve/udp-native:build: gyp info it worked if it ends with ok',
  '@sockserve/udp-native:build: gyp info ok',
  '@sockserve/core:build: cache miss, executing 3bc9ea3f9f9b93ed',
  '@sockserve/core:build: ESM ⚡️ Build success in 120ms',
  ...FOOTER,
];

/** A stand-in for turbo: prints `lines`, writes `reports` (vitest JSON) where tests write theirs, exits `status`. */
function fakeTurbo(dir: string, lines: string[], status = 0, reports: Record<string, unknown> = {}): string {
  const path = join(dir, 'turbo');
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('node:fs');
fs.writeFileSync(${JSON.stringify(join(dir, 'args'))}, JSON.stringify(process.argv.slice(2)));
for (const [name, report] of Object.entries(${JSON.stringify(reports)}))
  fs.writeFileSync(require('node:path').join(process.env.SOCKSERVE_TEST_REPORT_DIR, name), JSON.stringify(report));
process.stdout.write(${JSON.stringify(lines.map((line) => `${line}\n`).join(''))});
process.exitCode = ${status};
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Runs `node scripts/NAME ARGS` at the repository root; resolves with its exit status and output. */
function runScript(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', name), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return withDeadline(
    new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))),
    `scripts/${name} to finish`,
    60_000,
  );
}

/** A vitest JSON report with `passed` and `failed` tests. */
function report(passed: number, failed: number): unknown {
  return {
    numPassedTests: passed,
    numFailedTests: failed,
    testResults: [{ status: failed > 0 ? 'failed' : 'passed', assertionResults: [{}] }],
  };
}

describe('npm start: the build says what it does (scripts/turbo-progress.mjs)', () => {
  it('a first run shows a notice and one line per package built, and none of the build logs', async () => {
    using dir = tempDir();
    const turbo = fakeTurbo(dir.path, COLD);
    const run = await runScript('turbo-progress.mjs', ['run', 'build', '--filter=@sockserve/demo...'], {
      SOCKSERVE_TURBO: turbo,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'building the packages (first run only, and after a change; this can take a minute):\n' +
        '  building @sockserve/udp-native …\n' +
        '  building @sockserve/core …\n',
    );
    expect(run.stdout).not.toContain('gyp info');
    expect(run.stdout).not.toContain('Build success');
    expect(run.stdout).toContain('Tasks:    4 successful');
    expect(JSON.parse(readFileSync(join(dir.path, 'args'), 'utf8'))).toEqual([
      'run',
      'build',
      '--filter=@sockserve/demo...',
      '--output-logs=new-only',
    ]);
  });

  it('a warm run prints only turbo’s header and summary, as before', async () => {
    using dir = tempDir();
    const run = await runScript('turbo-progress.mjs', ['run', 'build'], {
      SOCKSERVE_TURBO: fakeTurbo(dir.path, WARM),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([...HEADER, ...FOOTER].map((line) => `${line}\n`).join(''));
  });

  it('a failed build shows the output it kept back, and fails', async () => {
    using dir = tempDir();
    const failing = [
      ...COLD.slice(0, -FOOTER.length),
      '@sockserve/core:build: error TS2304: cannot find name x',
    ];
    const run = await runScript('turbo-progress.mjs', ['run', 'build'], {
      SOCKSERVE_TURBO: fakeTurbo(dir.path, failing, 1),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('@sockserve/core:build: error TS2304: cannot find name x');
    expect(run.stdout).toContain('@sockserve/udp-native:build: gyp info ok');
  });
});

describe('npm test ends with one total line (scripts/test.mjs)', () => {
  const TEST_RUN = [
    ...WARM.slice(0, -FOOTER.length),
    '@sockserve/core:test: cache bypass, force executing 24b3b559be8cdc0f',
    '@sockserve/core:test:  Tests  3 passed (3)',
    '@sockserve/core:test: JSON report written to /tmp/reports/core.json',
    '@sockserve/demo:test:  Tests  2 passed | 1 failed (3)',
    ...FOOTER,
  ];

  it('sums every package’s report into `N passed, N failed`, after the tests’ own output and without build logs', async () => {
    using dir = tempDir();
    using reports = tempDir();
    const turbo = fakeTurbo(dir.path, TEST_RUN, 1, { 'core.json': report(3, 0), 'demo.json': report(2, 1) });
    const run = await runScript('test.mjs', ['--filter=@sockserve/core'], {
      SOCKSERVE_TURBO: turbo,
      SOCKSERVE_TEST_REPORT_DIR: reports.path,
    });
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('5 passed, 1 failed');
    expect(run.stdout).toContain('@sockserve/demo:test:  Tests  2 passed | 1 failed (3)');
    expect(run.stdout).not.toContain('cache hit');
    expect(run.stdout).not.toContain('cache bypass');
    expect(run.stdout).not.toContain('JSON report written');
    expect(run.stdout).toContain('@sockserve/core:test:  Tests  3 passed (3)');
    expect(JSON.parse(readFileSync(join(dir.path, 'args'), 'utf8'))).toEqual([
      'run',
      'test',
      '--continue',
      '--filter=@sockserve/core',
      '--output-logs=new-only',
    ]);
  });

  it('passes when every test passed; reports of an earlier run do not count', async () => {
    using dir = tempDir();
    using reports = tempDir();
    writeFileSync(join(reports.path, 'old.json'), JSON.stringify(report(0, 7)));
    const run = await runScript('test.mjs', [], {
      SOCKSERVE_TURBO: fakeTurbo(dir.path, TEST_RUN, 0, { 'core.json': report(3, 0) }),
      SOCKSERVE_TEST_REPORT_DIR: reports.path,
    });
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('3 passed, 0 failed');
  });

  it('a failed build with no test report is one failure, not a pass', async () => {
    using dir = tempDir();
    using reports = tempDir();
    const run = await runScript('test.mjs', [], {
      SOCKSERVE_TURBO: fakeTurbo(dir.path, COLD, 1),
      SOCKSERVE_TEST_REPORT_DIR: reports.path,
    });
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });

  it('is what the root package.json runs, and what .ci/run calls', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
    expect(scripts.test).toBe('node scripts/test.mjs');
    expect(scripts.start).toMatch(/^node scripts\/turbo-progress\.mjs run build /);
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/\bnpm test \|\| status=1$/m);
  });
});

describe('npm run lint leaves tarballs alone (scripts/attw-pack.mjs)', () => {
  it('packs into a temporary directory: a tarball of the same name the user made survives', async () => {
    const pkg = join(ROOT, 'packages', 'handlers');
    const { name, version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    const tarball = join(pkg, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
    if (existsSync(tarball)) return; // a real one of the user's: not ours to touch
    writeFileSync(tarball, 'the user’s own tarball');
    try {
      const child = spawn(process.execPath, [join(ROOT, 'scripts', 'attw-pack.mjs'), '--profile', 'node16'], {
        cwd: pkg,
        env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
        stdio: 'ignore',
      });
      const code = await withDeadline(
        new Promise((resolve) => child.once('close', resolve)),
        'attw to finish',
        110_000,
      );
      expect(code).toBe(0);
      expect(readFileSync(tarball, 'utf8')).toBe('the user’s own tarball');
    } finally {
      rmSync(tarball, { force: true });
    }
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\*\.tgz$/m);
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts.lint).toContain(
      'attw-pack.mjs',
    );
  }, 120_000); // npm pack and attw, on a shared CPU
});
