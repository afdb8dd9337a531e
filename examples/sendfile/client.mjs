// The client of sendfile/server.mjs: reads until the server closes, writes the bytes to a file, and
// prints their count and SHA-256, as Python's:
//
//   with socket.create_connection(("127.0.0.1", 9999)) as sock, open(OUT, "wb") as out:
//       while chunk := sock.recv(65536):
//           out.write(chunk)
//
// Run: node sendfile/client.mjs [port] [output file]   (default: received.bin)
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const port = Number(process.argv[2] ?? 9999);
const output = process.argv[3] ?? 'received.bin';

const hash = createHash('sha256');
let bytes = 0;
const count = new PassThrough();
count.on('data', (chunk) => {
  bytes += chunk.length;
  hash.update(chunk);
});
await pipeline(net.connect({ host: '127.0.0.1', port }), count, createWriteStream(output));
console.log(`received ${bytes} bytes into ${output}, sha256 ${hash.digest('hex')}`);
