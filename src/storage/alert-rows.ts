// TEMPORARY: until applyPage moves to store/. Positional column lists and values of the detection tables, for
// the old stores' detection writes (../sqlite/detections.ts, ../postgres/detections.ts); the one store writes
// and reads these rows with ../store/detection-rows.ts.

import type { AlertWindow } from "../alerts/windows.ts";
import type { RuleMatch } from "../core/detection.ts";

type Flag = number | boolean;

/** The columns of rule_matches that hold the match itself, in `matchValues` order. */
export const MATCH_COLUMNS = [
  "source_id",
  "event_id",
  "rule_id",
  "pack_id",
  "log_type",
  "event_time",
  "is_error",
  "error_type",
  "error_message",
  "dedup_string",
  "title",
  "severity",
  "alert_context",
  "description",
  "reference",
  "runbook",
  "destinations",
  "unique_value",
  "dedup_period_minutes",
  "threshold",
  "create_alert",
  "tags",
  "reports",
] as const;

/** The values of MATCH_COLUMNS; flags as given by `toFlag` (0/1 for SQLite, booleans for PostgreSQL). */
export function matchValues(m: RuleMatch, toFlag: (b: boolean) => Flag): unknown[] {
  return [
    m.sourceId,
    m.eventId,
    m.ruleId,
    m.packId,
    m.logType,
    m.eventTimeSecs,
    toFlag(m.isError),
    m.errorType,
    m.errorMessage,
    m.dedupString,
    m.title,
    m.severity,
    m.alertContext === null ? null : JSON.stringify(m.alertContext),
    m.description,
    m.reference,
    m.runbook,
    m.destinations === null ? null : JSON.stringify(m.destinations),
    m.uniqueValue,
    m.dedupPeriodMinutes,
    m.threshold,
    toFlag(m.createAlert),
    JSON.stringify(m.tags),
    JSON.stringify(m.reports),
  ];
}

export interface WindowRow {
  id: string;
  source_id: string;
  rule_id: string;
  dedup_string: string;
  is_error: Flag;
  start_secs: number;
  end_secs: number;
  on_grid: Flag;
  match_count: number;
  unique_values: string;
  valueless_count: number;
  threshold: number;
  alert_created: Flag;
  first_match: string;
}

export const WINDOW_COLUMNS = [
  "id",
  "source_id",
  "rule_id",
  "dedup_string",
  "is_error",
  "start_secs",
  "end_secs",
  "on_grid",
  "match_count",
  "unique_values",
  "valueless_count",
  "threshold",
  "alert_created",
  "first_match",
] as const;

/** The upsert's SET clause for a stored window: what a batch changes (never its key, span or id). */
export const WINDOW_STATE_UPDATE = [
  "match_count",
  "unique_values",
  "valueless_count",
  "threshold",
  "alert_created",
  "first_match",
]
  .map((c) => `${c} = excluded.${c}`)
  .join(", ");

/**
 * The columns of a stored window that change when its representative stays (most batches), in
 * `windowCountValues` order: the first match, whose context may be large, is not written again.
 */
export const WINDOW_COUNT_COLUMNS = ["match_count", "unique_values", "valueless_count", "threshold", "alert_created"];

export function windowCountValues(w: AlertWindow, toFlag: (b: boolean) => Flag): unknown[] {
  return [w.matchCount, JSON.stringify(w.uniqueValues), w.valuelessCount, w.threshold, toFlag(w.alertCreated)];
}

export function windowValues(w: AlertWindow, toFlag: (b: boolean) => Flag): unknown[] {
  return [
    w.id,
    w.sourceId,
    w.ruleId,
    w.dedupString,
    toFlag(w.isError),
    w.startSecs,
    w.endSecs,
    toFlag(w.onGrid),
    w.matchCount,
    JSON.stringify(w.uniqueValues),
    w.valuelessCount,
    w.threshold,
    toFlag(w.alertCreated),
    JSON.stringify(w.first),
  ];
}

export const ALERT_COLUMNS = [
  "id",
  "rule_id",
  "pack_id",
  "source_id",
  "dedup_string",
  "is_error",
  "title",
  "severity",
  "status",
  "alert_context",
  "description",
  "reference",
  "runbook",
  "destinations",
  "window_start_secs",
  "window_end_secs",
  "match_count",
  "from_history",
  "created_at_ms",
  "updated_at_ms",
] as const;

/** A new alert from its window: every field from the window's representative match; status OPEN. */
export function newAlertValues(
  w: AlertWindow,
  nowMs: number,
  toFlag: (b: boolean) => Flag,
  fromHistory: boolean,
): unknown[] {
  const f = w.first;
  return [
    w.id,
    w.ruleId,
    f.packId,
    w.sourceId,
    w.dedupString,
    toFlag(w.isError),
    f.title,
    f.severity,
    "OPEN",
    f.alertContext === null ? null : JSON.stringify(f.alertContext),
    f.description,
    f.reference,
    f.runbook,
    f.destinations === null ? null : JSON.stringify(f.destinations),
    w.startSecs,
    w.endSecs,
    w.matchCount,
    toFlag(fromHistory),
    nowMs,
    nowMs,
  ];
}

/**
 * The alert columns that come from the window's representative match, with their values: written again when
 * matches attach, since an earlier match arriving late replaces the representative (src/alerts/windows.ts).
 */
export const REPRESENTATIVE_COLUMNS = [
  "pack_id",
  "title",
  "severity",
  "alert_context",
  "description",
  "reference",
  "runbook",
  "destinations",
] as const;

export function representativeValues(w: AlertWindow): unknown[] {
  const f = w.first;
  return [
    f.packId,
    f.title,
    f.severity,
    f.alertContext === null ? null : JSON.stringify(f.alertContext),
    f.description,
    f.reference,
    f.runbook,
    f.destinations === null ? null : JSON.stringify(f.destinations),
  ];
}

export interface RuleStateRow {
  rule_id: string;
  key: string;
  value: string | null;
  counter: number;
  members: string;
  expires_at_secs: number | null;
}
