// sockserve ThreadingUDPServer with the datagram echo handler a user writes with rfile/wfile.
import { ThreadingUDPServer } from '@sockserve/core';
import { UserEchoDatagramHandler } from './echo-handlers.js';
import { announce, HOST } from './ready.js';

const server = new ThreadingUDPServer({ host: HOST, port: 0 }, UserEchoDatagramHandler);
await server.listen();
announce(server.serverAddress.port);
await server.serveForever();
