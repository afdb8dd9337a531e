// The plain node:net echo connection handler shared by the raw and cluster baselines: the fastest
// straightforward one (no pipe(); pause while the socket does not drain).

/** @param {import('node:net').Socket} socket */
export function echoConnection(socket) {
  socket.on('data', (chunk) => {
    if (!socket.write(chunk)) socket.pause();
  });
  socket.on('drain', () => socket.resume());
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
}
