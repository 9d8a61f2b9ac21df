// Parses the times users type: an ISO 8601 date or date-time, Unix seconds, or a duration ago
// ("90m", "24h", "7d", "2w"); and prints times as commands show them.

import { UsageError } from "../core/errors.ts";

/** A time in milliseconds as commands print it: ISO 8601 in UTC, to the second. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const UNIT_SECS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Returns Unix seconds. */
export function parseTimeArg(value: string, nowSecs: number, flag: string): number {
  const text = value.trim();
  const duration = /^(\d+)\s*([smhdw])$/i.exec(text);
  if (duration) return nowSecs - Number(duration[1]) * (UNIT_SECS[duration[2]!.toLowerCase()] ?? 0);
  if (/^\d{9,11}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not a date (2026-11-01, 2026-11-01T12:00:00Z), Unix seconds or a duration (24h, 7d).`,
    );
  }
  return Math.floor(ms / 1000);
}

export function parsePositiveInt(value: string, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}.`);
  return n;
}
