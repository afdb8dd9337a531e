/**
 * Addresses in strings: `${this.clientAddress}` and `${server.serverAddress}` print what
 * `formatAddress()` prints (tcp://, udp://, unix://), for every kind of server, on real sockets.
 */
import { describe, expect, it } from 'vitest';
import {
  DatagramRequestHandler,
  formatAddress,
  StreamRequestHandler,
  TCPAddress,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixStreamServer,
  UDPAddress,
  UnixSocketAddress,
} from '../src/index.js';
import { connect, readAll, serving, tempDir, udpRoundTrip } from './helpers.js';

class SayAddress extends StreamRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(`${this.clientAddress}`);
  }
}

class SayDatagramAddress extends DatagramRequestHandler {
  override handle(): void {
    this.wfile.write(`${this.clientAddress}`);
  }
}

describe('addresses in strings', () => {
  it('TCP: the client address (read lazily or at accept) and the server address', async () => {
    for (const eager of [false, true]) {
      await using server = await serving(new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, SayAddress));
      if (eager) server.on('request-end', () => {});
      const socket = await connect(server.serverAddress);
      const said = (await readAll(socket)).toString();
      expect(said).toBe(`tcp://127.0.0.1:${socket.localPort}`);
      expect(`${server.serverAddress}`).toBe(`tcp://127.0.0.1:${server.serverAddress.port}`);
    }
  });

  it('UDP: the client address and the server address', async () => {
    await using server = await serving(
      new ThreadingUDPServer({ host: '127.0.0.1', port: 0 }, SayDatagramAddress),
    );
    const reply = (await udpRoundTrip(server.serverAddress, Buffer.from('hi'))).toString();
    expect(reply).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    expect(`${server.serverAddress}`).toBe(formatAddress(server.serverAddress, 'udp'));
  });

  it('Unix stream: an unnamed client and the server path', async () => {
    using dir = tempDir();
    await using server = await serving(new ThreadingUnixStreamServer(dir.file('s.sock'), SayAddress));
    const said = (await readAll(await connect(server.serverAddress))).toString();
    expect(said).toBe('unix://(unnamed)');
    expect(String(server.serverAddress)).toBe(`unix://${dir.file('s.sock')}`);
  });

  it('the address classes print as formatAddress() and compare as plain data', () => {
    expect(String(new TCPAddress('::1', 80))).toBe('tcp://[::1]:80');
    expect(String(new UDPAddress('10.0.0.1', 53))).toBe('udp://10.0.0.1:53');
    expect(String(new UnixSocketAddress('/run/a.sock'))).toBe('unix:///run/a.sock');
    expect(new TCPAddress('::1', 80)).toEqual({ host: '::1', port: 80, family: 'IPv6' });
    expect(JSON.stringify(new UDPAddress('10.0.0.1', 53))).toBe(
      '{"host":"10.0.0.1","port":53,"family":"IPv4"}',
    );
  });
});
