/** A connected pair of real TCP sockets on 127.0.0.1, for the reader and writer tests. */
import { once } from 'node:events';
import net from 'node:net';

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

/** Closes every pair made so far (call it from `afterEach`). */
export async function closeSocketPairs(): Promise<void> {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
}

/** `local` is the accepted socket under test; `peer` is the client the test drives. */
export async function socketPair(): Promise<{ local: net.Socket; peer: net.Socket }> {
  const server = net.createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const peer = net.connect(port, '127.0.0.1');
  sockets.push(peer);
  peer.on('error', () => {}); // the peer side may see EPIPE/ECONNRESET when a test tears down early
  const [[local]] = (await Promise.all([accepted, once(peer, 'connect')])) as [[net.Socket], unknown];
  sockets.push(local);
  return { local, peer };
}
