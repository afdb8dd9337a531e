// sockserve ThreadingUDPServer with the shipped datagram echo handler.
import { ThreadingUDPServer } from '@sockserve/core';
import { EchoDatagramHandler } from '@sockserve/handlers';
import { announce, announceHandler, HOST } from './ready.js';

const server = new ThreadingUDPServer({ host: HOST, port: 0 }, EchoDatagramHandler);
await server.listen();
announceHandler('EchoDatagramHandler');
announce(server.serverAddress.port);
await server.serveForever();
