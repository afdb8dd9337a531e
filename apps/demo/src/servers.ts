/**
 * The one place that knows `@sockserve/core` and `@sockserve/handlers`: which server class and
 * handler each command line builds. Everything else in the demo works with `DemoServer`.
 */
import type net from 'node:net';
import {
  type BaseServer,
  type DatagramRequest,
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
import { ChatHandler, EchoDatagramHandler, EchoStreamHandler, MemoryHub } from '@sockserve/handlers';
import { type ChatSettings, type ServerSettings, type Transport, UsageError } from './cli.js';
import { ClosingHub } from './closing-hub.js';

export type AnyServer = BaseServer<any, any, any>;

/** A server the demo runs, with what the CLI needs to announce, log and stop it. */
export interface DemoServer {
  /** What it serves. */
  readonly kind: 'echo' | 'chat';
  readonly transport: Transport;
  /** Its name in logs: `echo`, `echo-udp`, `chat`. */
  readonly label: string;
  readonly server: AnyServer;
  /** The chat's hub, which can end every session with a notice; undefined for echo. */
  readonly hub: ClosingHub | undefined;
}

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

/** The chat server of `settings` (TCP or Unix stream), with its own hub. */
export function createChatServer(settings: ServerSettings, chat: ChatSettings, label = 'chat'): DemoServer {
  if (chat.hub === 'redis') {
    throw new UsageError(
      '--hub redis is not available yet (@sockserve/redis is not released); use --hub memory',
    );
  }
  if (settings.mode === 'forking') {
    // Children of a forking server need a hub that spans processes (the process hub of
    // @sockserve/handlers); with a MemoryHub per child, users in different children would not see
    // each other.
    throw new UsageError(
      'chat --mode forking is not available yet (it needs the process hub); use threading or sync',
    );
  }
  const hub = new ClosingHub(new MemoryHub());
  const Handler = ChatHandler.with({
    hub,
    maxLineBytes: chat.maxLineBytes,
    maxPendingBytes: chat.maxPendingBytes,
    timeout: settings.timeout,
  });
  return { kind: 'chat', transport: settings.transport, label, server: streamServer(settings, Handler), hub };
}

/** `tcp://127.0.0.1:9999`, `udp://[::1]:9999`, `unix:///tmp/demo.sock`: the server's real address. */
export function serverUrl(demo: DemoServer): string {
  return formatAddress(demo.server.serverAddress, demo.transport);
}

/** How to talk to it with nc: `nc 127.0.0.1 9998`, `nc -u 127.0.0.1 9999`, `nc -U /tmp/demo.sock`. */
export function ncCommand(demo: DemoServer): string {
  const address = demo.server.serverAddress;
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
  const options = {
    maxConnections: settings.maxConnections,
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
