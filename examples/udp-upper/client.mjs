// The client of udp-upper/server.mjs, as the Python docs' UDP client (which, unlike this one, does not
// ask again when an answer is lost):
//
//   sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
//   sock.settimeout(5)
//   sock.sendto(bytes(data + "\n", "utf-8"), ("127.0.0.1", 9999))
//   received = str(sock.recv(1024), "utf-8")
//
// Run: node udp-upper/client.mjs [port] [message]
import dgram from 'node:dgram';
import { once } from 'node:events';

const port = Number(process.argv[2] ?? 9999);
const message = process.argv[3] ?? 'hello';

const socket = dgram.createSocket('udp4');
try {
  // UDP may lose the datagram or its reply: ask again each second, and give up after 5 tries (5 s,
  // as sock.settimeout(5) does), as a UDP client that must get an answer does.
  let reply;
  for (let attempt = 1; reply === undefined; attempt++) {
    socket.send(`${message}\n`, port, '127.0.0.1');
    try {
      [reply] = await once(socket, 'message', { signal: AbortSignal.timeout(1000) });
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
  console.log(`sent: ${message}`);
  console.log(`received: ${reply.toString('utf8')}`);
} finally {
  socket.close();
}
