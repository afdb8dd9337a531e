/**
 * Every TypeScript sample of this package's README compiles against the built packages, as a user's
 * program would (test-support/readme-samples.ts).
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { checkMarkdownSamples } from '../../../test-support/readme-samples.js';

it('the README’s code samples type-check', () => {
  expect(checkMarkdownSamples(fileURLToPath(new URL('../README.md', import.meta.url)))).toEqual([]);
}, 120_000);
