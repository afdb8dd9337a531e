/**
 * Fuzzing core's line framing (`LineFramer`): random bytes, random chunk boundaries, random
 * `maxLineBytes` and pauses in the middle of delivery must give the same lines, in the same order, as
 * a plain reference splitter. A short run in `npm test`; SOCKSERVE_FUZZ_RUNS=<n> runs each property
 * n times (for example 100000) instead.
 */
import { LineFramer } from '@sockserve/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordFigures } from './support/figures.js';

const LF = 0x0a;
const CR = 0x0d;
const RUNS = Number(process.env.SOCKSERVE_FUZZ_RUNS ?? 300);
/** A long run (SOCKSERVE_FUZZ_RUNS) takes longer than the shared 30 s test bound. */
const TEST_TIMEOUT = Math.max(30_000, RUNS * 20);

interface Framed {
  lines: Buffer[];
  tooLong: number;
}

/**
 * The reference: split the whole input at each LF; a line loses one CR before its LF; a final piece
 * without LF is a line as it is (when not empty); a line longer than `max` is counted as too long
 * instead of delivered.
 */
function referenceSplit(input: Buffer, max: number): Framed {
  const result: Framed = { lines: [], tooLong: 0 };
  const take = (line: Buffer): void => {
    if (line.length > max) result.tooLong++;
    else result.lines.push(line);
  };
  let start = 0;
  for (let lf = input.indexOf(LF); lf !== -1; lf = input.indexOf(LF, start)) {
    const end = lf > start && input[lf - 1] === CR ? lf - 1 : lf;
    take(input.subarray(start, end));
    start = lf + 1;
  }
  if (start < input.length) take(input.subarray(start));
  return result;
}

/** Feeds `input` to a LineFramer in the chunks `cuts` make, pausing in `onLine` where `pauses` says. */
function frame(input: Buffer, max: number, cuts: number[], pauses: boolean[], asUint8: boolean): Framed {
  const result: Framed = { lines: [], tooLong: 0 };
  let delivered = 0;
  const framer = new LineFramer({
    maxLineBytes: max,
    // The line may be a view of a pushed chunk: keep a copy.
    onLine: (line) => {
      result.lines.push(Buffer.from(line));
      if (pauses[delivered++ % Math.max(pauses.length, 1)]) framer.pause();
    },
    onLineTooLong: (limit) => {
      expect(limit).toBe(max);
      result.tooLong++;
    },
  });
  const bounds = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  let previous = 0;
  for (const bound of [...bounds, input.length]) {
    const piece = input.subarray(previous, bound);
    previous = bound;
    framer.push(asUint8 ? new Uint8Array(piece.buffer, piece.byteOffset, piece.length) : piece);
    // A paused framer holds the rest of its lines until resume(), which may pause again.
    for (let guard = 0; framer.paused && guard < input.length + 2; guard++) framer.resume();
  }
  framer.end();
  for (let guard = 0; framer.paused && guard < input.length + 2; guard++) framer.resume();
  return result;
}

/** Bytes with many LFs and CRs among the rest, so that lines, CRLFs and stray CRs are common. */
const bytes = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(LF, CR), weight: 2 },
      { arbitrary: fc.constantFrom(0x61, 0x62, 0x20), weight: 5 },
      { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 2 },
    ),
    { maxLength: 400 },
  )
  .map((values) => Buffer.from(values));

const toText = (framed: Framed) => ({
  lines: framed.lines.map((line) => line.toString('latin1')),
  tooLong: framed.tooLong,
});

describe('LineFramer under fuzzing', () => {
  it('a final line without LF of maxLineBytes + 1 bytes ending in CR is too long (found by the fuzzer)', () => {
    // With no LF after it, the CR is part of the line: "abc\r" is 4 bytes, one more than the limit.
    for (const input of ['abc\r', 'abcd']) {
      expect(toText(frame(Buffer.from(input), 3, [], [], false))).toEqual({ lines: [], tooLong: 1 });
    }
    expect(toText(frame(Buffer.from('ab\r'), 3, [], [], false))).toEqual({ lines: ['ab\r'], tooLong: 0 });
  });

  it(
    'random bytes, random chunks, random limits and pauses: the same lines as the reference splitter',
    () => {
      fc.assert(
        fc.property(
          bytes,
          fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(4096)),
          fc.array(fc.nat(), { maxLength: 40 }),
          fc.array(fc.boolean(), { maxLength: 8 }),
          fc.boolean(),
          (input, max, cuts, pauses, asUint8) => {
            expect(toText(frame(input, max, cuts, pauses, asUint8))).toEqual(
              toText(referenceSplit(input, max)),
            );
          },
        ),
        { numRuns: RUNS },
      );
      recordFigures('line-framing-fuzz', { runsPerProperty: RUNS, properties: 2 });
    },
    TEST_TIMEOUT,
  );

  it(
    'random lines joined with LF or CRLF and split anywhere come back exactly',
    () => {
      const line = fc
        .uint8Array({ maxLength: 60 })
        .map((value) => Buffer.from(value.filter((byte) => byte !== LF && byte !== CR)));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(line, fc.boolean()), { maxLength: 30 }),
          fc.array(fc.nat(), { maxLength: 60 }),
          (lines, cuts) => {
            const input = Buffer.concat(
              lines.map(([text, crlf]) => Buffer.concat([text, crlf ? CRLF : LFB])),
            );
            const framed = frame(input, 64, cuts, [], false);
            expect(framed.tooLong).toBe(0);
            expect(framed.lines.map(String)).toEqual(lines.map(([text]) => String(text)));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );
});

const CRLF = Buffer.from('\r\n');
const LFB = Buffer.from('\n');
