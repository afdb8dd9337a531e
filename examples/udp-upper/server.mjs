// A UDP request/reply server: each datagram is one request, answered upper-cased, as the Python docs'
// UDPServer example:
//
//   class MyUDPHandler(socketserver.BaseRequestHandler):
//       def handle(self):
//           data = self.request[0].strip()
//           socket = self.request[1]
//           print(f"{self.client_address[0]} wrote: {data!r}")
//           socket.sendto(data.upper(), self.client_address)
//
//   with socketserver.UDPServer(("127.0.0.1", 9999), MyUDPHandler) as server:
//       server.serve_forever()
//
// Run: node udp-upper/server.mjs [port], Ctrl-C to stop.
import { BaseRequestHandler, UDPServer } from '@sockserve/core';

const port = Number(process.argv[2] ?? 9999);

/** `this.request` is typed for the server named here: a `DatagramRequest` ({ packet, socket }). */
/** @extends {BaseRequestHandler<UDPServer>} */
class MyUDPHandler extends BaseRequestHandler {
  async handle() {
    const data = this.request.packet.toString('utf8').trim(); // self.request[0].strip()
    const socket = this.request.socket; // self.request[1]
    console.log(`${this.clientAddress.host} wrote: ${JSON.stringify(data)}`);
    await socket.sendTo(Buffer.from(data.toUpperCase()), this.clientAddress); // socket.sendto(...)
  }
}

const server = new UDPServer({ host: '127.0.0.1', port }, MyUDPHandler);
try {
  await server.listen();
  console.log(`listening on ${server.serverAddress}`);
  process.once('SIGINT', () => void server.shutdown());
  await server.serveForever();
} finally {
  await server.serverClose();
}
