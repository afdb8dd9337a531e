/**
 * `sendFile()`: the body of `wfile.sendfile(file, offset, count)`, Python's
 * `socket.sendfile()`.
 *
 * It reads the file in 64 KiB pieces at explicit positions and writes each
 * through the connection's `StreamWriter`, so it has the writer's
 * backpressure (one piece read ahead while the previous one drains, never
 * more) and its `timeout`. It works on every socket, TLS included, and on any
 * readable file.
 */
import { read as readCallback } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { invalidType } from '../errors.js';
import { optional, validateInteger } from '../validators.js';

/** Bytes read from the file per piece. */
const PIECE_BYTES = 64 * 1024;

/** What `sendfile()` sends: a path (opened and closed by the call), a `FileHandle`, or a file descriptor (left open). */
export type SendfileSource = string | URL | FileHandle | number;

/** The part of a `StreamWriter` that `sendFile()` writes through. */
export interface PieceWriter {
  write(data: Uint8Array): Promise<void>;
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
  file: SendfileSource,
  offset?: number,
  count?: number,
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
  if (typeof file === 'string' || file instanceof URL) {
    handle = await open(file, 'r');
    readAt = handleReader(handle);
  } else if (typeof file === 'number') {
    validateInteger(file, 'file', 0);
    readAt = fdReader(file);
  } else if (typeof file === 'object' && file !== null && typeof (file as FileHandle).read === 'function') {
    readAt = handleReader(file);
  } else {
    throw invalidType('file', 'a path, a FileHandle or a file descriptor', file);
  }
  try {
    return await pump(writer, readAt, start, total);
  } finally {
    await handle?.close();
  }
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
