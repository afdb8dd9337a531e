import { chmod, unlink } from 'node:fs/promises';
import { formatAddress, type UnixAddress, UnixSocketAddress } from '../address.js';
import { ErrorCodes, SockserveError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { optional, validateInteger, validateString } from '../validators.js';
import type { AddressFamily } from './base-server.js';
import { type DatagramRequest, DatagramServer, type DatagramServerOptions } from './datagram-server.js';
import { reportSocketError } from './socket-error.js';
import { isDatagramSocketLive, loadUnixDatagramAddon, UnixDatagramSocket } from './unix-datagram-socket.js';
import { bindUnixPath } from './unix-path.js';

/** Options of `UnixDatagramServer` and its Threading/Forking variants. */
export interface UnixDatagramServerOptions extends DatagramServerOptions {
  /** File mode of the socket, e.g. `0o660`. Default: as the umask leaves it. */
  mode?: number;
}

/**
 * A Unix datagram socket server (`AF_UNIX`, `SOCK_DGRAM`), through the optional package
 * `@sockserve/udp-native` (constructing one without it throws an error that says what to install). Replies go to the
 * sender's bound path; an unbound sender cannot be answered.
 */
export class UnixDatagramServer extends DatagramServer<UnixAddress> {
  /** The bound socket, once bound. */
  socket: UnixDatagramSocket | undefined;
  /** File mode set on the socket file by `serverBind()` (e.g. `0o660`); `undefined`: as the umask leaves it. */
  mode: number | undefined;

  constructor(
    path: string,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<UnixAddress>, UnixAddress>,
    options: UnixDatagramServerOptions = {},
  ) {
    if (validateString(path, 'path') === '') throw new TypeError('the Unix socket path must not be empty');
    loadUnixDatagramAddon();
    super(new UnixSocketAddress(path), RequestHandlerClass, options);
    this.mode = optional(options.mode, undefined, (v, n) => validateInteger(v, n, 0, 0o7777), 'mode');
  }

  /** Python's `address_family`. */
  get addressFamily(): AddressFamily {
    return 'AF_UNIX';
  }

  override async serverBind(): Promise<void> {
    const { path } = this.serverAddress;
    const socket = await bindUnixPath(path, () => UnixDatagramSocket.bind(path), isDatagramSocketLive);
    socket.onMessage((packet, senderPath) => this.receive(packet, new UnixSocketAddress(senderPath)));
    socket.onError((error) => reportSocketError(this, formatAddress(this.serverAddress), error));
    this.socket = socket;
    if (this.mode !== undefined) await chmod(path, this.mode);
  }

  protected override async closeSocket(): Promise<void> {
    if (this.socket === undefined) return;
    await this.socket.close();
    // Closing leaves the socket file behind; the server that made it removes it.
    await unlink(this.serverAddress.path).catch(() => {});
  }

  protected override sendTo(data: Uint8Array, address: UnixAddress): Promise<void> {
    if (address.path === '') {
      return Promise.reject(
        new SockserveError(
          ErrorCodes.INVALID_STATE,
          `cannot reply from ${formatAddress(this.serverAddress)} to an unbound client: bind the client socket to a path to get replies`,
        ),
      );
    }
    if (this.socket === undefined) {
      return Promise.reject(
        new SockserveError(ErrorCodes.INVALID_STATE, `${formatAddress(this.serverAddress)} is not bound`),
      );
    }
    return this.socket.sendTo(data, address.path);
  }

  protected override describeClient(clientAddress: UnixAddress): string {
    return formatAddress(clientAddress);
  }
}
