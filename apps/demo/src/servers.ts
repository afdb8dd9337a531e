/**
 * The one place that knows `@sockserve/core` and `@sockserve/handlers`: which server class and
 * handler each command line builds. Everything else in the demo works with `DemoServer`.
 */
import type net from 'node:net';
import {
  type BaseServer,
  type DatagramRequest,
  type ForkingServer,
  ForkingTCPServer,
  ForkingUDPServer,
  ForkingUnixStreamServer,
  formatAddress,
  type InetAddress,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixStreamServer,
  UDPServer,
  UnixStreamServer,
} from '@sockserve/core';
import {
  ChatHandler,
  type ChatHub,
  ChatText,
  EchoDatagramHandler,
  EchoStreamHandler,
  MemoryHub,
  ProcessHub,
} from '@sockserve/handlers';
import { RedisHub } from '@sockserve/redis';
import type { ChatSettings, ServerSettings, Transport } from './cli.js';
// TLS: the certificate files behind the `tls` option (tls-files.ts).
import { readTLS, rememberTLSFiles, tlsFilesOf } from './tls-files.js';

export type AnyServer = BaseServer<any, any, any>;

/** A server the demo runs, with what the CLI needs to announce, log and stop it. */
export interface DemoServer {
  /** What it serves. */
  readonly kind: 'echo' | 'chat';
  readonly transport: Transport;
  /** Its name in logs: `echo`, `echo-udp`, `chat`. */
  readonly label: string;
  readonly server: AnyServer;
  /**
   * The chat's hub, whose `close(notice)` ends every session (in every child of a forking server:
   * there it is the process hub's broker); undefined for echo.
   */
  readonly hub: ChatHub | undefined;
}

/** The last line chat users get when the demo stops: `-- server shutting down`. */
export const SHUTDOWN_NOTICE: string = ChatText.SHUTTING_DOWN;

type StreamHandlerClass = new (request: net.Socket, clientAddress: any, server: unknown) => EchoStreamHandler;
type DatagramHandlerClass = new (
  request: DatagramRequest<InetAddress>,
  clientAddress: InetAddress,
  server: unknown,
) => EchoDatagramHandler;

/** The echo server of `settings` (TCP, UDP or Unix stream). */
export function createEchoServer(settings: ServerSettings, label = 'echo'): DemoServer {
  if (settings.transport === 'udp') {
    return {
      kind: 'echo',
      transport: 'udp',
      label,
      server: datagramServer(settings, EchoDatagramHandler),
      hub: undefined,
    };
  }
  const timeout = settings.timeout;
  const Handler: StreamHandlerClass =
    timeout === undefined
      ? EchoStreamHandler
      : class TimedEchoStreamHandler extends EchoStreamHandler {
          override timeout: number | undefined = timeout;
        };
  return {
    kind: 'echo',
    transport: settings.transport,
    label,
    server: streamServer(settings, Handler),
    hub: undefined,
  };
}

/**
 * The chat server of `settings` (TCP or Unix stream), with its own hub: a `MemoryHub` (or with
 * `--hub redis` a `RedisHub`), or for a forking server the process hub (its broker here in the parent,
 * in front of the RedisHub with `--hub redis`; in each child the handler's default hub is the process
 * hub's client, so users of every child share one chat).
 */
export function createChatServer(settings: ServerSettings, chat: ChatSettings, label = 'chat'): DemoServer {
  const options = {
    maxLineBytes: chat.maxLineBytes,
    maxPendingBytes: chat.maxPendingBytes,
    timeout: settings.timeout,
  };
  if (settings.mode === 'forking') {
    const server = streamServer(settings, ChatHandler.with(options));
    // With --hub redis, the parent's broker is in front of a RedisHub (never created in a child).
    const isChild = (server as Partial<ForkingServer>).isChild === true;
    const redis = chat.hub === 'redis' && !isChild ? redisHub(server, chat.redisUrl) : undefined;
    // This line runs again in every child (entry-script re-execution): there it returns the client.
    const hub = ProcessHub.attach(server as AnyServer & ForkingServer, { hub: redis });
    return { kind: 'chat', transport: settings.transport, label, server, hub };
  }
  if (chat.hub === 'redis') {
    const hub = new RedisHub({ url: chat.redisUrl });
    const server = streamServer(settings, ChatHandler.with({ ...options, hub }));
    server.once('close', () => void hub.quit());
    return { kind: 'chat', transport: settings.transport, label, server, hub };
  }
  const hub = new MemoryHub();
  const server = streamServer(settings, ChatHandler.with({ ...options, hub }));
  return { kind: 'chat', transport: settings.transport, label, server, hub };
}

/** A RedisHub on `url` (default redis://127.0.0.1:6379) that leaves Redis when `server` closes. */
function redisHub(server: AnyServer, url: string | undefined): RedisHub {
  const hub = new RedisHub({ url });
  server.once('close', () => void hub.quit());
  return hub;
}

/** `tcp://127.0.0.1:9999`, `udp://[::1]:9999`, `unix:///tmp/demo.sock`: the server's real address. */
export function serverUrl(demo: DemoServer): string {
  const url = formatAddress(demo.server.serverAddress, demo.transport);
  // TLS: `tls://127.0.0.1:9999`, `tls+unix:///tmp/demo.sock`.
  if (tlsFilesOf(demo.server) === undefined) return url;
  return demo.transport === 'unix' ? `tls+${url}` : url.replace(/^tcp:/, 'tls:');
}

/** How to talk to it with nc: `nc 127.0.0.1 9998`, `nc -u 127.0.0.1 9999`, `nc -U /tmp/demo.sock`. */
export function ncCommand(demo: DemoServer): string {
  const address = demo.server.serverAddress;
  const tls = tlsFilesOf(demo.server);
  if (tls !== undefined) {
    const to = 'path' in address ? `--transport unix ${address.path}` : `${address.host} ${address.port}`;
    const client = tls.clientAuth ? ' --tls-cert CLIENT.crt --tls-key CLIENT.key' : '';
    return `sockserve-demo connect --tls --tls-ca CA.crt${client} ${to}  (or: openssl s_client -quiet -connect …)`;
  }
  if ('path' in address) return `nc -U ${address.path}`;
  const host = address.host === '::' || address.host === '0.0.0.0' ? '127.0.0.1' : address.host;
  return `nc${demo.transport === 'udp' ? ' -u' : ''} ${host} ${address.port}`;
}

/** True when the server runs its requests in child processes (and this process is their parent). */
export function isForkingParent(demo: DemoServer): boolean {
  const forking = demo.server as Partial<{ isChild: boolean; childPids: number[] }>;
  return Array.isArray(forking.childPids) && forking.isChild === false;
}

function streamServer(settings: ServerSettings, Handler: StreamHandlerClass | typeof ChatHandler): AnyServer {
  return rememberTLSFiles(plainOrTLSServer(settings, Handler), settings.tls);
}

function plainOrTLSServer(
  settings: ServerSettings,
  Handler: StreamHandlerClass | typeof ChatHandler,
): AnyServer {
  const options = {
    maxConnections: settings.maxConnections,
    tls: settings.tls === undefined ? undefined : readTLS(settings.tls),
    ...(settings.mode === 'forking' ? { workers: settings.workers, perRequest: settings.perRequest } : {}),
  };
  if (settings.transport === 'unix') {
    const path = settings.path!;
    if (settings.mode === 'sync') return new UnixStreamServer(path, Handler, options);
    if (settings.mode === 'threading') return new ThreadingUnixStreamServer(path, Handler, options);
    return new ForkingUnixStreamServer(path, Handler, options);
  }
  const address = { host: settings.host, port: settings.port };
  if (settings.mode === 'sync') return new TCPServer(address, Handler, options);
  if (settings.mode === 'threading') return new ThreadingTCPServer(address, Handler, options);
  return new ForkingTCPServer(address, Handler, options);
}

function datagramServer(settings: ServerSettings, Handler: DatagramHandlerClass): AnyServer {
  const address = { host: settings.host, port: settings.port };
  if (settings.mode === 'sync') return new UDPServer(address, Handler);
  if (settings.mode === 'threading') return new ThreadingUDPServer(address, Handler);
  return new ForkingUDPServer(address, Handler, {
    workers: settings.workers,
    perRequest: settings.perRequest,
  });
}
