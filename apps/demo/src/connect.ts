/**
 * `sockserve-demo connect`: a small line client, like the clients of Python's socketserver
 * tutorials. Each line read from stdin is sent (TCP/Unix: on the stream; UDP: as one datagram),
 * and whatever the server sends is written to stdout as it arrives. Works interactively and in a
 * pipe: at the end of stdin a stream connection is half-closed and the client waits for the server
 * to finish (or for `--timeout` seconds of silence); UDP waits for late answers for 1 s by default.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import type { ConnectSettings } from './cli.js';
import type { Output } from './output.js';

/** Connecting takes at most this long. */
const CONNECT_TIMEOUT_MS = 10_000;
/** UDP: how long to wait for answers after stdin ended, unless `--timeout` says otherwise. */
const UDP_LINGER_SECONDS = 1;

/** Connecting or talking failed in a way the user should read about (exit status 1). */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
}

/** Runs the client until the conversation is over; resolves with the exit status. */
export async function runClient(settings: ConnectSettings, output: Output): Promise<number> {
  return settings.transport === 'udp'
    ? runDatagramClient(settings, output)
    : runStreamClient(settings, output);
}

function urlOf(settings: ConnectSettings): string {
  if (settings.transport === 'unix') return `${settings.tls ? 'tls+' : ''}unix://${settings.path}`;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${settings.tls ? 'tls' : settings.transport}://${host}:${settings.port}`;
}

/** A plain or TLS connection to the server of `settings`, and the event that says it is ready. */
function openStream(settings: ConnectSettings): { socket: net.Socket; ready: string } {
  const target =
    settings.transport === 'unix' ? { path: settings.path! } : { host: settings.host, port: settings.port };
  if (settings.tls === undefined) return { socket: net.connect(target), ready: 'connect' };
  const { ca, insecure, cert, key } = settings.tls;
  const options: tls.ConnectionOptions = { ...target, rejectUnauthorized: !insecure };
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConnectError(`cannot read the ${what} ${path}: ${(error as Error).message}`);
    }
  };
  if (ca !== undefined) options.ca = read(ca, 'CA file');
  // A client certificate, for a server started with --tls-client-auth.
  if (cert !== undefined && key !== undefined) {
    options.cert = read(cert, 'certificate');
    options.key = read(key, 'key');
  }
  // SNI names a host, never an address.
  if (settings.transport !== 'unix' && net.isIP(settings.host) === 0) options.servername = settings.host;
  return { socket: tls.connect(options), ready: 'secureConnect' };
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOENT') return 'no such socket';
  if (code === 'ECONNRESET') return 'connection reset by the server';
  if (code === 'ENOTFOUND') return 'unknown host';
  return error instanceof Error ? error.message : String(error);
}

function stdinLines(): AsyncIterable<string> & { close(): void } {
  return createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
}

async function runStreamClient(settings: ConnectSettings, output: Output): Promise<number> {
  const url = urlOf(settings);
  const { socket, ready } = openStream(settings);
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('timed out')));
  try {
    await once(socket, ready);
  } catch (error) {
    throw new ConnectError(`cannot connect to ${url}: ${reason(error)}`);
  }
  socket.setTimeout(0);
  if (process.stdin.isTTY)
    output.notice(`connected to ${url} (type lines; Ctrl-D to finish, Ctrl-C to quit)`);

  let failure: unknown;
  socket.on('error', (error) => {
    failure = error;
  });
  socket.pipe(process.stdout, { end: false });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const lines = stdinLines();
  // The server may end the conversation first (echo after EOF, chat after /quit).
  void closed.then(() => lines.close());

  for await (const line of lines) {
    if (socket.destroyed || socket.writableEnded) break;
    if (!socket.write(`${line}\n`)) await Promise.race([once(socket, 'drain'), closed]);
  }
  if (!socket.destroyed) {
    socket.end();
    if (settings.timeout !== undefined) socket.setTimeout(settings.timeout * 1000, () => socket.destroy());
  }
  await closed;
  if (failure !== undefined) throw new ConnectError(`${url}: ${reason(failure)}`);
  if (process.stdin.isTTY) output.notice('connection closed');
  return 0;
}

async function runDatagramClient(settings: ConnectSettings, output: Output): Promise<number> {
  const url = urlOf(settings);
  let address: { address: string; family: number };
  try {
    address = await lookup(settings.host);
  } catch (error) {
    throw new ConnectError(`cannot connect to ${url}: ${reason(error)}`);
  }
  const socket = dgram.createSocket(address.family === 6 ? 'udp6' : 'udp4');
  let failure: unknown;
  let linger: NodeJS.Timeout | undefined;
  let open = true;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const close = (): void => {
    if (open) socket.close();
    open = false;
  };
  const lingerMs = (settings.timeout ?? UDP_LINGER_SECONDS) * 1000;
  let stdinDone = false;
  const rearm = (): void => {
    if (!stdinDone) return;
    clearTimeout(linger);
    linger = setTimeout(close, lingerMs);
  };
  socket.on('error', (error) => {
    failure ??= error;
    close();
  });
  socket.on('message', (packet) => {
    process.stdout.write(packet);
    if (packet.length === 0 || packet[packet.length - 1] !== 0x0a) process.stdout.write('\n');
    rearm();
  });
  socket.connect(settings.port, address.address);
  await Promise.race([once(socket, 'connect').catch(() => {}), closed]);
  if (failure !== undefined) throw new ConnectError(`cannot connect to ${url}: ${reason(failure)}`);
  if (process.stdin.isTTY) output.notice(`sending datagrams to ${url} (one per line; Ctrl-D to finish)`);

  const lines = stdinLines();
  void closed.then(() => lines.close());
  for await (const line of lines) {
    if (failure !== undefined) break;
    await new Promise<void>((resolve) =>
      socket.send(`${line}\n`, (error) => {
        if (error) failure ??= error;
        resolve();
      }),
    );
  }
  stdinDone = true;
  if (failure === undefined) rearm();
  else close();
  await closed;
  clearTimeout(linger);
  if (failure !== undefined) throw new ConnectError(`cannot reach ${url}: ${reason(failure)}`);
  return 0;
}
