/**
 * A real `redis-server` for the tests: started on a free loopback port without persistence, stopped
 * afterwards. Without `redis-server` on PATH (and no REDIS_URL), the suites are skipped with a note
 * saying how to enable them; with CI=true they run, and fail, instead.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { describe } from 'vitest';

/** True when `redis-server` is on PATH. */
export const HAS_REDIS_SERVER: boolean = spawnSync('redis-server', ['--version']).status === 0;
/** A Redis given from outside (`REDIS_URL`), used instead of starting one. */
export const EXTERNAL_URL: string | undefined = process.env.REDIS_URL || undefined;
const IN_CI = process.env.CI === 'true';

const HOW =
  'install redis-server (`apt-get install redis-server`) or set REDIS_URL=redis://host:port to run them';

/** `describe`, or `describe.skip` (with a note) when no Redis can be had outside CI. */
export function describeRedis(name: string, body: () => void, needsOwnServer = false): void {
  const usable = HAS_REDIS_SERVER || (!needsOwnServer && EXTERNAL_URL !== undefined);
  if (usable || IN_CI) {
    describe(name, body);
    return;
  }
  console.warn(`skipping "${name}": no redis-server on PATH; ${HOW}`);
  describe.skip(name, body);
}

/** A free TCP port on 127.0.0.1 (free a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * TLS for a test's redis-server: files as test-support/tls-certs.ts writes them (`ca.crt`,
 * `server.crt`, `server.key` in `dir`). Debian's redis-server is built with TLS.
 */
export interface RedisTLS {
  /** The directory of the certificate files. */
  dir: string;
  /** Whether clients must present a certificate signed by `ca.crt` (redis's `tls-auth-clients`); default true. */
  authClients?: boolean;
}

/** One redis-server process of a test. */
export class RedisServer {
  readonly port: number;
  readonly #tls: RedisTLS | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, tls: RedisTLS | undefined) {
    this.port = port;
    this.#tls = tls;
  }

  /** The URL to give `RedisHub` (`rediss://` when the server speaks TLS only). */
  get url(): string {
    return `${this.#tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${this.port}`;
  }

  /**
   * Starts redis-server on `port` (default a free one) and waits until it accepts connections. With
   * `tls`, `port` is its TLS port and it has no plain one.
   */
  static async start(port?: number, tls?: RedisTLS): Promise<RedisServer> {
    if (!HAS_REDIS_SERVER) throw new Error(`redis-server is not on PATH: ${HOW}`);
    const server = new RedisServer(port ?? (await freePort()), tls);
    await server.restart();
    return server;
  }

  /** Starts the process again (same port, empty data: nothing is persisted). */
  async restart(): Promise<void> {
    const tls = this.#tls;
    const ports =
      tls === undefined
        ? ['--port', String(this.port)]
        : [
            '--port',
            '0',
            '--tls-port',
            String(this.port),
            '--tls-cert-file',
            join(tls.dir, 'server.crt'),
            '--tls-key-file',
            join(tls.dir, 'server.key'),
            '--tls-ca-cert-file',
            join(tls.dir, 'ca.crt'),
            '--tls-auth-clients',
            tls.authClients === false ? 'no' : 'yes',
          ];
    const child = spawn(
      'redis-server',
      [...ports, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`redis-server exited (${code}) on port ${this.port}: ${output}`)),
      );
      child.once('error', reject);
    });
  }

  /** Kills the process (SIGKILL: as a crash) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await gone;
  }

  /** Stops the process. */
  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }
}
