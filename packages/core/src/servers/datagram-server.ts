import { sendError } from '../errors.js';
import type { RequestHandlerClass } from '../handlers/base-request-handler.js';
import { optional, validateInteger } from '../validators.js';
import { BaseServer, type BaseServerOptions, type SocketType } from './base-server.js';
import { reportSocketError } from './socket-error.js';

/** Sends datagrams from the server's socket (in a forking server's child, relayed through the parent). */
export interface DatagramSocket<Address> {
  /** Sends `data` as one datagram to `address`; resolves once it is sent, rejects with the failure. */
  sendTo(data: Uint8Array, address: Address): Promise<void>;
  /**
   * Sends `data` as one datagram to `address` without waiting (as `DatagramRequestHandler` replies).
   * A failure is emitted as the server's `socket-error` event, naming the address.
   */
  send(data: Uint8Array, address: Address): void;
}

/** A datagram server's request, as socketserver's `(data, socket)` pair. */
export interface DatagramRequest<Address> {
  /** The datagram's bytes (at most `maxPacketSize`). */
  readonly packet: Buffer;
  /** The server's socket, for replies. */
  readonly socket: DatagramSocket<Address>;
}

/** Options of every datagram server (UDP and Unix datagram). */
export interface DatagramServerOptions extends BaseServerOptions {
  /** Bytes of each datagram given to the handler; longer ones are truncated. Default 65535 (nothing is cut). */
  maxPacketSize?: number;
}

/** Shared by UDPServer and UnixDatagramServer: each datagram is one request. */
export abstract class DatagramServer<Address> extends BaseServer<DatagramRequest<Address>, Address, Address> {
  /** Bytes of each datagram given to the handler. */
  maxPacketSize: number;
  /** The socket that handlers reply through. */
  protected readonly replySocket: DatagramSocket<Address> = {
    sendTo: (data, address) => this.sendTo(data, address),
    send: (data, address) => this.send(data, address),
  };

  constructor(
    serverAddress: Address,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest<Address>, Address>,
    options: DatagramServerOptions = {},
  ) {
    super(serverAddress, RequestHandlerClass, options);
    this.maxPacketSize = optional(
      options.maxPacketSize,
      65535,
      (v, n) => validateInteger(v, n, 1),
      'maxPacketSize',
    );
  }

  /** Python's `socket_type`. */
  get socketType(): SocketType {
    return 'SOCK_DGRAM';
  }

  /** Sends one datagram from the server's socket. */
  protected abstract sendTo(data: Uint8Array, address: Address): Promise<void>;

  /** Sends one datagram without waiting; a failure becomes a `socket-error` event (see `sendFailed`). */
  protected send(data: Uint8Array, address: Address): void {
    this.sendTo(data, address).catch((error: unknown) => this.sendFailed(error, address));
  }

  /**
   * Reports a send made with `send()` that failed, as a `socket-error` naming the address (with no
   * listener, on stderr: see `reportSocketError`).
   */
  protected sendFailed(error: unknown, address: Address): void {
    reportSocketError(
      this,
      this.describeClient(this.serverAddress),
      sendError(error, this.describeClient(address)),
    );
  }

  /** Called by the socket for each datagram. */
  protected receive(packet: Buffer, clientAddress: Address): void {
    const cut = packet.length > this.maxPacketSize ? packet.subarray(0, this.maxPacketSize) : packet;
    this.enqueueRequest({ packet: cut, socket: this.replySocket }, clientAddress);
  }
}
