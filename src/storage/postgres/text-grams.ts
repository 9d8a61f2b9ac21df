// The short-text vocabulary of PostgreSQL's free-text index (migration 35): every pair of neighbouring
// characters in the indexed values, as written. pg_trgm has no trigram for a text of one or two characters, so
// the GIN index cannot narrow such a search and PostgreSQL reads every indexed value (2.4 s on 1M events). The
// vocabulary answers "no indexed value holds it" at once: a text that no pair of it matches (ILIKE, under the
// values' own collation) is in no indexed value.
//
// Each value ends in a line end (values are one per line, and the last gets one here), so every character begins
// a pair, and a one-character text is found in the pairs too. The pairs are kept as written, not folded: the
// database folds them with the same ILIKE that reads the values. That is exact where folding maps one character
// to one, as libc locales do; an ICU locale can fold by context (a Greek final sigma), so a database with one
// gets no vocabulary (the migration checks) and scans as before.

/** Code points, not UTF-16 units: PostgreSQL counts characters. */
export function isShortText(text: string): boolean {
  let n = 0;
  for (const _ of text) if (++n > 2) return false;
  return n > 0;
}

/**
 * The distinct pairs of neighbouring characters (code points) of `bodies`, each body followed by a line end;
 * sorted, so that concurrent indexers insert them in one order and never wait for each other in a cycle.
 */
export function textGrams(bodies: Iterable<string>): string[] {
  // Pairs of ASCII characters (nearly all of them) in a table of flags instead of a set of strings: a batch has
  // about 100,000 of them, and a string and a set insertion each cost more than the whole table.
  const ascii = new Uint8Array(128 * 128);
  const other = new Set<string>();
  for (const body of bodies) {
    const text = `${body}\n`;
    for (let i = 0; i < text.length - 1; ) {
      const a = text.charCodeAt(i);
      const b = text.charCodeAt(i + 1);
      if (a < 128 && b < 128) {
        ascii[a * 128 + b] = 1;
        i++;
        continue;
      }
      const first = text.codePointAt(i) as number;
      const width = first > 0xffff ? 2 : 1;
      other.add(String.fromCodePoint(first, text.codePointAt(i + width) as number));
      i += width;
    }
  }
  const grams = [...other];
  for (let k = 0; k < ascii.length; k++) if (ascii[k] === 1) grams.push(String.fromCharCode(k >> 7, k & 127));
  return grams.sort();
}
