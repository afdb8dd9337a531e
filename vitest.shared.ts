// Shared vitest settings for every workspace package (each package's vitest.config.ts re-exports this).
// With SOCKSERVE_TEST_REPORT_DIR set (as .ci/run does), each package also writes a JSON report there,
// from which .ci/run computes its `N passed, N failed` line.
import { basename } from 'node:path';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const reportDir = process.env.SOCKSERVE_TEST_REPORT_DIR;

const config: ViteUserConfig = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Networking tests share two cores; running files in parallel forks is fine, but keep it bounded.
    pool: 'forks',
    maxWorkers: 2,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: `${reportDir}/${basename(process.cwd())}.json` } : undefined,
  },
});

export default config;
