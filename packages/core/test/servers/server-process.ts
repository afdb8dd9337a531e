/** A server run as its own process for tests that check its real stdout/stderr or its limits. */
import { type ChildProcess, spawn } from 'node:child_process';
import { withDeadline } from '../helpers.js';

/** A test server run as its own process (`node ARGS`, or `PREFIX… node ARGS`), its output collected. */
export class ServerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';

  constructor(args: string[], prefix: string[] = []) {
    const [command, ...rest] = [...prefix, process.execPath, ...args];
    this.child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
  }

  /** Resolves when `predicate()` holds (checked on each output chunk); bounded by the caller. */
  until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        this.child.stdout!.off('data', check);
        this.child.stderr!.off('data', check);
        resolve();
      };
      this.child.stdout!.on('data', check);
      this.child.stderr!.on('data', check);
      check();
    });
  }

  async port(): Promise<number> {
    await withDeadline(
      this.until(() => /listening \d+\n/.test(this.stdout)),
      'listening line',
    );
    return Number(/listening (\d+)/.exec(this.stdout)![1]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
