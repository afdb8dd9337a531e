/**
 * What npm shows of a package: its README, cut at 64 KiB, with links that must work from npmjs.com
 * (absolute GitHub URLs). Every README of the repository stays under that size; the published
 * packages' READMEs link only to absolute URLs or their own headings; and every link to a file of
 * the repository (from those READMEs and from docs/) names a file and a heading that exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REPOSITORY = 'https://github.com/sockserve/sockserve/blob/main/';
/** npm's limit: a longer README is cut on the package's page. */
const NPM_README_LIMIT = 64 * 1024;

const workspaceReadmes = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(ROOT, group)).map((name) => join(group, name, 'README.md')))
  .filter((path) => existsSync(join(ROOT, path)));
const published = workspaceReadmes.filter(
  (path) => JSON.parse(readFileSync(join(ROOT, dirname(path), 'package.json'), 'utf8')).private !== true,
);
const guides = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => join('docs', name));

/** The links of a Markdown file, outside code blocks and code spans. */
function links(path: string): string[] {
  const text = readFileSync(join(ROOT, path), 'utf8')
    .replace(/^\s*```[\s\S]*?^\s*```/gm, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** GitHub's anchors for the headings of a Markdown file. */
function anchors(path: string): Set<string> {
  const text = readFileSync(join(ROOT, path), 'utf8').replace(/^\s*```[\s\S]*?^\s*```/gm, '');
  return new Set(
    [...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
      match[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

/** The repository file and anchor a link from `from` points to, or undefined for an outside link. */
function target(from: string, link: string): { file: string; anchor: string | undefined } | undefined {
  const [address = '', anchor] = link.split('#');
  if (address.startsWith(REPOSITORY)) return { file: address.slice(REPOSITORY.length), anchor };
  if (/^[a-z]+:/.test(address)) return undefined;
  return { file: address === '' ? from : relative(ROOT, join(ROOT, dirname(from), address)), anchor };
}

describe('READMEs as npm shows them', () => {
  it.each([...workspaceReadmes, 'README.md'])('%s is under 64 KiB', (path) => {
    expect(statSync(join(ROOT, path)).size).toBeLessThan(NPM_README_LIMIT);
  });

  it.each(published)('%s links only to absolute URLs or its own headings', (path) => {
    expect(links(path).filter((link) => !/^(https?:\/\/|#)/.test(link))).toEqual([]);
  });

  it.each([...published, ...guides])(
    '%s: links into the repository name files and headings that exist',
    (path) => {
      const broken = links(path).filter((link) => {
        const to = target(path, link);
        if (to === undefined) return false;
        // A package README's own headings are its owners' to keep (checked where it moves them).
        if (to.file === path && !path.startsWith('docs/')) return false;
        if (!existsSync(join(ROOT, to.file))) return true;
        if (to.anchor === undefined || !to.file.endsWith('.md')) return false;
        return !anchors(to.file).has(to.anchor);
      });
      expect(broken).toEqual([]);
    },
  );
});
