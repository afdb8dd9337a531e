/**
 * Code samples of a Markdown file (a README, a guide under docs/), checked: every fenced block whose
 * info string names a file (```` ```ts server.ts ````, ```` ```js server.mjs ````) is a sample, and
 * with `{ unnamed: true }` so is every other `ts`/`js` block (named after its line). `typecheckSamples`
 * writes them to a directory inside the repository (so that `@sockserve/*` imports resolve as a user's
 * would) and type-checks them all (TypeScript, and JavaScript with checkJs) with the repository's
 * compiler options, each sample a module of its own; `runnableSample` gives the JavaScript to run on
 * the current Node.js (TypeScript transpiled); `runSample` runs one as its own process.
 * `checkMarkdownSamples(path)` does the type-check for a whole file in one call.
 * Any package's tests can use it on its own Markdown.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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

/** Options of `readmeSamples()`. */
export interface ReadmeSampleOptions {
  /**
   * Also take the `ts`/`typescript`/`js`/`javascript` blocks that name no file, as `L<line>.ts` or
   * `L<line>.mjs` (`<line>`: the Markdown line their code starts on). Default false.
   */
  unnamed?: boolean;
}

const UNNAMED_EXTENSIONS: Readonly<Record<string, string>> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'mjs',
  javascript: 'mjs',
};

/**
 * The samples of the Markdown file at `path`: fenced blocks whose info string is `LANG FILE` (and,
 * with `unnamed`, the TypeScript and JavaScript blocks that name no file). Indented fences (in a list)
 * count too; their indentation is removed from the code.
 */
export function readmeSamples(path: string, options: ReadmeSampleOptions = {}): ReadmeSample[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const samples: ReadmeSample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\w+)(?:\s+([\w.-]+\.(?:ts|mts|js|mjs)))?\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', lang = '', named] = open;
    const end = lines.findIndex((line, j) => j > i && line.trimStart().startsWith('```'));
    if (end === -1) throw new Error(`${path}:${i + 1}: the code block that starts here is not closed`);
    const extension = UNNAMED_EXTENSIONS[lang];
    const file =
      named ?? (options.unnamed === true && extension !== undefined ? `L${i + 2}.${extension}` : undefined);
    if (file !== undefined) {
      const code = lines
        .slice(i + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
      samples.push({ lang, file, code: `${code.join('\n')}\n`, line: i + 2 });
    }
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
    // Every sample is a module of its own, even one without import or export.
    moduleDetection: ts.ModuleDetectionKind.Force,
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

/**
 * Type-checks every TypeScript and JavaScript sample of the Markdown file at `path` (named or not),
 * written to a directory next to it (inside the repository, so that `@sockserve/*` resolves) that is
 * removed afterwards. Returns the diagnostics as `FILE:LINE: message`, FILE being the sample's name
 * and LINE the Markdown line (empty: every sample compiles).
 */
export function checkMarkdownSamples(path: string): string[] {
  const samples = readmeSamples(path, { unnamed: true });
  const dir = join(dirname(path), `.samples-${basename(path, '.md')}-${process.pid}`);
  try {
    const diagnostics = typecheckSamples(samples, dir);
    return diagnostics.map((diagnostic) => {
      const where = /^(.*?):(\d+): ([\s\S]*)$/.exec(diagnostic);
      if (where === null) return diagnostic;
      const sample = samples.find((candidate) => join(dir, candidate.file) === where[1]);
      if (sample === undefined) return diagnostic;
      return `${basename(path)}:${sample.line + Number(where[2]) - 1} (${sample.file}): ${where[3]}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How a sample run ended: its exit status (null when killed) and what it printed. */
export interface SampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `sample` (transpiled when TypeScript) as its own Node.js process, from a file written in
 * `dir` (inside the repository, so that `@sockserve/*` resolves; the file is removed afterwards), and
 * resolves once it exits; a sample still running after `timeoutMs` (default 20 s) is killed (code null).
 */
export function runSample(sample: ReadmeSample, dir: string, timeoutMs = 20_000): Promise<SampleRun> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${sample.file.replace(/\.\w+$/, '')}-${process.pid}.mjs`);
  writeFileSync(file, runnableSample(sample));
  return new Promise<SampleRun>((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      rmSync(file, { force: true });
      resolve({ code, stdout, stderr });
    });
  });
}
