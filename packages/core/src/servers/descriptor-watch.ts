/**
 * Descriptor exhaustion, made visible. When a process has no descriptor left, libuv accepts each new
 * connection on a reserve descriptor and closes it at once (its "EMFILE trick"): Node never sees the
 * failed accept, and clients are cut off without a word. So a listening stream server checks, once a
 * second, that it can still open a descriptor; while it cannot, it reports an `accept EMFILE` (or
 * ENFILE) error, at most once every `DESCRIPTOR_REPORT_MS`, with how many checks found it so.
 */
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import { systemCallError } from '../errors.js';

/** How often a listening stream server checks that a descriptor can be opened, in milliseconds (1 s). */
export const DESCRIPTOR_CHECK_MS = 1000;
/** While descriptors stay exhausted, one report at most per this many milliseconds (10 s). */
export const DESCRIPTOR_REPORT_MS = 10_000;

/** The error reported while descriptors are exhausted: Node-shaped (`code`, `syscall: 'accept'`), with counts. */
export type DescriptorsExhaustedError = Error & {
  code: 'EMFILE' | 'ENFILE';
  errno: number;
  syscall: 'accept';
  /** The server, as `tcp://127.0.0.1:9999` or `unix:///path`. */
  address: string;
  /** Checks (one a second) that found no descriptor free since the previous report, this one included. */
  count: number;
  /** Requests (connections) open when it was reported. */
  openRequests: number;
};

/** `EMFILE`/`ENFILE` when no descriptor can be opened now, else undefined. */
export function descriptorShortage(): 'EMFILE' | 'ENFILE' | undefined {
  try {
    closeSync(openSync(devNull, 'r'));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? code : undefined;
  }
}

/**
 * Checks every `DESCRIPTOR_CHECK_MS` (on an unref'd timer) and calls `report` while descriptors are
 * exhausted, rate-limited. Returns the function that stops the checks.
 */
export function watchDescriptors(
  where: () => string,
  openRequests: () => number,
  report: (error: DescriptorsExhaustedError) => void,
): () => void {
  let count = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  const timer = setInterval(() => {
    const code = descriptorShortage();
    if (code === undefined) {
      count = 0;
      return;
    }
    count++;
    const now = performance.now();
    if (now - lastReport < DESCRIPTOR_REPORT_MS) return;
    lastReport = now;
    const address = where();
    const open = openRequests();
    const error = systemCallError('accept', code, address, {
      address,
      count,
      openRequests: open,
    }) as DescriptorsExhaustedError;
    error.message =
      `accept ${code} ${address}: no file descriptor left (${code === 'EMFILE' ? 'the process' : 'the system'} ` +
      `is at its limit, ${open} connection${open === 1 ? '' : 's'} open); new connections are closed at accept ` +
      `(found ${count} time${count === 1 ? '' : 's'} since the last report)`;
    count = 0;
    report(error);
  }, DESCRIPTOR_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
