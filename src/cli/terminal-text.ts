// Text from the API (event ids, values quoted in a quarantine reason) is the attacker's: printed to a terminal as
// it is, an escape sequence could rewrite the screen, a newline forge a line of output, and a direction override
// show one value as another. Such characters are printed as their code points instead, as the console shows them.

/** Control characters (C0, DEL, C1) and those that change how text around them reads without being seen. */
const UNPRINTABLE =
  /[\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

/** The text with each unprintable character shown as ⟨U+XXXX⟩. */
export function terminalText(value: string): string {
  return value.replace(
    UNPRINTABLE,
    (c) => `⟨U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}⟩`,
  );
}
