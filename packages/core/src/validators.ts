/**
 * Small shared option validators, used once per option in constructors (as Node's
 * lib/internal/validators). Internal: not exported from the package (handlers keeps its own copy).
 */
import { invalidType, invalidValue } from './errors.js';

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** An integer in [min, max]. */
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

/** A finite number of seconds > 0 (timeouts, deadlines). */
export function validateSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number of seconds', value);
  if (!Number.isFinite(value) || value < 0)
    throw invalidValue(name, 'a finite number of seconds >= 0', value);
  return value;
}

export function validatePort(value: unknown, name: string = 'port'): number {
  return validateInteger(value, name, 0, 65535);
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidType(name, 'a string', value);
  return value;
}

/** Returns `value` validated by `validate`, or `fallback` when it is undefined. */
export function optional<T>(
  value: unknown,
  fallback: T,
  validate: (value: unknown, name: string) => T,
  name: string,
): T {
  return value === undefined ? fallback : validate(value, name);
}
