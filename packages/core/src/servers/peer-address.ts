import type net from 'node:net';
import { inspect } from 'node:util';
import { familyOf, type InetAddress, TCPAddress } from '../address.js';

/**
 * The TCP address of a socket's peer (or of Node's `drop` data), read at once. A connection already
 * reset has none: host `''`, port 0 (its `toString()` then says so instead of printing `tcp://:0`).
 */
export function inetAddressOf(socket: net.Socket | net.DropArgument | undefined): TCPAddress {
  const host = socket?.remoteAddress ?? '';
  const family = socket?.remoteFamily;
  return new UnknownAwareTCPAddress(
    host,
    socket?.remotePort ?? 0,
    family === 'IPv4' || family === 'IPv6' ? family : familyOf(host),
  );
}

/** What an address that could not be read (the connection closed first) prints. */
export const UNKNOWN_PEER: string = 'tcp://(unknown: closed before its address was read)';

/** True for the address of a connection that closed before its address was read (host `''`, port 0). */
export function isUnknownPeer(address: InetAddress): boolean {
  return address.host === '' && address.port === 0;
}

class UnknownAwareTCPAddress extends TCPAddress {
  override toString(): string {
    return isUnknownPeer(this) ? UNKNOWN_PEER : super.toString();
  }
}

/**
 * A TCP client's address, read from its socket the first time a field is used. Node's accept does
 * not return the peer's address, and asking for it is a system call that most handlers never need,
 * so a server does not make it for every connection. Once read it is kept (and the socket let go).
 *
 * `host`, `port` and `family` are getters: destructuring and `toMatchObject` see them; `toJSON()`
 * (also used by `JSON.stringify`) gives a plain `{ host, port, family }` for spreading or cloning.
 * A connection that closed (a reset, say) before anything read its address has host `''`, port 0.
 */
export class PeerAddress implements InetAddress {
  #socket: net.Socket | undefined;
  #address: InetAddress | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
  }

  /** The client's numeric host, read from the socket on first use (`''` if it closed before). */
  get host(): string {
    return this.#read().host;
  }

  /** The client's port, read from the socket on first use (0 if it closed before). */
  get port(): number {
    return this.#read().port;
  }

  /** The client's IP family, read from the socket on first use. */
  get family(): InetAddress['family'] {
    return this.#read().family;
  }

  /** The address as a plain object. */
  toJSON(): InetAddress {
    return { ...this.#read() };
  }

  /** `tcp://127.0.0.1:40312`, as `formatAddress()` prints it (`${this.clientAddress}` in a handler). */
  toString(): string {
    return this.#read().toString();
  }

  #read(): TCPAddress {
    if (this.#address === undefined) {
      this.#address = inetAddressOf(this.#socket);
      this.#socket = undefined;
    }
    return this.#address;
  }
}

// `util.inspect` (and every logger built on it) shows the plain address. Defined here because
// isolatedDeclarations cannot type a computed method name.
Object.defineProperty(PeerAddress.prototype, inspect.custom, {
  value(this: PeerAddress): InetAddress {
    return this.toJSON();
  },
});

/** A client address as plain data (for the structured clone that carries it to a child process). */
export function plainAddress(address: unknown): unknown {
  return address instanceof PeerAddress ? address.toJSON() : address;
}
