/**
 * DatagramRequestHandler through a real UDPServer: the reply `finish()` sends, as CPython's
 * `DatagramRequestHandler.finish()` does (`socket.sendto(wfile.getvalue(), client_address)`).
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { DatagramRequestHandler, UDPServer } from '../../src/index.js';
import { serving, udpRoundTrip, withDeadline } from '../helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

describe('DatagramRequestHandler replies', () => {
  it('sends an empty datagram when handle() wrote nothing, as CPython does', async () => {
    class Silent extends DatagramRequestHandler {}
    await using server = await serving(new UDPServer(LOOPBACK, Silent));
    const reply = await udpRoundTrip(server.serverAddress, Buffer.from('anyone there?'));
    expect(reply).toHaveLength(0);
  });

  it('sends nothing at all after wfile.discard(), and what was written otherwise, in order', async () => {
    class Selective extends DatagramRequestHandler {
      override async handle(): Promise<void> {
        const text = String(this.packet);
        await this.wfile.write(text.toUpperCase());
        if (text.startsWith('quiet')) this.wfile.discard();
      }
    }
    await using server = await serving(new UDPServer(LOOPBACK, Selective));
    const client = dgram.createSocket('udp4');
    try {
      const replies: string[] = [];
      const two = new Promise<void>((resolve) => {
        client.on('message', (message) => {
          replies.push(String(message));
          if (replies.length === 2) resolve();
        });
      });
      const { host, port } = server.serverAddress;
      // One at a time in a sync UDPServer: had "quiet" been answered, its reply would come first.
      for (const text of ['quiet please', 'loud', 'quiet again', 'louder']) {
        await new Promise<void>((resolve, reject) =>
          client.send(text, port, host, (error) => (error ? reject(error) : resolve())),
        );
      }
      await withDeadline(two, 'two replies');
      expect(replies).toEqual(['LOUD', 'LOUDER']);
    } finally {
      client.close();
    }
  });

  it('lets a write() after discard() start a new reply', async () => {
    class Rewrite extends DatagramRequestHandler {
      override async handle(): Promise<void> {
        await this.wfile.write('draft');
        this.wfile.discard();
        expect(this.wfile.discarded).toBe(true);
        await this.wfile.write('final');
      }
    }
    await using server = await serving(new UDPServer(LOOPBACK, Rewrite));
    expect(String(await udpRoundTrip(server.serverAddress, Buffer.from('x')))).toBe('final');
  });
});
