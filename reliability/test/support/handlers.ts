/**
 * Handlers the in-process scenarios run, written as a user would, against the built packages.
 */
import { StreamRequestHandler } from '@sockserve/core';

/** Echoes each line (rfile.readline / wfile.write) until the client half-closes. */
export class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for (;;) {
      const line = await this.rfile.readline({ maxBytes: 64 * 1024 });
      if (line.length === 0) return;
      await this.wfile.write(line);
    }
  }
}

/**
 * Streams in two halves, for the shutdown scenario (the same as fixtures/forking-handlers.mjs):
 * `N` asks for N lines of 1 KiB; it sends N/2 of them, waits for the client's `go` line, then sends
 * the rest and ends.
 */
export class TwoHalvesHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const count = Number(String(await this.rfile.readline()).trim());
    for (let i = 0; i < count; i++) {
      if (i === Math.floor(count / 2)) await this.rfile.readline();
      await this.wfile.write(TWO_HALVES_LINE);
    }
  }
}

/** Each line TwoHalvesHandler sends. */
export const TWO_HALVES_LINE: string = `${'y'.repeat(1023)}\n`;
