// The client of threading-echo/server.mjs: three connections at once, each sends its lines one by one
// and reads each reply before the next (sock.sendall, then sock.recv), as Python's:
//
//   def client(name):
//       with socket.create_connection(("127.0.0.1", 9999)) as sock:
//           for word in ("hello", "world"):
//               sock.sendall(f"{name} {word}".encode())
//               print(sock.recv(1024).decode())
//
// Run: node threading-echo/client.mjs [port]

import { once } from 'node:events';
import net from 'node:net';

const port = Number(process.argv[2] ?? 9999);

/** @param {string} name */
async function client(name) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const replies = socket[Symbol.asyncIterator]();
  for (const word of ['hello', 'world']) {
    const sent = `${name} ${word}`;
    socket.write(sent);
    // TCP is a byte stream: read until the whole reply is in.
    let reply = '';
    while (reply.length < sent.length) {
      const { value, done } = await replies.next();
      if (done) throw new Error(`${name}: the server closed the connection`);
      reply += value.toString('utf8');
    }
    console.log(reply);
  }
  socket.end(); // the server's recv() returns b"" and its handler ends, closing its side too
  while (!(await replies.next()).done); // read to the server's end of the stream
}

await Promise.all(['one', 'two', 'three'].map(client));
