// Baseline: node:cluster with 2 workers, each the plain node:net echo.
import cluster from 'node:cluster';
import net from 'node:net';
import { echoConnection } from './net-echo.js';
import { announce, HOST } from './ready.js';

const WORKERS = 2;

if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    listening += 1;
    if (listening === WORKERS) announce(address.port);
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  process.removeAllListeners('SIGTERM');
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill();
    process.exit(0);
  });
} else {
  // In cluster workers, port 0 is one port that every worker shares.
  net
    .createServer({ noDelay: true, allowHalfOpen: true }, echoConnection)
    .listen({ host: HOST, port: 0, backlog: 511 });
}
