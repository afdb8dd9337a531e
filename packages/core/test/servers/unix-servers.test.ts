/** Unix socket paths: stale files are replaced, live servers and other files are never touched. */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { describeUnixDgram } from '../../../../test-support/native.js';
import {
  DatagramRequestHandler,
  ErrorCodes,
  StreamRequestHandler,
  ThreadingUnixDatagramServer,
  ThreadingUnixStreamServer,
  UnixDatagramServer,
  UnixStreamServer,
} from '../../src/index.js';
import { serving, streamRoundTrip, tempDir, unixDatagramRoundTrip } from '../helpers.js';

class LineEchoHandler extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const line = await this.rfile.readline();
    // At EOF (the live-path probe connects and goes away) there is nothing to echo, and nobody to hear it.
    if (line.length > 0) await this.wfile.write(line);
  }
}

class DatagramEchoHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write(this.packet);
  }
}

/**
 * Leaves a socket file behind the way a killed server does: bound by a Node.js process that exits
 * without cleanup (a stream socket through node:net, a datagram one through @sockserve/udp-native).
 */
function leaveStaleSocket(path: string, kind: 'stream' | 'dgram'): void {
  const bind =
    kind === 'stream'
      ? `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`
      : `const a = require(${JSON.stringify(createRequire(import.meta.url).resolve('@sockserve/udp-native'))});` +
        `process.exit(a.unixBind(a.unixSocket(), ${JSON.stringify(path)}) === 0 ? 0 : 1)`;
  const result = spawnSync(process.execPath, ['-e', bind]);
  expect(result.status).toBe(0);
  expect(statSync(path).isSocket()).toBe(true);
}

describe('UnixStreamServer paths', () => {
  it('removes a stale socket file left by a dead server, and the path on close', async () => {
    using dir = tempDir();
    const path = dir.file('stale.sock');
    leaveStaleSocket(path, 'stream');
    {
      await using server = await serving(new ThreadingUnixStreamServer(path, LineEchoHandler));
      expect(String(await streamRoundTrip(server.serverAddress, Buffer.from('hi\n')))).toBe('hi\n');
    }
    expect(existsSync(path)).toBe(false);
  });

  it('never removes the path of a live server: clear error instead', async () => {
    using dir = tempDir();
    const path = dir.file('live.sock');
    await using live = await serving(new UnixStreamServer(path, LineEchoHandler));
    const second = new UnixStreamServer(path, LineEchoHandler);
    await expect(second.listen()).rejects.toMatchObject({
      code: ErrorCodes.ADDRESS_IN_USE,
      message: `a server is already listening on unix://${path}`,
    });
    expect(String(await streamRoundTrip(live.serverAddress, Buffer.from('still\n')))).toBe('still\n');
  });

  it('refuses to replace a file that is not a socket', async () => {
    using dir = tempDir();
    const path = dir.file('data.txt');
    writeFileSync(path, 'keep me');
    const server = new UnixStreamServer(path, LineEchoHandler);
    await expect(server.listen()).rejects.toThrow(`unix://${path} exists and is not a socket`);
    expect(existsSync(path)).toBe(true);
  });

  it('applies the file mode', async () => {
    using dir = tempDir();
    const path = dir.file('mode.sock');
    await using server = await new UnixStreamServer(path, LineEchoHandler, { mode: 0o600 }).listen();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(server.state).toBe('listening');
  });
});

describeUnixDgram('UnixDatagramServer paths', () => {
  it('removes a stale socket file and serves', async () => {
    using dir = tempDir();
    const path = dir.file('stale.sock');
    leaveStaleSocket(path, 'dgram');
    {
      await using _server = await serving(new ThreadingUnixDatagramServer(path, DatagramEchoHandler));
      expect(String(await unixDatagramRoundTrip(path, dir.file('c.sock'), Buffer.from('ping')))).toBe('ping');
    }
    expect(existsSync(path)).toBe(false);
  });

  it('never removes the path of a live server', async () => {
    using dir = tempDir();
    const path = dir.file('live.sock');
    await using live = await serving(new UnixDatagramServer(path, DatagramEchoHandler));
    const second = new UnixDatagramServer(path, DatagramEchoHandler);
    await expect(second.listen()).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
    expect(String(await unixDatagramRoundTrip(path, dir.file('c.sock'), Buffer.from('up')))).toBe('up');
    expect(live.state).toBe('serving');
  });
});
