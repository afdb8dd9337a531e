/**
 * Loads the optional native package `@sockserve/udp-native` once, for the parts that use it: batched
 * UDP I/O (udp-batch.ts, Linux) and Unix datagram sockets (unix-datagram-socket.ts). It ships prebuilt
 * binaries (linux-x64) and builds from source elsewhere at install; when it is missing or did not
 * build, each part goes without it (UDP) or says what is missing (Unix datagrams).
 */

import { createRequire } from 'node:module';
import type udpNative from '@sockserve/udp-native';

/** What loading `@sockserve/udp-native` gave: the addon, or the error that says why there is none. */
export type NativeAddonLoad =
  | { readonly addon: typeof udpNative; readonly error?: undefined }
  | { readonly addon?: undefined; readonly error: Error };

let loaded: NativeAddonLoad | undefined;

/** Loads `@sockserve/udp-native` (once) and returns it, or the error from loading it. */
export function loadNativeAddon(): NativeAddonLoad {
  if (loaded !== undefined) return loaded;
  try {
    const addon = createRequire(import.meta.url)('@sockserve/udp-native') as typeof udpNative | null;
    loaded =
      typeof addon === 'object' && addon !== null
        ? { addon }
        : { error: new Error('@sockserve/udp-native exports no addon') };
  } catch (error) {
    loaded = { error: error instanceof Error ? error : new Error(String(error)) };
  }
  return loaded;
}
