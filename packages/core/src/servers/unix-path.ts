/**
 * Unix socket paths: a socket file left behind by a dead server is removed before binding; a path
 * where a live server answers is never touched.
 */
import { lstat, unlink } from 'node:fs/promises';
import { ErrorCodes, SockserveError } from '../errors.js';

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
 * more (a live server's path, or a file that is not a socket, fails with ADDRESS_IN_USE).
 */
export async function bindUnixPath<T>(
  path: string,
  bind: () => Promise<T>,
  isLive: LivenessProbe,
): Promise<T> {
  try {
    return await bind();
  } catch (error) {
    if (!SockserveError.isInstance(error) || error.code !== ErrorCodes.ADDRESS_IN_USE) throw error;
    await removeStaleSocket(path, isLive, error.cause);
    return bind();
  }
}
