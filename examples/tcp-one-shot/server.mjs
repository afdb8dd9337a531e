// A one-shot request/reply server: it waits for ONE request, answers `OK`, and gives up after 10 s
// without one, as this Python does:
//
//   class Handler(socketserver.BaseRequestHandler):
//       def handle(self):
//           data = self.request.recv(1024)
//           print(f"{self.client_address} wrote: {data!r}")
//           self.request.sendall(b"OK")
//
//   class OneShotServer(socketserver.TCPServer):
//       timeout = 10
//       def handle_timeout(self):
//           print("no request within 10 s, giving up")
//
//   with OneShotServer(("127.0.0.1", 9999), Handler) as server:
//       server.handle_request()
//
// Run: node tcp-one-shot/server.mjs [port]   (TIMEOUT=seconds overrides the 10 s)
import { StreamRequestHandler, TCPServer } from '@sockserve/core';

const port = Number(process.argv[2] ?? 9999);

class Handler extends StreamRequestHandler {
  async handle() {
    // self.request.recv(1024): 1 to 1024 bytes as soon as some arrive (an empty Buffer at EOF).
    const data = await this.rfile.recv(1024);
    console.log(`${this.clientAddress} wrote: ${JSON.stringify(data.toString())}`);
    await this.wfile.write('OK'); // self.request.sendall(b"OK")
  }
}

class OneShotServer extends TCPServer {
  timeout = Number(process.env.TIMEOUT ?? 10); // seconds, as Python's class attribute

  handleTimeout() {
    console.log(`no request within ${this.timeout} s, giving up`);
  }
}

const server = new OneShotServer({ host: '127.0.0.1', port }, Handler);
try {
  await server.listen(); // Python binds in the constructor; here, so that the port is known
  console.log(`listening on ${server.serverAddress}`);
  await server.handleRequest(); // one request, or handleTimeout() after `timeout` seconds
} finally {
  await server.serverClose(); // the end of Python's `with` block
}
