/**
 * A server in a process of its own (a fixture script under reliability/fixtures/), so that its
 * memory and descriptors can be read from /proc without the test's own sockets in the count, and so
 * that it can run under a lower descriptor limit (`prlimit --nofile`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WAIT_MS, withDeadline } from '../../../test-support/fixtures.js';

/** The absolute path of a fixture script. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  /** What the process wrote to stderr so far (for failure messages). */
  readonly stderr: () => string;
  /** Open descriptors of the server process now (entries of /proc/<pid>/fd). */
  descriptorCount(): number;
  /** Resident memory now and its peak so far (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  /** Throws, with the end of its stderr, when the server process has exited. */
  assertAlive(): void;
  /** Fixtures that support it: sends SIGUSR2 and resolves with the JSON of the `stats …` line it prints. */
  stats(): Promise<Record<string, unknown>>;
  /** Stops the server (SIGTERM, then SIGKILL after WAIT_MS) and waits for its exit. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ServerProcessOptions {
  /** Runs the server under `prlimit --nofile=N:N` (soft and hard limit). Default: the test's limit. */
  nofile?: number;
}

/**
 * Starts `node fixtures/<script> ...args` and resolves once it printed `listening PORT`.
 * The script must stop cleanly on SIGTERM.
 */
export async function startServerProcess(
  script: string,
  args: string[] = [],
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const command = [process.execPath, fixture(script), ...args];
  const child: ChildProcess =
    options.nofile === undefined
      ? spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('prlimit', [`--nofile=${options.nofile}:${options.nofile}`, '--', ...command], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitStatus = `code ${code}, signal ${signal}`;
      resolve();
    }),
  );
  const statsWaiters: Array<(stats: Record<string, unknown>) => void> = [];
  const ready = new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
      if (line.startsWith('stats ')) statsWaiters.shift()?.(JSON.parse(line.slice(6)));
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${script} exited (${code ?? signal}) before listening: ${stderr}`)),
    );
  });
  let port: number;
  try {
    port = await withDeadline(ready, `ready line from ${script}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid!;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    await exited;
    clearTimeout(timer);
  };
  return {
    pid,
    port,
    stderr: () => stderr,
    descriptorCount: () => readdirSync(`/proc/${pid}/fd`).length,
    memory: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (name: string): number =>
        Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
      return { rss: field('VmRSS'), peak: field('VmHWM') };
    },
    assertAlive: () => {
      if (exitStatus === undefined) return;
      const tail = stderr.split('\n').filter((line) => !line.includes('SentHandleNotReceivedWarning'));
      throw new Error(`the server process exited (${exitStatus}); stderr:\n${tail.join('\n').slice(-2000)}`);
    },
    stats: () => {
      const answer = new Promise<Record<string, unknown>>((resolve) => statsWaiters.push(resolve));
      child.kill('SIGUSR2');
      return withDeadline(answer, `stats from ${script}`);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Processes whose parent is `pid`, with their state letter from /proc/<child>/stat (`Z`: zombie). */
export function childrenOf(pid: number): Array<{ pid: number; state: string }> {
  const children: Array<{ pid: number; state: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) children.push({ pid: Number(entry), state: fields[0] ?? '' });
  }
  return children;
}

/** Open descriptors of `pid` now, or 0 when it has exited. */
function descriptorsOfPid(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0; // exited meanwhile
  }
}

/** Descriptors of the server process and of its children (a forking server's pool), summed. */
export function treeDescriptors(server: ServerProcess): number {
  return childrenOf(server.pid).reduce(
    (sum, child) => sum + descriptorsOfPid(child.pid),
    server.descriptorCount(),
  );
}

/** The most descriptors one process of the server holds: the server itself or one of its children. */
export function busiestProcess(server: ServerProcess): number {
  return Math.max(
    server.descriptorCount(),
    ...childrenOf(server.pid).map((child) => descriptorsOfPid(child.pid)),
  );
}
