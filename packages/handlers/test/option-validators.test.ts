/** The handlers' copy of core's option validators fails exactly as core's own options do. */
import { BaseRequestHandler, ErrorCodes, TCPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { invalidType, validateInteger, validateSeconds } from '../src/option-validators.js';

/** What `fn` throws. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('did not throw');
}

const LOOPBACK = { host: '127.0.0.1', port: 0 };

describe('option validators', () => {
  it('reject a bad `timeout` with the same class, code and message as a core server', () => {
    for (const bad of [-1, Number.NaN, '5', null]) {
      const fromCore = thrown(() => new TCPServer(LOOPBACK, BaseRequestHandler, { timeout: bad as number }));
      const ours = thrown(() => validateSeconds(bad, 'timeout'));
      expect(ours.constructor).toBe(fromCore.constructor);
      expect({ code: ours.code, message: ours.message }).toEqual({
        code: fromCore.code,
        message: fromCore.message,
      });
    }
  });

  it('validateInteger checks the type, then the integer range', () => {
    expect(validateInteger(7, 'n', 1, 9)).toBe(7);
    expect(thrown(() => validateInteger('7', 'n'))).toMatchObject({
      name: 'TypeError',
      code: ErrorCodes.INVALID_ARG_TYPE,
      message: 'option "n" must be a number, got string 7',
    });
    expect(thrown(() => validateInteger(1.5, 'n', 1, 9))).toMatchObject({
      name: 'RangeError',
      code: ErrorCodes.INVALID_ARG_VALUE,
      message: 'option "n" must be an integer from 1 to 9, got 1.5',
    });
    expect(() => validateInteger(0, 'n', 1)).toThrow(RangeError);
  });

  it('invalidType names objects and null without printing them', () => {
    expect(invalidType('hub', 'a ChatHub', { secret: 1 }).message).toBe(
      'option "hub" must be a ChatHub, got an object',
    );
    expect(invalidType('hub', 'a ChatHub', null).message).toBe('option "hub" must be a ChatHub, got null');
  });
});
