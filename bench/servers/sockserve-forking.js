// sockserve ForkingTCPServer with the shipped echo handler: a pool of 2 children, or with
// --per-request a fresh child per connection (at most 40, as Python's ForkingMixIn).
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
const options = process.argv.includes('--per-request')
  ? { perRequest: true, maxChildren: 40 }
  : { workers: 2 };
const server = new ForkingTCPServer({ host: HOST, port: 0 }, Handler, options);
await server.listen();
// The children re-run this module to serve; only the parent announces itself.
if (!server.isChild) {
  announceHandler(name);
  announce(server.serverAddress.port);
}
await server.serveForever();
