/**
 * What CPython's Lib/test/test_socketserver.py checks, re-expressed for sockserve: every server class
 * echoes `hello world\n` three times and reports its real address.
 */
import { describe, expect, it } from 'vitest';
import {
  DatagramRequestHandler,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixDatagramServer,
  ThreadingUnixStreamServer,
  UDPServer,
  UnixDatagramServer,
  UnixStreamServer,
} from '../../src/index.js';
import { serving, streamRoundTrip, tempDir, udpRoundTrip, unixDatagramRoundTrip } from '../helpers.js';

const TEST_STR = Buffer.from('hello world\n');

class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const line = await this.rfile.readline();
    await this.wfile.write(line);
  }
}

class DatagramEchoHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(await this.rfile.read());
  }
}

describe.each([
  ['TCPServer', TCPServer],
  ['ThreadingTCPServer', ThreadingTCPServer],
])('%s', (_name, Server) => {
  it('echoes three times and reports its real port', async () => {
    await using server = await serving(new Server({ host: '127.0.0.1', port: 0 }, LineEchoHandler));
    expect(server.serverAddress.port).toBeGreaterThan(0);
    expect(server.serverAddress).toMatchObject({ host: '127.0.0.1', family: 'IPv4' });
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('works on IPv6 loopback (::1) and on every interface (::)', async () => {
    await using v6 = await serving(new Server({ host: '::1', port: 0 }, LineEchoHandler));
    expect(v6.serverAddress).toMatchObject({ host: '::1', family: 'IPv6' });
    expect(await streamRoundTrip(v6.serverAddress, TEST_STR)).toEqual(TEST_STR);
    await using any = await serving(new Server({ host: '::', port: 0 }, LineEchoHandler));
    const { port } = any.serverAddress;
    expect(await streamRoundTrip({ host: '::1', port, family: 'IPv6' }, TEST_STR)).toEqual(TEST_STR);
    expect(await streamRoundTrip({ host: '127.0.0.1', port, family: 'IPv4' }, TEST_STR)).toEqual(TEST_STR);
  });
});

describe.each([
  ['UnixStreamServer', UnixStreamServer],
  ['ThreadingUnixStreamServer', ThreadingUnixStreamServer],
])('%s', (_name, Server) => {
  it('echoes three times and reports its path', async () => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using server = await serving(new Server(path, LineEchoHandler));
    expect(server.serverAddress).toEqual({ path });
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });
});

describe.each([
  ['UDPServer', UDPServer],
  ['ThreadingUDPServer', ThreadingUDPServer],
])('%s', (_name, Server) => {
  it('echoes three times and reports its real port', async () => {
    await using server = await serving(new Server({ host: '127.0.0.1', port: 0 }, DatagramEchoHandler));
    expect(server.serverAddress.port).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('works on IPv6 loopback', async () => {
    await using server = await serving(new Server({ host: '::1', port: 0 }, DatagramEchoHandler));
    expect(server.serverAddress.family).toBe('IPv6');
    expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });
});

describe.each([
  ['UnixDatagramServer', UnixDatagramServer],
  ['ThreadingUnixDatagramServer', ThreadingUnixDatagramServer],
])('%s', (_name, Server) => {
  it('echoes three times to the sender path', async () => {
    using dir = tempDir();
    const path = dir.file('echo.sock');
    await using server = await serving(new Server(path, DatagramEchoHandler));
    expect(server.serverAddress).toEqual({ path });
    for (let i = 0; i < 3; i++) {
      expect(await unixDatagramRoundTrip(path, dir.file(`client-${i}.sock`), TEST_STR)).toEqual(TEST_STR);
    }
  });
});
