#!/usr/bin/env node
// Checks every public workspace package the way npm will publish it, without publishing:
// `npm pack --dry-run --json` (which runs the package's prepack, so it is built) must list LICENSE,
// README.md and every file that `main`, `module`, `types`, `bin` and `exports` point to; the
// package.json must name its repository (with `directory`), homepage, bugs and engines, and must
// not ask for provenance (that works only in CI, see .github/workflows/release.yml); then
// `npm publish --dry-run` must succeed. One line per package; exit 0 when all pass, 1 otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders of the public workspace packages. */
function publicPackageDirs() {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`)
      : [pattern],
  );
  return dirs.filter((dir) => {
    const file = join(root, dir, 'package.json');
    return existsSync(file) && !JSON.parse(readFileSync(file, 'utf8')).private;
  });
}

/** Every relative file path in an `exports` / `bin` value. */
function targets(value) {
  if (typeof value === 'string') return value.startsWith('./') ? [value] : [];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

/** What is wrong with the package's metadata and tarball listing. */
function problems(dir, json, files) {
  const found = [];
  const listed = new Set(files.map((file) => normalize(file)));
  for (const file of ['LICENSE', 'README.md', 'package.json']) {
    if (!listed.has(file)) found.push(`the tarball has no ${file}`);
  }
  const pointed = [json.main, json.module, json.types, ...targets(json.bin), ...targets(json.exports)];
  for (const target of pointed.filter(Boolean)) {
    if (target.includes('*')) continue;
    if (!listed.has(normalize(target))) found.push(`${target} (named in package.json) is not in the tarball`);
  }
  if (json.repository?.directory !== dir) found.push(`repository.directory must be "${dir}"`);
  if (!json.repository?.url) found.push('repository.url is missing');
  if (!json.homepage) found.push('homepage is missing');
  if (!json.bugs?.url) found.push('bugs.url is missing');
  if (!json.engines?.node) found.push('engines.node is missing');
  if (json.license !== 'MIT') found.push('license must be MIT');
  if (json.publishConfig?.provenance !== undefined) {
    found.push(
      'publishConfig.provenance fails outside CI: set NPM_CONFIG_PROVENANCE in the release workflow',
    );
  }
  return found;
}

let failed = 0;
for (const dir of publicPackageDirs()) {
  const cwd = join(root, dir);
  const json = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
  const found = [];
  try {
    const packed = execFileSync('npm', ['pack', '--dry-run', '--json'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const [{ files, size }] = JSON.parse(packed);
    found.push(
      ...problems(
        dir,
        json,
        files.map((file) => file.path),
      ),
    );
    const publish = spawnSync('npm', ['publish', '--dry-run'], { cwd, encoding: 'utf8' });
    if (publish.status !== 0) {
      found.push(`npm publish --dry-run failed:\n${publish.stderr.trim().split('\n').slice(-8).join('\n')}`);
    }
    if (found.length === 0) {
      console.log(
        `ok   ${json.name}@${json.version}: ${files.length} files, ${(size / 1024).toFixed(1)} kB packed`,
      );
    }
  } catch (error) {
    found.push(
      `npm pack --dry-run failed: ${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .slice(-8)
        .join('\n')}`,
    );
  }
  for (const problem of found) console.log(`FAIL ${json.name}: ${problem}`);
  if (found.length > 0) failed++;
}
console.log(
  failed === 0
    ? 'pack and publish dry run: every public package ok'
    : `pack and publish dry run: ${failed} package(s) failed`,
);
process.exit(failed === 0 ? 0 : 1);
