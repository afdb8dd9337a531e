// Reference, no target: a node:net echo written the way the rfile/wfile handler is, with for await
// over the socket and an awaited drain. It shows what that style costs in plain Node.js.
import { once } from 'node:events';
import net from 'node:net';
import { announce, HOST } from './ready.js';

/** @param {net.Socket} socket */
async function echo(socket) {
  socket.on('error', () => socket.destroy());
  try {
    for await (const chunk of socket) if (!socket.write(chunk)) await once(socket, 'drain');
    socket.end();
  } catch {
    socket.destroy();
  }
}

const server = net.createServer({ noDelay: true, allowHalfOpen: true }, echo);
server.listen({ host: HOST, port: 0, backlog: 511 }, () => {
  announce(/** @type {net.AddressInfo} */ (server.address()).port);
});
