import type { TLSFailure } from './servers/tls.js';

/** The typed events every server emits (servers extend eventemitter3's `EventEmitter<ServerEvents>`). */

/** Why a request was refused before any handler saw it. */
export type RefusedReason = 'max-connections' | 'queue-full' | 'not-verified' | 'server-closing';

/** What a forking server reports when one of its child processes exits. */
export interface ChildExit {
  /** The child's process id. */
  pid: number;
  /** Exit code, or null when a signal ended the child. */
  code: number | null;
  /** The signal that ended the child, or null. */
  signal: NodeJS.Signals | null;
  /** True when the server asked the child to stop (shutdown, recycling), false for a crash. */
  expected: boolean;
  /** The error the child reported before it died, when it could. */
  error?: {
    /** The error's message. */
    message: string;
    /** The error's stack trace, when it had one. */
    stack?: string;
  };
  /** Requests that were running in the child and were closed because it died. */
  lostRequests: number;
}

/**
 * The events every server emits, for eventemitter3's typed `on`/`once`/`off`: each key is an event
 * name, its value the listener's arguments. `Address` is the server's address type, `ClientAddress`
 * its clients'.
 */
export interface ServerEvents<Address, ClientAddress> {
  /** The server is bound and accepting; the argument is its real address. */
  listening: [address: Address];
  /** A handler is about to run for a request. */
  'request-start': [clientAddress: ClientAddress];
  /** A handler finished (successfully or not) and the request was shut down. */
  'request-end': [clientAddress: ClientAddress];
  /** A handler threw; emitted by the default `handleError`. */
  'request-error': [error: unknown, clientAddress: ClientAddress];
  /** A request was closed without reaching a handler. */
  'request-refused': [reason: RefusedReason, clientAddress: ClientAddress | undefined];
  /**
   * A TLS connection closed before it became a request: its handshake failed (plain text, a client
   * certificate refused under `requestCert`, …), took longer than `handshakeTimeout`, or the client
   * left. The error is Node's (its `code` says why, e.g. `ERR_SSL_WRONG_VERSION_NUMBER`,
   * `ERR_TLS_HANDSHAKE_TIMEOUT`).
   */
  'tls-error': [error: TLSFailure, clientAddress: ClientAddress];
  /** The listening socket reported an error after binding (e.g. EMFILE on accept); the server keeps running. */
  'socket-error': [error: Error];
  /** `handleRequest()` waited `timeout` seconds without a request. */
  timeout: [];
  /** A forking server started a child process. */
  'child-spawn': [pid: number];
  /** A forking server's child sent an application message (`process.send()` in the child). */
  'child-message': [pid: number, message: unknown];
  /** A forking server's child process exited. */
  'child-exit': [exit: ChildExit];
  /** `serverClose()` finished: the socket is closed and no request is running. */
  close: [];
}
