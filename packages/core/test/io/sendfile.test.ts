/**
 * `wfile.sendfile()` (src/io/sendfile.ts through StreamWriter): the bytes a client receives, for every
 * kind of file argument, offset and count, over real sockets. Each test runs both ways, streamed and
 * zero-copy (sendfile(2) through @sockserve/udp-native, where it is built), and expects the same.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type net from 'node:net';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, ErrorCodes, TimeoutError } from '../../src/errors.js';
import {
  loadNativeSendfile,
  type SendfileMode,
  type SendfileSource,
  sendFile,
} from '../../src/io/sendfile.js';
import { StreamWriter } from '../../src/io/stream-writer.js';
import { readAll, tempDir } from '../helpers.js';
import { closeSocketPairs, socketPair } from './socket-pair.js';

afterEach(closeSocketPairs);

/** 3 MiB + 123 bytes of a pattern that repeats only every 251 bytes, so any misplaced byte shows. */
const CONTENT = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0; i < CONTENT.length; i++) CONTENT[i] = (i * 7919) % 251;
/** 36 MiB: more than the kernel's socket buffers on loopback hold. */
const BIG = Buffer.concat(Array.from({ length: 12 }, () => CONTENT));

const nativeAvailable = loadNativeSendfile() !== null;

describe.each<SendfileMode>(['stream', 'native'])('StreamWriter.sendfile, %s', (mode) => {
  const test = it.skipIf(mode === 'native' && !nativeAvailable);

  /** `writer.sendfile(...)`, forced to this test's way. */
  const sendfile = (
    writer: StreamWriter,
    socket: net.Socket,
    file: SendfileSource,
    offset?: number,
    count?: number,
  ): Promise<number> => sendFile(writer, socket, file, offset, count, mode);

  /** Sends between two writes over a fresh connection; resolves with what arrived in between and the count. */
  async function transfer(
    file: SendfileSource,
    offset?: number,
    count?: number,
  ): Promise<{ received: Buffer; sent: number }> {
    const { local, peer } = await socketPair();
    const received = readAll(peer);
    const writer = new StreamWriter(local);
    void writer.write('head:'); // written before, not awaited: must still arrive first
    const sent = await sendfile(writer, local, file, offset, count);
    await writer.end(':tail');
    const all = await received;
    expect(String(all.subarray(0, 5))).toBe('head:');
    expect(String(all.subarray(all.length - 5))).toBe(':tail');
    return { received: all.subarray(5, all.length - 5), sent };
  }

  test('sends a whole file given as a path, a file: URL, a FileHandle or a descriptor, byte for byte', async () => {
    using dir = tempDir();
    const path = dir.file('content.bin');
    writeFileSync(path, CONTENT);
    const handle = await open(path, 'r');
    const fd = openSync(path, 'r');
    try {
      for (const file of [path, pathToFileURL(path), handle, fd]) {
        const { received, sent } = await transfer(file);
        expect(sent).toBe(CONTENT.length);
        expect(received.equals(CONTENT)).toBe(true);
      }
      // A handle or descriptor stays open and can be sent again (positional reads).
      expect((await transfer(fd)).sent).toBe(CONTENT.length);
    } finally {
      await handle.close();
      closeSync(fd);
    }
  });

  test('honours offset and count as Python does: count 0 means to the end, past the end sends nothing', async () => {
    using dir = tempDir();
    const path = dir.file('content.bin');
    writeFileSync(path, CONTENT);
    const cases: Array<[number | undefined, number | undefined, Buffer]> = [
      [1000, 70_000, CONTENT.subarray(1000, 71_000)],
      [65_536, undefined, CONTENT.subarray(65_536)],
      [5, 0, CONTENT.subarray(5)],
      [CONTENT.length - 10, 1_000_000, CONTENT.subarray(CONTENT.length - 10)],
      [CONTENT.length + 5, 10, Buffer.alloc(0)],
      [0, 1, CONTENT.subarray(0, 1)],
    ];
    for (const [offset, count, expected] of cases) {
      const { received, sent } = await transfer(path, offset, count);
      expect(sent).toBe(expected.length);
      expect(received.equals(expected)).toBe(true);
    }
  });

  test('goes at the pace of the peer: it does not finish while the peer does not read', async () => {
    using dir = tempDir();
    const path = dir.file('big.bin');
    writeFileSync(path, BIG);
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    const sending = sendfile(writer, local, path);
    // `peer` has no 'data' listener: it stops reading once the kernel buffers are full.
    let settled = false;
    void sending.finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(local.writableLength).toBeLessThanOrEqual(local.writableHighWaterMark + 2 * 64 * 1024);
    const received = readAll(peer);
    expect(await sending).toBe(BIG.length);
    await writer.end();
    expect((await received).equals(BIG)).toBe(true);
  });

  test('fails with TimeoutError when the peer stops reading for `timeout` seconds, and destroys the connection', async () => {
    using dir = tempDir();
    const path = dir.file('big.bin');
    writeFileSync(path, BIG);
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local, { timeout: 0.3 });
    const error = await sendfile(writer, local, path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCodes.TIMEOUT, seconds: 0.3 });
    expect(local.destroyed).toBe(true);
    await readAll(peer); // reading again, the client sees the connection end
  });

  test('fails with ConnectionClosedError when the connection is destroyed mid-transfer', async () => {
    using dir = tempDir();
    const path = dir.file('big.bin');
    writeFileSync(path, BIG);
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    const sending = sendfile(writer, local, path);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the peer does not read: it is stuck
    local.destroy();
    await expect(sending).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  test('rejects a missing file with the system error, and bad arguments naming them', async () => {
    using dir = tempDir();
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    await expect(sendfile(writer, local, dir.file('missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(sendfile(writer, local, dir.file('missing.bin'), -1)).rejects.toThrow(/offset/);
    await expect(sendfile(writer, local, dir.file('missing.bin'), 0, 1.5)).rejects.toThrow(/count/);
    await expect(sendfile(writer, local, {} as never)).rejects.toThrow(/file/);
    writeFileSync(dir.file('small.bin'), 'small');
    await writer.end();
    await expect(sendfile(writer, local, dir.file('small.bin'))).rejects.toBeInstanceOf(
      ConnectionClosedError,
    );
  });
});

describe('StreamWriter.sendfile, either way', () => {
  it.skipIf(!nativeAvailable)(
    'is zero-copy by default on a plain socket when the addon is there',
    async () => {
      using dir = tempDir();
      const path = dir.file('content.bin');
      writeFileSync(path, CONTENT);
      const { local, peer } = await socketPair();
      const received = readAll(peer);
      const writer = new StreamWriter(local);
      const written = local.bytesWritten;
      expect(await writer.sendfile(path)).toBe(CONTENT.length);
      // Node's byte count did not move: the bytes went by sendfile(2), not through the socket's writes.
      expect(local.bytesWritten - written).toBeLessThan(CONTENT.length);
      await writer.end();
      expect((await received).equals(CONTENT)).toBe(true);
    },
  );
});
