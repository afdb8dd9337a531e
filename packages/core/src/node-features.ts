/** Feature detection for socket options that depend on the Node.js version. */
import { ErrorCodes, SockserveError } from './errors.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

/** `reusePort` for net listen and dgram sockets arrived in Node.js 22.12 and 23.1. */
export const supportsReusePort: boolean =
  major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

/** Throws a clear error when `allowReusePort` is asked for on a Node.js without it. */
export function assertReusePort(where: string): void {
  if (supportsReusePort) return;
  throw new SockserveError(
    ErrorCodes.UNSUPPORTED,
    `allowReusePort (SO_REUSEPORT) for ${where} needs Node.js 22.12 or newer; this is Node.js ${process.version}`,
  );
}
