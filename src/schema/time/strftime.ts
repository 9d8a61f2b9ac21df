// strftime patterns (`timeFormat: "%Y-%m-%d %H:%M:%S"`) as used in Panther custom schemas, turned into
// a matcher. No strftime *parser* is installed in this project, so this is a small converter of our
// own: each directive becomes a regex group with a setter (see matcher.ts), compiled once per schema.
//
// Supported directives: %Y %C %y %m %d %e %j %H %k %I %l %M %S %f %L %p %b %h %B %a %A %z %Z %s
// %u %w %U %W %V %G %g (read, ignored), composites %T %D %F %R %r %c %x %X, and %n %t %%.
// Numeric fields accept one or two digits (as strptime does) except %Y (four digits).

import {
  amPm,
  compileTokens,
  epochSeconds,
  fraction,
  ignoredDigits,
  literal,
  monthName,
  numeric,
  type TimeMatcher,
  type TimeToken,
  weekdayName,
  zoneName,
  zoneOffset,
} from "./matcher.ts";

const COMPOSITES: Readonly<Record<string, string>> = {
  T: "%H:%M:%S",
  D: "%m/%d/%y",
  F: "%Y-%m-%d",
  R: "%H:%M",
  r: "%I:%M:%S %p",
  c: "%a %b %e %H:%M:%S %Y",
  x: "%m/%d/%y",
  X: "%H:%M:%S",
};

function directiveToken(d: string): TimeToken | undefined {
  switch (d) {
    case "Y":
      return numeric("\\d{4}", "year", 0, 9999);
    case "C":
      return numeric("\\d{2}", "century", 0, 99);
    case "y":
      return numeric("\\d{2}", "year2", 0, 99);
    case "m":
      return numeric("\\d{1,2}", "month", 1, 12);
    case "d":
      return numeric("\\d{1,2}", "day", 1, 31);
    case "e":
      return numeric(" ?\\d{1,2}", "day", 1, 31);
    case "j":
      return numeric("\\d{1,3}", "yday", 1, 366);
    case "H":
      return numeric("\\d{1,2}", "hour", 0, 23);
    case "k":
      return numeric(" ?\\d{1,2}", "hour", 0, 23);
    case "I":
      return numeric("\\d{1,2}", "hour12", 1, 12);
    case "l":
      return numeric(" ?\\d{1,2}", "hour12", 1, 12);
    case "M":
      return numeric("\\d{1,2}", "minute", 0, 59);
    case "S":
      return numeric("\\d{1,2}", "second", 0, 59);
    case "f":
      return fraction("\\d{1,9}");
    case "L":
      return fraction("\\d{3}");
    case "p":
      return amPm();
    case "b":
    case "h":
      return monthName(false);
    case "B":
      return monthName(true);
    case "a":
      return weekdayName(false);
    case "A":
      return weekdayName(true);
    case "z":
      return zoneOffset(true, "optional");
    case "Z":
      return zoneName();
    case "s":
      return epochSeconds();
    case "u":
    case "w":
      return ignoredDigits("\\d");
    case "U":
    case "W":
    case "V":
    case "g":
      return ignoredDigits("\\d{1,2}");
    case "G":
      return ignoredDigits("\\d{4}");
    case "n":
    case "t":
      return literal(" ");
    case "%":
      return literal("%");
    default:
      return undefined;
  }
}

function tokenize(format: string, out: TimeToken[]): string | undefined {
  let text = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%") {
      text += ch;
      continue;
    }
    const d = format[i + 1];
    if (d === undefined) return "the pattern ends with a lone %";
    i++;
    const composite = COMPOSITES[d];
    if (text !== "") out.push(literal(text));
    text = "";
    if (composite !== undefined) {
      const error = tokenize(composite, out);
      if (error !== undefined) return error;
      continue;
    }
    const token = directiveToken(d);
    if (token === undefined) return `unsupported strftime directive %${d}`;
    out.push(token);
  }
  if (text !== "") out.push(literal(text));
  return undefined;
}

/** True when the text is meant as a strftime pattern (Panther's rule: it contains a % directive). */
export function looksLikeStrftime(format: string): boolean {
  return /%[a-zA-Z%]/.test(format);
}

/** Compiles a strftime pattern; returns an error sentence for an unsupported pattern. */
export function compileStrftime(format: string): TimeMatcher | string {
  const tokens: TimeToken[] = [];
  const error = tokenize(format, tokens);
  if (error !== undefined) return error;
  return compileTokens(tokens);
}
