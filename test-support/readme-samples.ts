/**
 * Code samples of a README, checked: every fenced block whose info string names a file
 * (```` ```ts server.ts ````, ```` ```js server.mjs ````) is a sample. `typecheckSamples` writes them to
 * a directory inside the repository (so that `@sockserve/*` imports resolve as a user's would) and
 * type-checks them all (TypeScript, and JavaScript with checkJs) with the repository's compiler options;
 * `runnableSample` gives the JavaScript to run on the current Node.js (TypeScript transpiled).
 * Any package's tests can use it on its own README.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One sample: the file it names, its language, its code, and the README line its code starts on. */
export interface ReadmeSample {
  file: string;
  lang: string;
  code: string;
  line: number;
}

/** The samples of the Markdown file at `path`: fenced blocks whose info string is `LANG FILE`. */
export function readmeSamples(path: string): ReadmeSample[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const samples: ReadmeSample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s+([\w.-]+\.(?:ts|mts|js|mjs))\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end === -1) throw new Error(`${path}:${i + 1}: the code block of ${open[2]} is not closed`);
    samples.push({
      lang: open[1]!,
      file: open[2]!,
      code: `${lines.slice(i + 1, end).join('\n')}\n`,
      line: i + 2,
    });
    i = end;
  }
  return samples;
}

/**
 * Writes the samples into `dir` (a directory inside the repository, created if needed) and
 * type-checks them together; returns the diagnostics as `FILE:LINE: message` (empty: all compile).
 */
export function typecheckSamples(samples: readonly ReadmeSample[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = samples.map((sample) => {
    const file = join(dir, sample.file);
    writeFileSync(file, sample.code);
    return file;
  });
  const base = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), ts.sys.readFile);
  if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, dir);
  // TypeScript with the repository's options; JavaScript as a user writes it (no JSDoc `@override`).
  const typescript = files.filter((file) => /\.m?ts$/.test(file));
  const javascript = files.filter((file) => !/\.m?ts$/.test(file));
  const common = {
    ...options,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    declaration: false,
    isolatedDeclarations: false,
  };
  const diagnostics = [
    ...(typescript.length > 0 ? ts.getPreEmitDiagnostics(ts.createProgram(typescript, common)) : []),
    ...(javascript.length > 0
      ? ts.getPreEmitDiagnostics(ts.createProgram(javascript, { ...common, noImplicitOverride: false }))
      : []),
  ];
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName}:${line + 1}: ${message}`;
  });
}

/** The sample as JavaScript the current Node.js runs (TypeScript is transpiled to ES2022 modules). */
export function runnableSample(sample: ReadmeSample): string {
  if (!/\.m?ts$/.test(sample.file)) return sample.code;
  return ts.transpileModule(sample.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: sample.file,
  }).outputText;
}
