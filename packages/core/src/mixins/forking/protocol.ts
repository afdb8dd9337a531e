/**
 * What a forking server and its child processes say to each other over the IPC channel
 * (`serialization: 'advanced'`, so Buffers pass as they are), and how a child learns its role.
 */

/** The environment variable that makes a process a forking server's child (its value is a ChildConfig). */
export const CHILD_ENV = 'SOCKSERVE_FORK_CHILD';

/** The kinds of server a handler module can run in (handlerModule mode builds one in the child). */
export type ServerKind = 'tcp' | 'udp' | 'unix-stream' | 'unix-datagram';

export interface ChildConfig {
  /** Which forking server of the entry script this child serves: the order in which they were constructed. */
  serverIndex: number;
  /** The parent's bound address, so `serverAddress` reads the same in the child. */
  serverAddress: unknown;
  /** One request, then exit (perRequest mode). */
  oneShot: boolean;
  /** Set when the child imports a handler module instead of re-running the entry script. */
  handlerModule?: { module: string; exportName: string; serverKind: ServerKind };
}

export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  /** The error's `code`, when it is a string. */
  code?: string;
  /** A TLS handshake that failed in the child: the parent emits `tls-error`, not `request-error`. */
  tls?: boolean;
}

/** The server's own data fields as the parent has them (see `serverFields()` in forking.ts). */
export type ServerFields = Record<string, unknown>;

/**
 * Parent → child. A `connection` message carries the accepted socket as its handle, and `preread`
 * the bytes the parent read from it while it waited for a child. `seq` numbers the requests sent to
 * one child (1, 2, …): a gap means Node dropped one whose handle the child could not take (EMFILE).
 * `fields` (perRequest mode) is the server's data as it was when the request was handed over.
 */
export type ParentMessage =
  | {
      sockserve: 'connection';
      id: number;
      seq: number;
      clientAddress: unknown;
      preread?: Buffer;
      fields?: ServerFields;
    }
  | {
      sockserve: 'datagram';
      id: number;
      seq: number;
      packet: Buffer;
      clientAddress: unknown;
      fields?: ServerFields;
    }
  /** Pool mode: the server's data as it was when the child became ready, before its first request. */
  | { sockserve: 'fields'; fields: ServerFields }
  /** The last `seq` sent: the child reports the requests it never received (`missed`). */
  | { sockserve: 'sync'; seq: number }
  | { sockserve: 'stop' };

/** Child → parent. */
export type ChildMessage =
  | { sockserve: 'ready'; pid: number }
  | { sockserve: 'error'; id: number; error: ErrorInfo }
  | { sockserve: 'done'; id: number }
  /** Requests `from`…`to` (by `seq`) never reached the child: their handle could not be passed. */
  | { sockserve: 'missed'; from: number; to: number }
  | { sockserve: 'send'; data: Buffer; address: unknown }
  | { sockserve: 'fatal'; error: ErrorInfo };

export function isProtocolMessage<T extends { sockserve: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { sockserve?: unknown }).sockserve === 'string'
  );
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const info: ErrorInfo = { name: error.name, message: error.message, stack: error.stack };
    const { code } = error as { code?: unknown };
    if (typeof code === 'string') info.code = code;
    return info;
  }
  return { name: 'Error', message: String(error) };
}

/** An Error rebuilt from what a child sent (message and stack as the child saw them). */
export function errorFrom(info: ErrorInfo): Error {
  const error = new Error(info.message);
  error.name = info.name;
  if (info.stack !== undefined) error.stack = info.stack;
  if (info.code !== undefined) (error as Error & { code?: string }).code = info.code;
  if (info.tls === true) (error as Error & { tls?: boolean }).tls = true;
  return error;
}

const ROLE = Symbol.for('sockserve.forkChild');

/**
 * This process's role as a forking server's child, or undefined in a normal process. Read once and
 * kept on a global symbol (so every copy of the package agrees); removed from the environment so
 * processes the child starts begin clean.
 */
export function readChildConfig(): ChildConfig | undefined {
  const store = globalThis as { [ROLE]?: ChildConfig | null };
  if (store[ROLE] === undefined) {
    const raw = process.env[CHILD_ENV];
    delete process.env[CHILD_ENV];
    store[ROLE] =
      raw !== undefined && typeof process.send === 'function' ? (JSON.parse(raw) as ChildConfig) : null;
  }
  return store[ROLE] ?? undefined;
}
