/**
 * The option errors of `RedisHub`, shaped as core's and the handlers' own: a `TypeError` or
 * `RangeError` with `code` from core's `ErrorCodes` and the message `option "name" must be …, got …`.
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
  return Object.assign(new TypeError(`option "${name}" must be ${expected}, got ${shown}`), {
    code: ErrorCodes.INVALID_ARG_TYPE as ErrorCode,
  });
}

/** A `RangeError` (code `ERR_SOCKSERVE_INVALID_ARG_VALUE`) for option `name` out of range. */
export function invalidValue(
  name: string,
  expected: string,
  actual: unknown,
): RangeError & { code: ErrorCode } {
  return Object.assign(new RangeError(`option "${name}" must be ${expected}, got ${String(actual)}`), {
    code: ErrorCodes.INVALID_ARG_VALUE as ErrorCode,
  });
}
