// Display helpers. Everything returns plain strings that React renders as text.

export type Rec = Record<string, unknown>;

/**
 * Characters that change how text around them is shown without being seen: every format character (direction
 * marks, embeddings, overrides and isolates: U+202E shows "moc.liam@nimda" as "admin@mail.com"; the soft hyphen:
 * "ad\u00ADmin" is not "admin"; tags) and every character Unicode says to draw as nothing (zero-width characters,
 * the combining grapheme joiner, variation selectors, the Hangul fillers). Event fields are the attacker's text.
 * (The CLI shows the same, and control characters: its terminal-text.ts.)
 */
const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/** The text with each hidden character shown as its code point, e.g. ⟨U+202E⟩ (tag characters too, U+E0041…). */
export function visible(value: string): string {
  return value.replace(HIDDEN, (c) => `⟨U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

/** A value as text to show: hidden characters made visible (see `visible`). Send `text(v)`, never this. */
export function str(v: unknown): string {
  return visible(text(v));
}

/** A value as the text it is, for what goes back to the API (a filter, a suppression's condition, a form's field). */
export function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** First present field among names (the API's field names are read tolerantly). */
export function pick(obj: unknown, ...names: string[]): unknown {
  if (!obj || typeof obj !== "object") return undefined;
  const o = obj as Rec;
  for (const n of names) {
    if (o[n] !== undefined && o[n] !== null) return o[n];
  }
  return undefined;
}

export function fmtMs(ms: unknown): string {
  const n = num(ms);
  if (n === null || n === 0) return "—";
  return new Date(n)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

export function fmtSecs(secs: unknown): string {
  const n = num(secs);
  return n === null ? "—" : fmtMs(n * 1000);
}

export function fmtTime(obj: unknown, msNames: string[], secNames: string[]): string {
  const ms = pick(obj, ...msNames);
  if (num(ms) !== null) return fmtMs(ms);
  const s = pick(obj, ...secNames);
  if (num(s) !== null) return fmtSecs(s);
  return typeof ms === "string" ? ms : typeof s === "string" ? s : "—";
}

export function pretty(v: unknown): string {
  if (typeof v === "string") {
    try {
      return visible(JSON.stringify(JSON.parse(v), null, 2));
    } catch {
      return visible(v);
    }
  }
  return visible(JSON.stringify(v, null, 2) ?? "");
}

export const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"] as const;
export const STATUSES = ["OPEN", "ACKNOWLEDGED", "TRIAGED", "RESOLVED", "CLOSED"] as const;

/** A source's health as a word, whether given as a string or as `{status}`. */
export function healthOf(s: unknown): string {
  const h = pick(s, "health", "healthStatus", "state");
  if (typeof h === "string") return h;
  const inner = pick(h, "status", "state", "health");
  if (typeof inner === "string") return inner;
  // A source record with its poll status only: derive the same words the server uses.
  const poll = pick(s, "status", "pollStatus");
  if (pick(s, "enabled") === false) return "disabled";
  if (poll && typeof poll === "object") {
    const p = poll as Rec;
    if (Number(p.consecutiveFailures) > 0) return "failing";
    if (p.lastSuccessMs === null || p.lastSuccessMs === undefined) return "pending";
    return "ok";
  }
  return "unknown";
}

/**
 * A threshold entered in hours, shown in hours ("24 h", "1.5 h"); under an hour in minutes ("15 min"), so a
 * short threshold never reads as "0 h".
 */
export function fmtHours(secs: unknown): string {
  const n = num(secs);
  if (n === null) return "—";
  if (n < 3600) return `${Math.round((n / 60) * 100) / 100} min`;
  return `${Math.round((n / 3600) * 100) / 100} h`;
}
