/**
 * Every TypeScript/JavaScript sample of the package READMEs and of the guides in docs/ compiles with
 * the repository's compiler options, as a user's file importing `@sockserve/*` would (blocks marked
 * ```ts no-check are fragments and are left out: see test-support/doc-samples.ts). A diagnostic is
 * reported at its Markdown file and line. The root README's samples are run by first-hour/readme.test.ts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docSamples } from '../../../../test-support/doc-samples.js';
import { type ReadmeSample, typecheckSamples } from '../../../../test-support/readme-samples.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The Markdown files checked, relative to the repository root. */
const DOCS = [
  'packages/core/README.md',
  'packages/udp-native/README.md',
  'apps/demo/README.md',
  'docs/servers.md',
  'docs/udp.md',
  'docs/forking.md',
  'docs/request-pipeline.md',
  'docs/handlers-and-io.md',
  'docs/events-and-errors.md',
  'docs/options.md',
  'docs/tls.md',
];

/**
 * Type-checks the samples of `docs` (one directory per Markdown file, inside the repository where
 * `@sockserve/*` resolve, removed afterwards) in one program; diagnostics as `DOC:LINE: message`.
 */
function checkDocs(docs: readonly string[], dir: string): { diagnostics: string[]; checked: number } {
  const all: ReadmeSample[] = [];
  const origin = new Map<string, { doc: string; sample: ReadmeSample }>();
  try {
    docs.forEach((doc, index) => {
      const sub = `doc-${index}`;
      mkdirSync(join(dir, sub), { recursive: true });
      for (const sample of docSamples(join(ROOT, doc)).samples) {
        const file = `${sub}/${sample.file}`;
        origin.set(join(dir, file), { doc, sample });
        all.push({ ...sample, file });
      }
    });
    const diagnostics = typecheckSamples(all, dir).map((diagnostic) => {
      const at = /^(.*):(\d+): ([\s\S]*)$/.exec(diagnostic);
      const from = at && origin.get(at[1]!);
      if (!at || !from) return diagnostic;
      return `${from.doc}:${from.sample.line + Number(at[2]) - 1}: ${at[3]}`;
    });
    return { diagnostics, checked: all.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('code samples in the READMEs and docs/', () => {
  it('compile, all of them but the blocks marked no-check', () => {
    const { diagnostics, checked } = checkDocs(
      DOCS,
      join(ROOT, 'apps', 'demo', `.readme-samples-docs-${process.pid}`),
    );
    expect(diagnostics).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(30); // the extractor still finds them
  }, 180_000); // a whole TypeScript program, on a shared CPU

  it('a sample that does not compile is reported at its file and line', () => {
    const dir = join(ROOT, 'apps', 'demo', `.readme-samples-broken-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const doc = relative(ROOT, join(dir, 'broken.md'));
    writeFileSync(
      join(dir, 'broken.md'),
      [
        '# Broken',
        '',
        '```ts',
        "import { TCPServer } from '@sockserve/core';",
        "const server: TCPServer = 'not a server';",
        '```',
        '',
        '```ts no-check',
        'this is not TypeScript',
        '```',
        '',
      ].join('\n'),
    );
    try {
      expect(docSamples(join(dir, 'broken.md')).skipped).toBe(1);
      const { diagnostics } = checkDocs([doc], join(dir, 'samples'));
      expect(diagnostics).toHaveLength(1);
      expect(diagnostics[0]).toMatch(/broken\.md:5: Type 'string' is not assignable to type 'TCPServer'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
