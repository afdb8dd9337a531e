/**
 * The demo's TLS certificate files (`--tls-cert`, `--tls-key`, `--tls-ca`, `--tls-client-auth`):
 * read into the core's `tls` option when a server is built, and again on SIGHUP (`reloadTLS`).
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, SockserveError, type StreamServer, type TLSOptions } from '@sockserve/core';
import type { TLSFiles } from './cli.js';

/** The files each TLS server was built from. */
const filesOf = new WeakMap<object, TLSFiles>();

/**
 * The server's `tls` option, read from the files now. A file that cannot be read is an
 * `ERR_SOCKSERVE_INVALID_ARG_VALUE` naming it (one line, exit status 1).
 */
export function readTLS(files: TLSFiles): TLSOptions {
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new SockserveError(
        ErrorCodes.INVALID_ARG_VALUE,
        `cannot read the ${what} ${path}: ${(error as Error).message}`,
      );
    }
  };
  const options: TLSOptions = { cert: read(files.cert, 'certificate'), key: read(files.key, 'key') };
  if (files.ca !== undefined) options.ca = read(files.ca, 'CA file');
  if (files.clientAuth) {
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

/** Remembers the files `server` was built from (for `tlsFilesOf` and `reloadTLS`). */
export function rememberTLSFiles<S extends object>(server: S, files: TLSFiles | undefined): S {
  if (files !== undefined) filesOf.set(server, files);
  return server;
}

/** The certificate files of a TLS server; undefined for a plain one. */
export function tlsFilesOf(server: object): TLSFiles | undefined {
  return filesOf.get(server);
}

/**
 * Reads the certificate files again and gives them to the server for new connections (SIGHUP).
 * False for a plain server; throws (the server keeps its certificate) when a file is unusable.
 */
export function reloadTLS(server: object): boolean {
  const files = filesOf.get(server);
  if (files === undefined) return false;
  (server as StreamServer<unknown, unknown>).setSecureContext(readTLS(files));
  return true;
}
