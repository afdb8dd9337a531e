// Baseline: a plain node:net echo server.
import net from 'node:net';
import { echoConnection } from './net-echo.js';
import { announce, HOST } from './ready.js';

const server = net.createServer({ noDelay: true, allowHalfOpen: true }, echoConnection);
server.listen({ host: HOST, port: 0, backlog: 511 }, () => {
  announce(/** @type {net.AddressInfo} */ (server.address()).port);
});
