// Text from the API (event ids, values quoted in a quarantine reason) is the attacker's: printed to a terminal as
// it is, an escape sequence could rewrite the screen, a newline forge a line of output, and a direction override
// show one value as another. Such characters are printed as their code points instead, as the console shows them,
// and in JSON output as \u escapes (JSON.stringify escapes C0 controls only).

/**
 * Control characters (C0, DEL, C1), the line and paragraph separators, and characters that change how the text
 * around them reads without being seen (soft hyphen, direction marks and overrides, zero-width, tags).
 */
const UNPRINTABLE =
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

const codePoint = (c: string) => (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");

/** The text with each unprintable character shown as ⟨U+XXXX⟩. */
export function terminalText(value: string): string {
  return value.replace(UNPRINTABLE, (c) => `⟨U+${codePoint(c)}⟩`);
}

/** `value` as one line of JSON, each unprintable character written as a \u escape (still the same JSON). */
export function terminalJson(value: unknown): string {
  // Outside strings JSON has only ASCII punctuation, so every match is inside a string, where an escape is valid.
  return JSON.stringify(value).replace(UNPRINTABLE, (c) => {
    // One escape per UTF-16 unit: a tag character (astral) is a surrogate pair.
    let escaped = "";
    for (let i = 0; i < c.length; i++) escaped += `\\u${c.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0")}`;
    return escaped;
  });
}
