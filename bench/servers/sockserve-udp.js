// sockserve ThreadingUDPServer with the shipped datagram echo handler (a stand-in until it ships).
import { ThreadingUDPServer } from '@sockserve/core';
import { shippedEchoDatagramHandler } from './echo-handlers.js';
import { announce, announceHandler, HOST } from './ready.js';

const { Handler, name } = await shippedEchoDatagramHandler();
const server = new ThreadingUDPServer({ host: HOST, port: 0 }, Handler);
await server.listen();
announceHandler(name);
announce(server.serverAddress.port);
await server.serveForever();
