/**
 * Runs demo servers until SIGINT/SIGTERM: binds them all, prints one `listening on …` line per
 * server, logs what happens, and shuts down gracefully.
 *
 * In a forking server's child (the CLI runs again there with the same arguments) the same servers
 * are built and linked to the parent, silently: no listening line, no banner, no signal handlers
 * (the parent decides when its children stop).
 */
import { formatAddress, isForkChild, type SocketAddress, UDPServer } from '@sockserve/core';
import type { Logger } from './logger.js';
import type { Output } from './output.js';
import { type DemoServer, isForkingParent, SHUTDOWN_NOTICE, serverUrl } from './servers.js';
import { reloadTLS, tlsFilesOf } from './tls-files.js';

/** How a TCP client whose address could not be read (it reset first) is logged. */
export const UNKNOWN_CLIENT = 'unknown (reset before read)';

/** Seconds running requests get to finish after SIGINT/SIGTERM; then their connections are closed. */
export const GRACE_SECONDS = 5;
/** Seconds after the first signal when the process gives up waiting and exits (1). */
const GIVE_UP_SECONDS = 9.5;

/** Builds one server; it sees the servers bound before it (the UDP echo of `start` takes the TCP echo's port). */
export type DemoServerFactory = (bound: readonly DemoServer[]) => DemoServer;

export interface ServeOptions {
  /** Called once every server listens (not in a forked child): print hints or a banner. */
  announce(servers: readonly DemoServer[]): void;
}

/** Serves until stopped; resolves with the exit status. Binding failures reject (servers bound so far are closed). */
export async function serve(
  factories: readonly DemoServerFactory[],
  output: Output,
  options: ServeOptions,
): Promise<number> {
  const child = isForkChild();
  const log = child ? output.log.child({ child: process.pid }) : output.log;
  // Observed before they listen: a forking server starts its children while it binds.
  const servers = await listenAll(factories, (demo) => observe(demo, log.child({ server: demo.label })));
  if (child) {
    await Promise.all(servers.map((demo) => demo.server.serveForever()));
    await Promise.all(servers.map((demo) => demo.server.serverClose()));
    return 0;
  }

  // Handlers first: a script may send SIGTERM as soon as it reads the listening line.
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    output.interrupted(signal);
    if (stopping === undefined) {
      stopping = stop(servers, log, signal);
      return;
    }
    log.warn({ signal }, 'stopping now');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP: TLS servers read their certificate files again (for new connections; a forking server's
  // children get them too). A file that cannot be read or used keeps the old certificate.
  const onHangup = (): void => {
    for (const demo of servers) {
      const files = tlsFilesOf(demo.server);
      if (files === undefined) continue;
      try {
        reloadTLS(demo.server);
        log.info({ server: demo.label, cert: files.cert }, 'reloaded the TLS certificate');
      } catch (error) {
        log.error(
          { server: demo.label },
          `kept the old TLS certificate: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  };
  if (servers.some((demo) => tlsFilesOf(demo.server) !== undefined)) process.on('SIGHUP', onHangup);
  const loops = servers.map((demo) => demo.server.serveForever());
  for (const demo of servers) output.listening(serverUrl(demo));
  for (const demo of servers)
    if (demo.server instanceof UDPServer) logBatching(demo.server, log.child({ server: demo.label }));
  options.announce(servers);
  await Promise.all(loops);
  await stopping;
  log.info('stopped');
  return 0;
}

/** Says how a UDP server reads: many datagrams per system call, or (without the addon) one. */
function logBatching(server: UDPServer, log: Logger): void {
  if (server.batching) log.info('reads and sends datagrams in batches (@sockserve/udp-native)');
  else
    log.info(
      'reads datagrams one at a time (node:dgram): @sockserve/udp-native is not installed or not built',
    );
}

/** Builds and binds every server in order; on a failure closes those already bound and rethrows. */
async function listenAll(
  factories: readonly DemoServerFactory[],
  created: (demo: DemoServer) => void,
): Promise<DemoServer[]> {
  const bound: DemoServer[] = [];
  try {
    for (const factory of factories) {
      const demo = factory(bound);
      created(demo);
      await demo.server.listen();
      bound.push(demo);
    }
  } catch (error) {
    await Promise.all(bound.map((demo) => demo.server.serverClose().catch(() => {})));
    throw error;
  }
  return bound;
}

/**
 * Graceful shutdown: stop accepting, tell chat users, give running requests `GRACE_SECONDS`, then
 * close what is left; exit anyway (1) if that has not worked after `GIVE_UP_SECONDS`.
 */
async function stop(servers: readonly DemoServer[], log: Logger, signal: NodeJS.Signals): Promise<void> {
  log.info({ signal }, 'shutting down (Ctrl-C again to stop now)');
  setTimeout(() => {
    log.error(`not stopped after ${GIVE_UP_SECONDS} s; exiting`);
    process.exit(1);
  }, GIVE_UP_SECONDS * 1000).unref();
  // Chat users (in every child of a forking server) get their last line, and their sessions end.
  await Promise.all(
    servers.map(async (demo) => {
      if (demo.hub === undefined) return;
      try {
        await demo.hub.close(SHUTDOWN_NOTICE);
        log.debug({ server: demo.label }, 'told chat users');
      } catch (error) {
        log.error({ server: demo.label, err: error }, 'could not tell chat users');
      }
    }),
  );
  const closed = servers.map((demo) => demo.server.serverClose());
  for (const demo of servers) void demo.server.shutdown({ deadline: GRACE_SECONDS });
  // Chat sessions end at once; what is still open a moment later is waited for, and said so.
  const waiting = setTimeout(() => {
    const open = servers.reduce((sum, demo) => sum + demo.server.activeRequestCount, 0);
    if (open > 0) {
      log.info(
        `waiting up to ${GRACE_SECONDS} s for ${open} open connection${open === 1 ? '' : 's'} to finish`,
      );
    }
  }, 200);
  waiting.unref();
  await Promise.all(closed);
  clearTimeout(waiting);
}

/** Logs the server's life: connections at debug level, refusals at warn, errors always. */
function observe(demo: DemoServer, log: Logger): void {
  const server = demo.server;
  const scheme = demo.transport;
  const describe = (client: unknown): string | undefined => {
    if (typeof client !== 'object' || client === null) return undefined;
    const address = client as SocketAddress;
    // A TCP client that reset before its address could be read has none (host '', port 0).
    if ('host' in address && address.host === '' && address.port === 0) return UNKNOWN_CLIENT;
    return formatAddress(address, scheme);
  };
  const started = new WeakMap<object, number>();

  if (isForkingParent(demo)) {
    // Requests run (and are logged) in the children; the parent reports on the children.
    server.on('child-spawn', (pid) => log.debug({ child: pid }, 'child process started'));
    server.on('child-exit', (exit) => {
      const { pid, code, signal, lostRequests } = exit;
      if (exit.expected) log.debug({ child: pid, code, signal }, 'child process exited');
      else log.error({ child: pid, code, signal, lostRequests, err: exit.error }, 'child process died');
    });
  } else if (demo.transport === 'udp') {
    server.on('request-start', (client) => log.debug({ client: describe(client) }, 'datagram received'));
  } else {
    server.on('request-start', (client) => {
      if (typeof client === 'object' && client !== null) started.set(client, performance.now());
      log.debug({ client: describe(client) }, 'connection opened');
    });
    server.on('request-end', (client) => {
      const since = typeof client === 'object' && client !== null ? started.get(client) : undefined;
      const ms = since === undefined ? undefined : Math.round(performance.now() - since);
      log.debug({ client: describe(client), ms }, 'connection closed');
    });
  }
  server.on('request-error', (error, client) =>
    log.error({ client: describe(client), err: error }, 'request failed'),
  );
  server.on('request-refused', (reason, client) => {
    const level = reason === 'server-closing' ? 'debug' : 'warn';
    log[level]({ client: describe(client), reason }, 'connection refused');
  });
  // A failed TLS handshake (plain text, a refused client certificate, a timeout); in a forking
  // server's child it is reported to the parent, which logs it.
  if (!(server as Partial<{ isChild: boolean }>).isChild) {
    server.on('tls-error', (error, client) =>
      log.warn(
        { client: describe(client), code: (error as { code?: unknown }).code },
        `TLS handshake failed: ${error.message.split('\n')[0]}`,
      ),
    );
  }
  // One line each (no stack): an operational report (a reply that could not be sent, no descriptor left).
  server.on('socket-error', (error) => {
    const { code, count } = error as { code?: unknown; count?: unknown };
    log.error({ code, count }, `socket error: ${error.message}`);
  });
}
