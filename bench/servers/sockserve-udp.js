// sockserve ThreadingUDPServer with the shipped datagram echo handler. It reads and sends in batches
// through @sockserve/udp-native (a dependency of the bench); `--no-batching` measures node:dgram alone.
import { ThreadingUDPServer } from '@sockserve/core';
import { EchoDatagramHandler } from '@sockserve/handlers';
import { announce, announceHandler, HOST } from './ready.js';

const nativeBatching = !process.argv.includes('--no-batching');
const server = new ThreadingUDPServer({ host: HOST, port: 0 }, EchoDatagramHandler, { nativeBatching });
await server.listen();
announceHandler(
  `EchoDatagramHandler, ${server.batching ? 'batched (@sockserve/udp-native)' : 'node:dgram only'}`,
);
announce(server.serverAddress.port);
await server.serveForever();
