// A threading server whose handler loops on recv/sendall until the client closes, as this Python does:
//
//   class Handler(socketserver.BaseRequestHandler):
//       def handle(self):
//           while True:
//               data = self.request.recv(1024)
//               if not data:
//                   break
//               self.request.sendall(data.upper())
//
//   class Server(socketserver.ThreadingTCPServer):
//       daemon_threads = True
//       allow_reuse_address = True
//
//   with Server(("127.0.0.1", 9999), Handler) as server:
//       signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
//       server.serve_forever()
//
// Each connection runs as its own async task on the event loop (Node's "thread"); handlers share memory
// as Python threads do. Run: node threading-echo/server.mjs [port], Ctrl-C to stop.
import { StreamRequestHandler, ThreadingTCPServer } from '@sockserve/core';

const port = Number(process.argv[2] ?? 9999);
let served = 0; // shared by every handler, as a module global is shared by Python's threads

class Handler extends StreamRequestHandler {
  async handle() {
    served += 1;
    for (;;) {
      const data = await this.rfile.recv(1024); // self.request.recv(1024)
      if (data.length === 0) break; // b"": the client closed its side
      await this.wfile.write(data.toString('utf8').toUpperCase()); // self.request.sendall(...)
    }
  }
}

class Server extends ThreadingTCPServer {
  daemonThreads = true; // serverClose() does not wait for running handlers
  allowReuseAddress = true; // Node.js always sets SO_REUSEADDR on TCP listeners: true is the default
}

const server = new Server({ host: '127.0.0.1', port }, Handler);
try {
  await server.listen();
  console.log(`listening on ${server.serverAddress}`);
  // shutdown() from "another thread": any callback may call it; it resolves once the loop has stopped.
  process.once('SIGINT', () => void server.shutdown());
  await server.serveForever();
  console.log(`stopped after ${served} connection(s)`);
} finally {
  await server.serverClose();
}
