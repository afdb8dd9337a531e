// The client of tcp-one-shot/server.mjs, as Python's:
//
//   with socket.create_connection(("127.0.0.1", 9999)) as sock:
//       sock.sendall(b"hello")
//       print("received:", sock.recv(1024).decode())
//
// Run: node tcp-one-shot/client.mjs [port] [message]
import net from 'node:net';

const port = Number(process.argv[2] ?? 9999);
const message = process.argv[3] ?? 'hello';

const socket = net.connect({ host: '127.0.0.1', port });
socket.setEncoding('utf8');
socket.on('connect', () => socket.write(message));
let received = '';
socket.on('data', (text) => {
  received += text;
});
socket.on('end', () => console.log(`received: ${received}`)); // the server closes after its reply
socket.on('error', (error) => {
  console.error(`client: ${error.message}`);
  process.exitCode = 1;
});
