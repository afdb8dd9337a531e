/**
 * `unsentBytes()`: what a socket has not handed to the kernel, measured on a real connection whose
 * peer does not read, then reads everything.
 */
import net from 'node:net';
import { expect, it } from 'vitest';
import { unsentBytes } from '../src/line-outbox.js';
import { until, withDeadline } from './helpers.js';

it('counts only the bytes the kernel has not accepted, not the whole of a partly accepted write', async () => {
  const accepted = new Promise<net.Socket>((resolve) => {
    const listener = net.createServer((socket) => {
      listener.close();
      resolve(socket);
    });
    listener.listen(0, '127.0.0.1', () => {
      const port = (listener.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1');
      client.pause(); // reads nothing until told
      peer = client;
    });
  });
  let peer: net.Socket | undefined;
  const socket = await withDeadline(accepted, 'a connection');
  try {
    expect(unsentBytes(socket)).toBe(0);
    const size = 32 * 1024 * 1024;
    socket.write(Buffer.alloc(size, 0x61));
    socket.write(Buffer.alloc(1000, 0x62));
    // The kernel took part of the first write at once; the rest and the second write are unsent.
    const unsent = unsentBytes(socket);
    expect(socket.writableLength).toBe(size + 1000);
    expect(unsent).toBeGreaterThan(1000);
    expect(unsent).toBeLessThan(size + 1000);
    // Once the peer reads everything, nothing is unsent.
    let received = 0;
    peer!.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    peer!.resume();
    await until(() => received === size + 1000, 'the peer reading everything', 30_000);
    expect(unsentBytes(socket)).toBe(0);
  } finally {
    socket.destroy();
    peer?.destroy();
  }
});
