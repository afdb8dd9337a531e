/**
 * Nicknames and room names of the chat protocol (`chat-protocol.md`, version 1.1): what is valid, when
 * two names are the same (NFKC, then case folding), and how lists of names are sorted. Every hub uses
 * these so that all nodes agree.
 */

/** 1 to 32 letters, decimal digits, `_` or `-`; not starting with `-`. */
const NICKNAME = /^[\p{L}\p{Nd}_][\p{L}\p{Nd}_-]{0,31}$/u;
/** `#` and 1 to 32 letters, decimal digits, `_` or `-`. */
const ROOM = /^#[\p{L}\p{Nd}_-]{1,32}$/u;
const LETTER = /^\p{L}$/u;
/** A character beyond ASCII: what makes a name need NFKC and full case folding. */
const NON_ASCII = /[^\p{ASCII}]/u;
const ASCII_LETTER = /^[A-Za-z]$/;

/**
 * The Unicode scripts (ISO 15924 codes) a letter may belong to, one test each. Common (Zyyy) and
 * Inherited (Zinh) are not among them: a letter that belongs only to those (`𝒜`, `ª`) joins any
 * script. Codes this Node.js does not know (scripts newer than its Unicode version) are left out.
 */
interface Script {
  readonly code: string;
  readonly test: RegExp;
}
const SCRIPTS: readonly Script[] = [
  'Adlm',
  'Ahom',
  'Hluw',
  'Arab',
  'Armn',
  'Avst',
  'Bali',
  'Bamu',
  'Bass',
  'Batk',
  'Beng',
  'Bhks',
  'Bopo',
  'Brah',
  'Brai',
  'Bugi',
  'Buhd',
  'Cans',
  'Cari',
  'Aghb',
  'Cakm',
  'Cham',
  'Cher',
  'Chrs',
  'Copt',
  'Xsux',
  'Cprt',
  'Cpmn',
  'Cyrl',
  'Dsrt',
  'Deva',
  'Diak',
  'Dogr',
  'Dupl',
  'Egyp',
  'Elba',
  'Elym',
  'Ethi',
  'Geor',
  'Glag',
  'Goth',
  'Gran',
  'Grek',
  'Gujr',
  'Gong',
  'Guru',
  'Hani',
  'Hang',
  'Rohg',
  'Hano',
  'Hatr',
  'Hebr',
  'Hira',
  'Armi',
  'Phli',
  'Prti',
  'Java',
  'Kthi',
  'Knda',
  'Kana',
  'Kali',
  'Khar',
  'Kits',
  'Khmr',
  'Khoj',
  'Sind',
  'Laoo',
  'Latn',
  'Lepc',
  'Limb',
  'Lina',
  'Linb',
  'Lisu',
  'Lyci',
  'Lydi',
  'Mahj',
  'Maka',
  'Mlym',
  'Mand',
  'Mani',
  'Marc',
  'Gonm',
  'Medf',
  'Mtei',
  'Mend',
  'Merc',
  'Mero',
  'Plrd',
  'Modi',
  'Mong',
  'Mroo',
  'Mult',
  'Mymr',
  'Nbat',
  'Nand',
  'Talu',
  'Newa',
  'Nkoo',
  'Nshu',
  'Hmnp',
  'Ogam',
  'Olck',
  'Hung',
  'Ital',
  'Narb',
  'Perm',
  'Xpeo',
  'Sogo',
  'Sarb',
  'Orkh',
  'Ougr',
  'Orya',
  'Osge',
  'Osma',
  'Hmng',
  'Palm',
  'Pauc',
  'Phag',
  'Phnx',
  'Phlp',
  'Rjng',
  'Runr',
  'Samr',
  'Saur',
  'Shrd',
  'Shaw',
  'Sidd',
  'Sgnw',
  'Sinh',
  'Sogd',
  'Sora',
  'Soyo',
  'Sund',
  'Sylo',
  'Syrc',
  'Tglg',
  'Tagb',
  'Tale',
  'Lana',
  'Tavt',
  'Takr',
  'Taml',
  'Tnsa',
  'Tang',
  'Telu',
  'Thaa',
  'Thai',
  'Tibt',
  'Tfng',
  'Tirh',
  'Toto',
  'Ugar',
  'Vaii',
  'Vith',
  'Wcho',
  'Wara',
  'Yezi',
  'Yiii',
  'Zanb',
  'Kawi',
  'Nagm',
  'Gara',
  'Gukh',
  'Krai',
  'Onao',
  'Sunu',
  'Todr',
  'Tutg',
  'Berf',
  'Sidt',
  'Tayo',
  'Tols',
].flatMap((code) => {
  try {
    return [{ code, test: new RegExp(`^\\p{Script_Extensions=${code}}$`, 'u') }];
  } catch {
    return [];
  }
});
const LATIN: readonly Script[] = SCRIPTS.filter((script) => script.code === 'Latn');

/** The room every client starts in. */
export const LOBBY = '#lobby';

/**
 * True for a valid nickname: 1 to 32 characters, each a Unicode letter or decimal digit, `_` or `-`,
 * not starting with `-`, whose letters all belong to one Unicode script (so `李雷`, `guest7` and
 * `ｂｏｂ` are valid, `bоb` with a Cyrillic `о` between Latin letters is not).
 */
export function isValidNickname(name: string): boolean {
  return NICKNAME.test(name) && isSingleScript(name);
}

/**
 * True when the letters of `name` all belong to one Unicode script, by their Script_Extensions (so a
 * letter shared by two scripts, like the prolonged sound mark `ー` of Hiragana and Katakana, fits
 * either). Digits, `_` and `-` belong to no script here.
 */
export function isSingleScript(name: string): boolean {
  let candidates: readonly Script[] | undefined;
  for (const char of name) {
    let scripts: readonly Script[];
    if (char.charCodeAt(0) < 0x80) {
      if (!ASCII_LETTER.test(char)) continue;
      scripts = LATIN;
    } else {
      if (!LETTER.test(char)) continue;
      // Against the scripts still possible first (the common case: the same script as the letters before).
      scripts = (candidates ?? SCRIPTS).filter((script) => script.test.test(char));
      if (scripts.length === 0 && candidates !== undefined) {
        scripts = SCRIPTS.filter((script) => script.test.test(char));
        if (scripts.length > 0) return false;
      }
    }
    // A letter of Common or Inherited only fits any script.
    if (scripts.length === 0) continue;
    candidates = candidates === undefined ? scripts : candidates.filter((script) => scripts.includes(script));
    if (candidates.length === 0) return false;
  }
  return true;
}

/** True for a valid room name: `#` followed by 1 to 32 characters allowed in nicknames (`-` may lead). */
export function isValidRoom(name: string): boolean {
  return ROOM.test(name);
}

/**
 * The identity of a nickname or room name: two names with the same key are the same name. The key is
 * the name after NFKC normalisation and case folding (`Bob`, `BOB`, `ｂｏｂ` and `bob` are one
 * nickname, `#Dev` and `#dev` one room). Case folding is done as upper- then lower-casing, which
 * folds `ß` with `ss` and `ς` with `σ` as Unicode's full case folding does; NFKC is applied again
 * after it, so the key is stable.
 */
export function nameKey(name: string): string {
  const normalized = name.normalize('NFKC');
  // ASCII: folding is lower-casing, and NFKC changes nothing (the common case, e.g. `guest12`).
  if (!NON_ASCII.test(normalized)) return normalized.toLowerCase();
  return normalized.toUpperCase().toLowerCase().normalize('NFKC');
}

/** Orders names case-insensitively (then by code unit, so the order never depends on the locale). */
export function compareNames(a: string, b: string): number {
  const ka = nameKey(a);
  const kb = nameKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `guestN` for N = 1, 2, …: the nicknames given on connect. */
export function guestName(n: number): string {
  return `guest${n}`;
}

/** N when `key` (a `nameKey`) is a `guestN` name, else undefined. */
export function guestNumber(key: string): number | undefined {
  const match = /^guest([1-9][0-9]*)$/.exec(key);
  return match === null ? undefined : Number(match[1]);
}
