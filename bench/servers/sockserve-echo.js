// sockserve ThreadingTCPServer with the shipped echo handler.
import { ThreadingTCPServer } from '@sockserve/core';
import { EchoStreamHandler } from '@sockserve/handlers';
import { announce, announceHandler, HOST } from './ready.js';

const server = new ThreadingTCPServer({ host: HOST, port: 0 }, EchoStreamHandler);
await server.listen();
announceHandler('EchoStreamHandler');
announce(server.serverAddress.port);
await server.serveForever();
