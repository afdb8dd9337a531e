/**
 * The tests run the built CLI (bin/sockserve-demo.js imports dist/index.js): build it first when
 * dist is missing or older than a source file, so that `npx vitest run` alone tests the current code.
 * (`npm test` at the root builds through turbo before this runs, and nothing is rebuilt here.)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newest(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

export default function setup(): void {
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {}
  const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'package.json')));
  if (built >= sources) return;
  execFileSync('npx', ['tsup', '--config', '../../tsup.config.ts', '--silent'], {
    cwd: root,
    stdio: 'inherit',
  });
}
