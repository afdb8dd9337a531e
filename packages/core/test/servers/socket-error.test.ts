/**
 * A socket error nobody listens for is still seen: a UDP reply too large to send is reported on
 * stderr by default (as handleError reports a handler's error); a `socket-error` listener replaces
 * that report. The server runs as its own process, so that its real stderr is what is checked.
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { udpRoundTrip, withDeadline } from '../helpers.js';
import { ServerProcess } from './server-process.js';

const SERVER = fileURLToPath(new URL('../fixtures/udp-oversized-reply.mjs', import.meta.url));

/** Sends `big` from a bound client; returns the client's address as the server names it. */
async function sendBig(port: number): Promise<string> {
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const from = `udp://127.0.0.1:${client.address().port}`;
  await new Promise<void>((resolve, reject) =>
    client.send('big', port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  client.close();
  return from;
}

describe.each(['batched', 'dgram'])('a UDP reply that cannot be sent (%s)', (how) => {
  it('is reported on stderr when nobody listens for socket-error, and the server keeps answering', async () => {
    await using server = new ServerProcess([SERVER, '', how]);
    const port = await server.port();
    const from = await sendBig(port);
    await withDeadline(
      server.until(() => server.stderr.includes('\n')),
      'report on stderr',
    );
    expect(server.stderr).toBe(
      `sockserve: socket error on udp://127.0.0.1:${port}: cannot send a datagram to ${from}: send EMSGSIZE 127.0.0.1:${from.split(':').pop()} (ERR_SOCKSERVE_SEND_FAILED) (listen for 'socket-error' to handle it yourself)\n`,
    );
    const echo = { host: '127.0.0.1', port, family: 'IPv4' as const };
    expect(String(await udpRoundTrip(echo, Buffer.from('still here')))).toBe('still here');
  });

  it('a socket-error listener replaces the report', async () => {
    await using server = new ServerProcess([SERVER, 'listen', how]);
    const port = await server.port();
    const from = await sendBig(port);
    await withDeadline(
      server.until(() => server.stdout.includes('socket-error:')),
      'socket-error event',
    );
    expect(server.stdout).toContain(`socket-error: cannot send a datagram to ${from}`);
    const echo = { host: '127.0.0.1', port, family: 'IPv4' as const };
    expect(String(await udpRoundTrip(echo, Buffer.from('still here')))).toBe('still here');
    expect(server.stderr).toBe('');
  });
});
