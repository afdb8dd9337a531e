/**
 * The code samples of the porting guide, of the examples' README and of the handlers README compile,
 * each sample on its own with the repository's compiler options (test-support/readme-samples.ts); the
 * guide's complete programs (the samples that name their file) also run: each starts its server on
 * port 0, checks the answers with node:assert, and exits 0 without printing an error.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkMarkdownSamples, readmeSamples, runSample } from '../../test-support/readme-samples.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe.each(['docs/porting-from-python.md', 'examples/README.md', 'packages/handlers/README.md'])(
  '%s',
  (file) => {
    const path = join(ROOT, file);

    it('every TypeScript and JavaScript sample type-checks', () => {
      expect(checkMarkdownSamples(path)).toEqual([]);
    }, 120_000); // a whole TypeScript program, on a shared CPU
  },
);

describe('docs/porting-from-python.md', () => {
  const path = join(ROOT, 'docs', 'porting-from-python.md');
  const programs = readmeSamples(path);

  it('has complete programs, and TypeScript samples for every idiom', () => {
    expect(programs.map((sample) => sample.file)).toEqual([
      'first-port.ts',
      'recv-sendall.ts',
      'readline.ts',
      'udp.ts',
      'class-attributes.ts',
      'shutdown.ts',
      'forking-state.ts',
    ]);
    expect(readmeSamples(path, { unnamed: true }).length).toBeGreaterThan(programs.length + 4);
  });

  it.each(programs.map((sample) => [sample.file, sample] as const))(
    '%s runs to its end',
    async (_file, sample) => {
      const run = await runSample(sample, join(ROOT, 'docs'));
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    },
  );
});
