// TypeScript consumer of the published packages: the types of the installed tarballs must compile
// under `strict` with `module: nodenext`, and the compiled program must run.
//
// Contract (scripts/consumers/*): each file is a small program that a packaging check runs inside a
// fresh project outside the workspace, where the packed tarballs of @sockserve/core,
// @sockserve/handlers and (optionally) @sockserve/udp-native are installed; the file is copied into
// that project's root and run from there (cwd = that root). It must import only
// those installed packages and node: built-ins, run a TCP and a UDP echo round trip on 127.0.0.1,
// print one line saying what it checked, and exit 0 on success or 1 on failure. `.cjs` and `.mjs`
// files are run with `node FILE`. A `.ts` file such as this one is type-checked and compiled first,
// with typescript and @types/node installed in that project:
//   tsc --strict --module nodenext --moduleResolution nodenext --target es2022 --lib es2022,esnext.disposable
//       --types node --skipLibCheck false --outDir out consumer.ts && node out/consumer.js
// It has no top-level await, so it compiles and runs as CommonJS and as ESM (either `type`).
// On linux-x64 with @sockserve/udp-native installed, the UDP server must read and send in batches.

import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import net from 'node:net';
import { type InetAddress, ThreadingTCPServer, UDPServer } from '@sockserve/core';
import { EchoDatagramHandler, EchoStreamHandler } from '@sockserve/handlers';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const MESSAGE = 'hello from a TypeScript consumer\n';

/** True when the native package is installed next to core (batching is then expected on linux-x64). */
function nativeInstalled(): boolean {
  try {
    createRequire(`${process.cwd()}/`).resolve('@sockserve/udp-native');
    return true;
  } catch {
    return false;
  }
}

function tcpRoundTrip(address: InetAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address.port, address.host, () => socket.end(MESSAGE));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
}

function udpRoundTrip(address: InetAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message: Buffer) => {
      socket.close();
      resolve(message.toString());
    });
    socket.on('error', reject);
    socket.send(MESSAGE, address.port, address.host);
  });
}

async function main(): Promise<void> {
  let tcpReply: string;
  {
    // `await using` closes the server at the end of the block (needs Symbol.asyncDispose: Node.js >= 20.4).
    await using tcp = new ThreadingTCPServer(LOOPBACK, EchoStreamHandler);
    await tcp.listen();
    const serving: Promise<void> = tcp.serveForever();
    tcpReply = await tcpRoundTrip(tcp.serverAddress);
    await tcp.shutdown();
    await serving;
  }
  if (tcpReply !== MESSAGE) throw new Error(`TCP echo returned ${JSON.stringify(tcpReply)}`);

  let udpReply: string;
  let batching: boolean;
  {
    await using udp = new UDPServer(LOOPBACK, EchoDatagramHandler);
    await udp.listen();
    const serving: Promise<void> = udp.serveForever();
    udpReply = await udpRoundTrip(udp.serverAddress);
    batching = udp.batching;
    await udp.shutdown();
    await serving;
  }
  if (udpReply !== MESSAGE) throw new Error(`UDP echo returned ${JSON.stringify(udpReply)}`);
  if (process.platform === 'linux' && process.arch === 'x64' && nativeInstalled() && !batching) {
    throw new Error('UDP batching is off on linux-x64 although @sockserve/udp-native is installed');
  }

  console.log(
    `consumer.ts: TCP and UDP echo ok on Node.js ${process.version} (UDP batching ${batching ? 'on' : 'off'})`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('consumer.ts failed:', error);
    process.exit(1);
  },
);
