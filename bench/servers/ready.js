// What every Node server under test shares with the runner: it prints `listening PORT` once it
// accepts connections, or `unavailable REASON` (and exits 0) when the thing it measures does not
// exist yet. SIGTERM exits normally, so `node --cpu-prof` can write its profile.

/** The loopback address every server binds. */
export const HOST = '127.0.0.1';

/** @param {number} port */
export function announce(port) {
  process.stdout.write(`listening ${port}\n`);
}

/** @param {string} what */
export function announceHandler(what) {
  process.stdout.write(`handler ${what}\n`);
}

/** @param {string} reason @returns {never} */
export function unavailable(reason) {
  process.stdout.write(`unavailable ${reason}\n`);
  process.exit(0);
}

process.on('SIGTERM', () => process.exit(0));
