import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  IncompleteReadError,
  LineTooLongError,
  SockserveError,
  TimeoutError,
} from '../../src/errors.js';
import { StreamReader } from '../../src/io/stream-reader.js';
import { closeSocketPairs, socketPair } from './socket-pair.js';

afterEach(closeSocketPairs);

/** Polls `condition` until it holds (bounded: fails the test after 3 s). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Writes `parts` one by one, each only after the previous one has reached `local` (so each is a separate chunk). */
async function writeApart(local: net.Socket, peer: net.Socket, parts: Buffer[]): Promise<void> {
  for (const part of parts) {
    if (part.length === 0) continue;
    const target = local.bytesRead + part.length;
    peer.write(part);
    await until(() => local.bytesRead >= target, 'bytes to arrive');
  }
}

async function readAllLines(reader: StreamReader): Promise<Buffer[]> {
  const lines: Buffer[] = [];
  for (;;) {
    const line = await reader.readline();
    if (line.length === 0) return lines;
    lines.push(line);
  }
}

const hex = (buffers: Buffer[]): string[] => buffers.map((buffer) => buffer.toString('hex'));

/** Every line (with its terminator) of a payload that ends with LF. */
function splitKeepingLf(payload: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let at = payload.indexOf(10); at !== -1; at = payload.indexOf(10, start)) {
    lines.push(payload.subarray(start, at + 1));
    start = at + 1;
  }
  return lines;
}

// --- tests -------------------------------------------------------------------

describe('StreamReader.readline', () => {
  it('returns each line with its LF (CRLF kept), then the partial rest at EOF, then empty Buffers', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.end('one\ntwo\r\n\nlast');
    expect((await reader.readline()).toString()).toBe('one\n');
    expect((await reader.readline()).toString()).toBe('two\r\n');
    expect((await reader.readline()).toString()).toBe('\n');
    expect((await reader.readline()).toString()).toBe('last');
    expect(await reader.readline()).toHaveLength(0);
    expect(await reader.readline()).toHaveLength(0);
    expect(reader.atEof).toBe(true);
  });

  it('gives byte-identical lines (CRLF, multi-byte UTF-8) whatever byte offset the data is split at', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const payload = Buffer.from('alpha\r\nβeta 世界\n\n你好，世界\r\n😀 end\n', 'utf8');
    const collected = readAllLines(reader);
    for (let split = 0; split <= payload.length; split++) {
      await writeApart(local, peer, [payload.subarray(0, split), payload.subarray(split)]);
    }
    peer.end();
    const expected = Array.from({ length: payload.length + 1 }, () => splitKeepingLf(payload)).flat();
    expect(hex(await collected)).toEqual(hex(expected));
  });

  it('finds lines when every byte arrives as its own chunk', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const payload = Buffer.from('日本語\r\nx\n\n', 'utf8');
    const collected = readAllLines(reader);
    await writeApart(
      local,
      peer,
      [...payload].map((byte) => Buffer.from([byte])),
    );
    peer.end();
    expect(hex(await collected)).toEqual(hex(splitKeepingLf(payload)));
  });

  it('rejects a line longer than maxBytes with LineTooLongError and then reads the next line', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.write('12345678\r\n'); // exactly maxBytes, CRLF not counted
    peer.write('123456789\n'); // one byte over
    peer.write('next\n');
    peer.end('12345678\r\r\n'); // only the CR right before LF is free
    expect((await reader.readline({ maxBytes: 8 })).toString()).toBe('12345678\r\n');
    const error = await reader.readline({ maxBytes: 8 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LineTooLongError);
    expect((error as LineTooLongError).maxBytes).toBe(8);
    expect((error as LineTooLongError).code).toBe(ErrorCodes.LINE_TOO_LONG);
    expect((await reader.readline({ maxBytes: 8 })).toString()).toBe('next\n');
    await expect(reader.readline({ maxBytes: 8 })).rejects.toBeInstanceOf(LineTooLongError);
    expect(await reader.readline()).toHaveLength(0);
  });

  it('rejects an over-long line before its LF arrives, and skips its rest without buffering it', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { highWaterMark: 16 * 1024 });
    peer.write(Buffer.alloc(1000, 'a'));
    await expect(reader.readline({ maxBytes: 100 })).rejects.toBeInstanceOf(LineTooLongError);

    // The rest of the long line (4 MiB) arrives while the next readline is skipping it.
    const next = reader.readline({ maxBytes: 100 });
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, reader.buffered);
    }, 1);
    const garbage = Buffer.alloc(4 * 1024 * 1024, 'b');
    peer.write(garbage);
    peer.write('\nnext line\n');
    try {
      expect((await next).toString()).toBe('next line\n');
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeLessThanOrEqual(128 * 1024);
    expect(local.bytesRead).toBeGreaterThan(garbage.length);
  });

  it('lets a line through with maxBytes: Infinity (or maxLineBytes: Infinity) however long it is', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { highWaterMark: 1024 });
    const long = Buffer.alloc(300 * 1024, 'x');
    peer.write(Buffer.concat([long, Buffer.from('\n')]));
    expect((await reader.readline({ maxBytes: Number.POSITIVE_INFINITY })).length).toBe(long.length + 1);
    reader.maxLineBytes = Number.POSITIVE_INFINITY;
    peer.end(Buffer.concat([long, Buffer.from('\n')]));
    expect((await reader.readline()).length).toBe(long.length + 1);
  });

  it('bounds readline(), lines(), iteration and readUntil() at 64 KiB by default, naming the limit, without buffering the line', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { highWaterMark: 16 * 1024 });
    expect(reader.maxLineBytes).toBe(64 * 1024);
    // A line of 64 KiB is accepted; one byte more is not.
    peer.write(Buffer.concat([Buffer.alloc(64 * 1024, 'a'), Buffer.from('\r\n')]));
    expect((await reader.readline()).length).toBe(64 * 1024 + 2);
    const flood = Buffer.alloc(1024 * 1024, 'x'); // 1 MiB without a newline, then a short line
    peer.write(flood);
    peer.write('\nnext\n');
    const error = await reader.readline().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LineTooLongError);
    expect((error as LineTooLongError).code).toBe(ErrorCodes.LINE_TOO_LONG);
    expect((error as LineTooLongError).maxBytes).toBe(65536);
    expect((error as Error).message).toContain('65536');
    expect(reader.buffered).toBeLessThanOrEqual(128 * 1024); // rejected early, not after the whole line
    expect((await reader.readline()).toString()).toBe('next\n');

    for (const read of [() => reader.lines().next(), () => reader[Symbol.asyncIterator]().next()]) {
      peer.write(Buffer.alloc(70 * 1024, 'y'));
      await expect(read()).rejects.toMatchObject({ code: ErrorCodes.LINE_TOO_LONG, maxBytes: 65536 });
      peer.write('yyy\nok\n');
      expect((await reader.readline()).toString()).toBe('ok\n'); // the rest of the long line is skipped
    }
    peer.write(Buffer.alloc(70 * 1024, 'z'));
    await expect(reader.readUntil('--')).rejects.toMatchObject({ code: ErrorCodes.LINE_TOO_LONG });
    peer.write('zz--ok--');
    expect((await reader.readUntil('--')).toString()).toBe('ok--');
  });

  it('takes its default limit from maxLineBytes, and rejects a limit that is not an integer or Infinity', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { maxLineBytes: 4 });
    peer.write('12345\n1234\n');
    await expect(reader.readline()).rejects.toMatchObject({ code: ErrorCodes.LINE_TOO_LONG, maxBytes: 4 });
    expect((await reader.readline()).toString()).toBe('1234\n');
    expect(() => new StreamReader(local, { maxLineBytes: -1 })).toThrow(/maxLineBytes/);
    expect(() => reader.readline({ maxBytes: 1.5 })).toThrow(/maxBytes/);
  });

  it('readline(size) returns at most size bytes, as Python does, and the rest of the line next', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { maxLineBytes: 2 });
    peer.write('abcdefgh\n12');
    expect((await reader.readline(4)).toString()).toBe('abcd');
    expect((await reader.readline(10)).toString()).toBe('efgh\n');
    const waiting = reader.readline(4); // only "12" so far, no LF: waits for 4 bytes or a LF
    await writeApart(local, peer, [Buffer.from('3')]);
    peer.write('45\n');
    expect((await waiting).toString()).toBe('1234');
    expect((await reader.readline(0)).toString()).toBe('');
    expect((await reader.readline(100)).toString()).toBe('5\n'); // size bounds it, not maxLineBytes
    peer.end('xyz');
    expect((await reader.readline(2)).toString()).toBe('xy');
    expect((await reader.readline(2)).toString()).toBe('z');
    expect(await reader.readline(2)).toHaveLength(0);
    expect(() => reader.readline(1.5)).toThrow(/size/);
  });
});

describe('StreamReader.lines', () => {
  it('yields lines without LF or CRLF, empty ones too, and a final unterminated line', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.end('a\r\nb\n\nc\r\rtail\r');
    const lines: string[] = [];
    for await (const line of reader.lines()) lines.push(line.toString());
    expect(lines).toEqual(['a', 'b', '', 'c\r\rtail\r']);
  });

  it('yields byte-identical CJK lines for every split offset', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const payload = Buffer.from('你好\r\n世界\n\n末行\n', 'utf8');
    const collected = (async () => {
      const lines: Buffer[] = [];
      for await (const line of reader.lines()) lines.push(line);
      return lines;
    })();
    for (let split = 0; split <= payload.length; split++) {
      await writeApart(local, peer, [payload.subarray(0, split), payload.subarray(split)]);
    }
    peer.end();
    const one = ['你好', '世界', '', '末行'].map((text) => Buffer.from(text, 'utf8'));
    expect(hex(await collected)).toEqual(hex(Array.from({ length: payload.length + 1 }, () => one).flat()));
  });

  it('throws LineTooLongError on an over-long line; a new lines() continues after it', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.end(`ok\n${'x'.repeat(50)}\nafter\n`);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const line of reader.lines({ maxBytes: 10 })) seen.push(line.toString());
      })(),
    ).rejects.toBeInstanceOf(LineTooLongError);
    expect(seen).toEqual(['ok']);
    for await (const line of reader.lines({ maxBytes: 10 })) seen.push(line.toString());
    expect(seen).toEqual(['ok', 'after']);
  });
});

describe('StreamReader.read / readExactly / readUntil', () => {
  it('read(n) waits for exactly n bytes across chunks, and returns fewer only at EOF (Python BufferedReader.read)', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const five = reader.read(5);
    await writeApart(local, peer, [Buffer.from('ab'), Buffer.from('c')]);
    expect(reader.buffered).toBe(3); // still waiting: 3 of 5
    peer.write('defg');
    expect((await five).toString()).toBe('abcde');
    expect((await reader.read(0)).toString()).toBe('');
    const more = reader.read(10);
    peer.end('hi');
    expect((await more).toString()).toBe('fghi'); // EOF: what is left
    expect(await reader.read(10)).toHaveLength(0);
  });

  it('read1(n) and recv(n) return up to n bytes as soon as some arrive; read() reads to EOF; then empty', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.write('abc');
    expect((await reader.read1(2)).toString()).toBe('ab');
    expect((await reader.recv(100)).toString()).toBe('c');
    const pending = reader.recv(100);
    peer.write('de');
    expect((await pending).toString()).toBe('de');
    await writeApart(local, peer, [Buffer.from('x'), Buffer.from('yz')]);
    expect((await reader.read1()).toString()).toBe('xyz'); // no n: everything buffered
    const rest = reader.read();
    await writeApart(local, peer, [Buffer.from('def'), Buffer.from('ghi')]);
    peer.end('jkl');
    expect((await rest).toString()).toBe('defghijkl');
    expect(await reader.read()).toHaveLength(0);
    expect(await reader.read(5)).toHaveLength(0);
    expect(await reader.read1(5)).toHaveLength(0);
    expect(await reader.recv(5)).toHaveLength(0);
  });

  it('readExactly joins chunks, and EOF in the middle rejects with IncompleteReadError holding the partial', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const pending = reader.readExactly(6);
    await writeApart(local, peer, [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('efgh')]);
    expect((await pending).toString()).toBe('abcdef');
    const short = reader.readExactly(5);
    peer.end('ij');
    const error = await short.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect((error as IncompleteReadError).partial.toString()).toBe('ghij');
    expect((error as IncompleteReadError).expected).toBe(5);
    expect(reader.atEof).toBe(true);
  });

  it('readUntil finds a multi-byte delimiter split across chunks at every offset', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    // "\r\n\r" before the real delimiter is a near miss that must not confuse the search.
    const record = Buffer.from('HEAD\r\n\rX\r\n\r\n', 'utf8');
    const collected = (async () => {
      const records: Buffer[] = [];
      for (let i = 0; i <= record.length; i++) records.push(await reader.readUntil('\r\n\r\n'));
      return records;
    })();
    for (let split = 0; split <= record.length; split++) {
      await writeApart(local, peer, [record.subarray(0, split), record.subarray(split)]);
    }
    expect(hex(await collected)).toEqual(hex(Array.from({ length: record.length + 1 }, () => record)));

    // One byte per chunk, with a Uint8Array delimiter.
    const bytewise = reader.readUntil(new Uint8Array([0xe4, 0xb8, 0x96]), { maxBytes: 10 }); // "世"
    await writeApart(
      local,
      peer,
      [...Buffer.from('a世b', 'utf8')].map((byte) => Buffer.from([byte])),
    );
    expect((await bytewise).toString()).toBe('a世');
    expect((await reader.read(1)).toString()).toBe('b');
  });

  it('readUntil rejects at EOF with the partial record and past maxBytes with LineTooLongError', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.write('0123456789--');
    await expect(reader.readUntil('--', { maxBytes: 5 })).rejects.toBeInstanceOf(LineTooLongError);
    peer.end('ok--partial-');
    expect((await reader.readUntil('--')).toString()).toBe('ok--');
    const error = await reader.readUntil('--').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect((error as IncompleteReadError).partial.toString()).toBe('partial-');
    expect((error as IncompleteReadError).expected).toBeUndefined();
  });

  it('works over a plain buffer with fromBuffer()', async () => {
    const reader = StreamReader.fromBuffer(Buffer.from('line\nrest'));
    expect((await reader.readline()).toString()).toBe('line\n');
    expect((await reader.read()).toString()).toBe('rest');
    expect(reader.atEof).toBe(true);
  });
});

describe('StreamReader iteration', () => {
  it("for await yields lines with their LF, as Python's `for line in rfile`, and a last line without one", async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    await writeApart(local, peer, [Buffer.from('one\ntw'), Buffer.from('o\r\n\nthr')]);
    peer.end('ee');
    const lines: string[] = [];
    for await (const line of reader) lines.push(line.toString());
    expect(lines).toEqual(['one\n', 'two\r\n', '\n', 'three']);
  });

  it('chunks() yields exactly the bytes sent, buffered ones first', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const head = Buffer.from('header\n');
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251;
    peer.write(head);
    expect((await reader.readline()).toString()).toBe('header\n');
    peer.write('buffered'); // sits in the reader before the loop starts
    await until(() => reader.buffered === 8, 'bytes to be buffered');
    for (let at = 0; at < body.length; at += 16 * 1024) peer.write(body.subarray(at, at + 16 * 1024));
    peer.end();
    const chunks: Buffer[] = [];
    for await (const chunk of reader.chunks()) chunks.push(chunk);
    expect(chunks[0]?.toString()).toBe('buffered');
    expect(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from('buffered'), body]))).toBe(true);
    expect(reader.atEof).toBe(true);
  });

  it('breaking out of the loop leaves the reader usable', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.write('first');
    for await (const chunk of reader.chunks()) {
      expect(chunk.toString()).toBe('first');
      break;
    }
    peer.write('line\nnext');
    for await (const line of reader) {
      expect(line.toString()).toBe('line\n');
      break;
    }
    peer.end('second\n');
    expect((await reader.readline()).toString()).toBe('nextsecond\n');
  });
});

describe('StreamReader flow control, timeouts and errors', () => {
  it('pauses the socket while its buffer is full, so a peer that floods a non-reading handler is held back', async () => {
    const { local, peer } = await socketPair();
    const highWaterMark = 16 * 1024;
    const reader = new StreamReader(local, { highWaterMark });
    const total = 32 * 1024 * 1024;
    peer.end(Buffer.alloc(total, 'z'));
    await until(() => local.isPaused(), 'the reader to pause the socket');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(local.isPaused()).toBe(true);
    expect(reader.buffered).toBeGreaterThanOrEqual(highWaterMark);
    expect(reader.buffered).toBeLessThan(highWaterMark + 256 * 1024);
    expect(local.bytesRead).toBeLessThan(total);
    expect(peer.writableLength).toBeGreaterThan(0);

    // Reading drains the buffer, resumes the socket, and every byte arrives.
    let received = 0;
    for await (const chunk of reader.chunks()) received += chunk.length;
    expect(received).toBe(total);
  });

  it('rejects a read that waits longer than timeout with TimeoutError and leaves the socket open', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local, { timeout: 0.05 });
    peer.write('no newline yet');
    const error = await reader.readline().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).seconds).toBe(0.05);
    expect(local.destroyed).toBe(false);
    reader.timeout = undefined;
    const line = reader.readline();
    peer.write(', now\n');
    expect((await line).toString()).toBe('no newline yet, now\n');
  });

  it('rejects the pending read and every later read when the peer resets mid-stream', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    peer.write('partial line');
    await until(() => reader.buffered > 0, 'bytes to arrive');
    const pending = reader.readline();
    peer.resetAndDestroy();
    const error = await pending.catch((caught: unknown) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    await expect(reader.read()).rejects.toBe(error);
    await expect(reader[Symbol.asyncIterator]().next()).rejects.toBe(error);
    await expect(reader.chunks().next()).rejects.toBe(error);
  });

  it('throws INVALID_STATE on a second read while one is pending', async () => {
    const { local, peer } = await socketPair();
    const reader = new StreamReader(local);
    const first = reader.readline();
    let caught: unknown;
    try {
      void reader.read(1);
    } catch (error) {
      caught = error;
    }
    expect(SockserveError.isInstance(caught)).toBe(true);
    expect((caught as SockserveError).code).toBe(ErrorCodes.INVALID_STATE);
    peer.write('ok\n');
    expect((await first).toString()).toBe('ok\n');
  });

  it('adds no listener per read and removes its own once the socket closes', async () => {
    const { local, peer } = await socketPair();
    const events = ['data', 'end', 'error', 'close'] as const;
    const before = events.map((event) => local.listenerCount(event));
    const reader = new StreamReader(local, { timeout: 5 });
    const during = events.map((event) => local.listenerCount(event));
    for (let i = 0; i < 50; i++) {
      const line = reader.readline();
      peer.write(`${i}\n`);
      expect((await line).toString()).toBe(`${i}\n`);
    }
    expect(events.map((event) => local.listenerCount(event))).toEqual(during);
    peer.end();
    expect(await reader.readline()).toHaveLength(0);
    local.destroy();
    await once(local, 'close');
    expect(events.map((event) => local.listenerCount(event))).toEqual(before);
  });

  it('resolves a pending read with EOF when the socket is destroyed locally', async () => {
    const { local } = await socketPair();
    const reader = new StreamReader(local);
    const pending = reader.read(10);
    local.destroy();
    expect(await pending).toHaveLength(0);
  });
});
