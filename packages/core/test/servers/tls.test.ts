/**
 * TLS on every stream server (the `tls` option): real handshakes on loopback, with certificates made
 * by the `openssl` CLI for this file (see tls-certs.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '../../../../test-support/tls-certs.js';
import type { InetAddress, UnixAddress } from '../../src/address.js';
import {
  ErrorCodes,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUnixStreamServer,
  UnixStreamServer,
} from '../../src/index.js';
import { readAll, serving, tempDir, withDeadline } from '../helpers.js';
import { ServerProcess } from './server-process.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const serverTLS = () => ({ key: certs.server.key, cert: certs.server.cert });

/** Echoes lines; `who` answers what the handler sees of the session. */
class TLSLineHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for (;;) {
      const line = String(await this.rfile.readline());
      if (line === '') return;
      if (line.trim() === 'who') {
        const socket = this.request as tls.TLSSocket;
        const peer = socket.getPeerCertificate();
        const info = {
          encrypted: socket instanceof tls.TLSSocket,
          protocol: socket.getProtocol(),
          alpn: socket.alpnProtocol,
          servername: (socket as tls.TLSSocket & { servername?: string | false }).servername,
          authorized: socket.authorized,
          peer: peer?.subject?.CN ?? null,
        };
        await this.wfile.write(`${JSON.stringify(info)}\n`);
      } else {
        await this.wfile.write(line);
      }
    }
  }
}

/** Reads everything until EOF, then answers with its length (needs the client's half-close). */
class CountHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const all = await this.rfile.read();
    await this.wfile.write(`got ${all.length}\n`);
  }
}

/** Echoes through in-place reads (`received()`), which fall back to 'data' chunks on TLS sockets. */
class InPlaceEchoHandler extends StreamRequestHandler {
  static override receiveBufferSize = 16 * 1024;
  override received(chunk: Buffer): void {
    this.request.write(Buffer.from(chunk));
  }
}

type Where = InetAddress | UnixAddress;

function tlsConnect(where: Where, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const target = 'path' in where ? { path: where.path } : { host: where.host, port: where.port };
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...target, ca: certs.ca, servername: 'localhost', ...options }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Sends one line on a TLS connection and reads one line back. */
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
    socket.once('end', () => resolve(seen));
  });
  socket.write(`${text}\n`);
  return withDeadline(line, `answer to ${text}`);
}

async function who(where: Where, options: tls.ConnectionOptions = {}): Promise<Record<string, unknown>> {
  const socket = await tlsConnect(where, options);
  try {
    return JSON.parse(await ask(socket, 'who')) as Record<string, unknown>;
  } finally {
    socket.destroy();
  }
}

describe.each([
  ['TCPServer', () => new TCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS() })],
  ['ThreadingTCPServer', () => new ThreadingTCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS() })],
])('%s with tls', (_name, make) => {
  it('echoes over an established TLS session; the request is the TLSSocket', async () => {
    await using server = await serving(make());
    const socket = await tlsConnect(server.serverAddress);
    expect(await ask(socket, 'hello world')).toBe('hello world');
    expect(await ask(socket, 'second line')).toBe('second line');
    const info = JSON.parse(await ask(socket, 'who'));
    expect(info).toMatchObject({ encrypted: true, servername: 'localhost', peer: null });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(info.protocol);
    socket.end();
    await readAll(socket);
  });
});

describe.each([
  ['UnixStreamServer', (path: string) => new UnixStreamServer(path, TLSLineHandler, { tls: serverTLS() })],
  [
    'ThreadingUnixStreamServer',
    (path: string) => new ThreadingUnixStreamServer(path, TLSLineHandler, { tls: serverTLS() }),
  ],
])('%s with tls', (_name, make) => {
  it('echoes over TLS on a Unix socket', async () => {
    using dir = tempDir();
    await using server = await serving(make(dir.file('tls.sock')));
    const socket = await tlsConnect(server.serverAddress);
    expect(await ask(socket, 'over unix')).toBe('over unix');
    expect(JSON.parse(await ask(socket, 'who'))).toMatchObject({ encrypted: true });
    socket.destroy();
  });
});

describe('TLS sessions behave as plain connections', () => {
  it('the client half-closes (close_notify + FIN) and still receives the reply; the server ends the TLS session', async () => {
    await using server = await serving(new TCPServer(LOOPBACK, CountHandler, { tls: serverTLS() }));
    const socket = await tlsConnect(server.serverAddress);
    const reply = readAll(socket);
    socket.write(Buffer.alloc(100_000, 1));
    socket.end();
    // The reply arrives as TLS records and ends cleanly: the server's final half-close ran on the TLS socket.
    expect(String(await withDeadline(reply, 'reply'))).toBe('got 100000\n');
  });

  it('a handler reading in place (receiveBufferSize) echoes large data with backpressure', async () => {
    await using server = await serving(
      new ThreadingTCPServer(LOOPBACK, InPlaceEchoHandler, { tls: serverTLS() }),
    );
    const socket = await tlsConnect(server.serverAddress);
    const data = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const received: Buffer[] = [];
    let total = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        total += chunk.length;
        if (total >= data.length) resolve();
      }),
    );
    socket.write(data);
    await withDeadline(done, 'echo of 4 MiB');
    expect(Buffer.concat(received).equals(data)).toBe(true);
    socket.destroy();
  });

  it("the handler's timeout applies to an established TLS session", async () => {
    class Impatient extends TLSLineHandler {
      override timeout = 0.3;
    }
    await using server = await serving(new TCPServer(LOOPBACK, Impatient, { tls: serverTLS() }));
    const failed = new Promise<unknown>((resolve) => server.once('request-error', resolve));
    const socket = await tlsConnect(server.serverAddress);
    expect(await ask(socket, 'first')).toBe('first');
    // Then silence: the server gives up on the session, as on plain TCP.
    await withDeadline(
      readAll(socket).catch(() => Buffer.alloc(0)),
      'the server closing an idle session',
    );
    expect(await withDeadline(failed, 'request-error')).toMatchObject({ code: ErrorCodes.TIMEOUT });
  });

  it('ALPN and SNI are visible to the handler', async () => {
    await using server = await serving(
      new TCPServer(LOOPBACK, TLSLineHandler, {
        tls: { ...serverTLS(), ALPNProtocols: ['sockserve/1', 'http/1.1'] },
      }),
    );
    const info = await who(server.serverAddress, { ALPNProtocols: ['sockserve/1'] });
    expect(info).toMatchObject({ alpn: 'sockserve/1', servername: 'localhost' });
  });

  it('an SNICallback chooses the certificate by server name', async () => {
    const contexts = new Map([
      ['localhost', tls.createSecureContext(serverTLS())],
      ['rotated.test', tls.createSecureContext({ key: certs.server2.key, cert: certs.server2.cert })],
    ]);
    await using server = await serving(
      new TCPServer(LOOPBACK, TLSLineHandler, {
        tls: { SNICallback: (name, done) => done(null, contexts.get(name)) },
      }),
    );
    const socket = await tlsConnect(server.serverAddress, {
      servername: 'rotated.test',
      checkServerIdentity: () => undefined,
    });
    expect(socket.getPeerCertificate().subject.CN).toBe('localhost rotated');
    expect(JSON.parse(await ask(socket, 'who'))).toMatchObject({ servername: 'rotated.test' });
    socket.destroy();
  });
});

describe('failed handshakes never reach the pipeline', () => {
  it('plain text, a silent client (handshakeTimeout), no and a wrong client certificate fail cleanly while a good client is served', async () => {
    // A sync server with one connection allowed: a failed or pending handshake would block the good client.
    await using server = await serving(
      new TCPServer(LOOPBACK, TLSLineHandler, {
        tls: { ...serverTLS(), ca: certs.ca, requestCert: true, rejectUnauthorized: true },
        handshakeTimeout: 0.5,
        maxConnections: 1,
      }),
    );
    const failures: Array<{ code: string | undefined; client: string }> = [];
    const starts: unknown[] = [];
    server.on('tls-error', (error, clientAddress) =>
      failures.push({ code: error.code, client: String(clientAddress) }),
    );
    server.on('request-start', (clientAddress) => starts.push(clientAddress));
    const { port } = server.serverAddress;

    // A silent client: connects, never sends a ClientHello.
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    await new Promise((resolve) => silent.once('connect', resolve));
    // Plain text instead of a ClientHello.
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => {});
    plain.write('hello, no TLS here\r\n\r\n');
    const plainClosed = readAll(plain).catch(() => Buffer.alloc(0));
    // No client certificate, and one from another CA.
    const noCert = tlsConnect(server.serverAddress).then(
      (socket) => ask(socket, 'hi').catch(() => 'refused'),
      () => 'refused',
    );
    const wrongCert = tlsConnect(server.serverAddress, certs.rogue).then(
      (socket) => ask(socket, 'hi').catch(() => 'refused'),
      () => 'refused',
    );
    // Meanwhile a good client is served.
    const good = await tlsConnect(server.serverAddress, certs.client);
    expect(await ask(good, 'served')).toBe('served');
    expect(JSON.parse(await ask(good, 'who'))).toMatchObject({ authorized: true, peer: 'good client' });
    good.end();
    await readAll(good);

    expect(await noCert).not.toBe('hi');
    expect(await wrongCert).not.toBe('hi');
    await withDeadline(plainClosed, 'plain-text client closed');
    await withDeadline(
      new Promise<void>((resolve) => silent.once('close', () => resolve())),
      'silent client closed by handshakeTimeout',
    );
    await withDeadline(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (failures.length >= 4) resolve();
        };
        server.on('tls-error', check);
        check();
      }),
      'four tls-error events',
    );
    const codes = failures.map((f) => f.code);
    expect(codes).toContain('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(codes.filter((c) => c !== 'ERR_TLS_HANDSHAKE_TIMEOUT')).toHaveLength(3);
    for (const failure of failures) expect(failure.client).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    // Only the good client became a request.
    expect(starts).toHaveLength(1);
  });
});

describe('serverClose with handshakes in progress', () => {
  it('closes them at once (not after handshakeTimeout), reported as tls-error ERR_SOCKSERVE_SERVER_CLOSED', async () => {
    const server = await serving(
      new TCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS(), handshakeTimeout: 3600 }),
    );
    const codes: Array<string | undefined> = [];
    server.on('tls-error', (error) => codes.push(error.code));
    const silent = net.connect(server.serverAddress.port, '127.0.0.1');
    silent.on('error', () => {});
    const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    // The server has the connection once a TLS client on the same listener got its answer.
    const probe = await tlsConnect(server.serverAddress);
    expect(await ask(probe, 'probe')).toBe('probe');
    probe.end();
    await readAll(probe);
    await server[Symbol.asyncDispose]();
    await withDeadline(closed, 'silent client closed by serverClose');
    expect(codes).toEqual([ErrorCodes.SERVER_CLOSED]);
  });
});

describe('serverClose waits for TLS requests to flush', () => {
  it('a process that exits right after serverClose() has sent every byte of the last reply', async () => {
    await using server = new ServerProcess([
      fileURLToPath(new URL('../fixtures/tls-exit-after-close.mjs', import.meta.url)),
      certs.dir,
    ]);
    const port = await server.port();
    const socket = await tlsConnect({ host: '127.0.0.1', port, family: 'IPv4' });
    const reply = readAll(socket);
    socket.write('give\n');
    expect((await withDeadline(reply, 'the whole reply')).length).toBe(1000 * 10);
  });
});

describe('setSecureContext', () => {
  it('rotates the certificate for new connections; an open session keeps working', async () => {
    await using server = await serving(
      new ThreadingTCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS() }),
    );
    const before = await tlsConnect(server.serverAddress);
    expect(before.getPeerCertificate().subject.CN).toBe('localhost');
    server.setSecureContext({ key: certs.server2.key, cert: certs.server2.cert });
    const after = await tlsConnect(server.serverAddress);
    expect(after.getPeerCertificate().subject.CN).toBe('localhost rotated');
    expect(await ask(after, 'new')).toBe('new');
    after.destroy();
    expect(await ask(before, 'old')).toBe('old');
    before.destroy();
  });

  it('refuses bad options and keeps the old ones; throws on a server without tls', async () => {
    await using server = await serving(new TCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS() }));
    expect(() => server.setSecureContext({ cert: 'not a certificate' })).toThrow(/setSecureContext/);
    expect((await who(server.serverAddress)).encrypted).toBe(true);
    const plain = new TCPServer(LOOPBACK, TLSLineHandler);
    expect(() => plain.setSecureContext(serverTLS())).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
  });
});

describe('tls option validation (in the constructor)', () => {
  it.each([
    ['not an object', 'yes', /option "tls" must be an object/],
    ['no certificate', { key: 'x' }, /"tls" needs "key" and "cert"/],
    ['a bad key', { key: 'garbage', cert: 'garbage' }, /option "tls" is refused by node:tls/],
    ['handshakeTimeout inside tls', { handshakeTimeout: 5 }, /"tls.handshakeTimeout" is not read/],
  ])('%s', (_name, value, message) => {
    expect(() => new TCPServer(LOOPBACK, TLSLineHandler, { tls: value as never })).toThrow(message);
  });

  it('a negative handshakeTimeout', () => {
    expect(() => new TCPServer(LOOPBACK, TLSLineHandler, { tls: serverTLS(), handshakeTimeout: -1 })).toThrow(
      /handshakeTimeout/,
    );
  });
});
