/**
 * Forking servers with the `tls` option: the parent hands the raw socket to a child, where the TLS
 * handshake runs. Uses the built package (`@sockserve/core`), as the children load it from dist.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { BaseRequestHandler, ForkingTCPServer, ForkingUnixStreamServer } from '@sockserve/core';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '../../../../test-support/tls-certs.js';
import {
  childProcessesOf,
  processState,
  readAll,
  serving,
  tempDir,
  until,
  withDeadline,
} from '../helpers.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const handlerModule = { module: fixture('tls-handlers.mjs'), exportName: 'TLSLineHandler' };
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const serverTLS = () => ({ key: certs.server.key, cert: certs.server.cert });

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

type Where = { host: string; port: number } | { path: string };

function tlsConnect(where: Where, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const target = 'path' in where ? { path: where.path } : { host: where.host, port: where.port };
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...target, ca: certs.ca, servername: 'localhost', ...options }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

async function ask(socket: tls.TLSSocket, text: string): Promise<string> {
  const line = new Promise<string>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const end = seen.indexOf('\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve(seen.slice(0, end));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.write(`${text}\n`);
  return withDeadline(line, `answer to ${text}`);
}

describe.each([
  ['pool', { workers: 2 }],
  ['perRequest', { perRequest: true, spareChildren: 1 }],
])('ForkingTCPServer with tls (%s)', (_mode, forking) => {
  it('the session is established in a child; a plain-text client is reported as tls-error in the parent', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { ...forking, handlerModule, tls: serverTLS() }),
    );
    const failures: Array<string | undefined> = [];
    server.on('tls-error', (error) => failures.push((error as { code?: string }).code));
    const plain = net.connect(server.serverAddress.port, '127.0.0.1');
    plain.on('error', () => {});
    plain.write('GET / HTTP/1.0\r\n\r\n');
    const plainClosed = readAll(plain).catch(() => Buffer.alloc(0));
    const socket = await tlsConnect(server.serverAddress);
    expect(await ask(socket, 'hello')).toBe('hello');
    const info = JSON.parse(await ask(socket, 'who'));
    expect(info).toMatchObject({ encrypted: true, servername: 'localhost' });
    expect(info.pid).not.toBe(process.pid);
    socket.end();
    await readAll(socket);
    await withDeadline(plainClosed, 'plain client closed');
    await until(() => failures.length === 1, 10_000);
    expect(failures[0]).toMatch(/^ERR_SSL_/);
  });

  it('setSecureContext reaches the children', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { ...forking, handlerModule, tls: serverTLS() }),
    );
    const first = await tlsConnect(server.serverAddress);
    expect(first.getPeerCertificate().subject.CN).toBe('localhost');
    expect(await ask(first, 'one')).toBe('one');
    first.destroy();
    server.setSecureContext({ key: certs.server2.key, cert: certs.server2.cert });
    const second = await tlsConnect(server.serverAddress);
    expect(second.getPeerCertificate().subject.CN).toBe('localhost rotated');
    expect(await ask(second, 'two')).toBe('two');
    second.destroy();
  });
});

it('ForkingUnixStreamServer serves TLS from its children (key and cert as Buffers)', async () => {
  using dir = tempDir();
  await using server = await serving(
    new ForkingUnixStreamServer(dir.file('tls.sock'), UnusedHandler, {
      workers: 1,
      handlerModule,
      tls: { key: Buffer.from(certs.server.key), cert: Buffer.from(certs.server.cert) },
    }),
  );
  const socket = await tlsConnect(server.serverAddress);
  expect(JSON.parse(await ask(socket, 'who'))).toMatchObject({ encrypted: true });
  socket.destroy();
});

describe.each(['pool', 'perRequest'])('entry-module re-execution with an SNICallback (%s)', (mode) => {
  it('each child builds the tls options (and its SNICallback) again from the entry script', async () => {
    const script = spawn(process.execPath, [fixture('tls-forking-entry.mjs'), certs.dir, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await withDeadline(
        new Promise<number>((resolve) => {
          let out = '';
          script.stdout!.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            const match = /listening (\d+)\n/.exec(out);
            if (match) resolve(Number(match[1]));
          });
        }),
        'listening line',
      );
      const where = { host: '127.0.0.1', port };
      const rotated = await tlsConnect(where, {
        servername: 'rotated.test',
        checkServerIdentity: () => undefined,
      });
      expect(rotated.getPeerCertificate().subject.CN).toBe('localhost rotated');
      expect(JSON.parse(await ask(rotated, 'who'))).toMatchObject({ servername: 'rotated.test' });
      rotated.destroy();
      const plain = await tlsConnect(where);
      expect(plain.getPeerCertificate().subject.CN).toBe('localhost');
      expect(await ask(plain, 'hi')).toBe('hi');
      plain.destroy();
      // Stop it and its children before the certificate files go (a child starting would read them).
      const children = childProcessesOf(script.pid!);
      const exited = new Promise((resolve) => script.once('exit', resolve));
      script.kill('SIGTERM');
      await exited;
      await until(() => children.every((pid) => processState(pid) !== 'alive'), 10_000);
    } finally {
      script.kill('SIGKILL');
    }
  });
});
