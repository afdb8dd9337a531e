// Baseline: a plain node:dgram echo.
import dgram from 'node:dgram';
import { announce, HOST } from './ready.js';

const socket = dgram.createSocket('udp4');
socket.on('message', (packet, remote) => socket.send(packet, remote.port, remote.address));
socket.bind({ address: HOST, port: 0 }, () => announce(socket.address().port));
