// ESM consumer of the packed packages, run by scripts/pack-install-check.mjs in a fresh project
// outside the workspace: a TCP echo, a UDP echo (batched through @sockserve/udp-native's prebuilt
// addon on linux-x64) and a Unix datagram echo (same addon), each answered once over loopback.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCPServer, ThreadingUDPServer, UnixDatagramServer, UnixDatagramSocket } from '@sockserve/core';
import { EchoDatagramHandler, EchoStreamHandler } from '@sockserve/handlers';

const expectBatching = process.platform === 'linux' && process.arch === 'x64';
const deadline = setTimeout(() => {
  console.error('esm consumer: timed out after 30 s');
  process.exit(1);
}, 30_000);

async function tcpEcho() {
  const server = new TCPServer({ host: '127.0.0.1', port: 0 }, EchoStreamHandler);
  await server.listen();
  const serving = server.serveForever();
  const { port } = server.serverAddress;
  const reply = await new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.end('hello tcp\n'));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
  await server.shutdown();
  await serving;
  await server.serverClose();
  assert.equal(reply, 'hello tcp\n');
  console.log('ok - TCP echo');
}

async function udpEcho() {
  const server = new ThreadingUDPServer({ host: '127.0.0.1', port: 0 }, EchoDatagramHandler);
  await server.listen();
  const serving = server.serveForever();
  const batching = server.batching;
  const client = dgram.createSocket('udp4');
  const reply = await new Promise((resolve, reject) => {
    client.once('message', (message) => resolve(message.toString()));
    client.once('error', reject);
    client.send('hello udp', server.serverAddress.port, '127.0.0.1');
  });
  client.close();
  await server.shutdown();
  await serving;
  await server.serverClose();
  assert.equal(reply, 'hello udp');
  if (expectBatching) assert.equal(batching, true, 'server.batching on linux-x64 (the prebuilt addon)');
  console.log(`ok - UDP echo (server.batching: ${batching})`);
}

async function unixDatagramEcho() {
  const dir = mkdtempSync(join(tmpdir(), 'sockserve-consumer-'));
  try {
    const path = join(dir, 'echo.sock');
    const server = new UnixDatagramServer(path, EchoDatagramHandler);
    await server.listen();
    const serving = server.serveForever();
    const client = await UnixDatagramSocket.bind(join(dir, 'client.sock'));
    const reply = new Promise((resolve) => client.onMessage((packet) => resolve(packet.toString())));
    await client.sendTo(Buffer.from('hello unix'), path);
    assert.equal(await reply, 'hello unix');
    await client.close();
    await server.shutdown();
    await serving;
    await server.serverClose();
    console.log('ok - Unix datagram echo');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await tcpEcho();
await udpEcho();
if (expectBatching) await unixDatagramEcho();
clearTimeout(deadline);
