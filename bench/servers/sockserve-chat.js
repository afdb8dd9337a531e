// sockserve ThreadingTCPServer with the shipped chat handler (in-memory hub).
// Reports "unavailable" while @sockserve/handlers has no ChatHandler export.
import { ThreadingTCPServer } from '@sockserve/core';
import { announce, HOST, importHandlers, unavailable } from './ready.js';

const { ChatHandler } = await importHandlers();
if (typeof ChatHandler !== 'function') unavailable('@sockserve/handlers does not export ChatHandler yet');
const server = new ThreadingTCPServer({ host: HOST, port: 0 }, ChatHandler);
await server.listen();
announce(server.serverAddress.port);
await server.serveForever();
