/**
 * `wfile.sendfile()` (src/io/sendfile.ts through StreamWriter): the bytes a client receives, for every
 * kind of file argument, offset and count, over real sockets.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamWriter } from '../../src/io/stream-writer.js';
import { readAll, tempDir, until } from '../helpers.js';
import { closeSocketPairs, socketPair } from './socket-pair.js';

afterEach(closeSocketPairs);

/** 3 MiB + 123 bytes of a pattern that repeats only every 251 bytes, so any misplaced byte shows. */
const CONTENT = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0; i < CONTENT.length; i++) CONTENT[i] = (i * 7919) % 251;

/** Sends with `send` over a fresh connection, then ends it; resolves with what the peer received and the count. */
async function transfer(
  send: (writer: StreamWriter) => Promise<number>,
): Promise<{ received: Buffer; sent: number }> {
  const { local, peer } = await socketPair();
  const received = readAll(peer);
  const writer = new StreamWriter(local);
  const sent = await send(writer);
  await writer.end();
  return { received: await received, sent };
}

describe('StreamWriter.sendfile', () => {
  it('sends a whole file given as a path, a file: URL, a FileHandle or a descriptor, byte for byte', async () => {
    using dir = tempDir();
    const path = dir.file('content.bin');
    writeFileSync(path, CONTENT);
    const handle = await open(path, 'r');
    const fd = openSync(path, 'r');
    try {
      for (const file of [path, pathToFileURL(path), handle, fd]) {
        const { received, sent } = await transfer((writer) => writer.sendfile(file));
        expect(sent).toBe(CONTENT.length);
        expect(received.equals(CONTENT)).toBe(true);
      }
      // A handle or descriptor stays open and can be sent again (positional reads).
      expect((await transfer((writer) => writer.sendfile(fd))).sent).toBe(CONTENT.length);
    } finally {
      await handle.close();
      closeSync(fd);
    }
  });

  it('honours offset and count as Python does: count 0 means to the end, past the end sends nothing', async () => {
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
      const { received, sent } = await transfer((writer) => writer.sendfile(path, offset, count));
      expect(sent).toBe(expected.length);
      expect(received.equals(expected)).toBe(true);
    }
  });

  it('goes at the pace of the peer: while it does not read, the socket holds a bounded amount', async () => {
    using dir = tempDir();
    const path = dir.file('big.bin');
    const big = Buffer.concat(Array.from({ length: 12 }, () => CONTENT)); // 36 MiB: more than the kernel buffers
    writeFileSync(path, big);
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    const sending = writer.sendfile(path);
    // `peer` has no 'data' listener: it stops reading once the kernel buffers are full.
    let settled = false;
    void sending.finally(() => {
      settled = true;
    });
    await until(() => local.writableLength > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    expect(local.writableLength).toBeLessThanOrEqual(local.writableHighWaterMark + 2 * 64 * 1024);
    const received = readAll(peer);
    expect(await sending).toBe(big.length);
    await writer.end();
    expect((await received).equals(big)).toBe(true);
  });

  it('rejects a missing file with the system error, and bad arguments naming them', async () => {
    using dir = tempDir();
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    await expect(writer.sendfile(dir.file('missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(writer.sendfile(dir.file('missing.bin'), -1)).rejects.toThrow(/offset/);
    await expect(writer.sendfile(dir.file('missing.bin'), 0, 1.5)).rejects.toThrow(/count/);
    await expect(writer.sendfile({} as never)).rejects.toThrow(/file/);
  });
});
