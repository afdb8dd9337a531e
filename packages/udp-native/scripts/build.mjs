#!/usr/bin/env node
// Builds the prebuilt binaries that ship in the package: prebuilds/<platform>-<arch>/node.napi.<libc>.node,
// one per libc, each for Node-API 8 (any Node.js from 20 on). On Linux it also builds the musl one
// (Alpine) when musl-gcc is on the PATH (Debian's musl-tools).
//
// Without a C toolchain it skips with a message and exits 0, so the monorepo builds and tests on any
// machine (the addon's tests then skip, and @sockserve/core uses node:dgram). With `--require`, or
// when CI is set, a missing compiler or a failed build is an error.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const strict =
  process.argv.includes('--require') || ((process.env.CI ?? '') !== '' && process.env.CI !== 'false');

/** The first of `names` found on the PATH, or undefined. */
function onPath(...names) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) if (dir !== '' && existsSync(path.join(dir, name))) return name;
  }
  return undefined;
}

function fail(message) {
  process.stderr.write(`@sockserve/udp-native: ${message}\n`);
  process.exit(strict ? 1 : 0);
}

if (process.platform === 'win32') fail('no native parts on Windows: skipped (core uses node:dgram)');
const missing = [
  onPath(process.env.CC ?? 'cc', 'gcc', 'clang') ? null : 'a C compiler (cc)',
  onPath('make') ? null : 'make',
  onPath('python3', 'python') ? null : 'python3',
].filter(Boolean);
if (missing.length > 0) {
  fail(
    `native build skipped: not on the PATH: ${missing.join(', ')}. The addon's tests skip, and ` +
      '@sockserve/core uses node:dgram and cannot open Unix datagram sockets in this checkout.',
  );
}

const prebuildify = require.resolve('prebuildify/bin.js');
/** Runs prebuildify once: `libc` names the file (node.napi.glibc.node), `env` picks the compiler. */
function build(libc, env) {
  const args = [
    prebuildify,
    '--napi',
    '--strip',
    '--tag-libc',
    '--name',
    'node.napi',
    `--target=${process.versions.node}`,
  ];
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 2, 2], // compiler output to stderr: `npm pack --json` prints JSON on stdout
    env: { ...process.env, PREBUILD_LIBC: libc, ...env },
  });
  return result.status === 0;
}

rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
if (!build(process.platform === 'linux' ? 'glibc' : '', {}))
  fail('native build failed (see the compiler output above)');
if (process.platform === 'linux') {
  if (onPath('musl-gcc')) {
    const musl = { CC: 'musl-gcc', LINK: 'musl-gcc', CXX: 'musl-gcc' };
    if (!build('musl', musl)) fail('the musl build failed (see the compiler output above)');
  } else {
    process.stderr.write('@sockserve/udp-native: no musl-gcc on the PATH: no musl (Alpine) prebuild\n');
  }
}
