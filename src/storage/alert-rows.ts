// Row shapes of the detection tables (rule_matches, alert_windows, alerts, rule_state), shared by both
// stores. JSON-valued fields are stored as JSON text in both databases; flags come back as 0/1 from SQLite
// and as booleans from PostgreSQL, so the converters accept either.

import type { AlertWindow } from "../alerts/windows.ts";
import {
  ALERT_STATUSES as ALL_ALERT_STATUSES,
  type AlertStatus,
  type AlertStatusChange,
  isSeverity,
  type RuleMatch,
  type Severity,
} from "../core/detection.ts";
import type { AlertRecord, RuleStateEntry } from "./ports.ts";

type Flag = number | boolean;

const flag = (value: Flag): boolean => value === true || value === 1;

function parseJson<T>(text: string | null, fallback: T): T {
  return text === null ? fallback : (JSON.parse(text) as T);
}

function severityOf(value: string): Severity {
  return isSeverity(value) ? value : "INFO";
}

export interface MatchRow {
  source_id: string;
  event_id: string;
  rule_id: string;
  pack_id: string | null;
  log_type: string;
  event_time: number;
  is_error: Flag;
  error_type: string | null;
  error_message: string | null;
  dedup_string: string;
  title: string;
  severity: string;
  alert_context: string | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  destinations: string | null;
  unique_value: string | null;
  dedup_period_minutes: number;
  threshold: number;
  create_alert: Flag;
  tags: string;
  reports: string;
}

/** A match's identity in rule_matches (its unique key), as one string, to spot repeats within a batch. */
export function matchKey(m: { sourceId: string; ruleId: string; eventId: string; isError: boolean }): string {
  return JSON.stringify([m.sourceId, m.ruleId, m.eventId, m.isError]);
}

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

export function toRuleMatch(row: MatchRow): RuleMatch {
  return {
    ruleId: row.rule_id,
    packId: row.pack_id,
    sourceId: row.source_id,
    eventId: row.event_id,
    logType: row.log_type,
    eventTimeSecs: row.event_time,
    isError: flag(row.is_error),
    errorType: row.error_type,
    errorMessage: row.error_message,
    dedupString: row.dedup_string,
    title: row.title,
    severity: severityOf(row.severity),
    alertContext: parseJson(row.alert_context, null),
    description: row.description,
    reference: row.reference,
    runbook: row.runbook,
    destinations: parseJson(row.destinations, null),
    uniqueValue: row.unique_value,
    dedupPeriodMinutes: row.dedup_period_minutes,
    threshold: row.threshold,
    createAlert: flag(row.create_alert),
    tags: parseJson(row.tags, []),
    reports: parseJson(row.reports, {}),
  };
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

export function toAlertWindow(row: WindowRow): AlertWindow {
  return {
    id: row.id,
    sourceId: row.source_id,
    ruleId: row.rule_id,
    dedupString: row.dedup_string,
    isError: flag(row.is_error),
    startSecs: row.start_secs,
    endSecs: row.end_secs,
    onGrid: flag(row.on_grid),
    matchCount: row.match_count,
    uniqueValues: parseJson(row.unique_values, []),
    valuelessCount: row.valueless_count,
    threshold: row.threshold,
    alertCreated: flag(row.alert_created),
    first: JSON.parse(row.first_match) as RuleMatch,
  };
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

export interface AlertRow {
  id: string;
  rule_id: string;
  pack_id: string | null;
  source_id: string;
  dedup_string: string;
  is_error: Flag;
  title: string;
  severity: string;
  status: string;
  alert_context: string | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  destinations: string | null;
  window_start_secs: number;
  window_end_secs: number;
  match_count: number;
  from_history: Flag;
  created_at_ms: number;
  updated_at_ms: number;
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

export function toAlertRecord(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    ruleId: row.rule_id,
    packId: row.pack_id,
    sourceId: row.source_id,
    dedupString: row.dedup_string,
    isError: flag(row.is_error),
    title: row.title,
    severity: severityOf(row.severity),
    status: row.status as AlertStatus,
    alertContext: parseJson(row.alert_context, null),
    description: row.description,
    reference: row.reference,
    runbook: row.runbook,
    destinations: parseJson(row.destinations, null),
    windowStartSecs: row.window_start_secs,
    windowEndSecs: row.window_end_secs,
    matchCount: row.match_count,
    fromHistory: flag(row.from_history),
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

export interface RuleStateRow {
  rule_id: string;
  key: string;
  value: string | null;
  counter: number;
  members: string;
  expires_at_secs: number | null;
}

export function toRuleStateEntry(row: RuleStateRow): RuleStateEntry {
  return {
    ruleId: row.rule_id,
    key: row.key,
    value: row.value,
    counter: row.counter,
    members: parseJson(row.members, []),
    expiresAtSecs: row.expires_at_secs,
  };
}

export const ALERT_STATUSES: readonly AlertStatus[] = ALL_ALERT_STATUSES;

/** The limit of a list query: default 100, at most 10000; below 1 is the caller's mistake. */
export function listLimit(limit: number | undefined): number | null {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1) return null;
  return Math.min(limit, 10_000);
}

export interface StatusChangeRow {
  from_status: string | null;
  to_status: string;
  at_ms: number | string;
  changed_by: string | null;
}

export function toAlertStatusChange(row: StatusChangeRow): AlertStatusChange {
  return {
    from: row.from_status as AlertStatus | null,
    to: row.to_status as AlertStatus,
    atMs: Number(row.at_ms),
    by: row.changed_by,
  };
}
