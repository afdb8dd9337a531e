/**
 * A TCP request's client address: read from the socket when first used, so a server that never
 * looks at it makes no getpeername() call; read at accept when request-end/request-error listeners
 * may need it after the connection closed.
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type InetAddress, PeerAddress, StreamRequestHandler, ThreadingTCPServer } from '../../src/index.js';
import { connect, deferred, readAll, serving, withDeadline } from '../helpers.js';
import { ServerProcess } from './server-process.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Runs one connection against a server whose handler reports its clientAddress, as `seen` says. */
async function addressOfOneClient(
  seen: (handler: StreamRequestHandler) => unknown,
  listen?: (server: ThreadingTCPServer) => void,
): Promise<{ reported: unknown; localPort: number }> {
  const reported = deferred<unknown>();
  class Reporter extends StreamRequestHandler {
    override handle(): void {
      reported.resolve(seen(this));
    }
  }
  await using server = await serving(new ThreadingTCPServer(LOOPBACK, Reporter));
  listen?.(server);
  const socket = await connect(server.serverAddress);
  const localPort = socket.localPort!;
  await readAll(socket);
  return { reported: await reported.promise, localPort };
}

describe('PeerAddress', () => {
  it('reads host, port and family of the client, and gives them as plain data', async () => {
    const { reported, localPort } = await addressOfOneClient((handler) => {
      const address = handler.clientAddress as InetAddress;
      const { host, port, family } = address;
      return { fields: { host, port, family }, json: JSON.parse(JSON.stringify(address)), address };
    });
    const expected = { host: '127.0.0.1', port: localPort, family: 'IPv4' };
    const { fields, json, address } = reported as { fields: unknown; json: unknown; address: PeerAddress };
    expect(fields).toEqual(expected);
    expect(json).toEqual(expected);
    expect(address).toBeInstanceOf(PeerAddress);
    expect(address.toJSON()).toEqual(expected);
    expect(address).toMatchObject(expected);
    expect(inspect(address)).toBe(inspect(expected));
  });

  it('keeps an address once read, after the connection closed', async () => {
    const { reported, localPort } = await addressOfOneClient((handler) => {
      const address = handler.clientAddress as InetAddress;
      void address.port; // read while open
      handler.request.destroy();
      return { ...(address as PeerAddress).toJSON() };
    });
    expect(reported).toEqual({ host: '127.0.0.1', port: localPort, family: 'IPv4' });
  });

  it('is not read at accept: a connection closed before anything read it has no address', async () => {
    const { reported } = await addressOfOneClient((handler) => {
      handler.request.destroy();
      return (handler.clientAddress as PeerAddress).toJSON();
    });
    expect(reported).toEqual({ host: '', port: 0, family: 'IPv4' });
  });

  it.each(['request-end', 'request-error'] as const)(
    'is read at accept when something listens for %s',
    async (event) => {
      const { reported, localPort } = await addressOfOneClient(
        (handler) => {
          handler.request.destroy();
          return { ...handler.clientAddress };
        },
        (server) => server.on(event, () => {}),
      );
      expect(reported).toEqual({ host: '127.0.0.1', port: localPort, family: 'IPv4' });
    },
  );
});

describe('PeerAddress in strings', () => {
  it('prints tcp://host:port, as formatAddress() does', async () => {
    const { reported, localPort } = await addressOfOneClient((handler) => `${handler.clientAddress}`);
    expect(reported).toBe(`tcp://127.0.0.1:${localPort}`);
  });

  it('says the address is unknown when the connection closed before it was read (not tcp://:0)', async () => {
    const { reported } = await addressOfOneClient((handler) => {
      handler.request.destroy();
      return String(handler.clientAddress);
    });
    expect(reported).toBe('tcp://(unknown: closed before its address was read)');
  });
});

describe('the default handleError names an unknown client honestly', () => {
  it('says the address is unknown, not tcp://:0', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/tcp-reset-then-throw.mjs', import.meta.url));
    await using server = new ServerProcess([fixture]);
    const port = await server.port();
    const socket = await connect({ host: '127.0.0.1', port, family: 'IPv4' });
    await readAll(socket).catch(() => Buffer.alloc(0));
    await withDeadline(
      server.until(() => server.stderr.includes('handler failed')),
      'the default report',
    );
    expect(server.stderr).toContain(
      'Exception occurred during processing of request from tcp://(unknown: closed before its address was read)',
    );
    expect(server.stderr).not.toContain('tcp://:0');
  });
});
