// The Unix datagram part's contract (src/unix_dgram.c, index.d.cts) on real sockets in a temp dir.
// @sockserve/core's UnixDatagramSocket and UnixDatagramServer tests cover it again through the class.
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tempDir, withDeadline } from '../../../test-support/fixtures.ts';
import { native as available, nativeTitle } from '../../../test-support/native.ts';
import type udpNative from '../index.cjs';

const native = (
  available.unixDatagram ? createRequire(import.meta.url)('../index.cjs') : {}
) as udpNative.Addon;
const { EAGAIN, ENAMETOOLONG, ECONNREFUSED, ENOENT, EADDRINUSE, EBADF } = constants.errno;

function open(): udpNative.UnixHandle {
  const handle = native.unixSocket();
  if (typeof handle === 'number') throw new Error(`unixSocket() failed: ${handle}`);
  return handle;
}

/** A bound, reading socket; `messages` collects what arrives. */
function receiver(path: string) {
  const handle = open();
  expect(native.unixBind(handle, path)).toBe(0);
  const messages: { data: Buffer; sender: string }[] = [];
  const errors: number[] = [];
  expect(
    native.unixReceive(
      handle,
      (data, sender) => messages.push({ data, sender }),
      (code) => errors.push(code),
    ),
  ).toBe(0);
  return { handle, messages, errors };
}

async function until(check: () => boolean, what: string): Promise<void> {
  await withDeadline(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    what,
  );
}

describe.skipIf(!available.unixDatagram)(
  nativeTitle('@sockserve/udp-native: Unix datagrams', available.unixDatagram),
  () => {
    it('delivers datagrams with the sender path, or an empty path for an unbound sender', async () => {
      using dir = tempDir('udp-native-');
      const server = receiver(dir.file('server'));
      const bound = open();
      const unbound = open();
      try {
        expect(native.unixBind(bound, dir.file('client'))).toBe(0);
        expect(native.unixSendTo(bound, Buffer.from('from bound'), dir.file('server'))).toBe(0);
        expect(native.unixSendTo(unbound, new Uint8Array([1, 2, 3]), dir.file('server'))).toBe(0);
        expect(native.unixSendTo(unbound, new Uint8Array(0), dir.file('server'))).toBe(0);
        await until(() => server.messages.length === 3, 'three datagrams');
        expect(server.messages.map((m) => [m.data.toString('hex'), m.sender])).toEqual([
          [Buffer.from('from bound').toString('hex'), dir.file('client')],
          ['010203', ''],
          ['', ''],
        ]);
        expect(server.errors).toEqual([]);
      } finally {
        for (const handle of [server.handle, bound, unbound]) native.unixClose(handle);
      }
    });

    it('returns errno codes instead of throwing: in use, refused, missing, too long, closed', () => {
      using dir = tempDir('udp-native-');
      const server = receiver(dir.file('server'));
      const other = open();
      try {
        expect(native.unixBind(other, dir.file('server'))).toBe(-EADDRINUSE);
        expect(native.unixConnect(other, dir.file('server'))).toBe(0);
        expect(native.unixSendTo(other, Buffer.from('x'), dir.file('missing'))).toBe(-ENOENT);
        expect(native.unixBind(other, `${dir.path}/${'x'.repeat(200)}`)).toBe(-ENAMETOOLONG);
        native.unixClose(server.handle);
        // The file stays behind, with no one bound to it.
        expect(native.unixSendTo(other, Buffer.from('x'), dir.file('server'))).toBe(-ECONNREFUSED);
        native.unixClose(other);
        native.unixClose(other); // a second close does nothing
        expect(native.unixSendTo(other, Buffer.from('x'), dir.file('server'))).toBe(-EBADF);
      } finally {
        native.unixClose(server.handle);
        native.unixClose(other);
      }
    });

    it('returns EAGAIN when the receiver queue is full, then delivers every datagram it took, in order', async () => {
      using dir = tempDir('udp-native-');
      const target = open();
      const sender = open();
      try {
        expect(native.unixBind(target, dir.file('server'))).toBe(0); // bound, not reading yet
        let sent = 0;
        let last = 0;
        while (sent < 100_000) {
          last = native.unixSendTo(sender, Buffer.from(String(sent)), dir.file('server'));
          if (last !== 0) break;
          sent++;
        }
        expect(last).toBe(-EAGAIN);
        expect(sent).toBeGreaterThan(0);
        const received: string[] = [];
        expect(
          native.unixReceive(
            target,
            (data) => received.push(data.toString()),
            () => {},
          ),
        ).toBe(0);
        await until(() => received.length === sent, `${sent} datagrams`);
        expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i)));
      } finally {
        native.unixClose(target);
        native.unixClose(sender);
      }
    });

    it('keeps reading when JavaScript drops the handle of a reading socket (until it is closed)', async () => {
      using dir = tempDir('udp-native-');
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const messages: string[] = [];
      (() => {
        const handle = open(); // reachable from nothing but the addon once this returns
        expect(native.unixBind(handle, dir.file('server'))).toBe(0);
        native.unixReceive(
          handle,
          (data) => messages.push(data.toString()),
          () => {},
        );
      })();
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const sender = open();
      try {
        expect(native.unixSendTo(sender, Buffer.from('still there'), dir.file('server'))).toBe(0);
        await until(() => messages.length === 1, 'the datagram');
        expect(messages).toEqual(['still there']);
      } finally {
        native.unixClose(sender);
      }
    });

    it(`cuts datagrams longer than unixReceiveSize (${native.unixReceiveSize ?? 65536}) bytes`, async () => {
      using dir = tempDir('udp-native-');
      const server = receiver(dir.file('server'));
      const sender = open();
      try {
        const payload = Buffer.alloc(native.unixReceiveSize + 100, 7);
        expect(native.unixSendTo(sender, payload, dir.file('server'))).toBe(0);
        await until(() => server.messages.length === 1, 'the long datagram');
        expect(server.messages[0]!.data.length).toBe(native.unixReceiveSize);
      } finally {
        native.unixClose(server.handle);
        native.unixClose(sender);
      }
    });
  },
);
