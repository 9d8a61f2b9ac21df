// Go reference-time layouts (`timeFormat: "layout=2006-01-02 15:04:05"`), which Panther's time codec
// registry accepts besides strftime. Each layout element becomes a token for matcher.ts, following
// Go's time.Parse rules: "01" needs two digits, "1" takes one or two, a fraction is accepted after
// the seconds even when the layout has none.

import {
  amPm,
  compileTokens,
  fraction,
  literal,
  monthName,
  numeric,
  type TimeMatcher,
  type TimeToken,
  weekdayName,
  zoneName,
  zoneOffset,
} from "./matcher.ts";

// Longest elements first so that "2006" wins over "2" and "Z07:00" over "Z07".
const ELEMENTS: ReadonlyArray<readonly [string, () => TimeToken]> = [
  ["January", () => monthName(true)],
  ["Monday", () => weekdayName(true)],
  ["Z07:00:00", () => zoneOffset(true, "required")],
  ["-07:00:00", () => zoneOffset(false, "required")],
  ["Z070000", () => zoneOffset(true, "none")],
  ["-070000", () => zoneOffset(false, "none")],
  ["Z07:00", () => zoneOffset(true, "required")],
  ["-07:00", () => zoneOffset(false, "required")],
  ["Z0700", () => zoneOffset(true, "none")],
  ["-0700", () => zoneOffset(false, "none")],
  ["2006", () => numeric("\\d{4}", "year", 0, 9999)],
  ["Z07", () => zoneOffset(true, "none", false)],
  ["-07", () => zoneOffset(false, "none", false)],
  ["Jan", () => monthName(false)],
  ["Mon", () => weekdayName(false)],
  ["MST", () => zoneName()],
  ["002", () => numeric("\\d{3}", "yday", 1, 366)],
  ["_2", () => numeric(" ?\\d{1,2}", "day", 1, 31)],
  ["01", () => numeric("\\d{2}", "month", 1, 12)],
  ["02", () => numeric("\\d{2}", "day", 1, 31)],
  ["03", () => numeric("\\d{2}", "hour12", 1, 12)],
  ["04", () => numeric("\\d{2}", "minute", 0, 59)],
  ["05", () => numeric("\\d{2}", "second", 0, 59)],
  ["06", () => numeric("\\d{2}", "year2", 0, 99)],
  ["15", () => numeric("\\d{1,2}", "hour", 0, 23)],
  ["PM", () => amPm()],
  ["pm", () => amPm()],
  ["1", () => numeric("\\d{1,2}", "month", 1, 12)],
  ["2", () => numeric("\\d{1,2}", "day", 1, 31)],
  ["3", () => numeric("\\d{1,2}", "hour12", 1, 12)],
  ["4", () => numeric("\\d{1,2}", "minute", 0, 59)],
  ["5", () => numeric("\\d{1,2}", "second", 0, 59)],
];

const SECOND_ELEMENTS = new Set(["05", "5"]);

/** A Go fraction element at `i`: "." or "," then a run of 0s (fixed width) or 9s (optional, any width). */
function fractionAt(layout: string, i: number): { length: number; token: TimeToken } | undefined {
  const sep = layout[i];
  if (sep !== "." && sep !== ",") return undefined;
  const digit = layout[i + 1];
  if (digit !== "0" && digit !== "9") return undefined;
  let j = i + 1;
  while (layout[j] === digit) j++;
  const next = layout[j];
  if (next !== undefined && next >= "0" && next <= "9") return undefined;
  const width = j - i - 1;
  const fixed = digit === "0";
  const base = fraction(fixed ? `\\d{${width}}` : "\\d+");
  return { length: j - i, token: { ...base, prefix: "[.,]", optional: !fixed } };
}

export function compileGoLayout(layout: string): TimeMatcher | string {
  const tokens: TimeToken[] = [];
  let text = "";
  let i = 0;
  let secondsAt = -1;
  let hasFraction = false;
  let hasField = false;
  const flush = () => {
    if (text !== "") tokens.push(literal(text));
    text = "";
  };
  while (i < layout.length) {
    const frac = fractionAt(layout, i);
    if (frac !== undefined) {
      flush();
      tokens.push(frac.token);
      hasFraction = true;
      i += frac.length;
      continue;
    }
    const element = ELEMENTS.find(([name]) => layout.startsWith(name, i));
    if (element === undefined) {
      text += layout[i];
      i++;
      continue;
    }
    flush();
    tokens.push(element[1]());
    hasField = true;
    if (SECOND_ELEMENTS.has(element[0])) secondsAt = tokens.length - 1;
    i += element[0].length;
  }
  flush();
  if (!hasField)
    return "the layout has no date or time element (write it with Go's reference time 2006-01-02 15:04:05)";
  if (secondsAt >= 0 && !hasFraction) {
    // Go accepts a fractional second right after the seconds even when the layout has none.
    tokens.splice(secondsAt + 1, 0, { ...fraction("\\d+"), prefix: "[.,]", optional: true });
  }
  return compileTokens(tokens);
}
