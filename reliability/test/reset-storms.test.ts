/**
 * Reset storms: 200 clients reset their connection (RST) while the server reads from them or while
 * it is writing a large reply to them. The server, in its own process, ends each request quietly,
 * its descriptor count comes back to where it started, the well-behaved clients talking meanwhile
 * lose nothing, and a new client is served afterwards.
 */
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type EchoSession,
  echoSession,
  inBatches,
  quietConnect,
  randomLines,
  servesNewClient,
  sleep,
  type TcpAddress,
  until,
  WAIT_MS,
  withDeadline,
} from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { type ServerProcess, startServerProcess, treeDescriptors } from './support/server-process.js';

const RESETS = 200;
const WELL_BEHAVED = 3;

/** The descriptor count once two readings 200 ms apart agree (the warm-up's sockets closed), at most 20 tries. */
async function settledDescriptors(server: ServerProcess): Promise<number> {
  let previous = treeDescriptors(server);
  for (let tries = 0; tries < 20; tries++) {
    await sleep(200);
    const count = treeDescriptors(server);
    if (count === previous) return count;
    previous = count;
  }
  throw new Error(`the descriptor count of the server never settled (last ${previous})`);
}

/** Resolves with the first data the socket receives. */
function firstData(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once('data', () => resolve()));
}

/** A client that resets in the middle of the server's read: part of a line (or of a stream), then RST. */
async function resetMidRead(address: TcpAddress): Promise<void> {
  const socket = await quietConnect(address);
  socket.write('part of a line that never ends');
  await new Promise((resolve) => setImmediate(resolve));
  socket.resetAndDestroy();
}

/**
 * A client that resets in the middle of the server's write: it asks for 8 MiB (`big`), or for the
 * in-place echo sends 4 MiB without reading, waits until the reply has started, then resets.
 */
async function resetMidWrite(address: TcpAddress, handler: string): Promise<void> {
  const socket = await quietConnect(address);
  socket.pause();
  const started = firstData(socket);
  if (handler === 'echo') socket.write(Buffer.alloc(4 * 1024 * 1024, 'z'));
  else socket.write(`big ${8 * 1024 * 1024}\n`);
  socket.resume();
  await withDeadline(started, 'the reply starting');
  socket.pause();
  socket.resetAndDestroy();
}

const setups = [
  { mode: 'threading', handler: 'line' },
  { mode: 'threading', handler: 'echo' },
  { mode: 'forking', handler: 'line' },
];

describe.each(setups)('reset storms, $mode server, $handler handler', ({ mode, handler }) => {
  it(`${RESETS} resets mid-read and mid-write: descriptors back where they started, nothing lost`, async () => {
    await using server = await startServerProcess('stream-server.mjs', [
      '--mode',
      mode,
      '--handler',
      handler,
      '--workers',
      '2',
    ]);
    const address = { host: '127.0.0.1', port: server.port };
    // Warm up (lazily made descriptors, every child of a pool) before the baseline is taken.
    await Promise.all(Array.from({ length: 4 }, () => servesNewClient(address)));
    const baseline = await settledDescriptors(server);

    const sessions: EchoSession[] = await Promise.all(
      Array.from({ length: WELL_BEHAVED }, () => echoSession(address)),
    );
    let storming = true;
    const talking = sessions.map(async (session) => {
      while (storming) await session.send(randomLines(20).join(''));
    });
    await inBatches(RESETS, 20, (index) =>
      index % 2 === 0 ? resetMidRead(address) : resetMidWrite(address, handler),
    );
    storming = false;
    await Promise.all(talking);
    await Promise.all(sessions.map((session) => session.finish()));
    expect(sessions.every((session) => session.intact())).toBe(true);

    let peak = 0;
    await until(
      () => {
        server.assertAlive();
        const count = treeDescriptors(server);
        peak = Math.max(peak, count);
        return count <= baseline;
      },
      `the server's descriptors back to ${baseline}`,
      2 * WAIT_MS,
    );
    const after = treeDescriptors(server);
    expect(after).toBe(baseline);
    expect(await servesNewClient(address)).toBe(true);
    recordFigures(`reset-storms-${mode}-${handler}`, {
      server: `${mode === 'forking' ? 'ForkingTCPServer (2 workers)' : 'ThreadingTCPServer'}, ${handler === 'echo' ? 'EchoStreamHandler (in-place reads)' : 'line handler (rfile/wfile)'}, in its own process`,
      resetsMidRead: RESETS / 2,
      resetsMidWrite: RESETS / 2,
      descriptorsBaseline: baseline,
      descriptorsAfter: after,
      wellBehavedClients: WELL_BEHAVED,
      wellBehavedBytes: sessions.reduce((sum, session) => sum + session.sentBytes(), 0),
      wellBehavedBytesLost: 0,
    });
  }, 60_000);
});
