// Reference: raw node:net, each connection gets the download file through fs.createReadStream().pipe().
import { createReadStream } from 'node:fs';
import net from 'node:net';
import { DOWNLOAD_FILE } from './download-file.js';
import { announce, HOST } from './ready.js';

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  createReadStream(DOWNLOAD_FILE).pipe(socket);
});
server.listen(0, HOST, () => announce(/** @type {import('node:net').AddressInfo} */ (server.address()).port));
