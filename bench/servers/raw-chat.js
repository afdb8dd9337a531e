// Baseline for chat fan-out: a minimal node:net broadcaster that speaks enough of the chat protocol
// (welcome line, join/leave notices, `<nick> text` to everyone else in the one room) and coalesces:
// all complete lines of one incoming chunk go to each other client in one write.
import net from 'node:net';
import { announce, HOST } from './ready.js';

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');

/** @type {Set<net.Socket>} */
const clients = new Set();
/** @type {Set<number>} */
const usedGuests = new Set();

/** @param {Buffer | string} data @param {net.Socket | undefined} except */
function broadcast(data, except) {
  for (const client of clients) if (client !== except) client.write(data);
}

/** @param {net.Socket} socket */
function onConnection(socket) {
  let guest = 1;
  while (usedGuests.has(guest)) guest += 1;
  usedGuests.add(guest);
  const nick = `guest${guest}`;
  const prefix = Buffer.from(`<${nick}> `);
  socket.write(`-- welcome, you are ${nick} in #lobby (type /help for commands)\n`);
  broadcast(`-- ${nick} joined #lobby\n`, undefined);
  clients.add(socket);

  /** @type {Buffer | undefined} */
  let partial;
  socket.on('data', (/** @type {Buffer} */ data) => {
    const chunk = partial === undefined ? data : Buffer.concat([partial, data]);
    /** @type {Buffer[]} */
    const parts = [];
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      const stop = end > start && chunk[end - 1] === CR ? end - 1 : end;
      if (stop > start) parts.push(prefix, chunk.subarray(start, stop), NEWLINE);
      start = end + 1;
    }
    partial = start < chunk.length ? chunk.subarray(start) : undefined;
    if (parts.length > 0) broadcast(Buffer.concat(parts), socket);
  });
  const leave = () => {
    if (!clients.delete(socket)) return;
    usedGuests.delete(guest);
    broadcast(`-- ${nick} left #lobby (connection closed)\n`, undefined);
  };
  socket.on('end', () => socket.end());
  socket.on('close', leave);
  socket.on('error', () => socket.destroy());
}

const server = net.createServer({ noDelay: true, allowHalfOpen: true }, onConnection);
server.listen({ host: HOST, port: 0, backlog: 511 }, () => {
  announce(/** @type {net.AddressInfo} */ (server.address()).port);
});
