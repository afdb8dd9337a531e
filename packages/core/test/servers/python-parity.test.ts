/**
 * socketserver code ported as written (issue 12, items 1–6 and 14): overridden hooks, bind/activate by
 * hand, shutdown() and the poll interval, Python's members, each checked on real sockets against what
 * CPython 3.11 does.
 */
import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import { fstatSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BaseRequestHandler,
  type DatagramRequest,
  type InetAddress,
  StreamRequestHandler,
  TCPServer,
  ThreadingMixIn,
  ThreadingTCPServer,
  UDPServer,
  UnixDatagramServer,
  UnixStreamServer,
} from '../../src/index.js';
import {
  connect,
  deferred,
  once,
  readAll,
  serving,
  streamRoundTrip,
  tempDir,
  udpRoundTrip,
  until,
  withDeadline,
} from '../helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(await this.rfile.readline());
  }
}

/** Lets the event loop run a few turns (for "nothing more happens" checks). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  await sleep(50);
}

/** Is `port` free on 127.0.0.1 (can a new listener bind it)? */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(() => resolve(true)));
  });
}

describe('1. processRequest overridden the Python way', () => {
  // CPython's mixins: process_request calls finish_request, then shutdown_request itself.
  const variants = {
    'calls finishRequest, then shutdownRequest itself': 'user',
    'calls super.processRequest, then shutdownRequest again': 'both',
    'calls super.processRequest only (the base shuts down)': 'base',
  } as const;
  for (const [title, variant] of Object.entries(variants)) {
    it(`${title}: the request ends once and serverClose() returns`, async () => {
      const calls: string[] = [];
      class PythonStyleServer extends TCPServer {
        protected override async processRequest(request: net.Socket, clientAddress: InetAddress) {
          if (variant === 'user') {
            await this.finishRequest(request, clientAddress);
            this.shutdownRequest(request);
            return;
          }
          await super.processRequest(request, clientAddress);
          if (variant === 'both') this.shutdownRequest(request);
        }
        protected override shutdownRequest(request: net.Socket): void {
          calls.push('shutdown');
          super.shutdownRequest(request);
        }
        protected override closeRequest(request: net.Socket): void {
          calls.push('close');
          super.closeRequest(request);
        }
      }
      const server = await serving(new PythonStyleServer(LOOPBACK, LineEchoHandler));
      const client = await connect(server.serverAddress);
      client.end('hello\n');
      expect(String(await readAll(client))).toBe('hello\n');
      await until(() => calls.length >= 2);
      expect(server.activeRequestCount).toBe(0);
      await withDeadline(server.shutdown(), 'shutdown()');
      await withDeadline(server.serverClose(), 'serverClose()');
      await settle();
      expect(calls).toEqual(['shutdown', 'close']);
    });
  }

  it('a ThreadingMixIn server whose processRequest runs the request in the background, as process_request_thread', async () => {
    let ended = 0;
    class BackgroundServer extends ThreadingMixIn(TCPServer) {
      protected override processRequest(request: net.Socket, clientAddress: InetAddress): void {
        void (async () => {
          try {
            await this.finishRequest(request, clientAddress);
          } finally {
            this.shutdownRequest(request);
          }
        })();
      }
      protected override shutdownRequest(request: net.Socket): void {
        ended += 1;
        super.shutdownRequest(request);
      }
    }
    const server = await serving(new BackgroundServer(LOOPBACK, LineEchoHandler));
    const replies = await Promise.all(
      ['a', 'b', 'c'].map((text) => streamRoundTrip(server.serverAddress, Buffer.from(`${text}\n`))),
    );
    expect(replies.map(String)).toEqual(['a\n', 'b\n', 'c\n']);
    await until(() => server.activeRequestCount === 0);
    await withDeadline(server[Symbol.asyncDispose](), 'closing the server');
    expect(ended).toBe(3);
  });
});

describe('2. shutdownRequest, then closeRequest, once each on every path', () => {
  type Path =
    | 'normal'
    | 'normal, client half-closed first'
    | 'handler error'
    | 'not verified'
    | 'client reset'
    | 'handler timeout';
  const paths: Path[] = [
    'normal',
    'normal, client half-closed first',
    'handler error',
    'not verified',
    'client reset',
    'handler timeout',
  ];
  for (const path of paths) {
    it(path, async () => {
      const calls: string[] = [];
      class PathHandler extends StreamRequestHandler {
        override timeout = path === 'handler timeout' ? 0.2 : undefined;
        override async handle(): Promise<void> {
          if (path === 'client reset') {
            await this.rfile.readline().catch(() => {}); // the client resets before the end of the line
            return;
          }
          if (path === 'normal, client half-closed first') {
            await this.wfile.write(await this.rfile.read()); // to EOF
            return;
          }
          const line = await this.rfile.readline();
          if (path === 'handler error') throw new Error('handler failed');
          await this.wfile.write(line);
        }
      }
      class CountingServer extends TCPServer {
        protected override verifyRequest(): boolean {
          return path !== 'not verified';
        }
        protected override shutdownRequest(request: net.Socket): void {
          calls.push('shutdown');
          super.shutdownRequest(request);
        }
        protected override closeRequest(request: net.Socket): void {
          calls.push('close');
          super.closeRequest(request);
        }
      }
      await using server = await serving(new CountingServer(LOOPBACK, PathHandler));
      server.on('request-error', () => {});
      const ended = once(server, 'request-end');
      const client = await connect(server.serverAddress);
      client.on('error', () => {});
      if (path === 'normal' || path === 'handler error' || path === 'normal, client half-closed first') {
        client.end('line\n');
        await readAll(client);
      } else if (path === 'client reset') {
        client.write('x');
        await until(() => server.activeRequestCount === 1);
        client.resetAndDestroy();
      }
      await withDeadline(ended, 'request-end');
      await until(() => calls.length >= 2);
      await settle();
      expect(calls).toEqual(['shutdown', 'close']);
      client.destroy();
    });
  }
});

describe('3. requestQueueSize is the listen backlog, not a drop limit', () => {
  it('a sync TCPServer with requestQueueSize 2 and a 300 ms handler serves 6 clients arriving 20 ms apart, in order', async () => {
    const served: string[] = [];
    class SlowHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        const line = String(await this.rfile.readline());
        served.push(line.trim());
        await sleep(300);
        await this.wfile.write(line);
      }
    }
    await using server = await serving(new TCPServer(LOOPBACK, SlowHandler, { requestQueueSize: 2 }));
    const refused: unknown[] = [];
    server.on('request-refused', (reason) => refused.push(reason));
    const replies: Promise<Buffer>[] = [];
    for (let client = 0; client < 6; client++) {
      replies.push(streamRoundTrip(server.serverAddress, Buffer.from(`${client}\n`)));
      await sleep(20);
    }
    expect((await Promise.all(replies)).map(String)).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
    expect(served).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(refused).toEqual([]);
  });
});

describe('4. bindAndActivate: false, serverBind() and serverActivate() by hand', () => {
  it('TCP: serveForever() does not bind again, and serverClose() closes what was bound', async () => {
    const server = new TCPServer(LOOPBACK, LineEchoHandler, { bindAndActivate: false });
    await expect(server.serveForever()).rejects.toThrow(/serverBind\(\)/);
    await server.serverBind();
    await server.serverBind(); // once
    await server.serverActivate();
    const { port } = server.serverAddress;
    expect(server.state).toBe('listening');
    const loop = server.serveForever();
    expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('one\n')))).toBe('one\n');
    expect(server.serverAddress.port).toBe(port);
    await server.shutdown();
    await loop;
    await server.serverClose();
    expect(await portIsFree(port)).toBe(true);
  });

  it('a server bound by hand and never served: serverClose() closes it', async () => {
    const server = new TCPServer(LOOPBACK, LineEchoHandler, { bindAndActivate: false });
    await server.serverBind();
    const { port } = server.serverAddress;
    expect(await portIsFree(port)).toBe(false);
    await server.serverClose();
    expect(await portIsFree(port)).toBe(true);
  });

  it('UDP: listen() after serverBind() binds once; options set as attributes before serverBind() apply', async () => {
    class Echo extends BaseRequestHandler<UDPServer> {
      override handle(): void {
        this.request.socket.send(this.request.packet, this.clientAddress);
      }
    }
    const server = new UDPServer(LOOPBACK, Echo, { bindAndActivate: false });
    server.recvBufferSize = 256 * 1024; // Python: setsockopt(SOL_SOCKET, SO_RCVBUF, …) in server_bind
    await server.serverBind();
    await server.listen();
    expect(server.socket!.getRecvBufferSize()).toBeGreaterThanOrEqual(256 * 1024);
    await using _serving = await serving(server);
    expect(String(await udpRoundTrip(server.serverAddress, Buffer.from('ping')))).toBe('ping');
  });

  it('a subclass sets options in the hook serverBind() reads (socketOptions, listenOptions)', async () => {
    class SmallBufferServer extends UDPServer {
      protected override socketOptions() {
        return { ...super.socketOptions(), sendBufferSize: 64 * 1024 };
      }
    }
    await using server = await new SmallBufferServer(LOOPBACK, BaseRequestHandler).listen();
    expect(server.socket!.getSendBufferSize()).toBeGreaterThanOrEqual(64 * 1024);
    class BacklogServer extends TCPServer {
      backlogSeen: number | undefined;
      protected override listenOptions() {
        const options = super.listenOptions();
        this.backlogSeen = options.backlog;
        return options;
      }
    }
    await using tcp = new BacklogServer(LOOPBACK, LineEchoHandler, { requestQueueSize: 7 });
    await tcp.serverBind();
    expect(tcp.backlogSeen).toBe(7);
  });

  it('Unix stream: serveForever() after serverBind() and serverActivate() binds once', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'hand.sock');
    const server = new UnixStreamServer(path, LineEchoHandler, { bindAndActivate: false });
    await server.serverBind();
    await server.serverActivate();
    const loop = server.serveForever();
    expect(String(await streamRoundTrip({ path }, Buffer.from('unix\n')))).toBe('unix\n');
    await server.shutdown();
    await loop;
    await server.serverClose();
  });

  it('serves an already listening descriptor ({ fd }), as under socket activation (TCP, Unix, UDP)', async () => {
    using dir = tempDir();
    const fixture = fileURLToPath(new URL('../fixtures/fd-server.mjs', import.meta.url));
    // Python binds and listens, then starts the server with the descriptor, as systemd would.
    const launcher = [
      'import socket, subprocess, sys',
      'unix = sys.argv[3] == "unix"',
      'udp = sys.argv[3] == "udp"',
      's = socket.socket(socket.AF_UNIX if unix else socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)',
      's.bind(sys.argv[4] if unix else ("127.0.0.1", 0))',
      'udp or s.listen()',
      'print("python", sys.argv[4] if unix else s.getsockname()[1], flush=True)',
      'sys.exit(subprocess.run([sys.argv[1], sys.argv[2], str(s.fileno()), sys.argv[3]], pass_fds=[s.fileno()]).returncode)',
    ].join('\n');
    for (const kind of ['tcp', 'unix', 'udp']) {
      const path = join(dir.path, 'activated.sock');
      const child = spawn('python3', ['-c', launcher, process.execPath, fixture, kind, path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await using _child = { [Symbol.asyncDispose]: async () => void child.kill() };
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      await withDeadline(
        until(() => output.includes('listening'), 10_000),
        'the server on the inherited descriptor',
      );
      const [python, listening] = output.trim().split('\n');
      const bound = python!.split(' ')[1]!;
      // Node.js cannot read the path of an inherited Unix socket: serverAddress.path is ''.
      expect(listening!.split(' ')[1]).toBe(kind === 'unix' ? '-' : bound);
      expect(listening!.split(' ')[2]).toBe(kind === 'unix' ? 'AF_UNIX' : 'AF_INET');
      const address =
        kind === 'unix'
          ? { path: bound }
          : { host: '127.0.0.1', port: Number(bound), family: 'IPv4' as const };
      const reply =
        kind === 'udp'
          ? String(await udpRoundTrip(address as InetAddress, Buffer.from('hello\n')))
          : String(await streamRoundTrip(address, Buffer.from('hello\n')));
      expect(reply).toMatch(/^hello from fd \d+\n$/);
      const exit = await withDeadline(once<number>(child, 'exit'), 'the server process to exit');
      expect(exit).toBe(0);
    }
  });
});

describe('5. shutdown(), handleRequest() and serviceActions() as in CPython', () => {
  it('shutdown() resolves only once the serve loop has stopped (after the running request)', async () => {
    const release = deferred();
    class HeldHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await release.promise;
        await this.wfile.write('done\n');
      }
    }
    const server = new TCPServer(LOOPBACK, HeldHandler);
    await server.listen();
    let loopEnded = false;
    const loop = server.serveForever().then(() => (loopEnded = true));
    const started = once(server, 'request-start');
    const client = await connect(server.serverAddress);
    await started;
    let shutdownDone = false;
    const stopping = server.shutdown().then(() => (shutdownDone = true));
    await settle();
    expect(shutdownDone).toBe(false);
    release.resolve();
    await stopping;
    expect(loopEnded).toBe(true);
    expect(String(await readAll(client))).toBe('done\n');
    await loop;
    await server.serverClose();
  });

  it('shutdown({ deadline }) resolves by the deadline even when a sync handler ignores its closed connection', async () => {
    const release = deferred();
    class DeafHandler extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await release.promise; // never looks at its connection
      }
    }
    const server = new TCPServer(LOOPBACK, DeafHandler);
    await server.listen();
    const loop = server.serveForever();
    const started = once(server, 'request-start');
    const client = await connect(server.serverAddress);
    await started;
    await withDeadline(server.shutdown({ deadline: 0.1 }), 'shutdown({ deadline })');
    expect(String(await readAll(client))).toBe(''); // its connection was closed
    release.resolve();
    await loop;
    await server.serverClose();
  });

  it('handleRequest() ended by shutdown() does not call handleTimeout() when no timeout elapsed', async () => {
    let timeouts = 0;
    class CountingServer extends TCPServer {
      protected override handleTimeout(): void {
        timeouts += 1;
      }
    }
    await using server = await new CountingServer(LOOPBACK, LineEchoHandler, { timeout: 30 }).listen();
    const waiting = server.handleRequest();
    await settle();
    await server.shutdown();
    await withDeadline(waiting, 'handleRequest() to return');
    expect(timeouts).toBe(0);
    server.timeout = 0.05;
    await server.handleRequest();
    expect(timeouts).toBe(1);
  });

  it('serviceActions() runs every pollInterval seconds while idle, not only after requests', async () => {
    let actions = 0;
    class ServicingServer extends TCPServer {
      protected override serviceActions(): void {
        actions += 1;
      }
    }
    const server = await new ServicingServer(LOOPBACK, LineEchoHandler).listen();
    const loop = server.serveForever({ pollInterval: 0.02 });
    await until(() => actions >= 3);
    await server.shutdown();
    await loop;
    await server.serverClose();
    await expect(server.serveForever({ pollInterval: 0 })).rejects.toThrow();
  });

  it('an error thrown by serviceActions() while idle ends serveForever() with it', async () => {
    class FailingServer extends TCPServer {
      protected override serviceActions(): void {
        throw new Error('service failed');
      }
    }
    await using server = await new FailingServer(LOOPBACK, LineEchoHandler).listen();
    await expect(server.serveForever({ pollInterval: 0.02 })).rejects.toThrow('service failed');
    // The loop is gone: a new one serves, and ends with the error after that request, as in CPython.
    const loop = server.serveForever({ pollInterval: 60 }).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('again\n')))).toBe('again\n');
    expect(await loop).toBe('service failed');
  });
});

describe("6. Python's fileno(), addressFamily and socketType", () => {
  it('TCP, UDP and Unix stream servers: the real descriptor once bound, -1 before and after', async () => {
    using dir = tempDir();
    const servers = [
      new TCPServer(LOOPBACK, LineEchoHandler),
      new UDPServer(LOOPBACK, BaseRequestHandler),
      new UnixStreamServer(join(dir.path, 'fileno.sock'), LineEchoHandler),
    ];
    for (const server of servers) {
      expect(server.fileno()).toBe(-1);
      await server.listen();
      const fd = server.fileno();
      expect(fd).toBeGreaterThan(2);
      expect(fstatSync(fd).isSocket()).toBe(true);
      await server.serverClose();
      expect(server.fileno()).toBe(-1);
    }
  });

  it("names the family and type as Python's constants", async () => {
    using dir = tempDir();
    expect(new TCPServer(LOOPBACK, LineEchoHandler).addressFamily).toBe('AF_INET');
    expect(new TCPServer({ host: '::1', port: 0 }, LineEchoHandler).addressFamily).toBe('AF_INET6');
    expect(new TCPServer({ host: '', port: 0 }, LineEchoHandler).addressFamily).toBe('AF_INET6');
    expect(new TCPServer(LOOPBACK, LineEchoHandler).socketType).toBe('SOCK_STREAM');
    expect(new UDPServer(LOOPBACK, BaseRequestHandler).addressFamily).toBe('AF_INET');
    expect(new UDPServer(LOOPBACK, BaseRequestHandler).socketType).toBe('SOCK_DGRAM');
    const unix = new UnixStreamServer(join(dir.path, 'a.sock'), LineEchoHandler);
    expect([unix.addressFamily, unix.socketType]).toEqual(['AF_UNIX', 'SOCK_STREAM']);
    const unixDgram = new UnixDatagramServer(join(dir.path, 'b.sock'), BaseRequestHandler);
    expect([unixDgram.addressFamily, unixDgram.socketType]).toEqual(['AF_UNIX', 'SOCK_DGRAM']);
  });
});

describe('14. this.request is typed for the server it serves', () => {
  it('BaseRequestHandler<TCPServer> has a net.Socket, BaseRequestHandler<UDPServer> a DatagramRequest', async () => {
    // As the tutorials write it: self.request.recv(1024), self.request.sendall(data.upper())
    class UpperHandler extends BaseRequestHandler<ThreadingTCPServer> {
      override async handle(): Promise<void> {
        expectTypeOf(this.request).toEqualTypeOf<net.Socket>();
        expectTypeOf(this.clientAddress).toEqualTypeOf<InetAddress>();
        expectTypeOf(this.server).toEqualTypeOf<ThreadingTCPServer>();
        const data = await once<Buffer>(this.request, 'data');
        this.request.end(String(data).toUpperCase());
      }
    }
    class UdpUpperHandler extends BaseRequestHandler<UDPServer> {
      override async handle(): Promise<void> {
        expectTypeOf(this.request).toEqualTypeOf<DatagramRequest<InetAddress>>();
        await this.request.socket.sendTo(
          Buffer.from(String(this.request.packet).toUpperCase()),
          this.clientAddress,
        );
      }
    }
    await using tcp = await serving(new ThreadingTCPServer(LOOPBACK, UpperHandler));
    const client = await connect(tcp.serverAddress);
    client.write('hello');
    expect(String(await readAll(client))).toBe('HELLO');
    await using udp = await serving(new UDPServer(LOOPBACK, UdpUpperHandler));
    expect(String(await udpRoundTrip(udp.serverAddress, Buffer.from('ping')))).toBe('PING');
    // The explicit form still names each type.
    expectTypeOf<BaseRequestHandler<dgram.Socket, string>['request']>().toEqualTypeOf<dgram.Socket>();
  });
});
