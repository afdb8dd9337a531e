// sockserve ThreadingTCPServer with the shipped echo handler (a stand-in until it ships).
import { ThreadingTCPServer } from '@sockserve/core';
import { shippedEchoStreamHandler } from './echo-handlers.js';
import { announce, announceHandler, HOST } from './ready.js';

const { Handler, name } = await shippedEchoStreamHandler();
const server = new ThreadingTCPServer({ host: HOST, port: 0 }, Handler);
await server.listen();
announceHandler(name);
announce(server.serverAddress.port);
await server.serveForever();
