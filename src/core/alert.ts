// Alerts as the store keeps them (the rule match that makes them is in detection.ts).

import { type AlertStatus, type Severity, statusesOf } from "./detection.ts";

export interface AlertRecord {
  id: string;
  ruleId: string;
  packId: string | null;
  sourceId: string;
  dedupString: string;
  isError: boolean;
  title: string;
  severity: Severity;
  status: AlertStatus;
  alertContext: Record<string, unknown> | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  destinations: string[] | null;
  /** Event time of the first match of the window, and the window's end (exclusive). */
  windowStartSecs: number;
  windowEndSecs: number;
  matchCount: number;
  /** Raised by a backfill page (history), not by live polling: shown as such, and not sent unless asked for. */
  fromHistory: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  /** The console user (username) working the alert; null: nobody. */
  assignee: string | null;
}

/** Alerts of one source in one status and severity. */
export interface AlertCount {
  sourceId: string;
  status: AlertStatus;
  severity: Severity;
  count: number;
}

/** Enable/disable overrides of rules and packs, globally (sourceId null) or for one source. */
export interface DetectionSetting {
  kind: "rule" | "pack";
  id: string;
  sourceId: string | null;
  enabled: boolean;
}

/**
 * One entry of an alert's history, oldest first: its status changes, (un)assignments and comments, each with
 * when and who (`cli:<os user>`, `user:<name>`, `token:<name>`, `system:<component>`; null for old rows).
 */
export type AlertActivity =
  | { kind: "status"; atMs: number; by: string | null; from: AlertStatus | null; to: AlertStatus }
  | { kind: "assigned"; atMs: number; by: string | null; assignee: string | null }
  | { kind: "comment"; atMs: number; by: string | null; body: string };

/** The longest comment kept: a note, not a document. */
export const ALERT_COMMENT_MAX_CHARS = 10_000;

/** The most alerts one bulk status change takes: many screenfuls of a selection, still one short transaction. */
export const BULK_STATUS_MAX = 1000;

/**
 * A triage change made from what its caller last saw: the status or assignee it expected to change. Two analysts
 * acting on one alert at once must not silently undo each other; when the alert has moved on since the caller
 * read it (it is neither what they expected nor already what they want), the change is refused with this
 * message, and they decide again from the alert as it is. Without an expectation (`undefined`), last write wins.
 */
export function triageConflict(
  alertId: string,
  field: "status" | "assignee",
  now: string | null,
  expected: string | null | undefined,
  wanted: string | null,
): string | null {
  // TRIAGED is the older word for ACKNOWLEDGED: the same status to a caller that expects or wants either.
  const same = (a: string | null, b: string | null) =>
    a === b || (field === "status" && a !== null && statusesOf(a as AlertStatus).includes(b as AlertStatus));
  if (expected === undefined || same(now, expected) || same(now, wanted)) return null;
  const shown = (v: string | null) => (v === null ? "nobody" : JSON.stringify(v));
  const what = field === "status" ? "its status is" : "it is assigned to";
  return `Alert ${alertId} changed since you read it: ${what} ${shown(now)} now, not ${shown(expected)}. Reload it and decide again.`;
}
