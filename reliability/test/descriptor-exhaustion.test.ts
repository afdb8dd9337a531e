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
 * The forking server is left out of the normal run: when its children run out of descriptors and
 * clients reset while their connections are being handed over, the parent process dies of an
 * ERR_INTERNAL_ASSERTION in Node's node:internal/child_process (a NODE_HANDLE_ACK/NACK with no handle
 * queue), so the server stops for good. SOCKSERVE_RELIABILITY_KNOWN_BUGS=1 runs it.
 */
const MODES = process.env.SOCKSERVE_RELIABILITY_KNOWN_BUGS ? ['threading', 'forking'] : ['threading'];

describe.each(MODES)('descriptor exhaustion, %s server', (mode) => {
  it(`with ulimit -n ${NOFILE}, ${FLOOD} held connections: accepted clients lose nothing and a new client is served after`, async () => {
    await using server = await startServerProcess('stream-server.mjs', ['--mode', mode, '--workers', '2'], {
      nofile: NOFILE,
    });
    const address = { host: '127.0.0.1', port: server.port };
    expect(await servesNewClient(address)).toBe(true);
    // Forking: the parent's and its children's (which are who run out) together.
    const baseline = treeDescriptors(server);

    const holders: EchoSession[] = [];
    for (let i = 0; i < HOLDERS; i++) {
      const session = await echoSession(address);
      await session.send(randomLines(1)[0]!);
      holders.push(session);
    }

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
