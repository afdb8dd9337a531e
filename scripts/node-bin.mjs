#!/usr/bin/env node
// Prints the path of a Node.js binary for a given version (a major such as `24`, or an exact
// version such as `20.4.0`), downloading it once from the npm registry (the official builds that
// the `node` package installs: `node-<platform>-<arch>@<version>`) into a cache outside the repo.
//
//   node scripts/node-bin.mjs 24        → /root/.cache/sockserve/node/24/bin/node
//
// Cache: $SOCKSERVE_NODE_CACHE, default ~/.cache/sockserve/node. A cached major is reused as is
// (delete its folder to take a newer release). Progress goes to stderr; stdout is only the path.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const version = process.argv[2];
if (!version || !/^\d+(\.\d+){0,2}$/.test(version)) {
  console.error('usage: node scripts/node-bin.mjs MAJOR|VERSION   (e.g. 24 or 20.4.0)');
  process.exit(2);
}

const cache = process.env.SOCKSERVE_NODE_CACHE ?? join(homedir(), '.cache', 'sockserve', 'node');
const home = join(cache, version);
const binary = join(home, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

if (!existsSync(binary)) {
  const spec = `node-${process.platform}-${process.arch}@${version}`;
  console.error(`node-bin: downloading ${spec} into ${cache}`);
  const work = join(cache, `.download-${version}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    execFileSync('npm', ['pack', spec, '--pack-destination', work, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} wrote no tarball`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);
    rmSync(home, { recursive: true, force: true });
    renameSync(join(work, 'package'), home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(binary)) throw new Error(`node-bin: ${spec} holds no ${binary}`);
}

process.stdout.write(`${binary}\n`);
