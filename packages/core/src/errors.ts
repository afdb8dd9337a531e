/**
 * Every error sockserve throws or emits: one base class with a literal `code`,
 * so callers can branch on `error.code` or on `SockserveError.isInstance(error)`
 * (which also works across duplicate copies of the package).
 */

import { getSystemErrorName } from 'node:util';

/** All error codes, in one place. */
export const ErrorCodes = {
  /** An option has the wrong type (TypeError). */
  INVALID_ARG_TYPE: 'ERR_SOCKSERVE_INVALID_ARG_TYPE',
  /** An option is out of range (RangeError). */
  INVALID_ARG_VALUE: 'ERR_SOCKSERVE_INVALID_ARG_VALUE',
  /** The feature needs a newer Node.js or an optional package. */
  UNSUPPORTED: 'ERR_SOCKSERVE_UNSUPPORTED',
  /** The address (host:port or socket path) is already in use. */
  ADDRESS_IN_USE: 'ERR_SOCKSERVE_ADDRESS_IN_USE',
  /** Binding or listening failed for another reason. */
  BIND_FAILED: 'ERR_SOCKSERVE_BIND_FAILED',
  /** A call was made in a state where it is not allowed (e.g. serveForever twice). */
  INVALID_STATE: 'ERR_SOCKSERVE_INVALID_STATE',
  /** The server was closed. */
  SERVER_CLOSED: 'ERR_SOCKSERVE_SERVER_CLOSED',
  /** A line was longer than the allowed maximum. */
  LINE_TOO_LONG: 'ERR_SOCKSERVE_LINE_TOO_LONG',
  /** The stream ended before the requested bytes arrived. */
  INCOMPLETE_READ: 'ERR_SOCKSERVE_INCOMPLETE_READ',
  /** No data arrived within the handler's timeout. */
  TIMEOUT: 'ERR_SOCKSERVE_TIMEOUT',
  /** The connection was closed or reset while writing. */
  CONNECTION_CLOSED: 'ERR_SOCKSERVE_CONNECTION_CLOSED',
  /** A child process of a forking server failed. */
  CHILD_FAILED: 'ERR_SOCKSERVE_CHILD_FAILED',
  /** A datagram could not be sent. */
  SEND_FAILED: 'ERR_SOCKSERVE_SEND_FAILED',
} as const;

/** One of the literal codes of `ErrorCodes`, such as `'ERR_SOCKSERVE_TIMEOUT'`. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const brand = Symbol.for('sockserve.error');

/** The base class of every sockserve error. */
export class SockserveError extends Error {
  /** What went wrong, as a literal from `ErrorCodes`: branch on this rather than on the message. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for any sockserve error, even one made by another copy of this package. */
  static isInstance(value: unknown): value is SockserveError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}

/** A line (or a `readUntil` record) exceeded `maxBytes` before its delimiter arrived. */
export class LineTooLongError extends SockserveError {
  /** The limit that was exceeded, in bytes. */
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(
      ErrorCodes.LINE_TOO_LONG,
      `line too long (max ${maxBytes} bytes: the read's maxBytes, else the reader's maxLineBytes; Infinity lifts it)`,
    );
    this.maxBytes = maxBytes;
  }
}

/** The stream ended before `expected` bytes (or the delimiter) arrived; `partial` holds what did. */
export class IncompleteReadError extends SockserveError {
  /** The bytes that did arrive before the end of the stream (possibly empty). */
  readonly partial: Buffer;
  /** Bytes that were asked for, or `undefined` when reading up to a delimiter. */
  readonly expected: number | undefined;
  constructor(partial: Buffer, expected?: number) {
    super(
      ErrorCodes.INCOMPLETE_READ,
      expected === undefined
        ? `stream ended after ${partial.length} bytes, before the delimiter`
        : `stream ended after ${partial.length} of ${expected} bytes`,
    );
    this.partial = partial;
    this.expected = expected;
  }
}

/** No data arrived, or a write could not complete, within `seconds`. */
export class TimeoutError extends SockserveError {
  /** The timeout that passed, in seconds. */
  readonly seconds: number;
  constructor(seconds: number, what = 'read') {
    super(ErrorCodes.TIMEOUT, `${what} timed out after ${seconds} s`);
    this.seconds = seconds;
  }
}

/** The peer closed or reset the connection while data was still being written. */
export class ConnectionClosedError extends SockserveError {
  constructor(message = 'connection closed before the write completed', options?: ErrorOptions) {
    super(ErrorCodes.CONNECTION_CLOSED, message, options);
  }
}

/** Throws a TypeError with a sockserve code (for option validation). */
export function invalidType(
  name: string,
  expected: string,
  actual: unknown,
): TypeError & { code: ErrorCode } {
  const shown =
    actual === null
      ? 'null'
      : typeof actual === 'object'
        ? 'an object'
        : `${typeof actual} ${String(actual)}`;
  const error = new TypeError(`option "${name}" must be ${expected}, got ${shown}`) as TypeError & {
    code: ErrorCode;
  };
  error.code = ErrorCodes.INVALID_ARG_TYPE;
  return error;
}

/** Makes a RangeError with a sockserve code (for option validation). */
export function invalidValue(
  name: string,
  expected: string,
  actual: unknown,
): RangeError & { code: ErrorCode } {
  const error = new RangeError(
    `option "${name}" must be ${expected}, got ${String(actual)}`,
  ) as RangeError & {
    code: ErrorCode;
  };
  error.code = ErrorCodes.INVALID_ARG_VALUE;
  return error;
}

/** Maps a bind/listen failure to ADDRESS_IN_USE or BIND_FAILED, naming the address. */
export function bindError(error: unknown, where: string): SockserveError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new SockserveError(ErrorCodes.ADDRESS_IN_USE, `address already in use: ${where}`, {
      cause: error,
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new SockserveError(ErrorCodes.BIND_FAILED, `cannot listen on ${where}: ${reason}`, { cause: error });
}

/** A datagram sent without waiting (`DatagramSocket.send`) failed; `to` names the address. */
export function sendError(error: unknown, to: string): SockserveError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SockserveError(ErrorCodes.SEND_FAILED, `cannot send a datagram to ${to}: ${reason}`, {
    cause: error,
  });
}

/** The name of a system error code (`EADDRINUSE` for -98); names pass through, unknown codes read `E<code>`. */
export function errnoName(code: unknown): string {
  if (typeof code === 'string') return code;
  if (typeof code === 'number' && Number.isSafeInteger(code) && code < 0) {
    try {
      return getSystemErrorName(code);
    } catch {
      // fall through
    }
  }
  return `E${String(code)}`;
}

/**
 * An error shaped as Node's system errors: `code` (the errno's name), `errno` (0 when only a name is
 * known), `syscall`, the fields saying where it happened, and a message naming them all.
 */
export function systemCallError<Where extends object>(
  syscall: string,
  errno: unknown,
  where: string,
  fields: Where,
  options?: ErrorOptions,
): Error & { code: string; errno: number; syscall: string } & Where {
  const code = errnoName(errno);
  const message = where === '' ? `${syscall} ${code}` : `${syscall} ${code} ${where}`;
  return Object.assign(new Error(message, options), {
    code,
    errno: typeof errno === 'number' ? errno : 0,
    syscall,
    ...fields,
  });
}
