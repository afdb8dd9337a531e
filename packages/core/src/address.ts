/** Addresses of servers and their clients. */

/** An IP endpoint: `host` is the numeric address once bound (e.g. `127.0.0.1`, `::1`). */
export interface InetAddress {
  /** The numeric host (`127.0.0.1`, `::1`); on a dual-stack socket, IPv4 peers read `::ffff:a.b.c.d`. */
  host: string;
  /** The port number. */
  port: number;
  /** The IP family of `host`. */
  family: 'IPv4' | 'IPv6';
}

/** Where a TCP or UDP server binds: `host` defaults to `127.0.0.1`; `''` means every interface (`::`). */
export interface InetBindAddress {
  /** The host or IP address to bind; default `'127.0.0.1'`, `''` for every interface. */
  host?: string;
  /** The port to bind, 0–65535; 0 lets the system choose one (read it from `serverAddress` after `listen()`). */
  port: number;
}

/** A Unix-domain socket address. `path` is `''` for an unnamed peer (as in Python). */
export interface UnixAddress {
  /** The socket's file-system path; `''` for an unnamed (unbound) peer. */
  path: string;
}

/** Any server or client address: an IP endpoint or a Unix socket path. */
export type SocketAddress = InetAddress | UnixAddress;

/** `tcp://127.0.0.1:9999`, `udp://[::1]:53`, `unix:///run/app.sock`: for messages and logs. */
export function formatAddress(address: SocketAddress | undefined, scheme = 'tcp'): string {
  if (address === undefined) return `${scheme}://(not bound)`;
  if ('path' in address) return `unix://${address.path || '(unnamed)'}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

/** A TCP address (client or server) whose `toString()` is `formatAddress(address, 'tcp')`: `tcp://127.0.0.1:9999`. */
export class TCPAddress implements InetAddress {
  /** The numeric host (`127.0.0.1`, `::1`). */
  host: string;
  /** The port. */
  port: number;
  /** The IP family. */
  family: 'IPv4' | 'IPv6';

  constructor(host: string, port: number, family: 'IPv4' | 'IPv6' = familyOf(host)) {
    this.host = host;
    this.port = port;
    this.family = family;
  }

  /** `tcp://host:port` (`tcp://[::1]:9999` for IPv6), as `formatAddress()` prints it. */
  toString(): string {
    return formatAddress(this, 'tcp');
  }
}

/** A UDP address (client or server) whose `toString()` is `formatAddress(address, 'udp')`: `udp://127.0.0.1:9999`. */
export class UDPAddress implements InetAddress {
  /** The numeric host (`127.0.0.1`, `::1`). */
  host: string;
  /** The port. */
  port: number;
  /** The IP family. */
  family: 'IPv4' | 'IPv6';

  constructor(host: string, port: number, family: 'IPv4' | 'IPv6' = familyOf(host)) {
    this.host = host;
    this.port = port;
    this.family = family;
  }

  /** `udp://host:port` (`udp://[::1]:53` for IPv6), as `formatAddress()` prints it. */
  toString(): string {
    return formatAddress(this, 'udp');
  }
}

/** A Unix-domain address whose `toString()` is `formatAddress(address)`: `unix:///run/app.sock`, `unix://(unnamed)`. */
export class UnixSocketAddress implements UnixAddress {
  /** The socket path; `''` for an unnamed peer. */
  path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** `unix://PATH`, or `unix://(unnamed)` for an unnamed peer, as `formatAddress()` prints it. */
  toString(): string {
    return formatAddress(this);
  }
}

/**
 * An address that came as plain data (a forked child's request, after the structured clone that
 * carried it) made printable again: a `UnixSocketAddress` for `{ path }`, else a `TCPAddress` (or, with
 * `datagram`, a `UDPAddress`). Anything else is returned as it is.
 */
export function addressFromData(data: unknown, datagram = false): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const fields = data as Partial<InetAddress & UnixAddress>;
  if (typeof fields.path === 'string') return new UnixSocketAddress(fields.path);
  if (typeof fields.host !== 'string' || typeof fields.port !== 'number') return data;
  const family = fields.family === 'IPv6' || fields.family === 'IPv4' ? fields.family : familyOf(fields.host);
  return datagram
    ? new UDPAddress(fields.host, fields.port, family)
    : new TCPAddress(fields.host, fields.port, family);
}

/** The IP family of a literal host, as Node spells it. */
export function familyOf(host: string): 'IPv4' | 'IPv6' {
  return host.includes(':') ? 'IPv6' : 'IPv4';
}
