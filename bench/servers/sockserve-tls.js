// sockserve ThreadingTCPServer with the shipped echo handler over TLS (the `tls` option), with the
// certificate given as `--key FILE --cert FILE`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ThreadingTCPServer } from '@sockserve/core';
import { EchoStreamHandler } from '@sockserve/handlers';
import { announce, announceHandler, HOST } from './ready.js';

const { values } = parseArgs({ options: { key: { type: 'string' }, cert: { type: 'string' } } });
const server = new ThreadingTCPServer({ host: HOST, port: 0 }, EchoStreamHandler, {
  tls: { key: readFileSync(String(values.key)), cert: readFileSync(String(values.cert)) },
});
await server.listen();
announceHandler('EchoStreamHandler');
announce(server.serverAddress.port);
await server.serveForever();
