/**
 * TLS for stream servers: the handshake runs before a connection becomes a request. Accepted sockets
 * are given to a `tls.Server` that never listens (Node's documented way to inject connections), so
 * Node itself applies the options (certificates, `requestCert`, ALPN, SNI, the handshake timeout) and
 * reports failures; the server then queues the established `tls.TLSSocket` as the request.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { ErrorCodes, invalidType, SockserveError } from '../errors.js';

/**
 * The `tls` option of stream servers: the options of `tls.createSecureContext()` and of a server-side
 * `tls.TLSSocket` (`key`, `cert`, `ca`, `pfx`, `requestCert`, `rejectUnauthorized`, `ALPNProtocols`,
 * `SNICallback`, `minVersion`, …), with Node's defaults (TLS 1.2 or later, client certificates not
 * asked for). The handshake timeout is the server option `handshakeTimeout`, in seconds.
 */
export type TLSOptions = Omit<tls.TlsOptions, 'handshakeTimeout' | keyof net.ServerOpts>;

/** Why a TLS connection never became a request: Node's error (its `code` says which failure). */
export type TLSFailure = Error & {
  /** Node's error code: why the handshake failed (`ERR_SSL_…`, `ERR_TLS_HANDSHAKE_TIMEOUT`, `ECONNRESET`). */
  code?: string;
};

/** Node's TLSSocket keeps the socket it wraps as `_parent`. */
type WrappedSocket = tls.TLSSocket & { _parent?: net.Socket | null };

interface Pending {
  secure(socket: tls.TLSSocket): void;
  failed(error: TLSFailure): void;
}

/**
 * Runs TLS handshakes on accepted sockets with one set of options (a `tls.Server` that never listens).
 * Built, and so checked, once per options object.
 */
export class TLSAcceptor {
  /** The options it was built from. */
  readonly options: TLSOptions;
  /** The handshake timeout, in seconds. */
  readonly handshakeTimeout: number;
  readonly #server: tls.Server;
  readonly #pending = new Map<net.Socket, Pending>();

  /** Throws, naming the option, when Node refuses `options` (a bad key or certificate, say). */
  constructor(options: TLSOptions, handshakeTimeout: number, name = 'tls') {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw invalidType(name, 'an object of tls.createSecureContext() / tls.TLSSocket options', options);
    }
    if ('handshakeTimeout' in options) {
      throw new SockserveError(
        ErrorCodes.INVALID_ARG_VALUE,
        `option "${name}.handshakeTimeout" is not read: set the server option "handshakeTimeout" (seconds) instead`,
      );
    }
    const { key, cert, pfx, SNICallback } = options;
    if (pfx === undefined && SNICallback === undefined && (key === undefined || cert === undefined)) {
      throw new SockserveError(
        ErrorCodes.INVALID_ARG_VALUE,
        `option "${name}" needs "key" and "cert" (or "pfx", or an "SNICallback" that supplies them)`,
      );
    }
    try {
      this.#server = tls.createServer({ ...options, handshakeTimeout: handshakeTimeout * 1000 });
    } catch (error) {
      throw new SockserveError(
        ErrorCodes.INVALID_ARG_VALUE,
        `option "${name}" is refused by node:tls: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.options = options;
    this.handshakeTimeout = handshakeTimeout;
    this.#server.on('secureConnection', (socket: WrappedSocket) => {
      const pending = this.#take(socket);
      // The TLS socket is the request: a client may half-close and still receive every reply.
      socket.allowHalfOpen = true;
      socket.on('error', ignoreError);
      pending?.secure(socket);
    });
    this.#server.on('tlsClientError', (error: TLSFailure, socket: WrappedSocket) => {
      socket.destroy();
      this.#take(socket)?.failed(error);
    });
  }

  /**
   * Starts the handshake on `socket`; exactly one of `secure` (with the established TLS socket) or
   * `failed` (the handshake failed, timed out, or the client left) is called.
   */
  accept(socket: net.Socket, secure: Pending['secure'], failed: Pending['failed']): void {
    const pending: Pending = { secure, failed };
    this.#pending.set(socket, pending);
    socket.once('close', () => {
      if (this.#pending.get(socket) !== pending) return;
      this.#pending.delete(socket);
      const error: TLSFailure = new Error('the client closed the connection during the TLS handshake');
      error.code = 'ECONNRESET';
      failed(error);
    });
    this.#server.emit('connection', socket);
  }

  #take(socket: WrappedSocket): Pending | undefined {
    const raw = socket._parent;
    if (raw == null) return undefined;
    const pending = this.#pending.get(raw);
    this.#pending.delete(raw);
    return pending;
  }
}

const ignoreError = (): void => {};
