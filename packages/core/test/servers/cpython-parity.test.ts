/**
 * Ports of the tests of CPython 3.11's Lib/test/test_socketserver.py that had no sockserve
 * counterpart, each written as close to the original as Node.js allows (the test's name is CPython's).
 * The map of every CPython test to the sockserve test that covers it is CPYTHON-TESTS.md, next to
 * these tests.
 */
import { readdirSync } from 'node:fs';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BaseRequestHandler,
  StreamRequestHandler,
  StreamWriter,
  TCPServer,
  ThreadingMixIn,
} from '../../src/index.js';
import { connect, deferred, readBytes, until, withDeadline } from '../helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Open file descriptors of this process (Linux). */
const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

/**
 * Connects to `server` and closes the connection at once, as CPython's tests do with
 * `with socket.create_connection(server.server_address): pass`, before the server takes it.
 */
async function connectAndClose(server: TCPServer): Promise<void> {
  const client = await connect(server.serverAddress);
  client.destroy();
}

class ThreadingServer extends ThreadingMixIn(TCPServer) {}

describe('SocketServerTest', () => {
  it('test_close_immediately: a ThreadingMixIn server bound and closed at once closes cleanly', async () => {
    const server = new ThreadingServer(LOOPBACK, StreamRequestHandler);
    await server.listen(); // CPython binds in the constructor
    await server.serverClose();
    expect(server.state).toBe('closed');
    expect(server.fileno()).toBe(-1);
  });

  it('test_tcpserver_bind_leak: 1024 servers with an invalid port fail, and leak no descriptor', async () => {
    const before = openDescriptors();
    for (let i = 0; i < 1024; i++) {
      // CPython raises OverflowError from bind(); here the port is refused before any socket exists.
      expect(() => new TCPServer({ host: '127.0.0.1', port: -1 }, StreamRequestHandler)).toThrow(RangeError);
    }
    expect(openDescriptors()).toBeLessThanOrEqual(before);
  });

  it('test_context_manager: leaving `await using` closes the listening socket', async () => {
    let server: TCPServer | undefined;
    {
      await using scoped = new TCPServer(LOOPBACK, StreamRequestHandler);
      await scoped.listen();
      server = scoped;
      expect(server.fileno()).toBeGreaterThan(0);
    }
    expect(server.fileno()).toBe(-1);
    expect(server.state).toBe('closed');
  });
});

describe('ErrorHandlerTest', () => {
  const servers: Array<[string, typeof TCPServer]> = [
    ['test_sync_handled', TCPServer],
    ['test_threading_handled', ThreadingServer],
  ];
  for (const [name, Server] of servers) {
    it(`${name}: handleRequest() passes the handler's error to handleError, once`, async () => {
      const log: string[] = [];
      const done = deferred();
      class BadHandler extends BaseRequestHandler {
        override handle(): void {
          log.push('Handler called');
          throw new Error('Test error');
        }
      }
      class BaseErrorTestServer extends Server {
        protected override handleError(): void {
          log.push('Error handled');
        }
        protected override shutdownRequest(request: net.Socket): void {
          super.shutdownRequest(request);
          done.resolve(); // ThreadingErrorTestServer's `done` event
        }
      }
      const server = new BaseErrorTestServer(LOOPBACK, BadHandler);
      try {
        await server.listen();
        await connectAndClose(server);
        await server.handleRequest();
      } finally {
        await server.serverClose();
      }
      await withDeadline(done.promise, 'shutdownRequest');
      expect(log).toEqual(['Handler called', 'Error handled']);
    });
  }
});

describe('SocketWriterTest', () => {
  it('test_basics: wfile is a writer over the request itself', async () => {
    const seen: { wfile?: unknown; sameSocket?: boolean } = {};
    class Handler extends StreamRequestHandler {
      override handle(): void {
        seen.wfile = this.wfile;
        seen.sameSocket = this.connection === this.request;
      }
    }
    await using server = new TCPServer(LOOPBACK, Handler);
    await server.listen();
    await connectAndClose(server);
    await server.handleRequest();
    expect(seen.wfile).toBeInstanceOf(StreamWriter);
    expect(seen.sameSocket).toBe(true);
  });

  it('test_write: a write is sent without flush, and a big one arrives whole though signals come in', async () => {
    const SOCK_MAX_SIZE = 16 * 1024 * 1024; // test.support.SOCK_MAX_SIZE
    let received = '';
    let signals = 0;
    const onSignal = (): void => {
      signals += 1;
    };
    class Handler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await this.wfile.write('write data\n'); // no flush(): the client reads it before answering
        received = String(await this.rfile.readline());
        await this.wfile.write(Buffer.alloc(SOCK_MAX_SIZE));
      }
    }
    await using server = new TCPServer(LOOPBACK, Handler);
    await server.listen();
    process.on('SIGUSR2', onSignal);
    try {
      const client = await connect(server.serverAddress);
      const handled = server.handleRequest();
      expect(String(await readBytes(client, 'write data\n'.length))).toBe('write data\n');
      let total = 0;
      const hundred = deferred();
      const ended = deferred();
      client.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total >= 100) hundred.resolve();
      });
      client.once('end', () => ended.resolve());
      client.write('client response\n');
      await withDeadline(hundred.promise, 'the first 100 bytes');
      // CPython interrupts the blocked send() with a signal; the write must still send every byte.
      process.kill(process.pid, 'SIGUSR2');
      await until(() => signals > 0);
      await withDeadline(ended.promise, 'the end of the big write');
      await handled;
      expect(received).toBe('client response\n');
      expect(total).toBe(SOCK_MAX_SIZE);
      client.destroy();
    } finally {
      process.off('SIGUSR2', onSignal);
    }
  });
});

describe('MiscTestCase', () => {
  it('test_shutdown_request_called_if_verify_request_false: shutdownRequest runs once', async () => {
    let shutdownCalled = 0;
    class MyServer extends TCPServer {
      protected override verifyRequest(): boolean {
        return false;
      }
      protected override shutdownRequest(request: net.Socket): void {
        shutdownCalled += 1;
        super.shutdownRequest(request);
      }
    }
    await using server = new MyServer(LOOPBACK, StreamRequestHandler);
    await server.listen();
    await connectAndClose(server);
    await server.handleRequest();
    expect(shutdownCalled).toBe(1);
  });

  it('test_threads_reaped: a ThreadingMixIn server keeps no trace of finished requests', async () => {
    await using server = new ThreadingServer(LOOPBACK, StreamRequestHandler);
    await server.listen();
    for (let n = 0; n < 10; n++) {
      await connectAndClose(server);
      await server.handleRequest();
    }
    // CPython: len(server._threads) < 10. Here every finished request leaves the server's books.
    await until(() => server.activeRequestCount === 0);
    expect(server.waitingRequestCount).toBe(0);
  });
});
