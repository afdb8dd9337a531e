/**
 * In-place reads on real sockets: every byte arrives once and in order, also while the bytes of
 * earlier reads are still queued to be written (they must never be overwritten by a later read).
 */
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readInPlace, receiveChunks, releaseInPlace } from '../../src/io/in-place-reads.js';
import { readAll, until, withDeadline } from '../helpers.js';
import { closeSocketPairs, socketPair } from './socket-pair.js';

afterEach(closeSocketPairs);

/** `bytes` bytes of a pattern that does not repeat at any power-of-two buffer size. */
function pattern(bytes: number): Buffer {
  const data = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >> 13)) % 251;
  return data;
}

/** Echoes every chunk straight back, stopping reads while the write buffer is full. */
function echo(socket: net.Socket): void {
  socket.on('drain', () => socket.resume());
  socket.on('end', () => socket.end());
  receiveChunks(socket, (chunk) => socket.write(chunk));
}

describe('readInPlace', () => {
  it('echoes 16 MiB exactly while a slow reader keeps earlier chunks queued to be written', async () => {
    const { local, peer } = await socketPair();
    // Chunks smaller than the socket's 16 KiB write high-water mark: write() accepts them while earlier
    // ones are still queued, so reading goes on while queued bytes point into read buffers.
    expect(readInPlace(local, 4096)).toBe(true);
    echo(local);
    const data = pattern(16 * 1024 * 1024);
    // The peer does not read at first: the echo's writes back up and hold views of read buffers.
    peer.pause();
    const echoed = readAll(peer);
    peer.end(data);
    await new Promise((resolve) => setTimeout(resolve, 100));
    peer.resume();
    const back = await withDeadline(echoed, 'the 16 MiB echo');
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it('keeps what arrives before there is a receiver, and gives it first', async () => {
    const { local, peer } = await socketPair();
    expect(readInPlace(local, 1024)).toBe(true);
    peer.write('early ');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const chunks: string[] = [];
    const ended = new Promise((resolve) => local.once('end', resolve));
    receiveChunks(local, (chunk) => void chunks.push(String(chunk)));
    peer.end('late');
    await withDeadline(ended, 'the end of the stream');
    expect(chunks.join('')).toBe('early late');
    expect(chunks[0]).toBe('early ');
  });

  it('stops reading when the receiver returns false, until resume()', async () => {
    const { local, peer } = await socketPair();
    expect(readInPlace(local, 1024)).toBe(true);
    const chunks: string[] = [];
    receiveChunks(local, (chunk) => chunks.push(String(chunk)) > 1); // false for the first only
    peer.write('one');
    await until(() => chunks.length > 0);
    peer.write('two');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(chunks).toEqual(['one']);
    const ended = new Promise((resolve) => local.once('end', resolve));
    peer.end();
    local.resume();
    await withDeadline(ended, 'the end of the stream');
    expect(chunks.join('')).toBe('onetwo');
  });

  it('lets go of the receiver on releaseInPlace(): a later chunk is dropped and reading stops', async () => {
    const { local, peer } = await socketPair();
    expect(readInPlace(local, 1024)).toBe(true);
    const chunks: string[] = [];
    receiveChunks(local, (chunk) => void chunks.push(String(chunk)));
    peer.write('before');
    await until(() => chunks.length > 0);
    releaseInPlace(local);
    peer.write('after');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(chunks).toEqual(['before']);
  });

  it('leaves a socket that has already read as it is; receiveChunks then gives its data events', async () => {
    const { local, peer } = await socketPair();
    peer.write('already here');
    await new Promise((resolve) => local.once('readable', resolve));
    expect(local.readableLength).toBeGreaterThan(0);
    expect(readInPlace(local, 1024)).toBe(false);
    const chunks: Buffer[] = [];
    const ended = new Promise((resolve) => local.once('end', resolve));
    receiveChunks(local, (chunk) => void chunks.push(chunk));
    peer.end(' and more');
    await withDeadline(ended, 'the end of the stream');
    expect(String(Buffer.concat(chunks))).toBe('already here and more');
  });
});
