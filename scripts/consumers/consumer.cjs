// CommonJS consumer of the published packages.
//
// Contract (scripts/consumers/*): each file is a small program that a packaging check runs inside a
// fresh project outside the workspace, where the packed tarballs of @sockserve/core,
// @sockserve/handlers and (optionally) @sockserve/udp-native are installed; the file is copied into
// that project's root and run from there (cwd = that root). It must import only
// those installed packages and node: built-ins, run a TCP and a UDP echo round trip on 127.0.0.1,
// print one line saying what it checked, and exit 0 on success or 1 on failure. `.cjs` and `.mjs`
// files are run with `node FILE`; `.ts` files are first type-checked and compiled with `tsc` against
// the installed packages' types (see consumer.ts). On linux-x64 with @sockserve/udp-native installed,
// the UDP server must read and send in batches (`server.batching`).
'use strict';

const dgram = require('node:dgram');
const net = require('node:net');
const { TCPServer, ThreadingTCPServer, UDPServer } = require('@sockserve/core');
const { EchoDatagramHandler, EchoStreamHandler } = require('@sockserve/handlers');

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const MESSAGE = 'hello from a CommonJS consumer\n';

/** True when the native package is installed next to core (batching is then expected on linux-x64). */
function nativeInstalled() {
  try {
    require.resolve('@sockserve/udp-native');
    return true;
  } catch {
    return false;
  }
}

function tcpRoundTrip(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(MESSAGE));
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
}

function udpRoundTrip(port) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message) => {
      socket.close();
      resolve(message.toString());
    });
    socket.on('error', reject);
    socket.send(MESSAGE, port, '127.0.0.1');
  });
}

async function main() {
  if (typeof TCPServer !== 'function') throw new Error('require("@sockserve/core") gave no TCPServer');

  const tcp = new ThreadingTCPServer(LOOPBACK, EchoStreamHandler);
  await tcp.listen();
  const tcpServing = tcp.serveForever();
  const tcpReply = await tcpRoundTrip(tcp.serverAddress.port);
  await tcp.shutdown();
  await tcpServing;
  await tcp.serverClose();
  if (tcpReply !== MESSAGE) throw new Error(`TCP echo returned ${JSON.stringify(tcpReply)}`);

  const udp = new UDPServer(LOOPBACK, EchoDatagramHandler);
  await udp.listen();
  const udpServing = udp.serveForever();
  const udpReply = await udpRoundTrip(udp.serverAddress.port);
  const batching = udp.batching;
  await udp.shutdown();
  await udpServing;
  await udp.serverClose();
  if (udpReply !== MESSAGE) throw new Error(`UDP echo returned ${JSON.stringify(udpReply)}`);
  if (process.platform === 'linux' && process.arch === 'x64' && nativeInstalled() && !batching) {
    throw new Error('UDP batching is off on linux-x64 although @sockserve/udp-native is installed');
  }

  console.log(
    `consumer.cjs: TCP and UDP echo ok on Node.js ${process.version} (UDP batching ${batching ? 'on' : 'off'})`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('consumer.cjs failed:', error);
    process.exit(1);
  },
);
