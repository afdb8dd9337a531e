// sockserve ThreadingTCPServer with the echo handler a user writes with rfile/wfile.
import { ThreadingTCPServer } from '@sockserve/core';
import { UserEchoStreamHandler } from './echo-handlers.js';
import { announce, HOST } from './ready.js';

const server = new ThreadingTCPServer({ host: HOST, port: 0 }, UserEchoStreamHandler);
await server.listen();
announce(server.serverAddress.port);
await server.serveForever();
