// Baseline: a plain node:tls echo server (the node:net echo's callback style), with the certificate
// given as `--key FILE --cert FILE`.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { echoConnection } from './net-echo.js';
import { announce, HOST } from './ready.js';

const { values } = parseArgs({ options: { key: { type: 'string' }, cert: { type: 'string' } } });
const server = tls.createServer(
  {
    key: readFileSync(String(values.key)),
    cert: readFileSync(String(values.cert)),
    noDelay: true,
    allowHalfOpen: true,
  },
  echoConnection,
);
server.listen({ host: HOST, port: 0, backlog: 511 }, () => {
  announce(/** @type {import('node:net').AddressInfo} */ (server.address()).port);
});
