/**
 * The script a forking server's child runs in handlerModule mode: it imports the handler class and
 * serves, in a server of the parent's kind, the requests its parent hands it.
 *
 * It loads @sockserve/core from the built package next to it (not a bundled copy), so the server it
 * builds and the handler module's base classes come from the same place.
 */
interface ChildCore {
  ForkingTCPServer: new (address: object, handler: unknown) => ChildServer;
  ForkingUDPServer: new (address: object, handler: unknown) => ChildServer;
  ForkingUnixStreamServer: new (path: string, handler: unknown) => ChildServer;
  ForkingUnixDatagramServer: new (path: string, handler: unknown) => ChildServer;
  isForkChild(): boolean;
}

interface ChildServer {
  serveForever(): Promise<void>;
  serverClose(): Promise<void>;
}

async function main(): Promise<void> {
  const raw = process.env.SOCKSERVE_FORK_CHILD;
  const core = (await import(new URL('../index.js', import.meta.url).href)) as ChildCore;
  if (raw === undefined || !core.isForkChild()) {
    throw new Error('this script is started by a forking server of @sockserve/core, not by hand');
  }
  const { handlerModule } = JSON.parse(raw) as {
    handlerModule: { module: string; exportName: string; serverKind: string };
  };
  const exports = (await import(handlerModule.module)) as Record<string, unknown>;
  const Handler = exports[handlerModule.exportName];
  if (typeof Handler !== 'function') {
    throw new TypeError(
      `${handlerModule.module} has no handler class exported as "${handlerModule.exportName}"`,
    );
  }
  const placeholder = { host: '127.0.0.1', port: 0 };
  const server =
    handlerModule.serverKind === 'tcp'
      ? new core.ForkingTCPServer(placeholder, Handler)
      : handlerModule.serverKind === 'udp'
        ? new core.ForkingUDPServer(placeholder, Handler)
        : handlerModule.serverKind === 'unix-stream'
          ? new core.ForkingUnixStreamServer('/', Handler)
          : new core.ForkingUnixDatagramServer('/', Handler);
  await server.serveForever();
  await server.serverClose();
}

// A failure here is a crash of the child: the parent reports it (child-exit) and starts another.
main().catch((error: unknown) => {
  setImmediate(() => {
    throw error;
  });
});
