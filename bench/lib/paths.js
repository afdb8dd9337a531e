import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench workspace folder (bench/). */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The monorepo root. */
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
/** Where the server scripts live. */
export const SERVERS_DIR = path.join(BENCH_DIR, 'servers');
/** Where results are written (gitignored). */
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
