// sockserve ThreadingTCPServer with the shipped chat handler (in-memory hub).
import { ThreadingTCPServer } from '@sockserve/core';
import { ChatHandler } from '@sockserve/handlers';
import { announce, HOST } from './ready.js';

const server = new ThreadingTCPServer({ host: HOST, port: 0 }, ChatHandler);
await server.listen();
announce(server.serverAddress.port);
await server.serveForever();
