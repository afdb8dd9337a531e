/**
 * Unix socket paths the system cannot bind as given: longer than the platform's limit (the kernel
 * would cut them and listen elsewhere), or in a directory that does not exist (the system says EACCES).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DatagramRequestHandler,
  ErrorCodes,
  StreamRequestHandler,
  UnixDatagramServer,
  UnixStreamServer,
} from '../../src/index.js';
import { unixPathLimit } from '../../src/servers/unix-path.js';
import { serving, streamRoundTrip, tempDir } from '../helpers.js';

class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(await this.rfile.readline());
  }
}

class Quiet extends DatagramRequestHandler {
  override handle(): void {}
}

/** A path of exactly `bytes` bytes inside `dir`. */
function pathOfLength(dir: string, bytes: number): string {
  const prefix = `${dir}/`;
  return prefix + 'p'.repeat(bytes - Buffer.byteLength(prefix));
}

describe('unixPathLimit', () => {
  it('is 107 bytes on Linux and 103 on macOS', () => {
    expect(unixPathLimit('linux')).toBe(107);
    expect(unixPathLimit('darwin')).toBe(103);
    expect(unixPathLimit('freebsd')).toBe(103);
  });
});

describe.runIf(process.platform === 'linux' || process.platform === 'darwin')('long Unix paths', () => {
  const limit = unixPathLimit()!;

  it('a stream server refuses a path one byte over the limit, naming the path and the limit, and creates nothing', async () => {
    using dir = tempDir();
    const path = pathOfLength(dir.path, limit + 1);
    const server = new UnixStreamServer(path, Echo);
    const failure = server.listen();
    await expect(failure).rejects.toMatchObject({ code: ErrorCodes.BIND_FAILED });
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain(path);
    expect(message).toContain(`${limit} bytes`);
    expect(readdirSync(dir.path)).toEqual([]); // no socket at the cut path
    await server.serverClose();
  });

  it('a path of exactly the limit works', async () => {
    using dir = tempDir();
    const path = pathOfLength(dir.path, limit);
    await using server = await serving(new UnixStreamServer(path, Echo));
    expect(server.serverAddress.path).toBe(path);
    expect(String(await streamRoundTrip({ path }, Buffer.from('hi\n')))).toBe('hi\n');
  });

  it('a datagram server refuses it too', async () => {
    using dir = tempDir();
    const server = new UnixDatagramServer(pathOfLength(dir.path, limit + 20), Quiet);
    await expect(server.listen()).rejects.toMatchObject({
      code: ErrorCodes.BIND_FAILED,
      message: expect.stringContaining(`${limit} bytes`),
    });
    await server.serverClose();
  });
});

describe('a Unix path in a directory that does not exist', () => {
  it('is reported as the missing directory, not as "permission denied"', async () => {
    using dir = tempDir();
    const missing = join(dir.path, 'no-such-dir');
    const server = new UnixStreamServer(join(missing, 's.sock'), Echo);
    const failure = server.listen();
    await expect(failure).rejects.toMatchObject({ code: ErrorCodes.BIND_FAILED });
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toBe(
      `cannot listen on unix://${missing}/s.sock: the directory ${missing} does not exist`,
    );
    expect(message).not.toMatch(/EACCES|permission/);
    expect(existsSync(missing)).toBe(false);
    await server.serverClose();
  });
});
