/**
 * Node.js prints process warnings on stderr itself (`(node:PID) [DEP0005] DeprecationWarning: …`),
 * beside the demo's log: under `--log-format json` such a line is not JSON. The demo logs them
 * instead, one warn-level record each.
 */
import type { Logger } from './logger.js';

/**
 * Replaces Node's own warning printer (the `warning` listeners present when the demo starts: only
 * Node's) with a listener that logs each warning through `log`. With `--no-warnings` or
 * `NODE_NO_WARNINGS=1` Node installs no printer, and the demo logs none either.
 */
export function logProcessWarnings(log: Logger): void {
  const printers = process.listeners('warning');
  if (printers.length === 0) return;
  for (const printer of printers) process.off('warning', printer);
  process.on('warning', (warning) => {
    const { code } = warning as Error & { code?: unknown };
    log.warn({ warning: warning.name, ...(typeof code === 'string' ? { code } : {}) }, warning.message);
  });
}
