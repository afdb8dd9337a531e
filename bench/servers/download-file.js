// The file the `download` scenario serves: the load generator writes it (its stream pattern, so it
// can check every byte) before it connects; the servers send it to every connection.
import { fileURLToPath } from 'node:url';

/** bench/.build/download.bin (gitignored). */
export const DOWNLOAD_FILE = fileURLToPath(new URL('../.build/download.bin', import.meta.url));
