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
