#!/usr/bin/env node
// Runs `changeset version` in a scratch copy of the repository (tracked and untracked, not ignored,
// files) and checks what a release would do: every public package stays below 1.0.0, private
// packages (demo, bench) keep their version and get no CHANGELOG, and every internal dependency range
// still matches the workspace's version of that package (else npm would fetch it from the registry).
// Prints `name: old → new` per package. Exit 0 when sane, 1 otherwise. The repository is not touched.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const semver = require('semver');
const changesetBin = require.resolve('@changesets/cli/bin.js');

/** Workspace package folders (the root package.json's `workspaces` globs, one level deep). */
function workspaceDirs(base) {
  const { workspaces } = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of workspaces) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      const listing = execFileSync('ls', [join(base, parent)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      for (const name of listing) {
        if (existsSync(join(base, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
      }
    } else dirs.push(pattern);
  }
  return dirs;
}

function readPackages(base) {
  return new Map(
    workspaceDirs(base).map((dir) => {
      const json = JSON.parse(readFileSync(join(base, dir, 'package.json'), 'utf8'));
      return [json.name, { dir, json }];
    }),
  );
}

/** Compares the workspace before and after `changeset version`; prints each package; counts problems. */
function check(before, after) {
  let problems = 0;
  for (const [name, { dir, json }] of after) {
    const old = before.get(name).json.version;
    const line = `  ${name}: ${old} → ${json.version}`;
    if (json.private) {
      const changelog = existsSync(join(scratch, dir, 'CHANGELOG.md'));
      const ok = json.version === old && !changelog;
      console.log(`${line} (private${ok ? '' : ': must keep its version and get no CHANGELOG'})`);
      if (!ok) problems++;
      continue;
    }
    const ok = semver.lt(json.version, '1.0.0');
    console.log(`${line}${ok ? '' : '  ← a 0.x package must not reach 1.0.0 by itself'}`);
    if (!ok) problems++;
  }
  for (const [name, { json }] of after) {
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(json[field] ?? {})) {
        const target = after.get(dep);
        if (target && !semver.satisfies(target.json.version, range)) {
          console.log(
            `  ${name} ${field}: ${dep}@${range} no longer matches the workspace's ${target.json.version}`,
          );
          problems++;
        }
      }
    }
  }
  return problems;
}

const scratch = mkdtempSync(join(tmpdir(), 'sockserve-changeset-'));
let failures = 0;
try {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    cpSync(join(root, file), join(scratch, file));
  }

  // The pending changesets, then a next release in which every public package has a minor
  // (for 0.x: breaking) change, so the peer ranges between packages are exercised too.
  for (const round of ['pending changesets', 'then a minor change in every public package']) {
    console.log(`changeset version: ${round}`);
    const before = readPackages(scratch);
    if (round !== 'pending changesets') {
      const publicNames = [...before].filter(([, { json }]) => !json.private).map(([name]) => name);
      const header = publicNames.map((name) => `"${name}": minor`).join('\n');
      writeFileSync(join(scratch, '.changeset', 'check-next-release.md'), `---\n${header}\n---\n\nCheck.\n`);
    }
    execFileSync(process.execPath, [changesetBin, 'version'], {
      cwd: scratch,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    failures += check(before, readPackages(scratch));
    // A changeset that names only private packages is never consumed: it would stay forever.
    const left = readdirSync(join(scratch, '.changeset')).filter(
      (f) => f.endsWith('.md') && f !== 'README.md',
    );
    for (const file of left)
      console.log(`  .changeset/${file} was not consumed (does it name only private packages?)`);
    failures += left.length;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(
  failures === 0 ? 'changeset version: sane 0.x versions' : `changeset version: ${failures} problem(s)`,
);
process.exit(failures === 0 ? 0 : 1);
