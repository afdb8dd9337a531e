import dgram from 'node:dgram';
import type net from 'node:net';

/** A descriptor that is already bound and listening (socket activation: systemd, a supervisor). */
export interface ListeningDescriptor {
  /** The file descriptor, inherited from the process that started this one (systemd passes 3 on). */
  fd: number;
  /** `UDPServer` only: the descriptor's address family, which Node.js cannot read. Default `'IPv4'`. */
  family?: 'IPv4' | 'IPv6';
}

/** True for `{ fd }`: a server address that is an already listening descriptor. */
export function isListeningDescriptor(address: unknown): address is ListeningDescriptor {
  return typeof address === 'object' && address !== null && 'fd' in address;
}

/** Validates `{ fd }` and returns the descriptor. */
export function listeningFd(address: ListeningDescriptor): number {
  const { fd } = address;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new TypeError(`fd must be a file descriptor (an integer >= 0), got ${String(fd)}`);
  }
  return fd;
}

/**
 * The file descriptor of a listening `net.Server` or bound `dgram.Socket`, or -1. Node.js has no
 * public accessor: this reads the libuv handle's `fd` (a `net.Server`'s `_handle`; for a
 * `dgram.Socket`, whose `_handle` getter is deprecated, the handle in its symbol-keyed state).
 */
export function fdOf(socket: net.Server | dgram.Socket | undefined): number {
  if (socket === undefined) return -1;
  let handle: { fd?: unknown } | null | undefined;
  if (socket instanceof dgram.Socket) {
    const state = Object.getOwnPropertySymbols(socket)
      .map((key) => (socket as unknown as Record<symbol, unknown>)[key])
      .find((value): value is { handle: { fd?: unknown } | null } => {
        return typeof value === 'object' && value !== null && 'handle' in value;
      });
    handle = state?.handle;
  } else {
    handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  }
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}
