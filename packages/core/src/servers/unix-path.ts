/**
 * Unix socket paths: a socket file left behind by a dead server is removed before binding; a path
 * where a live server answers is never touched.
 */
import { lstat, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, SockserveError } from '../errors.js';

/**
 * The longest Unix socket path the platform takes, in bytes (sun_path less its terminating NUL):
 * 107 on Linux, 103 on macOS and the BSDs; undefined where no limit is checked (Windows pipes).
 */
export function unixPathLimit(platform: NodeJS.Platform = process.platform): number | undefined {
  if (platform === 'linux' || platform === 'android') return 107;
  if (platform === 'win32') return undefined;
  return 103;
}

/**
 * Throws BIND_FAILED naming the path and the limit when `path` is longer than the platform takes
 * (the system would otherwise cut it silently and listen on another path).
 */
export function checkUnixPathLength(path: string, platform: NodeJS.Platform = process.platform): void {
  const limit = unixPathLimit(platform);
  const length = Buffer.byteLength(path);
  if (limit === undefined || length <= limit) return;
  throw new SockserveError(
    ErrorCodes.BIND_FAILED,
    `cannot listen on unix://${path}: the path is ${length} bytes, longer than the ${limit} bytes a Unix socket path can have on ${platform}; use a shorter path`,
  );
}

/** A bind failure explained: BIND_FAILED naming the missing directory when the path's directory does not exist. */
async function explainBindFailure(path: string, error: unknown): Promise<unknown> {
  const directory = dirname(path);
  const missing = await stat(directory).then(
    () => false,
    (failure: NodeJS.ErrnoException) => failure.code === 'ENOENT' || failure.code === 'ENOTDIR',
  );
  if (!missing) return error;
  const cause = SockserveError.isInstance(error) && error.cause !== undefined ? error.cause : error;
  return new SockserveError(
    ErrorCodes.BIND_FAILED,
    `cannot listen on unix://${path}: the directory ${directory} does not exist`,
    { cause },
  );
}

/** Says whether a server answers at `path` (e.g. by connecting to it). */
export type LivenessProbe = (path: string) => Promise<boolean>;

/**
 * Called after binding `path` failed with EADDRINUSE. Removes the file and returns true when it is a
 * socket nobody answers on (so the caller binds again); throws ADDRESS_IN_USE when a server is live
 * there or the path is not a socket.
 */
async function removeStaleSocket(path: string, isLive: LivenessProbe, bindFailure: unknown): Promise<true> {
  const stats = await lstat(path).catch(() => undefined);
  if (stats === undefined) return true; // gone meanwhile: bind again
  if (!stats.isSocket()) {
    throw new SockserveError(
      ErrorCodes.ADDRESS_IN_USE,
      `unix://${path} exists and is not a socket; not removing it`,
      {
        cause: bindFailure,
      },
    );
  }
  if (await isLive(path)) {
    throw new SockserveError(ErrorCodes.ADDRESS_IN_USE, `a server is already listening on unix://${path}`, {
      cause: bindFailure,
    });
  }
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  return true;
}

/**
 * Binds with `bind()`; when the path is in use by a stale socket file, removes it and binds once
 * more (a live server's path, or a file that is not a socket, fails with ADDRESS_IN_USE). A path
 * longer than the platform's limit, or in a directory that does not exist, fails with BIND_FAILED
 * saying so.
 */
export async function bindUnixPath<T>(
  path: string,
  bind: () => Promise<T>,
  isLive: LivenessProbe,
): Promise<T> {
  checkUnixPathLength(path);
  try {
    return await bind();
  } catch (error) {
    if (!SockserveError.isInstance(error) || error.code !== ErrorCodes.ADDRESS_IN_USE) {
      throw await explainBindFailure(path, error);
    }
    await removeStaleSocket(path, isLive, error.cause);
    return bind();
  }
}
