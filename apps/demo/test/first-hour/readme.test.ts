/**
 * The root README's first samples, `server.ts` (TypeScript) and `server.mjs` (plain JavaScript for
 * Node.js 20), compile and run: each, started as its own process on port 0, prints its listening
 * line, echoes a line over a real connection, and stops with exit status 0 on Ctrl-C (SIGINT).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeSamples, runnableSample, typecheckSamples } from '../../../../test-support/readme-samples.js';
import { parseCommandLine } from '../../src/cli.js';
import { tempDir, withDeadline } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const samples = readmeSamples(join(ROOT, 'README.md'));

/** Sends `line` and reads until the echo of it came back. */
async function echo(port: number, line: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('utf8');
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.on('data', (text: string) => {
          received += text;
          if (received.length >= line.length) resolve();
        });
        socket.once('error', reject);
        socket.write(line);
      }),
      'the echo',
    );
    return received;
  } finally {
    socket.destroy();
  }
}

describe('the README samples', () => {
  it('are a TypeScript server.ts and a JavaScript server.mjs', () => {
    expect(samples.map(({ lang, file }) => `${lang} ${file}`)).toEqual(['ts server.ts', 'js server.mjs']);
  });

  it('type-check with the repository’s compiler options', () => {
    // Written inside the repository, where `@sockserve/core` resolves; removed afterwards.
    const dir = join(ROOT, 'apps', 'demo', `.readme-samples-${process.pid}`);
    try {
      expect(typecheckSamples(samples, dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000); // a whole TypeScript program, on a shared CPU

  it.each(samples.map((sample) => [sample.file, sample] as const))(
    '%s runs: listens, echoes, and exits 0 on Ctrl-C',
    async (_file, sample) => {
      expect(sample.code).toContain("{ host: '127.0.0.1', port: 9999 }");
      // Runs from a directory inside the repository, where `@sockserve/core` resolves.
      using dir = tempDir();
      const code = runnableSample(sample).replace('port: 9999', 'port: 0');
      const file = join(
        ROOT,
        'apps',
        'demo',
        `.readme-sample-${process.pid}-${sample.file.replace(/\.\w+$/, '')}.mjs`,
      );
      writeFileSync(file, code);
      const child = spawn(process.execPath, [file], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8');
        child.stderr.setEncoding('utf8').on('data', (text: string) => {
          stderr += text;
        });
        const listening = await withDeadline(
          new Promise<number>((resolve, reject) => {
            child.stdout.on('data', (text: string) => {
              stdout += text;
              const port = /^listening on tcp:\/\/127\.0\.0\.1:(\d+)\n/.exec(stdout)?.[1];
              if (port !== undefined) resolve(Number(port));
            });
            child.once('exit', () => reject(new Error(`exited before listening: ${stderr}`)));
          }),
          'the listening line',
        );
        expect(await echo(listening, 'hello, echo\n')).toBe('hello, echo\n');
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill('SIGINT');
        expect(await withDeadline(exited, 'exit after SIGINT')).toBe(0);
        expect(stderr).toBe('');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        rmSync(file, { force: true });
      }
    },
  );
});

describe('the README’s first steps', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('says what the session needs besides Node, and how to get nc', () => {
    expect(readme).toContain('netcat-openbsd');
    expect(readme).toContain('npx sockserve-demo connect 127.0.0.1 9999');
  });

  it('gives port flags that `sockserve-demo start` accepts', () => {
    const given = [...readme.matchAll(/`npm start -- ([^`]+)`/g)].map((match) => match[1]!);
    expect(given.length).toBeGreaterThan(0);
    for (const args of given) {
      expect(parseCommandLine(['start', ...args.split(' ')])).toMatchObject({ name: 'start' });
    }
    expect(parseCommandLine(['start', '--port', '7000', '--chat-port', '7001'])).toMatchObject({
      server: { port: 7000 },
      chatPort: 7001,
    });
  });
});
