// Compiles a sequence of time-format tokens (produced from a strftime pattern or a Go layout) into
// one anchored regular expression plus a setter per capture group. A timestamp is then parsed with
// a single regex match: no per-record interpretation of the format.

import { escapeRegExp } from "../../core/regexp.ts";
import { checkRange, type Instant, instantFromCivil, isLeapYear, MAX_YEAR, MIN_YEAR } from "./instant.ts";

/** The pieces of a date/time collected while matching; unset pieces take defaults. */
export interface TimeParts {
  year?: number;
  century?: number;
  year2?: number;
  month?: number;
  day?: number;
  yday?: number;
  hour?: number;
  hour12?: number;
  pm?: boolean;
  minute?: number;
  second?: number;
  nsec?: number;
  offsetSec?: number;
  epochSec?: number;
}

/** A setter stores one captured group; it returns an error sentence for an impossible value. */
export type PartSetter = (parts: TimeParts, text: string) => string | undefined;

/**
 * A literal, or a field captured by `pattern`. `prefix` is a regex matched before the capture (a
 * fraction's separator) and `optional` makes prefix and field optional together.
 */
export type TimeToken =
  | { kind: "literal"; text: string }
  | { kind: "field"; pattern: string; set: PartSetter; prefix?: string; optional?: boolean };

export type FieldToken = Extract<TimeToken, { kind: "field" }>;

export type TimeMatcher = (text: string) => Instant | string;

export const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
export const WEEKDAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

// Common zone abbreviations. Like Go, an unknown abbreviation is accepted and read as UTC.
const ZONE_ABBREVIATIONS: Readonly<Record<string, number>> = {
  UTC: 0,
  GMT: 0,
  UT: 0,
  Z: 0,
  EST: -5 * 3600,
  EDT: -4 * 3600,
  CST: -6 * 3600,
  CDT: -5 * 3600,
  MST: -7 * 3600,
  MDT: -6 * 3600,
  PST: -8 * 3600,
  PDT: -7 * 3600,
};

/** Numeric field with bounds, e.g. numeric("month", 1, 12). */
export function numeric(pattern: string, key: keyof TimeParts, min: number, max: number): FieldToken {
  return {
    kind: "field",
    pattern,
    set: (parts, text) => {
      const n = Number.parseInt(text.trim(), 10);
      if (!(n >= min && n <= max)) return `${key} ${text.trim()} is out of range`;
      (parts as Record<string, number>)[key] = n;
      return undefined;
    },
  };
}

/** Digits that are read but carry no date information (week numbers, weekday numbers). */
export function ignoredDigits(pattern: string): FieldToken {
  return { kind: "field", pattern, set: () => undefined };
}

export function fraction(pattern: string): FieldToken {
  return {
    kind: "field",
    pattern,
    set: (parts, text) => {
      // Keep nanosecond precision; digits beyond the ninth are truncated as Go does.
      parts.nsec = Number.parseInt(text.slice(0, 9).padEnd(9, "0"), 10);
      return undefined;
    },
  };
}

export function monthName(full: boolean): FieldToken {
  const names = full ? MONTH_NAMES : MONTH_NAMES.map((m) => m.slice(0, 3));
  return {
    kind: "field",
    pattern: names.join("|"),
    set: (parts, text) => {
      parts.month = names.indexOf(text.toLowerCase()) + 1;
      return undefined;
    },
  };
}

export function weekdayName(full: boolean): FieldToken {
  const names = full ? WEEKDAY_NAMES : WEEKDAY_NAMES.map((d) => d.slice(0, 3));
  // The weekday is redundant with the date, so it is matched and ignored.
  return { kind: "field", pattern: names.join("|"), set: () => undefined };
}

export function amPm(): FieldToken {
  return {
    kind: "field",
    pattern: "am|pm",
    set: (parts, text) => {
      parts.pm = text.toLowerCase() === "pm";
      return undefined;
    },
  };
}

/** Numeric zone offset. `allowZ` accepts "Z" for UTC; `colon` is "required", "optional" or "none". */
export function zoneOffset(allowZ: boolean, colon: "required" | "optional" | "none", withMinutes = true): FieldToken {
  const sep = colon === "required" ? ":" : colon === "optional" ? ":?" : "";
  const minutes = withMinutes ? `${sep}\\d{2}` : `(?:${sep}\\d{2})?`;
  const numericPattern = `[+-]\\d{2}${minutes}`;
  return {
    kind: "field",
    pattern: allowZ ? `Z|${numericPattern}` : numericPattern,
    set: (parts, text) => {
      if (text === "Z" || text === "z") {
        parts.offsetSec = 0;
        return undefined;
      }
      const digits = text.slice(1).replace(":", "");
      const hours = Number.parseInt(digits.slice(0, 2), 10);
      const mins = digits.length >= 4 ? Number.parseInt(digits.slice(2, 4), 10) : 0;
      if (hours > 23 || mins > 59) return `zone offset ${text} is out of range`;
      parts.offsetSec = (text[0] === "-" ? -1 : 1) * (hours * 3600 + mins * 60);
      return undefined;
    },
  };
}

export function zoneName(): FieldToken {
  return {
    kind: "field",
    pattern: "[A-Za-z]{1,5}",
    set: (parts, text) => {
      parts.offsetSec = ZONE_ABBREVIATIONS[text.toUpperCase()] ?? 0;
      return undefined;
    },
  };
}

export function epochSeconds(): FieldToken {
  return {
    kind: "field",
    pattern: "[+-]?\\d{1,12}",
    set: (parts, text) => {
      parts.epochSec = Number.parseInt(text, 10);
      return undefined;
    },
  };
}

export function literal(text: string): TimeToken {
  return { kind: "literal", text };
}

function resolveYear(parts: TimeParts): number {
  if (parts.year !== undefined) return parts.year;
  if (parts.year2 !== undefined) {
    if (parts.century !== undefined) return parts.century * 100 + parts.year2;
    // POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068.
    return parts.year2 < 69 ? 2000 + parts.year2 : 1900 + parts.year2;
  }
  if (parts.century !== undefined) return parts.century * 100;
  // A pattern without a year reads as 1970, so results are reproducible.
  return 1970;
}

function resolveHour(parts: TimeParts): number {
  if (parts.hour !== undefined) return parts.hour;
  if (parts.hour12 !== undefined) {
    const h = parts.hour12 % 12;
    return parts.pm ? h + 12 : h;
  }
  return 0;
}

function toInstant(parts: TimeParts): Instant | string {
  const nsec = parts.nsec ?? 0;
  if (parts.epochSec !== undefined) return checkRange({ sec: parts.epochSec, nsec });
  const year = resolveYear(parts);
  if (year < MIN_YEAR || year > MAX_YEAR) return `year ${year} is out of range`;
  let month = parts.month ?? 1;
  let day = parts.day ?? 1;
  if (parts.yday !== undefined && parts.month === undefined && parts.day === undefined) {
    const yearDays = isLeapYear(year) ? 366 : 365;
    if (parts.yday > yearDays) return `day of year ${parts.yday} is out of range`;
    // Walk the months; at most twelve steps.
    let remaining = parts.yday;
    month = 1;
    for (;;) {
      const len =
        month === 2 ? (isLeapYear(year) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
      if (remaining <= len) break;
      remaining -= len;
      month++;
    }
    day = remaining;
  }
  return instantFromCivil({
    year,
    month,
    day,
    hour: resolveHour(parts),
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
    nsec,
    offsetSec: parts.offsetSec ?? 0,
  });
}

/** Builds the matcher. Runs of whitespace in literals match one or more whitespace characters. */
export function compileTokens(tokens: TimeToken[]): TimeMatcher {
  let source = "^";
  const setters: PartSetter[] = [];
  for (const token of tokens) {
    if (token.kind === "literal") {
      source += token.text
        .split(/(\s+)/)
        .map((piece) => (/^\s+$/.test(piece) ? "\\s+" : escapeRegExp(piece)))
        .join("");
    } else {
      // Field patterns use only non-capturing groups, so group g+1 belongs to setter g.
      const group = `(${token.pattern})`;
      source +=
        token.prefix !== undefined || token.optional
          ? `(?:${token.prefix ?? ""}${group})${token.optional ? "?" : ""}`
          : group;
      setters.push(token.set);
    }
  }
  const re = new RegExp(`${source}$`, "i");
  return (text) => {
    const m = re.exec(text);
    if (m === null) return "does not match the time format";
    const parts: TimeParts = {};
    for (let g = 0; g < setters.length; g++) {
      const captured = m[g + 1];
      if (captured === undefined) continue;
      const error = setters[g]!(parts, captured);
      if (error !== undefined) return error;
    }
    return toInstant(parts);
  };
}
