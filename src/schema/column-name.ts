// Panther's key renaming (OSS `glueschema.ColumnName`): every key of a normalized record becomes a
// valid column name, which is why rules read `api_key_created` for the API's `"api_key.created"`.
//
// Kept: ASCII letters (case preserved), digits, `_` and `-`. Some symbols become words separated by
// `_` (`@timestamp` → `at_sign_timestamp`). Non-ASCII letters are transliterated (Panther uses
// anyascii; we cover Latin diacritics, Greek and Cyrillic, which is what real keys contain). Anything
// else, including `.` and space, becomes `_`.

const SYMBOL_WORDS: Readonly<Record<string, string>> = {
  "@": "at_sign",
  ",": "comma",
  "`": "backtick",
  "'": "apostrophe",
  $: "dollar_sign",
  "*": "asterisk",
  "&": "ampersand",
  "!": "exclamation",
  "%": "percent",
  "+": "plus",
  "/": "slash",
  "\\": "backslash",
  "#": "hash",
  "~": "tilde",
  "=": "eq",
};

// anyascii's transliterations for the Greek and Cyrillic alphabets (lower case; upper case is derived).
const GREEK: Readonly<Record<string, string>> = {
  α: "a",
  β: "v",
  γ: "g",
  δ: "d",
  ε: "e",
  ζ: "z",
  η: "i",
  θ: "th",
  ι: "i",
  κ: "k",
  λ: "l",
  μ: "m",
  ν: "n",
  ξ: "x",
  ο: "o",
  π: "p",
  ρ: "r",
  σ: "s",
  ς: "s",
  τ: "t",
  υ: "y",
  φ: "f",
  χ: "ch",
  ψ: "ps",
  ω: "o",
};
const CYRILLIC: Readonly<Record<string, string>> = {
  а: "a",
  б: "b",
  в: "v",
  г: "g",
  д: "d",
  е: "e",
  ё: "e",
  ж: "zh",
  з: "z",
  и: "i",
  й: "i",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "kh",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "shch",
  ъ: "",
  ы: "y",
  ь: "",
  э: "e",
  ю: "iu",
  я: "ia",
};

const SAFE_KEY = /^[A-Za-z0-9_-]*$/;
const LETTER = /^\p{L}$/u;

function transliterateLetter(ch: string): string {
  const lower = ch.toLowerCase();
  const table = GREEK[lower] ?? CYRILLIC[lower];
  // Greek/Cyrillic letters carry accents (ό); strip them before the table lookup too.
  const base = lower.normalize("NFD").replace(/\p{M}/gu, "");
  const mapped = table ?? GREEK[base] ?? CYRILLIC[base];
  if (mapped !== undefined) return ch === lower ? mapped : mapped.charAt(0).toUpperCase() + mapped.slice(1);
  // Latin letters with diacritics (é → e, Å → A) decompose to an ASCII base letter.
  const decomposed = ch.normalize("NFKD").replace(/\p{M}/gu, "");
  return /^[A-Za-z0-9]+$/.test(decomposed) ? decomposed : "";
}

function renameSlow(name: string): string {
  const chars = Array.from(name);
  const last = chars.length - 1;
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (/[A-Za-z0-9_-]/.test(ch)) {
      out += ch;
      continue;
    }
    const word = SYMBOL_WORDS[ch];
    if (word !== undefined) {
      if (i > 0) out += "_";
      out += word;
      if (i < last) out += "_";
      continue;
    }
    if (LETTER.test(ch)) {
      const ascii = transliterateLetter(ch);
      if (ascii !== "") {
        out += ascii;
        continue;
      }
    }
    out += "_";
  }
  return out;
}

// Record keys repeat across events, so renamed keys are memoized. The cache is bounded so that
// hostile input with ever-new keys cannot grow memory without limit.
const cache = new Map<string, string>();
const CACHE_LIMIT = 10_000;

/** The column name Panther gives to a JSON key. */
export function columnName(name: string): string {
  if (SAFE_KEY.test(name)) return name;
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const renamed = renameSlow(name);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(name, renamed);
  return renamed;
}
