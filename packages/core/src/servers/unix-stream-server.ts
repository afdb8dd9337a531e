import { chmod } from 'node:fs/promises';
import net from 'node:net';
import { formatAddress, type UnixAddress, UnixSocketAddress } from '../address.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { optional, validateInteger, validateString } from '../validators.js';
import type { AddressFamily } from './base-server.js';
import { isListeningDescriptor, type ListeningDescriptor, listeningFd } from './socket-fd.js';
import { type ListenOptions, StreamServer, type StreamServerOptions } from './stream-server.js';
import { bindUnixPath } from './unix-path.js';

/** Options of `UnixStreamServer` and its Threading/Forking variants. */
export interface UnixStreamServerOptions extends StreamServerOptions {
  /** File mode of the socket, e.g. `0o660`. Default: as the umask leaves it. */
  mode?: number;
}

const UNNAMED_PEER: UnixAddress = Object.freeze(new UnixSocketAddress(''));

/** True when something accepts stream connections at `path` (any answer but "refused" counts as live). */
export function isStreamSocketLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    const done = (live: boolean): void => {
      probe.destroy();
      resolve(live);
    };
    probe.setTimeout(1000, () => done(true));
    probe.once('connect', () => done(true));
    probe.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    );
  });
}

/**
 * A Unix stream socket server (`AF_UNIX`, `SOCK_STREAM`). Stale socket files are removed before
 * binding; a live server's path is never removed. Client addresses are `{ path: '' }` (unnamed).
 *
 * ```ts
 * await using server = new UnixStreamServer('/tmp/app.sock', Handler, { mode: 0o660 });
 * await server.serveForever();
 * ```
 *
 * `{ fd }` instead of a path serves a descriptor that is already listening (socket activation);
 * its socket file is left alone.
 */
export class UnixStreamServer extends StreamServer<UnixAddress, UnixAddress> {
  /** File mode set on the socket file by `serverBind()`. */
  mode: number | undefined;
  /** The already listening descriptor given as `{ fd }`, if any. */
  readonly fd: number | undefined;

  constructor(
    path: string | ListeningDescriptor,
    RequestHandlerClass: RequestHandlerClass<net.Socket, UnixAddress>,
    options: UnixStreamServerOptions = {},
  ) {
    const fd = isListeningDescriptor(path) ? listeningFd(path) : undefined;
    if (fd === undefined && validateString(path, 'path') === '') {
      throw new TypeError('the Unix socket path must not be empty');
    }
    super(new UnixSocketAddress(fd === undefined ? (path as string) : ''), RequestHandlerClass, options);
    this.fd = fd;
    this.mode = optional(options.mode, undefined, (v, n) => validateInteger(v, n, 0, 0o7777), 'mode');
  }

  /** Python's `address_family`. */
  get addressFamily(): AddressFamily {
    return 'AF_UNIX';
  }

  protected override listenOptions(): ListenOptions {
    if (this.fd !== undefined) return { fd: this.fd, backlog: this.requestQueueSize };
    return { path: this.serverAddress.path, backlog: this.requestQueueSize };
  }

  /** Removes a stale socket file, binds and listens on the path, then applies `mode` (an `{ fd }` is served as given). */
  override async serverBind(): Promise<void> {
    if (this.fd !== undefined) {
      await super.serverBind();
      const bound = this.socket!.address();
      this.serverAddress = { path: typeof bound === 'string' ? bound : '' };
      return;
    }
    await bindUnixPath(this.serverAddress.path, () => super.serverBind(), isStreamSocketLive);
    if (this.mode !== undefined) await chmod(this.serverAddress.path, this.mode);
  }

  protected override clientAddressOf(): UnixAddress {
    return UNNAMED_PEER;
  }

  protected override describeAddress(): string {
    if (this.fd !== undefined && this.socket === undefined) return `unix fd ${this.fd}`;
    return formatAddress(this.serverAddress);
  }

  protected override describeClient(): string {
    return `a client of ${formatAddress(this.serverAddress)}`;
  }
}
