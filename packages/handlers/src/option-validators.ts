/**
 * The option checks of the handlers' constructors and factories. They throw exactly what core's own
 * (internal) validators throw — a `TypeError` or `RangeError` with `code` from core's `ErrorCodes`
 * and the message `option "name" must be …, got …` — so an option fails the same way everywhere.
 * A copy, not an import: core keeps its validators out of its public API.
 */
import { type ErrorCode, ErrorCodes } from '@sockserve/core';

/** A `TypeError` (code `ERR_SOCKSERVE_INVALID_ARG_TYPE`) for option `name` of the wrong type. */
export function invalidType(
  name: string,
  expected: string,
  actual: unknown,
): TypeError & { code: ErrorCode } {
  const shown =
    actual === null
      ? 'null'
      : typeof actual === 'object'
        ? 'an object'
        : `${typeof actual} ${String(actual)}`;
  const error = new TypeError(`option "${name}" must be ${expected}, got ${shown}`) as TypeError & {
    code: ErrorCode;
  };
  error.code = ErrorCodes.INVALID_ARG_TYPE;
  return error;
}

/** A `RangeError` (code `ERR_SOCKSERVE_INVALID_ARG_VALUE`) for option `name` out of range. */
export function invalidValue(
  name: string,
  expected: string,
  actual: unknown,
): RangeError & { code: ErrorCode } {
  const error = new RangeError(
    `option "${name}" must be ${expected}, got ${String(actual)}`,
  ) as RangeError & {
    code: ErrorCode;
  };
  error.code = ErrorCodes.INVALID_ARG_VALUE;
  return error;
}

/** An integer in [min, max] (defaults: 0 and `Number.MAX_SAFE_INTEGER`). */
export function validateInteger(
  value: unknown,
  name: string,
  min: number = 0,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidValue(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A finite number of seconds >= 0 (timeouts). */
export function validateSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number of seconds', value);
  if (!Number.isFinite(value) || value < 0)
    throw invalidValue(name, 'a finite number of seconds >= 0', value);
  return value;
}
