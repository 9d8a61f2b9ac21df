// Suppressions: tuning without editing rules. "Matches like this" of one rule — the same values of chosen
// event fields — are counted, not alerted, until the suppression expires (wall time) or is removed.

import { isIPv6 } from "node:net";
import { foldEmail } from "./event.ts";

/** The longest a suppression may be set for at once: a year (longer is "until removed", said as such). */
export const SUPPRESSION_MAX_MS = 366 * 86_400_000;

/** The fields a suppression can pin, each to one exact value. `dedup` is the match's alert grouping key. */
export const SUPPRESSION_FIELDS = ["actorEmail", "actorId", "ip", "projectId", "dedup"] as const;
export type SuppressionField = (typeof SUPPRESSION_FIELDS)[number];
export type SuppressionConditions = Partial<Record<SuppressionField, string>>;

export interface NewSuppression {
  ruleId: string;
  /** At least one field. */
  conditions: SuppressionConditions;
  reason: string;
  /** Who made it, e.g. `user:alice`, `cli:bob`, `token:ci`. */
  createdBy: string;
  /** Wall time; null: until removed. */
  expiresAtMs: number | null;
}

export interface SuppressionRecord extends NewSuppression {
  id: string;
  createdAtMs: number;
  removedBy: string | null;
  removedAtMs: number | null;
  /** Matches it absorbed (counted, not alerted). */
  matchCount: number;
  /** When it last absorbed one (wall time). */
  lastMatchAtMs: number | null;
}

/** The values a match's event has for the suppression fields (null: the event has none, or is not stored). */
export type MatchFields = Record<SuppressionField, string | null>;

export function suppressionActive(s: SuppressionRecord, nowMs: number): boolean {
  return s.removedAtMs === null && (s.expiresAtMs === null || s.expiresAtMs > nowMs);
}

/**
 * An IP address in one spelling: an IPv6 address lower-cased and compressed as URLs write it (`2001:DB8:0::1` and
 * `2001:db8::1` are one address); anything else as it is.
 */
export function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  try {
    return new URL(`http://[${ip}]`).hostname.slice(1, -1);
  } catch {
    // A zone (`fe80::1%eth0`) is not in URL syntax: compared as written.
    return ip;
  }
}

/**
 * Every pinned field has its value (a field the event lacks never matches); an email address in any case
 * (foldEmail), an IP address in any spelling (canonicalIp).
 */
export function suppressionMatches(conditions: SuppressionConditions, fields: MatchFields): boolean {
  return SUPPRESSION_FIELDS.every((f) => {
    const pinned = conditions[f];
    const value = fields[f];
    if (pinned === undefined) return true;
    if (value === null) return false;
    if (f === "actorEmail") return foldEmail(pinned) === foldEmail(value);
    if (f === "ip") return canonicalIp(pinned) === canonicalIp(value);
    return pinned === value;
  });
}
