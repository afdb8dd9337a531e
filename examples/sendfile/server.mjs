// A file sender: every connection gets the whole file, sent with sendfile(), then the server closes
// it, as this Python does:
//
//   class FileHandler(socketserver.StreamRequestHandler):
//       def handle(self):
//           with open(PATH, "rb") as file:
//               sent = self.request.sendfile(file)
//           print(f"sent {sent} bytes to {self.client_address}")
//
//   with socketserver.ThreadingTCPServer(("127.0.0.1", 9999), FileHandler) as server:
//       server.serve_forever()
//
// wfile.sendfile() is zero-copy (sendfile(2)) on Linux with @sockserve/udp-native installed, and
// streams the file otherwise, with the same bytes either way.
// Run: node sendfile/server.mjs [port] [file]   (the file defaults to this script), Ctrl-C to stop.
import { fileURLToPath } from 'node:url';
import { StreamRequestHandler, ThreadingTCPServer } from '@sockserve/core';

const port = Number(process.argv[2] ?? 9999);
const path = process.argv[3] ?? fileURLToPath(import.meta.url);

class FileHandler extends StreamRequestHandler {
  async handle() {
    const sent = await this.wfile.sendfile(path); // opens and closes the file itself
    console.log(`sent ${sent} bytes to ${this.clientAddress}`);
  }
}

const server = new ThreadingTCPServer({ host: '127.0.0.1', port }, FileHandler);
try {
  await server.listen();
  console.log(`listening on ${server.serverAddress}, sending ${path}`);
  process.once('SIGINT', () => void server.shutdown());
  await server.serveForever();
} finally {
  await server.serverClose();
}
