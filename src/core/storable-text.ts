// Text both stores hold exactly as given. SQLite and PostgreSQL keep UTF-8, so a lone surrogate (half of a
// UTF-16 pair) is read back as U+FFFD, and PostgreSQL refuses NUL outright: text with either would not come back
// as written, or not be stored at all. Such characters are written as \uXXXX escapes instead, and text is cut
// only between two characters, never inside a surrogate pair.

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with NUL and lone surrogates written as \uXXXX escapes: what the stores read back is what was written. */
export function wellFormedText(text: string): string {
  return text.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Characters (code points) of `text`, as a person counts them: an emoji is one, not two UTF-16 units. */
export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * A text column value that both stores hold: NUL and lone surrogates written as \uXXXX escapes, at most `max`
 * UTF-16 units, never cut inside a surrogate pair. For quarantine rows, whose fields may quote the bad record.
 */
export function storableText(text: string, max: number): string {
  // An escape is at most six units: a longer text cannot give more than `max` units that survive the cut.
  return cutText(wellFormedText(text.length > max * 6 ? text.slice(0, max * 6) : text), max);
}
