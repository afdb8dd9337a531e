/**
 * The default report of a server's socket errors (a reply that cannot be sent, an error of the
 * listening socket): the `socket-error` event, and when nobody listens for it, one report on stderr,
 * as `handleError` does for a handler's error. These are the two places the library prints; a
 * `socket-error` listener replaces the report.
 */

/** What a socket error is reported through (every server). */
export interface SocketErrorEmitter {
  emit(event: 'socket-error', error: Error): boolean;
}

/**
 * Emits `socket-error`; with no listener, writes `error` to stderr, naming the server `where`
 * (`udp://127.0.0.1:9999`) and how to handle it yourself.
 */
export function reportSocketError(server: SocketErrorEmitter, where: string, error: Error): void {
  if (server.emit('socket-error', error)) return;
  const code = (error as { code?: unknown }).code;
  const shown =
    typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  process.stderr.write(
    `sockserve: socket error on ${where}: ${shown} (listen for 'socket-error' to handle it yourself)\n`,
  );
}
