import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { LineFramer, type LineFramerOptions } from '../../src/io/line-framer.js';

/** A framer that records what it delivers: lines as hex (byte-exact) and too-long reports as "!<limit>". */
function recording(options: Partial<LineFramerOptions> = {}): { framer: LineFramer; events: string[] } {
  const events: string[] = [];
  const framer = new LineFramer({
    onLine: (line) => events.push(line.toString('hex')),
    onLineTooLong: (max) => events.push(`!${max}`),
    ...options,
  });
  return { framer, events };
}

const hexOf = (...texts: string[]): string[] =>
  texts.map((text) => Buffer.from(text, 'utf8').toString('hex'));

describe('LineFramer', () => {
  it('delivers lines without LF or the one CR before it, empty lines too', () => {
    const { framer, events } = recording();
    framer.push(Buffer.from('a\r\nb\n\n\r\nc\r\r\n'));
    expect(events).toEqual(hexOf('a', 'b', '', '', 'c\r'));
  });

  it('gives byte-identical lines (CRLF, CJK, emoji) for a payload split at every byte offset', () => {
    const payload = Buffer.from('hello\r\n你好，世界\n\n😀 末行\r\nx\n', 'utf8');
    const expected = hexOf('hello', '你好，世界', '', '😀 末行', 'x');
    for (let split = 0; split <= payload.length; split++) {
      const { framer, events } = recording();
      framer.push(payload.subarray(0, split));
      framer.push(payload.subarray(split));
      framer.end();
      expect(events, `split at ${split}`).toEqual(expected);
    }
  });

  it('gives the same lines when fed one byte at a time', () => {
    const payload = Buffer.from('世界\r\nab\n\r\n', 'utf8');
    const { framer, events } = recording();
    for (const byte of payload) framer.push(Buffer.from([byte]));
    framer.end();
    expect(events).toEqual(hexOf('世界', 'ab', ''));
  });

  it('discards an over-long line up to its LF, reports it once, and reads the next line', () => {
    const { framer, events } = recording({ maxLineBytes: 4 });
    framer.push(Buffer.from('1234\r\n')); // exactly the limit, CRLF not counted
    framer.push(Buffer.from('12345\nok\n')); // over the limit, LF in the same chunk
    framer.push(Buffer.from('123')); // over the limit, LF far away
    framer.push(Buffer.from('45'));
    expect(events).toEqual([...hexOf('1234'), '!4', ...hexOf('ok'), '!4']);
    for (let i = 0; i < 1000; i++) framer.push(Buffer.from('long '));
    expect(framer.buffered).toBe(0);
    framer.push(Buffer.from('tail\nnext\n'));
    expect(events).toEqual([...hexOf('1234'), '!4', ...hexOf('ok'), '!4', ...hexOf('next')]);
  });

  it('reports an over-long line as soon as the limit is passed and never holds more than the limit + a chunk', () => {
    const { framer, events } = recording({ maxLineBytes: 10 });
    let most = 0;
    for (let i = 0; i < 10; i++) {
      framer.push(Buffer.from('x'));
      most = Math.max(most, framer.buffered);
    }
    framer.push(Buffer.from('\r')); // a CR may still be the one before LF
    expect(events).toEqual([]);
    framer.push(Buffer.from('y'));
    expect(events).toEqual(['!10']);
    for (let i = 0; i < 10_000; i++) {
      framer.push(Buffer.from('zz'));
      most = Math.max(most, framer.buffered);
    }
    expect(events).toEqual(['!10']);
    expect(most).toBeLessThanOrEqual(11);
    framer.push(Buffer.from('\nfine\n'));
    expect(events).toEqual(['!10', ...hexOf('fine')]);
  });

  it('end() delivers a final line without LF, nothing for an empty or discarded rest', () => {
    const withRest = recording();
    withRest.framer.push(Buffer.from('a\nlast'));
    withRest.framer.end();
    withRest.framer.end();
    expect(withRest.events).toEqual(hexOf('a', 'last'));

    const empty = recording();
    empty.framer.push(Buffer.from('a\n'));
    empty.framer.end();
    expect(empty.events).toEqual(hexOf('a'));

    const discarded = recording({ maxLineBytes: 2 });
    discarded.framer.push(Buffer.from('abcdef'));
    discarded.framer.end();
    expect(discarded.events).toEqual(['!2']);

    expect(() => withRest.framer.push(Buffer.from('x'))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
  });

  it('holds the rest of a chunk when onLine pauses, buffers pushes while paused, and resume() delivers in order', () => {
    const events: string[] = [];
    const framer: LineFramer = new LineFramer({
      onLine: (line) => {
        events.push(line.toString());
        if (line.toString() === 'pause') framer.pause();
      },
    });
    framer.push(Buffer.from('a\npause\nb\nc'));
    expect(events).toEqual(['a', 'pause']);
    expect(framer.paused).toBe(true);
    framer.push(Buffer.from('\nd\n'));
    framer.end();
    expect(events).toEqual(['a', 'pause']);
    framer.resume();
    expect(framer.paused).toBe(false);
    expect(events).toEqual(['a', 'pause', 'b', 'c', 'd']);
  });

  it('keeps order when onLine pushes re-entrantly, and when it pauses and resumes itself', () => {
    const events: string[] = [];
    const framer: LineFramer = new LineFramer({
      onLine: (line) => {
        const text = line.toString();
        events.push(text);
        if (text === 'a') framer.push(Buffer.from('inner1\ninner2\n'));
        if (text === 'b') {
          framer.pause();
          framer.resume();
        }
      },
    });
    framer.push(Buffer.from('a\nb\nc\n'));
    expect(events).toEqual(['a', 'b', 'c', 'inner1', 'inner2']);
  });

  it('stays consistent when onLine throws', () => {
    const events: string[] = [];
    const framer = new LineFramer({
      onLine: (line) => {
        if (line.toString() === 'boom') throw new Error('boom');
        events.push(line.toString());
      },
    });
    expect(() => framer.push(Buffer.from('a\nboom\nb\n'))).toThrow('boom');
    expect(events).toEqual(['a']);
    framer.push(Buffer.from('c\n'));
    expect(events).toEqual(['a', 'b', 'c']);
  });

  it('validates its options', () => {
    expect(() => new LineFramer({} as LineFramerOptions)).toThrow(TypeError);
    expect(() => new LineFramer({ onLine: () => {}, maxLineBytes: -1 })).toThrow(RangeError);
  });
});
