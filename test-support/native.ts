/**
 * Whether the addon of `@sockserve/udp-native` loads in this checkout, for the tests that need it
 * (batched UDP I/O, Unix datagram sockets). It is built by `npm run build` (a prebuilt binary) or at
 * install; on a machine without a C toolchain neither happens, and those tests skip, their titles
 * saying why. With CI set they never skip: a missing addon fails every test file that asks.
 */
import { createRequire } from 'node:module';
import { describe, it } from 'vitest';

interface Loaded {
  open?: unknown;
  unixSocket?: unknown;
}

function load(): { addon: Loaded | undefined; why: string } {
  try {
    const addon = createRequire(import.meta.url)('@sockserve/udp-native') as Loaded;
    return { addon, why: '' };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const unbuilt = text.startsWith('No native build was found');
    return {
      addon: undefined,
      why: unbuilt
        ? '@sockserve/udp-native is not built (no C toolchain when `npm run build` ran: python3, make, cc)'
        : `@sockserve/udp-native does not load: ${text.split('\n')[0]}`,
    };
  }
}

const { addon, why } = load();
const ci = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
if (addon === undefined && ci) throw new Error(`CI is set, so the native tests must run, but ${why}`);

/** What the addon offers here: batching (Linux) and Unix datagram sockets (not Windows). */
export const native: { readonly batching: boolean; readonly unixDatagram: boolean; readonly why: string } = {
  batching: typeof addon?.open === 'function',
  unixDatagram: typeof addon?.unixSocket === 'function',
  /** Why the addon is missing ('' when it loaded). */
  why: why,
};

/** A test title: `title` where `available`, else `title` and why the test is skipped. */
export function nativeTitle(title: string, available: boolean): string {
  if (available) return title;
  return `${title} [skipped: ${why || `not available on ${process.platform}`}]`;
}

/** `describe` for tests that need Unix datagram sockets: skipped without them, the reason in its title. */
export function describeUnixDgram(title: string, body: () => void): void {
  describe.skipIf(!native.unixDatagram)(nativeTitle(title, native.unixDatagram), body);
}

/** `it` for a test that needs Unix datagram sockets: skipped without them, the reason in its title. */
export function itUnixDgram(title: string, body: () => Promise<void> | void, timeout?: number): void {
  it.skipIf(!native.unixDatagram)(nativeTitle(title, native.unixDatagram), body, timeout);
}
