// Text from the API (event ids, emails, values quoted in a quarantine reason or an alert's title) is the
// attacker's: printed to a terminal as it is, an escape sequence could rewrite the screen, a newline forge a line
// of output, and a direction override show one value as another. Such characters are printed as their code points
// instead, as the console shows them, and in JSON output as \u escapes (JSON.stringify escapes C0 controls only).

/**
 * Control characters (C0, DEL, C1), format characters (soft hyphen, direction marks and overrides, zero-width,
 * tags…), the line and paragraph separators, and every character Unicode says to draw as nothing (the combining
 * grapheme joiner, variation selectors, the Hangul fillers: letters drawn as blank space).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
const shown = (c: string) => `⟨U+${hex(c.codePointAt(0) ?? 0)}⟩`;

/** The text with each unprintable character shown as ⟨U+XXXX⟩. */
export function terminalText(value: string): string {
  return value.replace(UNPRINTABLE, shown);
}

/** A line of tab-separated columns: as `terminalText`, but its tabs stay (a tab in a value only shifts columns). */
export function terminalLine(line: string): string {
  return line.replace(UNPRINTABLE, (c) => (c === "\t" ? c : shown(c)));
}

/**
 * JSON text (one value, as JSON.stringify writes it) with each unprintable character written as a \u escape: the
 * same JSON. Outside strings JSON text has only ASCII punctuation and digits, so every match is inside a string,
 * where an escape is valid; a backslash escape is ASCII, so a match never splits one.
 */
export function terminalJsonText(json: string): string {
  return json.replace(UNPRINTABLE, (c) => {
    // One escape per UTF-16 unit: a tag character (astral) is a surrogate pair.
    let escaped = "";
    for (let i = 0; i < c.length; i++) escaped += `\\u${hex(c.charCodeAt(i))}`;
    return escaped;
  });
}

/** `value` as one line of JSON safe for a terminal (see terminalJsonText); `null` for what JSON cannot hold. */
export function terminalJson(value: unknown): string {
  return terminalJsonText(JSON.stringify(value) ?? "null");
}
