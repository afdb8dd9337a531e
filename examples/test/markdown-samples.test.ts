/**
 * The code samples of the guides and READMEs this workspace answers for compile, each sample on its
 * own with the repository's compiler options (test-support/readme-samples.ts).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkMarkdownSamples, readmeSamples } from '../../test-support/readme-samples.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe.each(['packages/handlers/README.md'])('%s', (file) => {
  const path = join(ROOT, file);

  it('has TypeScript samples', () => {
    expect(readmeSamples(path, { unnamed: true }).length).toBeGreaterThan(0);
  });

  it('every TypeScript and JavaScript sample type-checks', () => {
    expect(checkMarkdownSamples(path)).toEqual([]);
  }, 120_000); // a whole TypeScript program, on a shared CPU
});
