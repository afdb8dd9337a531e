// sockserve ForkingTCPServer with the shipped echo handler: a pool of 2 children, or with
// --per-request a fresh child per connection (at most 40, as Python's ForkingMixIn).
import { ForkingTCPServer } from '@sockserve/core';
import { EchoStreamHandler } from '@sockserve/handlers';
import { announce, announceHandler, HOST } from './ready.js';

const options = process.argv.includes('--per-request')
  ? { perRequest: true, maxChildren: 40 }
  : { workers: 2 };
const server = new ForkingTCPServer({ host: HOST, port: 0 }, EchoStreamHandler, options);
await server.listen();
// The children re-run this module to serve; only the parent announces itself.
if (!server.isChild) {
  announceHandler('EchoStreamHandler');
  announce(server.serverAddress.port);
}
await server.serveForever();
