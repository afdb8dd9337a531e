/**
 * 50 child crashes in a row on a ForkingTCPServer: children that exit, throw an uncaught error or are
 * killed with SIGKILL in the middle of a request. The server survives each, replaces the child (the
 * pool is back to its size), reaps every dead child (no zombie among its children), and the clients
 * it serves between crashes lose nothing.
 */
import { BaseRequestHandler, type ChildExit, ForkingTCPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import {
  closed,
  echoSession,
  quietConnect,
  randomLines,
  servesNewClient,
  until,
  WAIT_MS,
  withDeadline,
} from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { childrenOf, fixture } from './support/server-process.js';

const CRASHES = 50;
const WAYS = ['exit', 'throw', 'kill'] as const;
const WORKERS = 2;
const KILLS = Array.from({ length: CRASHES }, (_, i) => WAYS[i % WAYS.length]).filter(
  (way) => way === 'kill',
).length;

/** A placeholder: in handlerModule mode the children never use the parent's handler class. */
class UnusedHandler extends BaseRequestHandler<any, any> {}

describe('child crashes', () => {
  it(`${CRASHES} crashes in a row (exit, throw, SIGKILL): pool back to size, no zombie, no byte lost between`, async () => {
    const server = new ForkingTCPServer({ host: '127.0.0.1', port: 0 }, UnusedHandler, {
      workers: WORKERS,
      handlerModule: { module: fixture('forking-handlers.mjs'), exportName: 'LineEcho' },
    });
    const exits: ChildExit[] = [];
    const errors: unknown[] = [];
    let spawned = 0;
    server.on('child-exit', (exit) => exits.push(exit));
    server.on('request-error', (error) => errors.push(error));
    server.on('child-spawn', () => spawned++);
    await server.listen();
    const loop = server.serveForever();
    try {
      const address = server.serverAddress;
      expect(await servesNewClient(address)).toBe(true);
      let wellBehavedBytes = 0;
      for (let i = 0; i < CRASHES; i++) {
        const victim = await quietConnect(address);
        victim.write(`${WAYS[i % WAYS.length]}\n`);
        await withDeadline(closed(victim), `the connection of crash ${i + 1} closing`);
        await until(() => exits.length > i, `child-exit for crash ${i + 1}`);
        // A well-behaved client between crashes.
        const session = await echoSession(address);
        await session.send(randomLines(10).join(''));
        await session.finish();
        expect(session.intact()).toBe(true);
        wellBehavedBytes += session.sentBytes();
      }
      expect(exits).toHaveLength(CRASHES);
      expect(exits.every((exit) => !exit.expected)).toBe(true);
      expect(exits.filter((exit) => exit.signal === 'SIGKILL')).toHaveLength(KILLS);

      // The pool is back to its size, with live children only, and nothing is left unreaped.
      await until(() => server.childPids.length === WORKERS, 'the pool back to its size', 2 * WAIT_MS);
      await until(
        () => childrenOf(process.pid).every((child) => child.state !== 'Z'),
        'every dead child reaped',
      );
      const children = childrenOf(process.pid);
      expect(children.map((child) => child.pid).sort()).toEqual([...server.childPids].sort());
      expect(await servesNewClient(address)).toBe(true);
      await until(() => server.activeRequestCount === 0, 'no request left running');

      recordFigures('child-crashes', {
        server: `ForkingTCPServer, ${WORKERS} workers`,
        crashes: CRASHES,
        ways: WAYS,
        childExitEvents: exits.length,
        bySignal: exits.filter((exit) => exit.signal !== null).length,
        byExitCode: exits.filter((exit) => exit.code !== null).length,
        lostRequests: exits.reduce((sum, exit) => sum + exit.lostRequests, 0),
        requestErrorEvents: errors.length,
        childrenSpawned: spawned,
        poolSizeAfter: server.childPids.length,
        zombiesAfter: childrenOf(process.pid).filter((child) => child.state === 'Z').length,
        wellBehavedBytes,
        wellBehavedBytesLost: 0,
      });
    } finally {
      await server.shutdown();
      await server.serverClose();
      await loop;
    }
    // Each crash costs a child start (a Node process): give the loop room on a busy machine.
  }, 120_000);
});
