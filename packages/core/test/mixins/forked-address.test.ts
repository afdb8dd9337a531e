/**
 * `${this.clientAddress}` in a forked child prints the address, as in one process: the address comes
 * to the child as plain data (structured clone) and is made printable again. The children load the
 * package from dist, so this file does too.
 */
import { fileURLToPath } from 'node:url';
import { BaseRequestHandler, ForkingTCPServer, ForkingUDPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { connect, readAll, serving, udpRoundTrip } from '../helpers.js';

describe('addresses in strings, in a forked child', () => {
  it('in a forked child too (the address arrives as plain data and is made printable again)', async () => {
    const module = fileURLToPath(new URL('../fixtures/address-handlers.mjs', import.meta.url));
    class Unused extends BaseRequestHandler<any, any> {}
    {
      await using tcp = await serving(
        new ForkingTCPServer({ host: '127.0.0.1', port: 0 }, Unused, {
          workers: 1,
          handlerModule: { module, exportName: 'SayAddress' },
        }),
      );
      const socket = await connect(tcp.serverAddress);
      expect((await readAll(socket)).toString()).toBe(`tcp://127.0.0.1:${socket.localPort}`);
    }
    await using udp = await serving(
      new ForkingUDPServer({ host: '127.0.0.1', port: 0 }, Unused, {
        workers: 1,
        handlerModule: { module, exportName: 'SayDatagramAddress' },
      }),
    );
    const reply = (await udpRoundTrip(udp.serverAddress, Buffer.from('hi'))).toString();
    expect(reply).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
  });
});
