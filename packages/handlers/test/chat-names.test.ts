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

describe('nicknames, version 1.1: one script, compared after NFKC and case folding', () => {
  it.each([
    'bob',
    'ｂｏｂ', // fullwidth Latin letters are Latin
    'カーソル', // the prolonged sound mark ー belongs to Katakana (and Hiragana)
    'ひらがな',
    'Ελένη',
    'мария2',
    'guest_7-x',
    'a𝒜', // 𝒜 belongs to no script of its own (Common)
  ])('%s is valid', (name) => {
    expect(ChatNames.isValidNickname(name)).toBe(true);
  });

  it.each([
    'b\u043eb', // bоb: a Cyrillic о between Latin letters
    '\u0430dmin', // аdmin: a Cyrillic а
    'paypa\u04cf', // a Cyrillic palochka
    'Ελeνη', // a Latin e among Greek letters
    '李a',
  ])('%j mixes scripts and is invalid', (name) => {
    expect(ChatNames.isValidNickname(name)).toBe(false);
  });

  it('gives names that are equal after NFKC and case folding the same key', () => {
    const key = ChatNames.nameKey('bob');
    for (const same of ['BOB', 'Bob', 'ｂｏｂ', 'ＢＯＢ']) expect(ChatNames.nameKey(same)).toBe(key);
    expect(ChatNames.nameKey('Straße')).toBe(ChatNames.nameKey('STRASSE'));
    expect(ChatNames.nameKey('ΣΊΣΥΦΟΣ')).toBe(ChatNames.nameKey('σίσυφος'));
    expect(ChatNames.nameKey('ﬁsh')).toBe(ChatNames.nameKey('fish'));
    expect(ChatNames.nameKey('b\u043eb')).not.toBe(key);
    expect(ChatNames.nameKey('#Dev')).toBe(ChatNames.nameKey('#ｄｅｖ'));
  });

  it('sorts by the same key', () => {
    expect(['ｃarl', 'Bob', 'alice'].sort(ChatNames.compareNames)).toEqual(['alice', 'Bob', 'ｃarl']);
  });
});
