/**
 * Every TypeScript and JavaScript sample of a Markdown file, for `typecheckSamples()` of
 * `readme-samples.ts`. Where `readmeSamples()` takes only the blocks that name a file, this takes every
 * fenced block in `ts`, `typescript`, `mts`, `js`, `javascript` or `mjs` (also indented ones, inside
 * list items):
 *
 * - ```` ```ts server.ts ````: a sample written as `server.ts`, so that another sample of the same file can
 *   import it (`./server.js`);
 * - ```` ```ts ````: a sample named after its line (`sample-L42.ts`);
 * - ```` ```ts no-check ````: a fragment (a declaration sketch, a few lines out of a class) that is not
 *   checked. Use it sparingly: a sample a user may copy should compile.
 *
 * Each sample is a module of its own (give it an import), so two samples may declare the same names.
 */
import { readFileSync } from 'node:fs';
import type { ReadmeSample } from './readme-samples.js';

/** The info-string word that keeps a block out of the check. */
export const NO_CHECK = 'no-check';

const LANGUAGES: Readonly<Record<string, 'ts' | 'js'>> = {
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
};

/** The samples of the Markdown file at `path`, and how many blocks were marked `no-check`. */
export function docSamples(path: string): { samples: ReadmeSample[]; skipped: number } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const samples: ReadmeSample[] = [];
  let skipped = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', fence = '```', lang = '', rest = ''] = open;
    const end = lines.findIndex((line, j) => j > i && line.trim().startsWith(fence) && line.trim() === fence);
    if (end === -1) throw new Error(`${path}:${i + 1}: the code block is not closed`);
    const kind = LANGUAGES[lang];
    const words = rest.split(/\s+/).filter(Boolean);
    if (kind !== undefined && words.includes(NO_CHECK)) skipped += 1;
    else if (kind !== undefined) {
      const named = words.find((word) => /^[\w.-]+\.(?:ts|mts|js|mjs)$/.test(word));
      samples.push({
        lang,
        file: named ?? `sample-L${i + 1}.${kind === 'ts' ? 'ts' : 'mjs'}`,
        code: `${lines
          .slice(i + 1, end)
          .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
          .join('\n')}\n`,
        line: i + 2,
      });
    }
    i = end;
  }
  return { samples, skipped };
}
