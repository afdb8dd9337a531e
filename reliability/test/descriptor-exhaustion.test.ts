/**
 * Descriptor exhaustion: the server runs in its own process under `prlimit --nofile=64:64` and 150
 * clients connect and stay. It runs out of descriptors; the clients it had already accepted keep
 * being served without losing a byte, and once the flood leaves, a new client is served. (How the
 * server reports EMFILE is not asserted here.)
 */
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type EchoSession,
  echoSession,
  quietConnect,
  randomLines,
  servesNewClient,
  until,
} from './support/clients.js';
import { recordFigures } from './support/figures.js';
import { busiestProcess, startServerProcess, treeDescriptors } from './support/server-process.js';

const NOFILE = 64;
const FLOOD = 150;
const HOLDERS = 5;

/**
 * Forking: the parent hands each connection on, and its children run out. Until a child answered a
 * connection it could not take itself (instead of Node's NACK, see the forking mixin's ParentLink),
 * the parent died here of ERR_INTERNAL_ASSERTION in node:internal/child_process.
 */
describe.each(['threading', 'forking'])('descriptor exhaustion, %s server', (mode) => {
  it(`with ulimit -n ${NOFILE}, ${FLOOD} held connections: accepted clients lose nothing and a new client is served after`, async () => {
    await using server = await startServerProcess('stream-server.mjs', ['--mode', mode, '--workers', '2'], {
      nofile: NOFILE,
    });
    const address = { host: '127.0.0.1', port: server.port };
    expect(await servesNewClient(address)).toBe(true);

    const holders: EchoSession[] = [];
    for (let i = 0; i < HOLDERS; i++) {
      const session = await echoSession(address);
      await session.send(randomLines(1)[0]!);
      holders.push(session);
    }
    // Without the holders' connections (one descriptor each). Forking: the parent's and its
    // children's (which are who run out) together, taken once every child has served a connection
    // (the holders are spread over them): a child opens a descriptor or two of its own at its start
    // and at its first connection, which are not the flood's.
    const baseline = treeDescriptors(server) - HOLDERS;

    const flood: net.Socket[] = [];
    const outcome = { echoed: 0, closed: 0 };
    for (let i = 0; i < FLOOD; i++) {
      const socket = await quietConnect(address); // the kernel completes the handshake from the backlog
      socket.once('data', () => outcome.echoed++);
      socket.once('close', () => outcome.closed++);
      socket.write('hello\n');
      flood.push(socket);
    }
    // In threading mode the server process itself runs out; a forking parent hands the sockets on
    // and its children run out instead: wait until the flood has been taken as far as it goes.
    let peak = 0;
    await until(() => {
      peak = Math.max(peak, busiestProcess(server));
      return outcome.echoed + outcome.closed >= FLOOD || peak >= NOFILE - 2;
    }, 'the flood exhausting the descriptors');

    // The clients accepted before the flood are still served, byte for byte.
    await Promise.all(holders.map((session) => session.send(randomLines(50).join(''))));
    expect(holders.every((session) => session.intact())).toBe(true);

    const echoedDuringFlood = outcome.echoed;
    const closedDuringFlood = outcome.closed;
    for (const socket of flood) socket.destroy();
    await Promise.all(holders.map((session) => session.finish()));
    expect(holders.every((session) => session.intact())).toBe(true);
    await until(() => {
      server.assertAlive();
      return treeDescriptors(server) <= baseline;
    }, 'the descriptors of the flood released');
    expect(await servesNewClient(address)).toBe(true);
    // Nothing printed: no Node.js warning (SentHandleNotReceivedWarning), no crash.
    expect(server.stderr()).toBe('');

    recordFigures(`descriptor-exhaustion-${mode}`, {
      server: `${mode === 'forking' ? 'ForkingTCPServer (2 workers)' : 'ThreadingTCPServer'} in its own process, prlimit --nofile=${NOFILE}:${NOFILE}`,
      floodConnections: FLOOD,
      floodEchoed: echoedDuringFlood,
      floodClosedByServer: closedDuringFlood,
      floodLeftWaiting: FLOOD - echoedDuringFlood - closedDuringFlood,
      serverDescriptorsBaseline: baseline,
      busiestProcessDescriptorsPeak: peak,
      serverDescriptorsAfter: treeDescriptors(server),
      holders: HOLDERS,
      holderBytesLost: 0,
      newClientServedAfter: true,
    });
  });
});
