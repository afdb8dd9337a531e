/**
 * TLS in the demo, through the real binary: `echo|chat --tls-cert --tls-key [--tls-ca --tls-client-auth]`
 * in every mode, `connect --tls`, and the certificate reloaded on SIGHUP. Certificates are made by
 * the `openssl` CLI for this file (test-support/tls-certs.ts).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '../../../test-support/tls-certs.js';
import { runCli, startServer, tempDir, withDeadline } from './helpers.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());
const file = (name: string): string => join(certs.dir, name);
const SERVER_TLS = ['--tls-cert', file('server.crt'), '--tls-key', file('server.key')];
const CA = ['--tls-ca', file('ca.crt')];

/** `tls://127.0.0.1:PORT` or `tls+unix:///path` → the arguments of `connect`. */
function connectArgs(url: string): string[] {
  const unix = /^tls\+unix:\/\/(.+)$/.exec(url);
  if (unix) return ['--transport', 'unix', unix[1]!];
  const inet = /^tls:\/\/([\d.]+):(\d+)$/.exec(url);
  if (!inet) throw new Error(`not a TLS listening URL: ${url}`);
  return [inet[1]!, inet[2]!];
}

/** The subject CN of the certificate the server at `url` presents. */
function serverCN(url: string): Promise<string> {
  const [host, port] = connectArgs(url);
  return withDeadline(
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host, port: Number(port), ca: certs.ca }, () => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.destroy();
      });
      socket.once('error', reject);
    }),
    'TLS handshake',
  );
}

describe.each([
  ['tcp', 'sync', []],
  ['tcp', 'threading', []],
  ['tcp', 'forking', ['--workers', '1']],
  ['tcp', 'forking', ['--per-request']],
  ['unix', 'threading', []],
  ['unix', 'forking', ['--workers', '1']],
] as const)('echo --transport %s --mode %s %j with TLS', (transport, mode, extra) => {
  it('prints a tls:// listening line and echoes to `connect --tls`', async () => {
    using dir = tempDir();
    const where = transport === 'unix' ? ['--path', dir.file('demo.sock')] : ['--port', '0'];
    const { cli, urls } = await startServer(['echo', ...where, '--mode', mode, ...extra, ...SERVER_TLS]);
    await using _cli = cli;
    const url = urls[0]!;
    expect(url).toMatch(
      transport === 'unix' ? /^tls\+unix:\/\/\/.+\/demo\.sock$/ : /^tls:\/\/127\.0\.0\.1:\d+$/,
    );
    await cli.until(() => cli.stderr.includes('try: sockserve-demo connect --tls'), 'hint');
    const client = await runCli(['connect', '--tls', ...CA, ...connectArgs(url)], 'hello\nover tls\n');
    expect(client.code).toBe(0);
    expect(client.stdout).toBe('hello\nover tls\n');
    cli.signal('SIGTERM');
    expect(await cli.exit()).toEqual({ code: 0, signal: null });
  });
});

describe('chat with TLS client authentication', () => {
  it('serves a client with a certificate from --tls-ca; refuses one without, and logs why', async () => {
    const { cli, urls } = await startServer([
      'chat',
      '--port',
      '0',
      ...SERVER_TLS,
      ...CA,
      '--tls-client-auth',
    ]);
    await using _cli = cli;
    const [host, port] = connectArgs(urls[0]!);
    const welcome = await withDeadline(
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host, port: Number(port), ca: certs.ca, ...certs.client }, () => {
          socket.once('data', (chunk: Buffer) => {
            resolve(String(chunk));
            socket.destroy();
          });
        });
        socket.once('error', reject);
      }),
      'welcome line',
    );
    expect(welcome).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
    const refused = await runCli(['connect', '--tls', ...CA, host!, port!], 'hello\n');
    expect(refused.stdout).not.toContain('welcome');
    const client = ['--tls-cert', file('client.crt'), '--tls-key', file('client.key')];
    const served = await runCli(['connect', '--tls', ...CA, ...client, host!, port!], '/quit\n');
    expect(served.code).toBe(0);
    expect(served.stdout).toMatch(/^-- welcome, you are guest\d+ in #lobby.*\n-- bye\n$/s);
    await cli.until(() => cli.stderr.includes('TLS handshake failed'), 'the log line of the refused client');
  });
});

describe('certificate reload', () => {
  it('SIGHUP reads the certificate files again: new connections get the new certificate', async () => {
    using dir = tempDir();
    const cert = dir.file('cert.pem');
    const key = dir.file('key.pem');
    copyFileSync(file('server.crt'), cert);
    copyFileSync(file('server.key'), key);
    const { cli, urls } = await startServer([
      'echo',
      '--port',
      '0',
      '--mode',
      'forking',
      '--workers',
      '1',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    await using _cli = cli;
    expect(await serverCN(urls[0]!)).toBe('localhost');
    copyFileSync(file('server2.crt'), cert);
    copyFileSync(file('server2.key'), key);
    cli.signal('SIGHUP');
    await cli.until(() => cli.stderr.includes('reloaded the TLS certificate'), 'reload log line');
    expect(await serverCN(urls[0]!)).toBe('localhost rotated');
    // A broken file keeps the old certificate, and says so.
    copyFileSync(file('ca.crt'), key);
    cli.signal('SIGHUP');
    await cli.until(() => cli.stderr.includes('kept the old TLS certificate'), 'kept line');
    expect(await serverCN(urls[0]!)).toBe('localhost rotated');
  });
});

describe('connect --tls', () => {
  it('--insecure skips the certificate check; without a CA the check fails with one line, exit 1', async () => {
    const { cli, urls } = await startServer(['echo', '--port', '0', ...SERVER_TLS]);
    await using _cli = cli;
    const args = connectArgs(urls[0]!);
    const insecure = await runCli(['connect', '--tls', '--insecure', ...args], 'ok\n');
    expect(insecure.code).toBe(0);
    expect(insecure.stdout).toBe('ok\n');
    const checked = await runCli(['connect', '--tls', ...args], 'ok\n');
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/cannot connect to tls:\/\/127\.0\.0\.1:\d+: .*certificate/);
    expect(checked.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('TLS usage errors', () => {
  it.each([
    [['echo', '--tls-cert', 'x.pem'], /--tls-cert needs --tls-key PATH/],
    [['echo', '--tls-key', 'x.pem'], /--tls-key needs --tls-cert PATH/],
    [['echo', '--tls-cert', 'a', '--tls-key', 'b', '--tls-client-auth'], /--tls-client-auth needs --tls-ca/],
    [['echo', '--transport', 'udp', '--tls-cert', 'a', '--tls-key', 'b'], /TLS needs a stream transport/],
    [['connect', '--insecure', '127.0.0.1', '1'], /--insecure needs --tls/],
    [
      ['connect', '--tls', '--tls-cert', 'c.pem', '127.0.0.1', '1'],
      /needs both --tls-cert PATH and --tls-key PATH/,
    ],
    [['start', '--tls-cert', 'a'], /option --tls-cert does not apply to 'start'/],
  ])('%j', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('a certificate file that cannot be read or used: one line, exit 1', async () => {
    const missing = await runCli([
      'echo',
      '--port',
      '0',
      '--tls-cert',
      '/nonexistent.pem',
      '--tls-key',
      file('server.key'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the certificate \/nonexistent\.pem/);
    const wrong = await runCli([
      'echo',
      '--port',
      '0',
      '--tls-cert',
      file('ca.crt'),
      '--tls-key',
      file('server.key'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/option "tls" is refused by node:tls/);
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
  });
});
