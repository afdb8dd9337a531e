// sockserve ThreadingTCPServer whose handler sends the download file with wfile.sendfile(): zero-copy
// sendfile(2) with @sockserve/udp-native on Linux, streamed through wfile.write() otherwise.
import { StreamRequestHandler, ThreadingTCPServer } from '@sockserve/core';
import { DOWNLOAD_FILE } from './download-file.js';
import { announce, HOST } from './ready.js';

class SendfileHandler extends StreamRequestHandler {
  /** @override */
  async handle() {
    await this.wfile.sendfile(DOWNLOAD_FILE);
  }
}

const server = new ThreadingTCPServer({ host: HOST, port: 0 }, SendfileHandler);
await server.listen();
announce(server.serverAddress.port);
await server.serveForever();
