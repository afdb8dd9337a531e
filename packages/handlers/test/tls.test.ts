/**
 * The handlers over TLS, unchanged: the core servers' `tls` option does the handshake, the handlers
 * see an established session. Certificates are made by the `openssl` CLI (test-support/tls-certs.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { ThreadingTCPServer } from '@sockserve/core';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '../../../test-support/tls-certs.js';
import { ChatHandler, EchoStreamHandler, MemoryHub } from '../src/index.js';
import { connect, readAll, serving, withDeadline } from './helpers.js';

const certs = makeTestCerts();
afterAll(() => certs[Symbol.dispose]());
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const serverTLS = () => ({ key: certs.server.key, cert: certs.server.cert });

function tlsConnect(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, servername: 'localhost' }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Lines read from a stream, one at a time. */
function lineReader(input: NodeJS.ReadableStream) {
  const lines = createInterface({ input })[Symbol.asyncIterator]();
  return async (): Promise<string> => {
    const next = await withDeadline(lines.next(), 'a line');
    return next.done ? '' : next.value;
  };
}

/** The next line that matches `pattern` (room notices such as `-- guest2 joined #lobby` come first). */
async function lineMatching(next: () => Promise<string>, pattern: RegExp): Promise<string> {
  for (;;) {
    const line = await next();
    if (line === '' || pattern.test(line)) return line;
  }
}

describe('EchoStreamHandler over TLS', () => {
  it('echoes 1 MiB byte-exact, then the half-close', async () => {
    await using server = await serving(
      new ThreadingTCPServer(LOOPBACK, EchoStreamHandler, { tls: serverTLS() }),
    );
    const socket = await tlsConnect(server.serverAddress.port);
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const echoed = readAll(socket);
    socket.end(data);
    expect((await withDeadline(echoed, 'echo')).equals(data)).toBe(true);
  });
});

describe('ChatHandler over TLS', () => {
  it('one room: a TLS server and a plain server share a MemoryHub; openssl s_client chats with nc-style clients', async () => {
    const hub = new MemoryHub();
    await using secure = await serving(
      new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub }), { tls: serverTLS() }),
    );
    await using plain = await serving(new ThreadingTCPServer(LOOPBACK, ChatHandler.with({ hub })));

    const alice = await tlsConnect(secure.serverAddress.port);
    const aliceLine = lineReader(alice);
    expect(await aliceLine()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
    alice.write('/nick alice\n');
    expect(await aliceLine()).toBe('-- you are now alice');

    const bob = await connect(plain.serverAddress);
    const bobLine = lineReader(bob);
    expect(await bobLine()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
    bob.write('/nick bob\n');
    expect(await bobLine()).toBe('-- you are now bob');
    expect(await lineMatching(aliceLine, /is now known as bob$/)).toMatch(/is now known as bob$/);

    // A third member through the openssl CLI, as a user would with `openssl s_client`.
    const carol = spawn(
      'openssl',
      [
        's_client',
        '-quiet',
        '-connect',
        `127.0.0.1:${secure.serverAddress.port}`,
        '-servername',
        'localhost',
        '-CAfile',
        join(certs.dir, 'ca.crt'),
        '-verify_return_error',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    try {
      const carolLine = lineReader(carol.stdout!);
      expect(await carolLine()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
      carol.stdin!.write('/nick carol\n');
      expect(await carolLine()).toBe('-- you are now carol');
      expect(await lineMatching(aliceLine, /is now known as carol$/)).toMatch(/is now known as carol$/);
      expect(await lineMatching(bobLine, /is now known as carol$/)).toMatch(/is now known as carol$/);

      alice.write('hello over tls\n');
      expect(await bobLine()).toBe('<alice> hello over tls');
      expect(await carolLine()).toBe('<alice> hello over tls');
      bob.write('hello in plain text\n');
      expect(await aliceLine()).toBe('<bob> hello in plain text');
      expect(await carolLine()).toBe('<bob> hello in plain text');
      carol.stdin!.write('hi from openssl\n');
      expect(await aliceLine()).toBe('<carol> hi from openssl');
      expect(await bobLine()).toBe('<carol> hi from openssl');
      carol.stdin!.write('/quit\n');
      expect(await carolLine()).toBe('-- bye');
    } finally {
      carol.kill();
    }
    alice.destroy();
    bob.destroy();
  });
});
