/** The server pipeline and lifecycle, as CPython's test_socketserver checks them, plus sockserve's options. */
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BaseRequestHandler,
  type DatagramRequest,
  ErrorCodes,
  type InetAddress,
  SockserveError,
  StreamRequestHandler,
  supportsReusePort,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  UDPServer,
} from '../../src/index.js';
import {
  collectGarbage,
  connect,
  deferred,
  once,
  readAll,
  serving,
  streamRoundTrip,
  until,
} from '../helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Sends one datagram to 127.0.0.1:port (no reply expected). */
async function sendDatagram(port: number, text: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    socket.send(text, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  socket.close();
}

class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const line = await this.rfile.readline();
    await this.wfile.write(line);
  }
}

describe('lifecycle', () => {
  it('starts and shuts down 20 servers at once', async () => {
    const servers = Array.from({ length: 20 }, () => new ThreadingTCPServer(LOOPBACK, LineEchoHandler));
    const loops = servers.map((server) => server.serveForever());
    await Promise.all(servers.map((server) => server.listen()));
    const ports = new Set(servers.map((server) => server.serverAddress.port));
    expect(ports.size).toBe(20);
    const replies = await Promise.all(
      servers.map((s) => streamRoundTrip(s.serverAddress, Buffer.from('x\n'))),
    );
    expect(replies.map(String)).toEqual(Array(20).fill('x\n'));
    await Promise.all(servers.map((server) => server.shutdown()));
    await Promise.all(loops);
    await Promise.all(servers.map((server) => server.serverClose()));
    expect(servers.every((server) => server.state === 'closed')).toBe(true);
  });

  it('lets a handler call shutdown() (sync and threading), and serveForever() resolves', async () => {
    for (const Server of [TCPServer, ThreadingTCPServer]) {
      class ShutdownHandler extends StreamRequestHandler<TCPServer> {
        override async handle(): Promise<void> {
          if (this.server instanceof ThreadingTCPServer) {
            await this.server.shutdown(); // resolves once the loop stopped; it does not wait for handlers
            await this.server.shutdown(); // twice is fine
          } else {
            // Not awaited: shutdown() resolves once the loop stopped, and a sync loop waits for this handler.
            void this.server.shutdown();
            void this.server.shutdown();
          }
          await this.wfile.write('bye\n');
        }
      }
      const server = new Server(LOOPBACK, ShutdownHandler);
      await server.listen();
      const loop = server.serveForever();
      const client = await connect(server.serverAddress);
      expect(String(await readAll(client))).toBe('bye\n');
      await loop;
      expect(server.state).toBe('listening');
      await server.serverClose();
      expect(server.state).toBe('closed');
    }
  });

  it('serveForever({ signal }) stops on abort, and at once for an already aborted signal', async () => {
    const server = new ThreadingTCPServer(LOOPBACK, LineEchoHandler);
    const controller = new AbortController();
    const loop = server.serveForever({ signal: controller.signal });
    await server.listen();
    expect(await streamRoundTrip(server.serverAddress, Buffer.from('a\n'))).toEqual(Buffer.from('a\n'));
    controller.abort();
    await loop;
    await server.serveForever({ signal: AbortSignal.abort() });
    await server.serverClose();
  });

  it('a shutdown() before serveForever() makes it return at once, once (as in socketserver)', async () => {
    await using server = await new ThreadingTCPServer(LOOPBACK, LineEchoHandler).listen();
    await server.shutdown();
    await server.serveForever();
    const loop = server.serveForever();
    expect(await streamRoundTrip(server.serverAddress, Buffer.from('served\n'))).toEqual(
      Buffer.from('served\n'),
    );
    await server.shutdown();
    await loop;
  });

  it('rejects misuse with clear errors', async () => {
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, LineEchoHandler));
    await expect(server.serveForever()).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
    await expect(server.handleRequest()).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
    expect(() => new TCPServer({ port: 70000 }, LineEchoHandler)).toThrow(RangeError);
    expect(() => new TCPServer(LOOPBACK, LineEchoHandler, { timeout: -1 })).toThrow(/timeout/);
    expect(() => new TCPServer(LOOPBACK, LineEchoHandler, { maxConnections: 0 })).toThrow(/maxConnections/);
    const closed = new TCPServer(LOOPBACK, LineEchoHandler);
    await closed.serverClose();
    await expect(closed.listen()).rejects.toMatchObject({ code: ErrorCodes.SERVER_CLOSED });
  });

  it('handleRequest() handles one request, or calls handleTimeout() after `timeout` seconds', async () => {
    let timeouts = 0;
    class TimeoutServer extends TCPServer {
      protected override handleTimeout(): void {
        timeouts += 1;
      }
    }
    await using server = new TimeoutServer(LOOPBACK, LineEchoHandler, { timeout: 0.05 });
    await server.handleRequest();
    expect(timeouts).toBe(1);
    await server.listen();
    const reply = streamRoundTrip(server.serverAddress, Buffer.from('one\n'));
    await server.handleRequest();
    expect(String(await reply)).toBe('one\n');
    expect(timeouts).toBe(1);
  });

  it('Symbol.asyncDispose closes the listening socket; nothing happens for a server that never listened', async () => {
    let port = 0;
    {
      await using server = new TCPServer(LOOPBACK, LineEchoHandler);
      await server.listen();
      port = server.serverAddress.port;
    }
    await expect(connect({ host: '127.0.0.1', port, family: 'IPv4' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    {
      await using never = new UDPServer(LOOPBACK, BaseRequestHandler);
      expect(never.state).toBe('idle');
    }
  });

  it('leaks no file descriptor over 1000 failed binds', async () => {
    await using holder = await new TCPServer(LOOPBACK, LineEchoHandler).listen();
    const address = { host: '127.0.0.1', port: holder.serverAddress.port };
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 1000; i++) {
      const server = new TCPServer(address, LineEchoHandler);
      await expect(server.listen()).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
      await server.serverClose();
    }
    expect(fds()).toBeLessThanOrEqual(before);
  });

  it('reports errors of the listening socket as socket-error and keeps serving', async () => {
    await using tcp = await serving(new ThreadingTCPServer(LOOPBACK, LineEchoHandler));
    const reported = once<Error>(tcp, 'socket-error');
    tcp.socket!.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect((await reported).message).toBe('accept EMFILE');
    expect(String(await streamRoundTrip(tcp.serverAddress, Buffer.from('on\n')))).toBe('on\n');
    await using udp = await serving(new UDPServer(LOOPBACK, BaseRequestHandler));
    const udpReported = once<Error>(udp, 'socket-error');
    udp.socket!.emit('error', new Error('recvmsg failed'));
    expect((await udpReported).message).toBe('recvmsg failed');
  });

  it('names the address when it is in use', async () => {
    await using holder = await new TCPServer(LOOPBACK, LineEchoHandler).listen();
    const second = new TCPServer({ host: '127.0.0.1', port: holder.serverAddress.port }, LineEchoHandler);
    const error = await second.listen().catch((e: unknown) => e);
    expect(SockserveError.isInstance(error)).toBe(true);
    expect(String((error as Error).message)).toContain(`tcp://127.0.0.1:${holder.serverAddress.port}`);
  });

  it('allowReusePort works where Node supports it, and otherwise names the Node version', async () => {
    const first = new TCPServer(LOOPBACK, LineEchoHandler, { allowReusePort: true });
    if (supportsReusePort) {
      await first.listen();
      const second = new TCPServer({ host: '127.0.0.1', port: first.serverAddress.port }, LineEchoHandler, {
        allowReusePort: true,
      });
      await second.listen();
      await second.serverClose();
    } else {
      await expect(first.listen()).rejects.toThrow(`this is Node.js ${process.version}`);
      await expect(first.listen()).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
    }
    await first.serverClose();
  });
});

describe('the request pipeline', () => {
  for (const Server of [TCPServer, ThreadingTCPServer]) {
    it(`${Server.name}: a handler error reaches handleError and the server keeps serving`, async () => {
      class FailingHandler extends StreamRequestHandler {
        override async handle(): Promise<void> {
          const line = String(await this.rfile.readline());
          if (line.startsWith('fail')) throw new Error('handler failed on purpose');
          await this.wfile.write(line);
        }
      }
      const errors: unknown[] = [];
      class RecordingServer extends Server {
        protected override handleError(_request: net.Socket, _client: unknown, error: unknown): void {
          errors.push(error);
        }
      }
      await using server = await serving(new RecordingServer(LOOPBACK, FailingHandler));
      expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('fail\n')))).toBe('');
      expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('ok\n')))).toBe('ok\n');
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).message).toBe('handler failed on purpose');
    });
  }

  it('emits request-error (and prints nothing) when a listener is attached; finish() always runs', async () => {
    let finished = 0;
    class ThrowingSetup extends StreamRequestHandler {
      override setup(): void {
        throw new Error('setup failed');
      }
      override finish(): void {
        finished += 1;
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, ThrowingSetup));
    const reported = once<Error>(server, 'request-error');
    await streamRoundTrip(server.serverAddress, Buffer.from('x\n'));
    expect((await reported).message).toBe('setup failed');
    expect(finished).toBe(1);
  });

  it('closes the request without a handler when verifyRequest() returns false', async () => {
    let handled = 0;
    class CountingHandler extends LineEchoHandler {
      override async handle(): Promise<void> {
        handled += 1;
        await super.handle();
      }
    }
    class RejectingServer extends ThreadingTCPServer {
      protected override verifyRequest(): Promise<boolean> {
        return Promise.resolve(false);
      }
    }
    await using server = await serving(new RejectingServer(LOOPBACK, CountingHandler));
    const refused = once(server, 'request-refused');
    const client = await connect(server.serverAddress);
    client.write('hello\n');
    expect(String(await readAll(client))).toBe('');
    expect(await refused).toBe('not-verified');
    expect(handled).toBe(0);
  });

  it('does not retain finished handlers', async () => {
    const alive = new Set<WeakRef<object>>();
    class TrackedHandler extends LineEchoHandler {
      override setup(): void {
        alive.add(new WeakRef(this));
        super.setup();
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, TrackedHandler));
    for (let i = 0; i < 100; i++) await streamRoundTrip(server.serverAddress, Buffer.from('x\n'));
    await until(() => server.activeRequestCount === 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    collectGarbage();
    const retained = [...alive].filter((ref) => ref.deref() !== undefined).length;
    expect(alive.size).toBe(100);
    expect(retained).toBeLessThanOrEqual(1);
  });

  describe('hooks that return nothing or a promise, in any mix, keep try/finally order', () => {
    type Step = 'ok' | 'throw' | 'resolve' | 'reject';
    const run = (step: Step, name: string): void | Promise<void> => {
      if (step === 'throw') throw new Error(`${name} threw`);
      if (step === 'resolve') return Promise.resolve();
      if (step === 'reject') return Promise.reject(new Error(`${name} rejected`));
    };
    const cases: Array<[setup: Step, handle: Step, finish: Step, calls: string, error: string | undefined]> =
      [
        ['ok', 'ok', 'ok', 'setup handle finish', undefined],
        ['resolve', 'ok', 'resolve', 'setup handle finish', undefined],
        ['ok', 'resolve', 'ok', 'setup handle finish', undefined],
        ['throw', 'ok', 'ok', 'setup finish', 'setup threw'],
        ['reject', 'ok', 'resolve', 'setup finish', 'setup rejected'],
        ['ok', 'throw', 'ok', 'setup handle finish', 'handle threw'],
        ['resolve', 'reject', 'ok', 'setup handle finish', 'handle rejected'],
        ['ok', 'throw', 'throw', 'setup handle finish', 'finish threw'],
        ['ok', 'reject', 'reject', 'setup handle finish', 'finish rejected'],
        ['ok', 'ok', 'throw', 'setup handle finish', 'finish threw'],
      ];
    for (const Server of [UDPServer, ThreadingUDPServer]) {
      it.each(cases)(
        `${Server.name}: setup %s, handle %s, finish %s`,
        async (setup, handle, finish, calls, error) => {
          const log: string[] = [];
          class Scripted extends BaseRequestHandler {
            override setup(): void | Promise<void> {
              log.push('setup');
              return run(setup, 'setup');
            }
            override handle(): void | Promise<void> {
              log.push('handle');
              return run(handle, 'handle');
            }
            override finish(): void | Promise<void> {
              log.push('finish');
              return run(finish, 'finish');
            }
          }
          await using server = await serving(new Server(LOOPBACK, Scripted));
          const errors: string[] = [];
          server.on('request-error', (e) => errors.push((e as Error).message));
          const ended = once(server, 'request-end');
          await sendDatagram(server.serverAddress.port, 'x');
          await ended;
          log.push('end');
          expect(log.join(' ')).toBe(`${calls} end`);
          expect(errors).toEqual(error === undefined ? [] : [error]);
          expect(server.activeRequestCount).toBe(0);
        },
      );
    }
  });

  it('runs synchronous handlers inside the event that delivered the request, before the next turn', async () => {
    const seen: string[] = [];
    class SyncHandler extends BaseRequestHandler<DatagramRequest<InetAddress>> {
      override handle(): void {
        seen.push(String(this.request.packet));
      }
    }
    class Injecting extends ThreadingUDPServer {
      inject(text: string): void {
        this.receive(Buffer.from(text), { host: '127.0.0.1', port: 9, family: 'IPv4' });
      }
    }
    await using server = await serving(new Injecting(LOOPBACK, SyncHandler));
    await until(() => server.state === 'serving');
    server.inject('a');
    server.inject('b');
    expect(seen).toEqual(['a', 'b']);
    expect(server.activeRequestCount).toBe(0);
  });

  it('maxThreads: 20 000 waiting requests that complete at once run without deep recursion', async () => {
    const gate = deferred();
    let handled = 0;
    class GatedHandler extends BaseRequestHandler {
      override handle(): void | Promise<void> {
        handled += 1;
        if (handled === 1) return gate.promise;
      }
    }
    // The socket is bypassed: no UDP receive buffer holds 20 000 datagrams at once.
    class Injecting extends ThreadingUDPServer {
      inject(): void {
        this.receive(Buffer.from('x'), { host: '127.0.0.1', port: 9, family: 'IPv4' });
      }
    }
    await using server = await serving(new Injecting(LOOPBACK, GatedHandler, { maxThreads: 1 }));
    await until(() => server.state === 'serving');
    for (let i = 0; i < 20_001; i++) server.inject();
    expect(server.waitingRequestCount).toBe(20_000);
    gate.resolve();
    await until(() => handled === 20_001);
    expect(server.waitingRequestCount).toBe(0);
    await until(() => server.activeRequestCount === 0);
  });

  it("runs a sync server's requests one at a time, in arrival order", async () => {
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    class SlowHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        const line = String(await this.rfile.readline());
        await new Promise((resolve) => setTimeout(resolve, 10));
        order.push(line.trim());
        running -= 1;
        await this.wfile.write(line);
      }
    }
    await using server = await serving(new TCPServer(LOOPBACK, SlowHandler));
    const clients = [];
    for (let i = 0; i < 5; i++) {
      const client = await connect(server.serverAddress);
      client.write(`${i}\n`);
      clients.push(readAll(client));
      await until(() => server.activeRequestCount > 0 || i > 0);
    }
    await Promise.all(clients);
    expect(maxRunning).toBe(1);
    expect(order).toEqual(['0', '1', '2', '3', '4']);
  });
});

describe('limits', () => {
  it('maxConnections refuses extra connections and reports them', async () => {
    const release = deferred();
    class HoldingHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await this.wfile.write('held\n');
        await release.promise;
      }
    }
    await using server = await serving(
      new ThreadingTCPServer(LOOPBACK, HoldingHandler, { maxConnections: 2 }),
    );
    const refused: string[] = [];
    server.on('request-refused', (reason) => refused.push(reason));
    const held = [await connect(server.serverAddress), await connect(server.serverAddress)];
    await Promise.all(held.map((socket) => once(socket, 'data')));
    const extra = await connect(server.serverAddress);
    expect(String(await readAll(extra))).toBe('');
    await until(() => refused.length === 1);
    expect(refused).toEqual(['max-connections']);
    release.resolve();
    for (const socket of held) socket.destroy();
  });

  it('maxThreads caps concurrent handlers; waiting requests run in arrival order, none dropped', async () => {
    const started: number[] = [];
    let running = 0;
    let maxRunning = 0;
    class NumberedHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        const n = Number(String(await this.rfile.readline()));
        started.push(n);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        await this.wfile.write(`${n}\n`);
      }
    }
    await using server = await serving(new ThreadingTCPServer(LOOPBACK, NumberedHandler, { maxThreads: 3 }));
    const replies: Promise<Buffer>[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await connect(server.serverAddress);
      client.write(`${i}\n`);
      replies.push(readAll(client));
      // Each connection must be queued before the next arrives, so arrival order is defined.
      await until(() => server.activeRequestCount === Math.min(i + 1, 20) || started.length > 0);
    }
    const texts = (await Promise.all(replies)).map(String);
    expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(maxRunning).toBe(3);
    expect(started.slice(3)).toEqual([...started.slice(3)].sort((a, b) => a - b));
  });

  it('shutdown({ deadline }) waits for running requests, then closes what remains', async () => {
    class QuickHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await this.wfile.write('quick\n');
      }
    }
    const quick = await serving(new ThreadingTCPServer(LOOPBACK, QuickHandler));
    const quickClient = await connect(quick.serverAddress);
    await until(() => quick.activeRequestCount === 1);
    await quick.shutdown({ deadline: 5 });
    expect(quick.activeRequestCount).toBe(0);
    expect(String(await readAll(quickClient))).toBe('quick\n');
    await quick[Symbol.asyncDispose]();

    class StuckHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await this.rfile.read(); // until EOF, which the client never sends
      }
    }
    const stuck = await serving(new ThreadingTCPServer(LOOPBACK, StuckHandler));
    const stuckClient = await connect(stuck.serverAddress);
    const closed = once(stuckClient, 'close');
    stuckClient.on('error', () => {});
    await until(() => stuck.activeRequestCount === 1);
    await stuck.shutdown({ deadline: 0.05 });
    await closed;
    await until(() => stuck.activeRequestCount === 0);
    await stuck[Symbol.asyncDispose]();
  });

  it('serverClose() waits for running handlers (blockOnClose) and not with daemonThreads', async () => {
    for (const daemonThreads of [false, true]) {
      const release = deferred();
      let finished = false;
      class WaitingHandler extends StreamRequestHandler {
        override async handle(): Promise<void> {
          await release.promise;
          finished = true;
        }
      }
      const server = await serving(new ThreadingTCPServer(LOOPBACK, WaitingHandler, { daemonThreads }));
      const client = await connect(server.serverAddress);
      await until(() => server.activeRequestCount === 1);
      await server.shutdown();
      const closing = server.serverClose();
      setTimeout(() => release.resolve(), 30);
      await closing;
      expect(finished).toBe(!daemonThreads);
      await release.promise;
      client.destroy();
    }
  });
});
