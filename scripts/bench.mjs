#!/usr/bin/env node
// `npm run bench [-- --node VERSION] [bench options]`: runs bench/bin/bench.js on the Node.js this
// script runs on, or with `--node 24` (a major or an exact version) on that version, taken from
// the cache of scripts/node-bin.mjs (downloaded from the npm registry once). Every server and load
// generator the bench starts runs on the same Node.js (it uses process.execPath).
import { execFileSync, spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let node = process.execPath;
const at = args.findIndex((arg) => arg === '--node' || arg.startsWith('--node='));
if (at !== -1) {
  const [flag] = args.splice(at, 1);
  const version = flag.includes('=') ? flag.slice('--node='.length) : args.splice(at, 1)[0];
  if (!version) {
    console.error('--node needs a version, e.g. --node 24');
    process.exit(2);
  }
  node = execFileSync(process.execPath, [join(root, 'scripts', 'node-bin.mjs'), version], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}
const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
const result = spawnSync(node, [join(root, 'bench', 'bin', 'bench.js'), ...args], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
