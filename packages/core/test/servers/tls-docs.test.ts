/** The code samples of docs/tls.md type-check with the repository's compiler options. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeSamples, typecheckSamples } from '../../../../test-support/readme-samples.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

it('docs/tls.md: its samples type-check', () => {
  const samples = readmeSamples(join(ROOT, 'docs', 'tls.md'));
  expect(samples.map((sample) => sample.file)).toEqual(['tls-server.ts', 'rotate.ts']);
  // Written inside the repository, where `@sockserve/core` resolves; removed afterwards.
  const dir = join(ROOT, 'packages', 'core', `.tls-doc-samples-${process.pid}`);
  try {
    expect(typecheckSamples(samples, dir)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
