import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, ErrorCodes, TimeoutError } from '../../src/errors.js';
import { StreamWriter } from '../../src/io/stream-writer.js';
import { readAll } from '../helpers.js';
import { closeSocketPairs, socketPair } from './socket-pair.js';

afterEach(closeSocketPairs);

/** Collects everything `socket` receives until its end. */
function receiveAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

/** Whether `promise` settles within a few event-loop turns. */
async function settlesSoon(promise: Promise<unknown>, ms = 0): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** Writes 64 KiB chunks to a peer that does not read until one write has to wait; returns that write. */
async function fillUntilBlocked(writer: StreamWriter): Promise<{ blocked: Promise<void>; written: number }> {
  const chunk = Buffer.alloc(64 * 1024, 'w');
  let written = 0;
  for (let i = 0; i < 4096; i++) {
    const pending = writer.write(chunk);
    written += chunk.length;
    if (!(await settlesSoon(pending))) return { blocked: pending, written };
  }
  throw new Error('write() never waited although the peer does not read');
}

// --- tests -------------------------------------------------------------------

describe('StreamWriter', () => {
  it('writes strings and bytes in order; end() resolves after the flush and the peer sees EOF', async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    const received = receiveAll(peer);
    await writer.write('héllo ');
    await writer.write(new Uint8Array([0xe4, 0xb8, 0x96, 0x0a]));
    await writer.end('bye');
    expect(local.writableFinished).toBe(true);
    expect((await received).toString()).toBe('héllo 世\nbye');
    await writer.end(); // repeating is harmless
  });

  it("sends a tick's first write at once and holds the rest for one writev when the tick ends", async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    const received = receiveAll(peer);
    void writer.write('first ');
    expect(local.writableLength).toBe(0); // a lone write costs no cork: it is with the kernel already
    void writer.write('second ');
    void writer.write('third');
    expect(local.writableLength).toBe('second third'.length); // corked until the tick ends
    await new Promise((resolve) => process.nextTick(resolve));
    expect(local.writableLength).toBe(0);
    void writer.write(' next tick');
    expect(local.writableLength).toBe(0);
    await writer.end();
    expect(String(await received)).toBe('first second third next tick');
  });

  it('makes write() wait while the peer does not read, keeps the buffer bounded, and resolves once it reads', async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    // `peer` has no 'data' listener: it stops reading once its own small buffer is full.
    const { blocked, written } = await fillUntilBlocked(writer);
    expect(await settlesSoon(blocked, 50)).toBe(false);
    expect(writer.writableLength).toBeGreaterThan(0);
    expect(writer.writableLength).toBeLessThanOrEqual(local.writableHighWaterMark + 64 * 1024);
    expect(await settlesSoon(writer.drain())).toBe(false);

    let received = 0;
    peer.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await blocked;
    await writer.drain();
    await writer.end();
    await once(peer, 'end');
    expect(received).toBe(written);
  });

  it('rejects write() at once with ConnectionClosedError on a destroyed socket, and after end()', async () => {
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    await writer.end();
    const afterEnd = await writer.write('late').catch((caught: unknown) => caught);
    expect(afterEnd).toBeInstanceOf(ConnectionClosedError);
    expect((afterEnd as ConnectionClosedError).code).toBe(ErrorCodes.CONNECTION_CLOSED);
    local.destroy();
    await expect(writer.write('x')).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(writer.drain()).rejects.toBeInstanceOf(ConnectionClosedError);
    // A write nobody awaits must not surface as an unhandled rejection (vitest would fail the run).
    void writer.write('ignored');
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('rejects a waiting write with ConnectionClosedError carrying the socket error when the peer resets', async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local);
    local.resume(); // read, so that the reset is noticed on the read side too
    const { blocked } = await fillUntilBlocked(writer);
    peer.resetAndDestroy();
    const error = await blocked.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(['ECONNRESET', 'EPIPE']).toContain(
      ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code,
    );
  });

  it('rejects end() when the connection is destroyed before the flush', async () => {
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    await fillUntilBlocked(writer);
    const ending = writer.end();
    local.destroy();
    await expect(ending).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('drain() resolves at once when nothing waits; writableLength follows the socket', async () => {
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    expect(writer.writableLength).toBe(0);
    expect(await settlesSoon(writer.drain())).toBe(true);
  });

  it('removes its listeners once the socket closes', async () => {
    const { local } = await socketPair();
    const events = ['drain', 'error', 'close'] as const;
    const before = events.map((event) => local.listenerCount(event));
    new StreamWriter(local);
    local.destroy();
    await once(local, 'close');
    expect(events.map((event) => local.listenerCount(event))).toEqual(before);
  });

  it('with timeout, fails a write the peer does not take in time with TimeoutError and destroys the connection', async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local, { timeout: 0.2 });
    const { blocked } = await fillUntilBlocked(writer); // the peer stopped reading
    const error = await blocked.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCodes.TIMEOUT, seconds: 0.2 });
    expect((error as Error).message).toMatch(/write timed out after 0\.2 s/);
    expect(local.destroyed).toBe(true);
    await readAll(peer); // the client, reading again, sees the connection end
    const later = await writer.write('more').catch((caught: unknown) => caught);
    expect(later).toBeInstanceOf(ConnectionClosedError);
    expect((later as Error).cause).toBe(error);
  });

  it('with timeout, fails end() and drain() that the peer does not let finish', async () => {
    const { local } = await socketPair();
    const writer = new StreamWriter(local);
    await fillUntilBlocked(writer);
    writer.timeout = 0.2; // read when a wait starts: the blocked write above still waits forever
    await expect(writer.end()).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    const other = await socketPair();
    const drainer = new StreamWriter(other.local, { timeout: 0.2 });
    const { blocked } = await fillUntilBlocked(drainer);
    blocked.catch(() => {});
    await expect(drainer.drain()).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    expect(other.local.destroyed).toBe(true);
  });

  it('with timeout, lets a slow but reading peer take everything (the timer stops on drain)', async () => {
    const { local, peer } = await socketPair();
    const writer = new StreamWriter(local, { timeout: 5 });
    const { blocked, written } = await fillUntilBlocked(writer);
    const all = receiveAll(peer);
    await blocked;
    await writer.end();
    expect((await all).length).toBe(written);
    expect(() => new StreamWriter(local, { timeout: -1 })).toThrow(/timeout/);
  });
});
