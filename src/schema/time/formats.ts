// The `timeFormat` / `timeFormats` values of a Panther schema, each compiled once into a parser of
// JSON values. Semantics follow Panther's Go time codecs (OSS `pantherlog/tcodec`):
//   rfc3339            RFC3339 or RFC3339Nano text
//   unix               seconds as a number or numeric text; fractions kept to the microsecond
//   unix_ms/_us/_ns    integer number or integer text
//   strftime pattern   any text with a % directive
//   layout=<go layout> a Go reference-time layout
// An empty string or null is a zero (absent) time, not an error.

import { compileGoLayout } from "./go-layout.ts";
import { checkRange, type Instant, instantFromCivil } from "./instant.ts";
import type { TimeMatcher } from "./matcher.ts";
import { compileStrftime, looksLikeStrftime } from "./strftime.ts";

/** A parsed time, `null` for a zero time (empty text or null), or an error sentence. */
export type TimeParseResult = Instant | null | string;

export type TimeParser = (value: unknown) => TimeParseResult;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

function parseRfc3339(text: string): Instant | string {
  const m = RFC3339.exec(text);
  if (m === null) return "is not an RFC3339 time";
  const zone = m[8]!;
  let offsetSec = 0;
  if (zone !== "Z" && zone !== "z") {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 23 || minutes > 59) return `zone offset ${zone} is out of range`;
    offsetSec = (zone[0] === "-" ? -1 : 1) * (hours * 3600 + minutes * 60);
  }
  return instantFromCivil({
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
    nsec: m[7] === undefined ? 0 : Number(m[7].slice(0, 9).padEnd(9, "0")),
    offsetSec,
  });
}

function textParser(parse: TimeMatcher): TimeParser {
  return (value) => {
    if (value === null || value === "") return null;
    if (typeof value !== "string") return "expected text";
    return parse(value);
  };
}

const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Go's UnixSeconds: truncate seconds*1e6 to whole microseconds. */
function fromUnixSeconds(seconds: number): Instant | string {
  if (!Number.isFinite(seconds)) return "is not a finite number of seconds";
  const usec = Math.trunc(seconds * 1e6);
  const sec = Math.floor(usec / 1e6);
  return checkRange({ sec, nsec: Math.round(usec - sec * 1e6) * 1000 });
}

const parseUnixSeconds: TimeParser = (value) => {
  if (value === null || value === "") return null;
  if (typeof value === "number") return fromUnixSeconds(value);
  if (typeof value === "string") {
    if (!FLOAT_TEXT.test(value)) return "is not a number of seconds";
    return fromUnixSeconds(Number(value));
  }
  return "expected a number of seconds";
};

const INT_TEXT = /^[+-]?\d+$/;
const INT64_MAX = 9223372036854775807n;

function integerUnitParser(unitsPerSecond: bigint, unitName: string): TimeParser {
  const perSecond = Number(unitsPerSecond);
  const nanosPerUnit = 1_000_000_000n / unitsPerSecond;
  return (value) => {
    if (value === null || value === "") return null;
    let n: bigint;
    if (typeof value === "number") {
      if (!Number.isInteger(value)) return `expected an integer number of ${unitName}`;
      // Safe integers take the fast path; larger ones go through BigInt for exact division.
      if (Number.isSafeInteger(value)) {
        const sec = Math.floor(value / perSecond);
        return checkRange({ sec, nsec: (value - sec * perSecond) * Number(nanosPerUnit) });
      }
      n = BigInt(value);
    } else if (typeof value === "string") {
      if (!INT_TEXT.test(value)) return `is not an integer number of ${unitName}`;
      n = BigInt(value);
    } else {
      return `expected an integer number of ${unitName}`;
    }
    if (n > INT64_MAX || n < -INT64_MAX - 1n) return "is out of the 64-bit range";
    let sec = n / unitsPerSecond;
    let rem = n % unitsPerSecond;
    if (rem < 0n) {
      sec -= 1n;
      rem += unitsPerSecond;
    }
    return checkRange({ sec: Number(sec), nsec: Number(rem * nanosPerUnit) });
  };
}

const KEYWORD_PARSERS: Readonly<Record<string, TimeParser>> = {
  rfc3339: textParser(parseRfc3339),
  unix: parseUnixSeconds,
  unix_ms: integerUnitParser(1000n, "milliseconds"),
  unix_us: integerUnitParser(1_000_000n, "microseconds"),
  unix_ns: integerUnitParser(1_000_000_000n, "nanoseconds"),
};

export const TIME_FORMAT_KEYWORDS = Object.keys(KEYWORD_PARSERS);

/** Compiles one timeFormat value; returns an error sentence when the format is not usable. */
export function compileTimeFormat(format: string): TimeParser | string {
  const keyword = KEYWORD_PARSERS[format];
  if (keyword !== undefined) return keyword;
  if (format.startsWith("layout=")) {
    const matcher = compileGoLayout(format.slice("layout=".length));
    return typeof matcher === "string" ? `layout "${format}": ${matcher}` : textParser(matcher);
  }
  if (format.startsWith("strftime=")) return compileTimeFormat(format.slice("strftime=".length));
  if (looksLikeStrftime(format)) {
    const matcher = compileStrftime(format);
    return typeof matcher === "string" ? `strftime pattern "${format}": ${matcher}` : textParser(matcher);
  }
  return `unknown time format "${format}" (expected one of ${TIME_FORMAT_KEYWORDS.join(", ")}, a strftime pattern such as "%Y-%m-%d %H:%M:%S", or layout=<Go layout>)`;
}

/**
 * Tries the formats in order, as Panther does with `timeFormats`; the first that parses wins. A zero
 * time from any format is a zero time. When all fail, the first format's error is reported.
 */
export function combineTimeParsers(parsers: TimeParser[]): TimeParser {
  if (parsers.length === 1) return parsers[0]!;
  return (value) => {
    let firstError: string | undefined;
    for (const parse of parsers) {
      const result = parse(value);
      if (typeof result !== "string") return result;
      firstError ??= result;
    }
    return firstError ?? "does not match any time format";
  };
}
