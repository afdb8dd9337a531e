/**
 * ForkingMixIn on real child processes. These tests use the built package (`@sockserve/core`),
 * because the children are plain Node processes that load it from dist.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  BaseRequestHandler,
  type ChildExit,
  ErrorCodes,
  ForkingTCPServer,
  ForkingUDPServer,
  ForkingUnixDatagramServer,
  ForkingUnixStreamServer,
} from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { itUnixDgram } from '../../../../test-support/native.js';
import {
  childProcessesOf,
  connect,
  processState,
  readAll,
  serving,
  streamRoundTrip,
  tempDir,
  udpRoundTrip,
  unixDatagramRoundTrip,
  until,
} from '../helpers.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const HANDLERS = fixture('forking-handlers.mjs');
const streamModule = { module: HANDLERS, exportName: 'LineHandler' };
const datagramModule = { module: HANDLERS, exportName: 'DatagramHandler' };
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const TEST_STR = Buffer.from('hello world\n');

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

/** A line client on one connection. */
async function lineClient(address: Parameters<typeof connect>[0]) {
  const socket = await connect(address);
  socket.on('error', () => {});
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return {
    socket,
    async ask(text: string): Promise<string> {
      socket.write(`${text}\n`);
      const next = await lines.next();
      return next.done ? '' : next.value;
    },
  };
}

describe.each([
  [
    'ForkingTCPServer',
    () => new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 2, handlerModule: streamModule }),
  ],
  [
    'ForkingTCPServer, per request',
    () => new ForkingTCPServer(LOOPBACK, UnusedHandler, { perRequest: true, handlerModule: streamModule }),
  ],
])('%s', (_name, make) => {
  it('echoes three times from child processes and reports its real address', async () => {
    const unstarted = make();
    // A per-request child may have exited by the time its reply is read, so the process table
    // cannot vouch for it afterwards; the spawn events can.
    const spawned: number[] = [];
    unstarted.on('child-spawn', (pid) => spawned.push(pid));
    await using server = await serving(unstarted);
    expect(server.serverAddress.port).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
    const pid = Number(String(await streamRoundTrip(server.serverAddress, Buffer.from('pid\n'))));
    expect(pid).not.toBe(process.pid);
    expect(spawned).toContain(pid);
  });

  it("gives the child's handler the client's address as plain data", async () => {
    await using server = await serving(make());
    const client = await lineClient(server.serverAddress);
    try {
      expect(JSON.parse(await client.ask('addr'))).toEqual({
        host: '127.0.0.1',
        port: client.socket.localPort,
        family: 'IPv4',
      });
    } finally {
      client.socket.destroy();
    }
  });
});

describe('forking parent behaviour', () => {
  it('keeps a half-closed connection writable: every reply arrives after the client ends', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 1, handlerModule: streamModule }),
    );
    const socket = await connect(server.serverAddress);
    const reply = readAll(socket);
    socket.end('one\ntwo\nthree\n');
    expect(String(await reply)).toBe('one\ntwo\nthree\n');
  });

  it('runs an in-place handler in its children, reading in place there', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, {
        workers: 1,
        handlerModule: { module: HANDLERS, exportName: 'InPlaceEcho' },
      }),
    );
    const socket = await connect(server.serverAddress);
    const reply = readAll(socket);
    socket.end(TEST_STR);
    expect(await reply).toEqual(TEST_STR);
    const probe = await connect(server.serverAddress);
    const answer = readAll(probe);
    probe.end('inplace?\n');
    expect(String(await answer)).toBe('true\n');
  });

  it('emits request-start and request-end for every request', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 1, handlerModule: streamModule }),
    );
    let started = 0;
    let ended = 0;
    server.on('request-start', () => (started += 1));
    server.on('request-end', () => (ended += 1));
    for (let i = 0; i < 3; i++) await streamRoundTrip(server.serverAddress, TEST_STR);
    await until(() => ended === 3);
    expect(started).toBe(3);
  });

  it('maxConnections counts the requests its children hold', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, {
        workers: 2,
        maxConnections: 2,
        handlerModule: streamModule,
      }),
    );
    const refused: string[] = [];
    server.on('request-refused', (reason) => refused.push(reason));
    const held = [await lineClient(server.serverAddress), await lineClient(server.serverAddress)];
    for (const client of held) expect(await client.ask('held')).toBe('held');
    const extra = await connect(server.serverAddress);
    extra.on('error', () => {});
    expect(String(await readAll(extra))).toBe('');
    expect(refused).toEqual(['max-connections']);
    for (const client of held) client.socket.destroy();
  });
});

describe('other forking server classes', () => {
  it('ForkingUnixStreamServer echoes three times', async () => {
    using dir = tempDir();
    await using server = await serving(
      new ForkingUnixStreamServer(dir.file('fork.sock'), UnusedHandler, {
        workers: 2,
        handlerModule: streamModule,
      }),
    );
    for (let i = 0; i < 3; i++)
      expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  it('ForkingUDPServer echoes three times (replies relayed through the parent)', async () => {
    await using server = await serving(
      new ForkingUDPServer(LOOPBACK, UnusedHandler, { workers: 2, handlerModule: datagramModule }),
    );
    expect(server.serverAddress.port).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await udpRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
  });

  itUnixDgram('ForkingUnixDatagramServer echoes three times', async () => {
    using dir = tempDir();
    const path = dir.file('fork-dgram.sock');
    await using server = await serving(
      new ForkingUnixDatagramServer(path, UnusedHandler, { workers: 2, handlerModule: datagramModule }),
    );
    for (let i = 0; i < 3; i++) {
      expect(await unixDatagramRoundTrip(path, dir.file(`c${i}.sock`), TEST_STR)).toEqual(TEST_STR);
    }
    expect(server.childPids).toHaveLength(2);
  });
});

describe('crash safety', () => {
  async function poolOfTwo() {
    const server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 2, handlerModule: streamModule }),
    );
    const exits: ChildExit[] = [];
    const errors: Error[] = [];
    server.on('child-exit', (exit) => exits.push(exit));
    server.on('request-error', (error) => errors.push(error as Error));
    await until(() => server.childPids.length === 2);
    // Two clients on the two children (a new connection goes to the least busy child).
    const first = await lineClient(server.serverAddress);
    const firstPid = Number(await first.ask('pid'));
    const second = await lineClient(server.serverAddress);
    const secondPid = Number(await second.ask('pid'));
    expect(firstPid).not.toBe(secondPid);
    return { server, exits, errors, first, second, secondPid };
  }

  it('a handler calling process.exit(1): only its request is closed, others keep their data, next one is served', async () => {
    const { server, exits, errors, first, second, secondPid } = await poolOfTwo();
    await using _ = server;
    const closed = readAll(second.socket);
    second.socket.write('exit\n');
    await closed;
    await until(() => exits.length === 1);
    expect(exits[0]).toMatchObject({
      pid: secondPid,
      code: 1,
      signal: null,
      expected: false,
      lostRequests: 1,
    });
    expect(errors[0]).toMatchObject({ code: ErrorCodes.CHILD_FAILED });
    expect(errors[0]!.message).toContain(`child process ${secondPid} exited with code 1`);
    expect(await first.ask('still here')).toBe('still here');
    await until(() => server.childPids.length === 2 && !server.childPids.includes(secondPid));
    expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('next\n')))).toBe('next\n');
    first.socket.destroy();
  });

  it('an uncaught error in a child: reported with message and stack, the child is replaced', async () => {
    const { server, exits, first, second, secondPid } = await poolOfTwo();
    await using _ = server;
    second.socket.write('crash\n');
    await until(() => exits.length === 1);
    expect(exits[0]).toMatchObject({ pid: secondPid, code: 1, expected: false });
    expect(exits[0]!.error?.message).toBe('uncaught error on purpose');
    expect(exits[0]!.error?.stack).toContain('forking-handlers.mjs');
    expect(await first.ask('fine')).toBe('fine');
    first.socket.destroy();
  });

  it('a handler that throws: handleError gets the error, the child lives on', async () => {
    const { server, exits, errors, first, second } = await poolOfTwo();
    await using _ = server;
    const closed = readAll(second.socket);
    second.socket.write('throw\n');
    await closed;
    await until(() => errors.length === 1);
    expect(errors[0]!.message).toBe('handler threw on purpose');
    expect(exits).toHaveLength(0);
    expect(await first.ask('ok')).toBe('ok');
    first.socket.destroy();
  });

  it('a child killed with SIGKILL mid-request: its client is closed, the others are not, it is replaced', async () => {
    const { server, exits, first, second, secondPid } = await poolOfTwo();
    await using _ = server;
    const closed = readAll(second.socket);
    process.kill(secondPid, 'SIGKILL');
    await closed;
    await until(() => exits.length === 1);
    expect(exits[0]).toMatchObject({ pid: secondPid, code: null, signal: 'SIGKILL', expected: false });
    expect(await first.ask('alive')).toBe('alive');
    await until(() => server.childPids.length === 2);
    expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('again\n')))).toBe('again\n');
    first.socket.destroy();
  });
});

describe('children', () => {
  it('per request: 200 connections with maxChildren 4 are all served, never more than 4 children alive', async () => {
    const server = new ForkingTCPServer(LOOPBACK, UnusedHandler, {
      perRequest: true,
      maxChildren: 4,
      handlerModule: streamModule,
    });
    let alive = 0;
    let maxAlive = 0;
    let maxInTable = 0;
    server.on('child-spawn', () => {
      alive += 1;
      maxAlive = Math.max(maxAlive, alive);
      maxInTable = Math.max(maxInTable, childProcessesOf(process.pid).length);
    });
    server.on('child-exit', () => (alive -= 1));
    await using _ = await serving(server);
    const pids = new Set<string>();
    const batches = 10;
    for (let b = 0; b < batches; b++) {
      const replies = await Promise.all(
        Array.from({ length: 200 / batches }, () =>
          streamRoundTrip(server.serverAddress, Buffer.from('pid\n')),
        ),
      );
      for (const reply of replies) pids.add(String(reply));
    }
    expect(pids.size).toBe(200);
    expect(maxAlive).toBeLessThanOrEqual(4);
    expect(maxInTable).toBeLessThanOrEqual(4);
  }, 120_000);

  it('carries application messages between parent and children (child-message, sendToChild)', async () => {
    await using server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 2, handlerModule: streamModule }),
    );
    server.on('child-message', (pid, message) => {
      server.sendToChild(pid, {
        answer: `parent saw ${(message as { question: number }).question} from ${pid}`,
      });
    });
    const reply = String(await streamRoundTrip(server.serverAddress, Buffer.from('ipc\n')));
    const [, asked, from] = /^parent saw (\d+) from (\d+)\n$/.exec(reply) ?? [];
    expect(asked).toBeDefined();
    expect(asked).toBe(from);
    expect(server.childPids).toContain(Number(from));
    expect(server.sendToChild(-1, {})).toBe(false);
  });

  it('maxRequestsPerChild recycles a child gracefully', async () => {
    const server = new ForkingTCPServer(LOOPBACK, UnusedHandler, {
      workers: 1,
      maxRequestsPerChild: 2,
      handlerModule: streamModule,
    });
    const exits: ChildExit[] = [];
    server.on('child-exit', (exit) => exits.push(exit));
    await using _ = await serving(server);
    const ask = async (): Promise<string> =>
      String(await streamRoundTrip(server.serverAddress, Buffer.from('pid\n')));
    const [a, b, c] = [await ask(), await ask(), await ask()];
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    await until(() => exits.length === 1);
    expect(exits[0]).toMatchObject({ pid: Number(a), code: 0, expected: true, lostRequests: 0 });
  });

  it('leaves no child process after serverClose() (checked in the OS process table)', async () => {
    const server = new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 3, handlerModule: streamModule });
    await server.listen();
    const loop = server.serveForever();
    await until(() => server.childPids.length === 3);
    const pids = server.childPids;
    expect(await streamRoundTrip(server.serverAddress, TEST_STR)).toEqual(TEST_STR);
    await server.shutdown();
    await server.serverClose();
    await loop;
    for (const pid of pids) expect(processState(pid)).toBe('gone');
    expect(childProcessesOf(process.pid)).toEqual([]);
  });

  it('serverClose() waits for a running request (blockOnClose); shutdown({ deadline }) kills what is stuck', async () => {
    const server = await serving(
      new ForkingTCPServer(LOOPBACK, UnusedHandler, { workers: 1, handlerModule: streamModule }),
    );
    const client = await lineClient(server.serverAddress);
    const pid = Number(await client.ask('pid'));
    client.socket.write('hang\n');
    const closed = readAll(client.socket);
    await server.shutdown({ deadline: 0.2 });
    await closed;
    // SIGKILL is sent by now; the child's exit completes when the kernel runs it.
    await until(() => processState(pid) !== 'alive');
    await server.serverClose();
    await server.loop;
    expect(childProcessesOf(process.pid)).toEqual([]);
  });
});

describe('entry-module re-execution', () => {
  it('runs the handler class defined in the user script in its children; SIGTERM to the parent leaves no child', async () => {
    const script = spawn(process.execPath, [fixture('forking-entry.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: script.stdout! })[Symbol.asyncIterator]();
      const first = await lines.next();
      const port = Number(/^listening (\d+)$/.exec(String(first.value))?.[1]);
      expect(port).toBeGreaterThan(0);
      const address = { host: '127.0.0.1', port, family: 'IPv4' as const };
      for (let i = 0; i < 3; i++) expect(await streamRoundTrip(address, TEST_STR)).toEqual(TEST_STR);
      const childPid = Number(String(await streamRoundTrip(address, Buffer.from('pid\n'))));
      const children = childProcessesOf(script.pid!);
      expect(children).toContain(childPid);
      expect(children).toHaveLength(2);
      const exited = new Promise((resolve) => script.once('exit', resolve));
      script.kill('SIGTERM');
      await exited;
      await until(() => children.every((pid) => processState(pid) !== 'alive'));
    } finally {
      script.kill('SIGKILL');
    }
  });
});
