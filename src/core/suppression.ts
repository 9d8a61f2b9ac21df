// Suppressions: tuning without editing rules. "Matches like this" of one rule — the same values of chosen
// event fields — are counted, not alerted, until the suppression expires (wall time) or is removed.

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

/** Every pinned field has its value (a field the event lacks never matches); an address in any case (foldEmail). */
export function suppressionMatches(conditions: SuppressionConditions, fields: MatchFields): boolean {
  return SUPPRESSION_FIELDS.every((f) => {
    const pinned = conditions[f];
    const value = fields[f];
    if (pinned === undefined) return true;
    if (f === "actorEmail") return value !== null && foldEmail(pinned) === foldEmail(value);
    return pinned === value;
  });
}
