/** Nicknames and rooms as the protocol defines them. */
import { describe, expect, it } from 'vitest';
import { ChatNames } from '../src/index.js';

describe('nicknames', () => {
  it.each([
    'a',
    'guest1',
    '李雷',
    'Zoë',
    'user_name',
    'a-b',
    '_lead',
    '9lives',
    'x'.repeat(32),
    'мария',
    'ﾃｽﾄ',
  ])('%s is valid', (name) => {
    expect(ChatNames.isValidNickname(name)).toBe(true);
  });

  it.each([
    '',
    '-lead',
    'x'.repeat(33),
    'two words',
    'bang!',
    '#room',
    'tab\there',
    'e\u0301', // a combining mark is neither a letter nor a digit
    '🌏',
    'a.b',
  ])('%j is invalid', (name) => {
    expect(ChatNames.isValidNickname(name)).toBe(false);
  });

  it('counts characters, not bytes or UTF-16 units', () => {
    expect(ChatNames.isValidNickname('李'.repeat(32))).toBe(true);
    expect(ChatNames.isValidNickname('𝒜'.repeat(32))).toBe(true);
    expect(ChatNames.isValidNickname('𝒜'.repeat(33))).toBe(false);
  });
});

describe('rooms', () => {
  it.each(['#lobby', '#a', '#-dash', '#李', `#${'r'.repeat(32)}`])('%s is valid', (name) => {
    expect(ChatNames.isValidRoom(name)).toBe(true);
  });

  it.each(['', '#', 'lobby', '##x', '#a b', `#${'r'.repeat(33)}`, '#a!'])('%j is invalid', (name) => {
    expect(ChatNames.isValidRoom(name)).toBe(false);
  });
});

describe('compareNames', () => {
  it('sorts case-insensitively, independently of the locale', () => {
    expect(['bob', 'Alice', 'carol', 'Dave', '_x', '9'].sort(ChatNames.compareNames)).toEqual([
      '9',
      '_x',
      'Alice',
      'bob',
      'carol',
      'Dave',
    ]);
  });
});
