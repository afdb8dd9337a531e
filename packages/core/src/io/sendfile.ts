/**
 * `sendFile()`: the body of `wfile.sendfile(file, offset, count)`, Python's
 * `socket.sendfile()`. Two ways, one result:
 *
 * - **Zero-copy**, on Linux with the optional `@sockserve/udp-native` addon
 *   (its `src/sendfile.c`): sendfile(2) from the file to the socket, on a
 *   thread of the addon's, on a dup of the socket's descriptor, waiting in
 *   poll(2) while the peer does not read (at most `timeout` seconds). Node's
 *   own writes are flushed first, and nothing else may be written until it is
 *   done. Used for plain TCP and Unix sockets (not TLS) and regular files.
 * - **Streamed** everywhere else (and when sendfile(2) refuses the file before
 *   sending a byte, as Python falls back to `send()`): the file is read in
 *   64 KiB pieces at explicit positions and each is written through the
 *   connection's `StreamWriter`, so it has the writer's backpressure (one
 *   piece read ahead while the previous one drains) and its `timeout`.
 */
import { read as readCallback } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  ConnectionClosedError,
  ErrorCodes,
  invalidType,
  SockserveError,
  systemCallError,
  TimeoutError,
} from '../errors.js';
import { optional, validateInteger } from '../validators.js';
import { loadUdpNative } from './udp-batch.js';

/** Bytes read from the file per piece. */
const PIECE_BYTES = 64 * 1024;

/** What `sendfile()` sends: a path (opened and closed by the call), a `FileHandle`, or a file descriptor (left open). */
export type SendfileSource = string | URL | FileHandle | number;

/** The part of a `StreamWriter` that `sendFile()` writes through. */
export interface PieceWriter {
  write(data: Uint8Array): Promise<void>;
  /** Seconds a wait for the peer may last; undefined: no limit. */
  readonly timeout: number | undefined;
}

/** Which way to send: `auto` (zero-copy when possible), or one of them (`native` throws when impossible). */
export type SendfileMode = 'auto' | 'native' | 'stream';

/** The functions `@sockserve/udp-native`'s `src/sendfile.c` adds to the addon. */
interface NativeSendfile {
  sendfileStart(
    socketFd: number,
    fileFd: number,
    offset: number,
    count: number,
    timeoutMs: number,
    done: (errno: number, sent: number) => void,
  ): object;
  sendfileCancel(job: object): void;
}

const {
  ECANCELED,
  ECONNABORTED,
  ECONNRESET,
  EHOSTUNREACH,
  EINVAL,
  ENOSYS,
  ENOTCONN,
  ENOTSOCK,
  EOPNOTSUPP,
  EPIPE,
  ETIMEDOUT,
} = constants.errno;
/** sendfile(2) cannot send from this file or to this socket: stream instead, as Python does. */
const GIVE_UP = new Set([EINVAL, ENOSYS, EOPNOTSUPP, ENOTSOCK]);
/** The peer or the network ended the connection. */
const CONNECTION_LOST = new Set([EPIPE, ECONNRESET, ENOTCONN, ECONNABORTED, ETIMEDOUT, EHOSTUNREACH]);
const EMPTY: Buffer = Buffer.alloc(0);

/** The addon's sendfile functions, or null (not Linux, not installed, or an addon without them). */
export function loadNativeSendfile(): NativeSendfile | null {
  const addon = loadUdpNative() as unknown as Partial<NativeSendfile> | null;
  return typeof addon?.sendfileStart === 'function' && typeof addon.sendfileCancel === 'function'
    ? (addon as NativeSendfile)
    : null;
}

/** The descriptor of a plain (not TLS) net.Socket that can take a sendfile(2), or undefined. */
function socketFd(socket: Duplex): number | undefined {
  if ((socket as { encrypted?: unknown }).encrypted !== undefined) return undefined; // tls.TLSSocket
  const fd = (socket as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Reads into `buffer` at `position`; resolves with the bytes read (0 at end of file). */
type ReadAt = (buffer: Buffer, position: number) => Promise<number>;

/**
 * Sends `count` bytes of `file` from `offset` (default: from 0 until end of file) through `writer`;
 * resolves with the number of bytes sent. Pieces go out in order; each is awaited through the
 * writer before the next but one is read.
 */
export async function sendFile(
  writer: PieceWriter,
  socket: Duplex,
  file: SendfileSource,
  offset?: number,
  count?: number,
  mode: SendfileMode = 'auto',
): Promise<number> {
  const start = optional(offset, 0, (value, name) => validateInteger(value, name, 0), 'offset');
  const limit = optional<number | undefined>(
    count,
    undefined,
    (value, name) => validateInteger(value, name, 0),
    'count',
  );
  // As in Python, a count of 0 (or none) sends until the end of the file.
  const total = limit === undefined || limit === 0 ? Number.POSITIVE_INFINITY : limit;
  let handle: FileHandle | undefined;
  let readAt: ReadAt;
  let fd: number;
  if (typeof file === 'string' || file instanceof URL) {
    handle = await open(file, 'r');
    readAt = handleReader(handle);
    fd = handle.fd;
  } else if (typeof file === 'number') {
    validateInteger(file, 'file', 0);
    readAt = fdReader(file);
    fd = file;
  } else if (typeof file === 'object' && file !== null && typeof (file as FileHandle).read === 'function') {
    readAt = handleReader(file);
    fd = file.fd;
  } else {
    throw invalidType('file', 'a path, a FileHandle or a file descriptor', file);
  }
  try {
    if (socket.destroyed || socket.writableEnded) {
      throw new ConnectionClosedError(socket.destroyed ? 'connection closed' : 'write after end');
    }
    if (mode !== 'stream') {
      const native = loadNativeSendfile();
      const target = socketFd(socket);
      if (native !== null && target !== undefined) {
        const sent = await sendNative(native, writer, socket, fd, start, total);
        if (sent !== undefined) return sent;
      } else if (mode === 'native') {
        throw new SockserveError(
          ErrorCodes.UNSUPPORTED,
          'zero-copy sendfile needs Linux, @sockserve/udp-native and a plain TCP or Unix socket',
        );
      }
    }
    return await pump(writer, readAt, start, total);
  } finally {
    await handle?.close();
  }
}

/**
 * The zero-copy way. Resolves with the bytes sent, or undefined when sendfile(2) refused this file or
 * socket before sending anything (the caller then streams).
 */
async function sendNative(
  native: NativeSendfile,
  writer: PieceWriter,
  socket: Duplex,
  fileFd: number,
  start: number,
  total: number,
): Promise<number | undefined> {
  if (socket.destroyed || socket.writableEnded) {
    throw new ConnectionClosedError(socket.destroyed ? 'connection closed' : 'write after end');
  }
  // What Node still holds for this socket goes first: an empty write calls back once all before it are out.
  await new Promise<void>((resolve, reject) => {
    socket.write(EMPTY, (error) =>
      error
        ? reject(new ConnectionClosedError('connection closed before sendfile', { cause: error }))
        : resolve(),
    );
  });
  if (socket.destroyed) throw new ConnectionClosedError('connection closed before sendfile');
  const fd = socketFd(socket);
  if (fd === undefined) throw new ConnectionClosedError('connection closed before sendfile');
  const seconds = writer.timeout;
  const outcome = await new Promise<[number, number] | undefined>((resolve) => {
    let job: object;
    try {
      job = native.sendfileStart(
        fd,
        fileFd,
        start,
        total === Number.POSITIVE_INFINITY ? -1 : total,
        seconds === undefined ? -1 : Math.ceil(seconds * 1000),
        (code, bytes) => {
          socket.off('close', cancel);
          resolve([code, bytes]);
        },
      );
    } catch {
      resolve(undefined); // no descriptor or thread to spare: stream instead
      return;
    }
    const cancel = (): void => native.sendfileCancel(job);
    socket.on('close', cancel);
  });
  if (outcome === undefined) return undefined;
  const [errno, sent] = outcome;
  if (errno === 0) return sent;
  if (sent === 0 && GIVE_UP.has(errno)) return undefined;
  if (errno === ETIMEDOUT && seconds !== undefined) {
    socket.destroy();
    throw new TimeoutError(seconds, 'write');
  }
  if (errno === ECANCELED) throw new ConnectionClosedError('connection closed during sendfile');
  const error = systemCallError('sendfile', -errno, '', { bytesSent: sent });
  if (CONNECTION_LOST.has(errno)) {
    throw new ConnectionClosedError('connection failed during sendfile', { cause: error });
  }
  throw error; // the file's side (EIO, …)
}

/** The read/write loop: the next piece is read while the previous one is being written. */
async function pump(writer: PieceWriter, readAt: ReadAt, start: number, total: number): Promise<number> {
  let sent = 0;
  const readPiece = (): Promise<Buffer> => {
    const size = Math.min(PIECE_BYTES, total - sent);
    const buffer = Buffer.allocUnsafe(size);
    return readAt(buffer, start + sent).then((bytesRead) =>
      bytesRead === size ? buffer : buffer.subarray(0, bytesRead),
    );
  };
  let next: Promise<Buffer> | undefined = readPiece();
  try {
    while (next !== undefined) {
      const piece: Buffer = await next;
      next = undefined;
      if (piece.length === 0) break; // end of file
      const written = writer.write(piece);
      sent += piece.length;
      if (sent < total) next = readPiece();
      await written;
    }
  } finally {
    // A read still in flight when a write failed must finish before the file is closed.
    if (next !== undefined) await next.catch(() => undefined);
  }
  return sent;
}

function handleReader(handle: FileHandle): ReadAt {
  return async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead;
}

function fdReader(fd: number): ReadAt {
  return (buffer, position) =>
    new Promise<number>((resolve, reject) => {
      readCallback(fd, buffer, 0, buffer.length, position, (error, bytesRead) => {
        if (error) reject(error);
        else resolve(bytesRead);
      });
    });
}
