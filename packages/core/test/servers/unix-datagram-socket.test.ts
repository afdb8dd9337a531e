import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeUnixDgram } from '../../../../test-support/native.js';
import { ErrorCodes, SockserveError } from '../../src/errors.js';
import {
  loadUnixDatagramAddon,
  UNIX_DGRAM_MAX_RECEIVE_SIZE,
  UnixDatagramSocket,
} from '../../src/servers/unix-datagram-socket.js';

interface Received {
  packet: Buffer;
  sender: string;
}

/** Collects datagrams; `next(n)` resolves with the first n (bounded wait). */
function collect(socket: UnixDatagramSocket): { all: Received[]; next: (n: number) => Promise<Received[]> } {
  const all: Received[] = [];
  const waiters: Array<() => void> = [];
  socket.onMessage((packet, sender) => {
    all.push({ packet, sender });
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (n: number): Promise<Received[]> => {
    const deadline = Date.now() + 10_000;
    while (all.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out: got ${all.length} of ${n} datagrams`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return all.slice(0, n);
  };
  return { all, next };
}

describeUnixDgram('UnixDatagramSocket', () => {
  let dir: string;
  const open: UnixDatagramSocket[] = [];

  async function bind(name: string): Promise<UnixDatagramSocket> {
    const socket = await UnixDatagramSocket.bind(`${dir}/${name}`);
    open.push(socket);
    return socket;
  }

  function create(): UnixDatagramSocket {
    const socket = UnixDatagramSocket.create();
    open.push(socket);
    return socket;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/sockserve-`);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((socket) => socket.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the addon of @sockserve/udp-native once and caches it', () => {
    expect(loadUnixDatagramAddon()).toBe(loadUnixDatagramAddon());
  });

  it('round-trips a datagram with the sender path and replies to the sender', async () => {
    const server = await bind('server');
    const client = await bind('client');
    expect(server.path).toBe(`${dir}/server`);
    const atServer = collect(server);
    const atClient = collect(client);
    server.onMessage((packet, sender) => {
      void server.sendTo(Buffer.concat([Buffer.from('re:'), packet]), sender);
    });

    await client.sendTo(Buffer.from('hello'), `${dir}/server`);
    const [request] = await atServer.next(1);
    expect(request?.packet.toString()).toBe('hello');
    expect(request?.sender).toBe(`${dir}/client`);
    const [reply] = await atClient.next(1);
    expect(reply?.packet.toString()).toBe('re:hello');
    expect(reply?.sender).toBe(`${dir}/server`);
  });

  it('reports an unbound sender as an empty path', async () => {
    const server = await bind('server');
    const received = collect(server);
    const client = create();
    expect(client.path).toBeUndefined();
    await client.sendTo(new Uint8Array([1, 2, 3]), `${dir}/server`);
    const [message] = await received.next(1);
    expect(message?.sender).toBe('');
    expect([...(message?.packet ?? [])]).toEqual([1, 2, 3]);
  });

  it('passes datagrams of 0, 1, 1400 and 65507 bytes unchanged both ways', async () => {
    const server = await bind('server');
    const client = await bind('client');
    const atServer = collect(server);
    const atClient = collect(client);
    const sizes = [0, 1, 1400, 65507];
    const payloads = sizes.map((size) => randomBytes(size));
    for (const payload of payloads) await client.sendTo(payload, `${dir}/server`);
    // Send a subarray view too, to check byteOffset handling.
    for (const payload of payloads) {
      const padded = new Uint8Array(payload.length + 8);
      padded.set(payload, 4);
      await server.sendTo(padded.subarray(4, 4 + payload.length), `${dir}/client`);
    }
    const toServer = await atServer.next(sizes.length);
    const toClient = await atClient.next(sizes.length);
    for (const [i, payload] of payloads.entries()) {
      expect(toServer[i]?.packet.equals(payload)).toBe(true);
      expect(toClient[i]?.packet.equals(payload)).toBe(true);
    }
  });

  it(`truncates received datagrams longer than ${UNIX_DGRAM_MAX_RECEIVE_SIZE} bytes (the receive buffer)`, async () => {
    const server = await bind('server');
    const received = collect(server);
    const client = create();
    const payload = randomBytes(70_000);
    await client.sendTo(payload, `${dir}/server`);
    const [message] = await received.next(1);
    expect(message?.packet.length).toBe(UNIX_DGRAM_MAX_RECEIVE_SIZE);
    expect(message?.packet.equals(payload.subarray(0, UNIX_DGRAM_MAX_RECEIVE_SIZE))).toBe(true);
  });

  it('fails to bind a live path with ADDRESS_IN_USE naming the path', async () => {
    await bind('server');
    const path = `${dir}/server`;
    const error = await UnixDatagramSocket.bind(path).catch((e: unknown) => e);
    expect(SockserveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE, cause: { code: 'EADDRINUSE', path } });
    expect((error as Error).message).toContain(path);
  });

  it('fails to bind in a missing directory or with a too-long path with BIND_FAILED', async () => {
    const missing = `${dir}/nope/server`;
    const error = await UnixDatagramSocket.bind(missing).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.BIND_FAILED, cause: { code: 'ENOENT' } });
    expect((error as Error).message).toContain(missing);

    const long = `${dir}/${'x'.repeat(120)}`;
    const tooLong = await UnixDatagramSocket.bind(long).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ code: ErrorCodes.BIND_FAILED });
    expect((tooLong as Error).message).toContain(long);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('rejects a send to a missing path or a path nobody listens on, naming it', async () => {
    const client = create();
    const missing = `${dir}/missing`;
    const error = await client.sendTo(Buffer.from('x'), missing).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'sendto', path: missing });
    expect((error as Error).message).toContain(missing);

    const stale = await bind('stale');
    await stale.close(); // the socket file stays behind
    const refused = await client.sendTo(Buffer.from('x'), `${dir}/stale`).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', path: `${dir}/stale` });
    expect((refused as Error).message).toContain(`${dir}/stale`);
  });

  it('delivers 2000 × 1 KiB datagrams sent faster than they are read, in order', async () => {
    const server = await bind('server');
    const received = collect(server);
    const client = await bind('client');
    const count = 2000;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const packet = Buffer.alloc(1024, i & 0xff);
      packet.writeUInt32BE(i, 0);
      sends.push(client.sendTo(packet, `${dir}/server`));
    }
    await Promise.all(sends);
    const all = await received.next(count);
    expect(all.length).toBe(count);
    for (const [i, { packet }] of all.entries()) {
      expect(packet.length).toBe(1024);
      expect(packet.readUInt32BE(0)).toBe(i);
    }
  });

  it('closes idempotently and rejects sends that were waiting or come later', async () => {
    await bind('server');
    const client = create();
    // Queue more datagrams than the receiver's queue holds, then close before the event loop drains it.
    const sends = Array.from({ length: 200 }, () =>
      client.sendTo(Buffer.alloc(16), `${dir}/server`).then(
        () => 'sent',
        (e: unknown) => (e as { code?: string }).code,
      ),
    );
    await Promise.all([client.close(), client.close()]);
    await client.close();
    expect(client.closed).toBe(true);
    const outcomes = await Promise.all(sends);
    expect(outcomes).toContain('sent');
    expect(outcomes).toContain(ErrorCodes.CONNECTION_CLOSED);
    expect(outcomes.lastIndexOf('sent')).toBeLessThan(outcomes.indexOf(ErrorCodes.CONNECTION_CLOSED));
    await expect(client.sendTo(Buffer.from('x'), `${dir}/server`)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_STATE,
    });
    expect(fs.existsSync(`${dir}/server`)).toBe(true);
  });
});

describe('loadUnixDatagramAddon without @sockserve/udp-native', () => {
  afterEach(() => {
    vi.doUnmock('node:module');
    vi.resetModules();
  });

  async function loadWith(failure: Error): Promise<unknown> {
    vi.resetModules();
    vi.doMock('node:module', () => ({
      createRequire: () => () => {
        throw failure;
      },
    }));
    const fresh = await import('../../src/servers/unix-datagram-socket.js');
    return (() => {
      try {
        return fresh.loadUnixDatagramAddon();
      } catch (error) {
        return error;
      }
    })();
  }

  it('throws UNSUPPORTED saying how to install it when it is missing', async () => {
    const missing = Object.assign(new Error("Cannot find module '@sockserve/udp-native'"), {
      code: 'MODULE_NOT_FOUND',
    });
    const error = await loadWith(missing);
    expect(SockserveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: ErrorCodes.UNSUPPORTED, cause: missing });
    expect((error as Error).message).toContain('npm install @sockserve/udp-native');
    expect((error as Error).message).toContain('npm install-scripts approve @sockserve/udp-native');
  });

  it('throws UNSUPPORTED when its native addon does not load', async () => {
    const broken = new Error('No native build was found for platform=freebsd arch=x64\n    loaded from: /x');
    const error = await loadWith(broken);
    expect(error).toMatchObject({ code: ErrorCodes.UNSUPPORTED, cause: broken });
    expect((error as Error).message).toContain(
      'native addon did not load (No native build was found for platform=freebsd arch=x64)',
    );
    expect((error as Error).message).toContain('npm rebuild @sockserve/udp-native');
  });
});
