// sockserve ForkingTCPServer, a pool of 2 children, with the shipped echo handler.
// Reports "unavailable" while @sockserve/core has no ForkingTCPServer export.
import * as core from '@sockserve/core';
import { shippedEchoStreamHandler } from './echo-handlers.js';
import { announce, announceHandler, HOST, unavailable } from './ready.js';

/** @type {any} */
const ForkingTCPServer = /** @type {Record<string, unknown>} */ (core).ForkingTCPServer;
if (typeof ForkingTCPServer !== 'function') {
  unavailable('@sockserve/core does not export ForkingTCPServer yet');
}
const { Handler, name } = await shippedEchoStreamHandler();
const server = new ForkingTCPServer({ host: HOST, port: 0 }, Handler, { workers: 2 });
await server.listen();
// The children re-run this module to serve; only the parent announces itself.
if (!server.isChild) {
  announceHandler(name);
  announce(server.serverAddress.port);
}
await server.serveForever();
