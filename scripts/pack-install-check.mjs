#!/usr/bin/env node
// Packs @sockserve/core, @sockserve/handlers and @sockserve/udp-native as npm would publish them,
// installs the tarballs into a fresh project outside the workspace with NO compiler on the PATH (a
// temporary bin directory holding only `node` and `npm`), and runs every consumer in
// scripts/consumers/ there with the chosen Node.js (*.mjs, *.cjs as they are; *.ts type-checked under
// strict nodenext against the installed packages, then compiled and run). The ESM consumer serves a
// TCP echo, a UDP echo and a Unix datagram echo, and checks `server.batching === true` on linux-x64.
//
// Three installs, each of which must succeed:
//   1. plain `npm install <tarballs>`: npm 11 skips the dependencies' install scripts, so the addon
//      must come from the prebuilt binary in the tarball;
//   2. the same with udp-native's install script allowed: it finds the prebuilt binary and exits;
//   3. allowed and forced to build from source (npm_config_build_from_source): the build fails (no
//      compiler) and the install still succeeds, without the addon (what any platform without a
//      prebuilt binary and a toolchain gets).
//
// Usage: node scripts/pack-install-check.mjs [--node /path/to/node] [--keep]
//   --node  the Node.js binary that installs and runs the consumers (default: this one)
//   --keep  leave the temporary directory (its path is printed)
// Build first (`npm run build`): the packages' dist/ is packed as it is; udp-native's prepack
// builds its prebuilt binaries and fails when it cannot.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({
  options: { node: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const node = path.resolve(values.node ?? process.execPath);

/**
 * Type-checks and compiles a TypeScript consumer in `project` (strict, `module: nodenext`, as its
 * header says) against the packages installed there, with the workspace's own TypeScript and
 * @types/node (nothing more is installed into the project), into `project/out/`.
 */
function typecheck(project, consumer, env) {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const args = [
    ...['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'],
    ...['--lib', 'es2022,esnext.disposable', '--types', 'node'],
    ...['--typeRoots', path.join(root, 'node_modules/@types'), '--outDir', 'out', consumer],
  ];
  return spawnSync(node, [tsc, ...args], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
}
const packages = ['packages/core', 'packages/handlers', 'packages/udp-native'];
const compilers = ['cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'python3', 'python'];

let passed = 0;
let failed = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAILED'} - ${what}`);
  if (ok) passed++;
  else failed++;
  return ok;
}

/** The npm CLI this script runs under (npm_execpath), or the one beside the default node. */
function npmCli() {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv && /npm-cli\.js$/.test(fromEnv) && existsSync(fromEnv)) return fromEnv;
  const out = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const cli = path.join(out, 'npm', 'bin', 'npm-cli.js');
  if (existsSync(cli)) return cli;
  throw new Error('cannot find npm-cli.js: run this script through npm or with npm on the PATH');
}

const work = mkdtempSync(path.join(tmpdir(), 'sockserve-pack-'));
try {
  for (const pkg of packages.slice(0, 2)) {
    if (!existsSync(path.join(root, pkg, 'dist')))
      throw new Error(`${pkg}/dist is missing: run \`npm run build\` first`);
  }
  // The tarballs, as `npm publish` would make them (udp-native's prepack builds its prebuilds).
  const tarballs = path.join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = JSON.parse(
    execFileSync(
      'npm',
      ['pack', '--json', '--pack-destination', tarballs, ...packages.flatMap((p) => ['-w', p])],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  const files = packed.map((p) => path.join(tarballs, p.filename));
  const native = packed.find((p) => p.name === '@sockserve/udp-native');
  const nativeTarball = path.join(tarballs, native.filename);
  const inTarball = new Set(native.files.map((f) => f.path));
  check(
    inTarball.has('prebuilds/linux-x64/node.napi.glibc.node'),
    'udp-native tarball has prebuilds/linux-x64/node.napi.glibc.node',
  );
  if (!inTarball.has('prebuilds/linux-x64/node.napi.musl.node'))
    console.log('note - no musl prebuild in the tarball (built only where musl-gcc is installed)');
  check(!inTarball.has('build/Release/udp_native.node'), 'udp-native tarball has no build/ output');

  // A PATH with node, npm and sh (npm runs scripts with it) only: no compiler, make or python.
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(node, path.join(bin, 'node'));
  symlinkSync('/bin/sh', path.join(bin, 'sh'));
  writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${node}" "${npmCli()}" "$@"\n`, { mode: 0o755 });
  const env = { ...process.env, PATH: bin };
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key]; // not this run's npm config
  const found = compilers.filter(
    (c) => spawnSync('/bin/sh', ['-c', `command -v ${c}`], { env }).status === 0,
  );
  check(
    found.length === 0,
    `no compiler on the install PATH${found.length ? ` (found ${found.join(', ')})` : ''}`,
  );
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`# Node.js ${version} at ${node}`);

  const installs = [
    ['plain install (dependency install scripts skipped)', false, {}],
    ['udp-native install script allowed', true, {}],
    [
      'install script allowed, forced to build from source without a compiler',
      true,
      { npm_config_build_from_source: 'true' },
    ],
  ];
  for (const [index, [what, allowScripts, extraEnv]] of installs.entries()) {
    const project = path.join(work, `project-${index + 1}`);
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify(
        {
          name: `consumer-${index + 1}`,
          private: true,
          version: '0.0.0',
          // A tarball's approval is keyed by its file: spec (what `npm install-scripts approve` writes).
          ...(allowScripts ? { allowScripts: { [`file:${nativeTarball}`]: true } } : {}),
        },
        null,
        2,
      )}\n`,
    );
    const install = spawnSync(
      path.join(bin, 'npm'),
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', ...files],
      { cwd: project, env: { ...env, ...extraEnv }, encoding: 'utf8' },
    );
    if (!check(install.status === 0, `npm install: ${what}`)) {
      console.log(install.stdout, install.stderr);
      continue;
    }
    const output = install.stdout + install.stderr;
    const skipped = output.includes('install scripts not yet covered by allowScripts');
    check(
      skipped === !allowScripts,
      allowScripts ? 'the install script ran' : 'npm skipped the install script',
    );
    if (index === 2) {
      check(
        output.includes('building from source failed') && output.includes('Installed without the addon'),
        'the install script said the build failed and the package is installed without the addon',
      );
      // No prebuild was used by the install script, but the binary in the tarball still loads at run time.
      const built = existsSync(
        path.join(project, 'node_modules/@sockserve/udp-native/build/Release/udp_native.node'),
      );
      check(!built, 'the forced build from source failed softly (nothing built) and the install went on');
      continue;
    }
    for (const consumer of readdirSync(path.join(root, 'scripts/consumers'))) {
      if (!/\.(mjs|cjs|ts)$/.test(consumer)) continue;
      copyFileSync(path.join(root, 'scripts/consumers', consumer), path.join(project, consumer));
      const indent = (text) => (text.trim() === '' ? '' : `${text.trimEnd().replace(/^/gm, '    ')}\n`);
      let program = consumer;
      if (consumer.endsWith('.ts')) {
        const compiled = typecheck(project, consumer, env);
        process.stdout.write(indent(compiled.stdout));
        if (!check(compiled.status === 0, `${consumer} type-checks against the installed packages`)) continue;
        program = path.join('out', consumer.replace(/\.ts$/, '.js'));
      }
      const run = spawnSync(node, [program], { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
      process.stdout.write(indent(run.stdout));
      if (run.status !== 0) process.stdout.write(indent(run.stderr));
      check(run.status === 0, `${consumer} on Node.js ${version} after the ${what}`);
    }
  }
} finally {
  if (values.keep) console.log(`# kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(`pack-install-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
