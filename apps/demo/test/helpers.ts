/**
 * Fixtures for the CLI's integration tests: the real `sockserve-demo` (bin → dist) started as a
 * child process, and real sockets on 127.0.0.1 port 0 or temporary Unix paths. Every wait is
 * bounded; every process a test starts is killed by that test's `await using` (by its own pid).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { tempDir as sharedTempDir, WAIT_MS, withDeadline } from '../../../test-support/fixtures.js';

export const BIN: string = fileURLToPath(new URL('../bin/sockserve-demo.js', import.meta.url));

export { WAIT_MS, withDeadline };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `sockserve-demo ARGS` running as a child process, with its output collected. */
export class Cli {
  readonly process: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #wake: (() => void) | undefined;

  /** `prefix`: a command that runs node, e.g. `['prlimit', '--nofile=64:64']` (it must exec, keeping the pid). */
  constructor(
    args: readonly string[],
    options: { stdin?: 'pipe' | 'ignore'; prefix?: readonly string[] } = {},
  ) {
    const [command, ...rest] = [...(options.prefix ?? []), process.execPath, BIN, ...args];
    this.process = spawn(command!, rest, {
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    this.process.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#wake?.();
    });
    this.process.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#wake?.();
    });
    this.exited = new Promise((resolve) => {
      this.process.once('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#wake?.();
        resolve(this.#exit);
      });
    });
  }

  /** Stdout split into lines (the last one complete). */
  get stdoutLines(): string[] {
    return this.stdout.split('\n').filter((line) => line !== '');
  }

  /** Waits until `predicate()` holds; fails after WAIT_MS or when the process exits first. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    const end = Date.now() + WAIT_MS;
    while (!predicate()) {
      if (this.#exit !== undefined) {
        throw new Error(
          `sockserve-demo exited (${JSON.stringify(this.#exit)}) before ${what}; stderr: ${this.stderr}`,
        );
      }
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(`no ${what} within ${WAIT_MS} ms; stdout: ${this.stdout} stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** The addresses of the first `count` `listening on URL` lines. */
  async listening(count = 1): Promise<string[]> {
    const urls = (): string[] =>
      this.stdoutLines.flatMap((line) => /^listening on (\S+)$/.exec(line)?.slice(1) ?? []);
    await this.until(() => urls().length >= count, `"listening on" line`);
    return urls().slice(0, count);
  }

  /** The exit, bounded by WAIT_MS. */
  async exit(): Promise<Exit> {
    await this.until(() => this.#exit !== undefined, 'exit');
    return this.#exit!;
  }

  signal(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  /** Kills this process (only it) if it still runs. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#exit === undefined) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Starts a server command and waits for its listening line(s). */
export async function startServer(
  args: readonly string[],
  count = 1,
  prefix?: readonly string[],
): Promise<{ cli: Cli; urls: string[] }> {
  const cli = new Cli(args, { prefix });
  try {
    return { cli, urls: await cli.listening(count) };
  } catch (error) {
    await cli[Symbol.asyncDispose]();
    throw error;
  }
}

/** Runs `sockserve-demo ARGS` to its end, with `input` on stdin. */
export async function runCli(args: readonly string[], input?: string): Promise<Cli & Exit> {
  const cli = new Cli(args, { stdin: input === undefined ? 'ignore' : 'pipe' });
  if (input !== undefined) cli.process.stdin!.end(input);
  try {
    const exit = await cli.exit();
    return Object.assign(cli, exit);
  } finally {
    await cli[Symbol.asyncDispose]();
  }
}

export interface Endpoint {
  transport: 'tcp' | 'udp' | 'unix';
  host: string;
  port: number;
  path: string;
}

/** `tcp://127.0.0.1:9999`, `udp://…`, `unix:///tmp/x.sock` → its parts. */
export function parseUrl(url: string): Endpoint {
  const unix = /^unix:\/\/(.+)$/.exec(url);
  if (unix) return { transport: 'unix', host: '', port: 0, path: unix[1]! };
  const inet = /^(tcp|udp):\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(url);
  if (!inet) throw new Error(`not a listening URL: ${url}`);
  return { transport: inet[1] as 'tcp' | 'udp', host: inet[2]!, port: Number(inet[3]), path: '' };
}

/** A temporary directory for Unix socket paths, removed on dispose. */
export const tempDir = (): ReturnType<typeof sharedTempDir> => sharedTempDir('sockserve-demo-');

/** Sends `data` over a stream connection, half-closes, and returns everything the server sent back. */
export async function streamRoundTrip(endpoint: Endpoint, data: string): Promise<string> {
  const socket =
    endpoint.transport === 'unix'
      ? net.connect({ path: endpoint.path })
      : net.connect({ host: endpoint.host, port: endpoint.port });
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  socket.end(data);
  await withDeadline(closed, 'end of the echo');
  return Buffer.concat(received).toString('utf8');
}

/** Sends one datagram and waits for one reply. */
export async function datagramRoundTrip(endpoint: Endpoint, data: string): Promise<string> {
  const socket = dgram.createSocket(endpoint.host.includes(':') ? 'udp6' : 'udp4');
  try {
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(data, endpoint.port, endpoint.host);
    return (await withDeadline(reply, 'UDP reply')).toString('utf8');
  } finally {
    socket.close();
  }
}

/** A line client over a real connection: `line()` takes the next line the server sent. */
export class LineClient {
  readonly socket: net.Socket;
  readonly received: string[] = [];
  #partial = '';
  #taken = 0;
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const parts = (this.#partial + text).split('\n');
      this.#partial = parts.pop()!;
      this.received.push(...parts);
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  static async connect(endpoint: Endpoint): Promise<LineClient> {
    const socket =
      endpoint.transport === 'unix'
        ? net.connect({ path: endpoint.path })
        : net.connect({ host: endpoint.host, port: endpoint.port });
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
      'connection',
    );
    return new LineClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  /** The next line not taken yet. */
  async line(): Promise<string> {
    const end = Date.now() + WAIT_MS;
    while (this.#taken >= this.received.length) {
      if (this.#closed)
        throw new Error(`closed while waiting for a line; got ${JSON.stringify(this.received)}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no line within ${WAIT_MS} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.received[this.#taken++]!;
  }

  /** Waits until the server closed the connection. */
  async untilClosed(): Promise<void> {
    const end = Date.now() + WAIT_MS;
    while (!this.#closed) {
      if (Date.now() > end) throw new Error(`connection still open after ${WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  [Symbol.dispose](): void {
    this.socket.destroy();
  }
}
