// Compiles the C load generator and the C calibration echo server with the system compiler into
// bench/.build (gitignored), again whenever a source is newer than its binary.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR } from './paths.js';

const SOURCES = { loadgen: 'loadgen.c', echod: 'echod.c' };

/**
 * @param {(line: string) => void} log
 * @returns {{ loadgen: string, echod: string, compiler: string }}
 */
export function buildTools(log) {
  const compiler = process.env.CC || 'cc';
  const outDir = path.join(BENCH_DIR, '.build');
  mkdirSync(outDir, { recursive: true });
  /** @type {Record<string, string>} */
  const built = {};
  for (const [name, file] of Object.entries(SOURCES)) {
    const source = path.join(BENCH_DIR, 'loadgen', file);
    const binary = path.join(outDir, name);
    if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
      log(`compiling ${path.relative(process.cwd(), source)} with ${compiler} -O2`);
      try {
        execFileSync(compiler, ['-O2', '-Wall', '-o', binary, source], { stdio: 'inherit' });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
          `could not compile the load generator with ${compiler} (set CC to another C compiler): ${reason}`,
        );
      }
    }
    built[name] = binary;
  }
  let version = compiler;
  try {
    version = execFileSync(compiler, ['--version'], { encoding: 'utf8' }).split('\n')[0] || compiler;
  } catch {
    // Only informative (the binaries were built earlier).
  }
  return { loadgen: built.loadgen ?? '', echod: built.echod ?? '', compiler: version };
}
