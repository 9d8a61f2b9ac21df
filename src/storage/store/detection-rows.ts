// Rows of the detection tables (rule_matches, alert_windows, alerts, alert_status_changes; rule_state's rows are
// in ./rule-state.ts) and the records they hold. JSON-valued fields are JSON text on both databases, except alert
// contexts, which are packed (./packed-json.ts); flags are written 0/1 and read with `flag()` (see ./database.ts).

import { createHash } from "node:crypto";
import { type Selectable, sql } from "kysely";
import type { AlertWindow } from "../../alerts/windows.ts";
import {
  type AlertStatus,
  type AlertStatusChange,
  CORRELATION_LOG_TYPE,
  isSeverity,
  type RuleMatch,
  type Severity,
} from "../../core/detection.ts";
import type { AlertRecord } from "../ports.ts";
import {
  type AlertStatusChangesTable,
  type AlertsTable,
  type AlertWindowsTable,
  flag,
  type RuleMatchesTable,
  type RuleVersionsTable,
} from "./database.ts";
import type { Db } from "./dialect.ts";
import { packJson, unpackJson } from "./packed-json.ts";
import { sourceIdOfRow } from "./source-numbers.ts";

/** A boolean as a Flag column takes it (0/1 on both databases). */
export const toFlag = (b: boolean): number => (b ? 1 : 0);

function parseJson<T>(text: string | null, fallback: T): T {
  return text === null ? fallback : (JSON.parse(text) as T);
}

const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

function severityOf(value: string): Severity {
  return isSeverity(value) ? value : "INFO";
}

/**
 * A match's identity, as one string, to spot repeats: its source, rule, event and error flag, and for a
 * correlation's match (`byKey`) its dedup string too, since a correlation completes once per anchor event and key
 * (an anchor whose list field holds two values completes for each; migration 38). Any other rule matches an
 * event once, whatever dedup string it gives it now: a system alarm's names its source, which may be renamed.
 */
export function matchKey(
  m: { sourceId: string; ruleId: string; eventId: string; isError: boolean; dedupString: string },
  byKey: boolean,
): string {
  const key = [m.sourceId, m.ruleId, m.eventId, m.isError];
  return JSON.stringify(byKey ? [...key, m.dedupString] : key);
}

/** The identity of a match in hand (see matchKey). */
export function keyOfMatch(m: RuleMatch): string {
  return matchKey(m, m.logType === CORRELATION_LOG_TYPE);
}

/** The rules among `matches` that are correlations: the rows read back for them are keyed by dedup string too. */
export function correlationRuleIds(matches: Iterable<RuleMatch>): Set<string> {
  const ids = new Set<string>();
  for (const m of matches) if (m.logType === CORRELATION_LOG_TYPE) ids.add(m.ruleId);
  return ids;
}

/**
 * What a match's rule says the same way for every match of that rule version (its description, runbook, tags…),
 * stored once in rule_versions and keyed by a hash of itself: repeated in every match it was most of a match's
 * bytes.
 */
export function ruleVersionRow(m: RuleMatch): RuleVersionRow {
  let version = versionOfMatch.get(m);
  if (version === undefined) {
    const last = lastVersionOfRule.get(m.ruleId);
    version = last !== undefined && sameVersion(last.fields, m) ? last.row : hashedVersion(m);
    if (version !== last?.row) lastVersionOfRule.set(m.ruleId, { fields: versionFields(m), row: version });
    versionOfMatch.set(m, version);
  }
  return version;
}

type RuleVersionRow = ReturnType<typeof hashedVersion>;

/** Each match's version, hashed once: the rule_versions insert and the match row both need it. */
const versionOfMatch = new WeakMap<RuleMatch, RuleVersionRow>();

type VersionFields = Pick<RuleMatch, (typeof VERSION_FIELDS)[number]>;

/**
 * The last version seen of each rule. Nearly every match of a rule has the same version, and comparing its
 * fields with the last one's is much cheaper than serializing and hashing them (a tenth of a page's time went
 * there when most events matched a rule).
 */
const lastVersionOfRule = new Map<string, { fields: VersionFields; row: RuleVersionRow }>();

function versionFields(m: RuleMatch): VersionFields {
  const fields: Partial<Record<keyof VersionFields, unknown>> = {};
  for (const f of VERSION_FIELDS) fields[f] = m[f];
  return fields as VersionFields;
}

const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

function sameVersion(a: VersionFields, b: RuleMatch): boolean {
  return (
    a.packId === b.packId &&
    a.logType === b.logType &&
    a.description === b.description &&
    a.reference === b.reference &&
    a.runbook === b.runbook &&
    a.dedupPeriodMinutes === b.dedupPeriodMinutes &&
    a.threshold === b.threshold &&
    a.createAlert === b.createAlert &&
    sameJson(a.destinations, b.destinations) &&
    sameJson(a.tags, b.tags) &&
    sameJson(a.reports, b.reports)
  );
}

function hashedVersion(m: RuleMatch) {
  const row = {
    rule_id: m.ruleId,
    pack_id: m.packId,
    log_type: m.logType,
    description: m.description,
    reference: m.reference,
    runbook: m.runbook,
    destinations: jsonOrNull(m.destinations),
    dedup_period_minutes: m.dedupPeriodMinutes,
    threshold: m.threshold,
    create_alert: toFlag(m.createAlert),
    tags: JSON.stringify(m.tags),
    reports: JSON.stringify(m.reports),
  };
  // 96 bits in 16 characters (base64url), named by every match: 32 hex characters before, the same 128 bits
  // were 16 bytes per match more than a rule's few versions need. Versions stored before keep their ids.
  const id = createHash("sha256").update(JSON.stringify(row)).digest("base64url").slice(0, 16);
  return { id, ...row };
}

/**
 * The columns of rule_matches that hold the match itself (the rest place it: window, alert, seq, ...).
 * `sourceNum` and `ruleNum`: the numbers of the match's source and rule (./source-numbers.ts, ./rule-numbers.ts);
 * `eventSeq`: the seq of the match's event when this transaction stored it (a page's matches), else null.
 * A match of a stored event names it by seq alone: its id, 34 bytes of nearly every match, is the event row's
 * (`matchEventId`). Derived matches (correlation) keep theirs.
 */
export function matchRow(
  m: RuleMatch,
  ruleVersion: string,
  sourceNum: number,
  ruleNum: number,
  eventSeq: number | null,
) {
  return {
    source_num: sourceNum,
    event_id: eventSeq === null ? m.eventId : "",
    event_seq: eventSeq,
    rule_num: ruleNum,
    event_time: m.eventTimeSecs,
    is_error: toFlag(m.isError),
    error_type: m.errorType,
    error_message: m.errorMessage,
    dedup_string: m.dedupString,
    title: m.title,
    severity: m.severity,
    alert_context: packJson(m.alertContext),
    unique_value: m.uniqueValue,
    rule_version: ruleVersion,
  };
}

/** The rule_versions columns read beside a match (`v.` in `matchesWithVersions`). */
export const VERSION_COLUMNS = [
  "pack_id",
  "log_type",
  "description",
  "reference",
  "runbook",
  "destinations",
  "dedup_period_minutes",
  "threshold",
  "create_alert",
  "tags",
  "reports",
] as const satisfies ReadonlyArray<keyof RuleVersionsTable>;

type MatchColumns = Exclude<
  keyof ReturnType<typeof matchRow>,
  "rule_version" | "source_num" | "rule_num" | "event_seq"
>;
type VersionColumns = (typeof VERSION_COLUMNS)[number];

export function toRuleMatch(
  row: Pick<Selectable<RuleMatchesTable>, MatchColumns> &
    Pick<Selectable<RuleVersionsTable>, VersionColumns | "rule_id"> & { source_id: string },
): RuleMatch {
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
    alertContext: unpackJson(row.alert_context) as Record<string, unknown> | null,
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

/**
 * The id of the match's event: the stored event's, which it names by seq, else its own (derived matches, and
 * matches stored before they left it out).
 */
export function matchEventId(match: string) {
  return sql<string>`coalesce((SELECT id FROM events WHERE seq = ${sql.ref(`${match}.event_seq`)}), ${sql.ref(`${match}.event_id`)})`;
}

/** The rule_matches columns read with a match (`m.`), its event's id aside (`matchEventId`). */
const MATCH_COLUMNS = [
  "seq",
  "event_time",
  "is_error",
  "error_type",
  "error_message",
  "dedup_string",
  "title",
  "severity",
  "alert_context",
  "unique_value",
] as const satisfies ReadonlyArray<keyof RuleMatchesTable>;

/**
 * Matches (as `m`) with their rule version's columns and their source's id: what `toRuleMatch` reads. The rule's
 * id is its version's: a version is of one rule.
 */
export function matchesWithVersions(db: Db) {
  return db
    .selectFrom("rule_matches as m")
    .innerJoin("rule_versions as v", "v.id", "m.rule_version")
    .select(MATCH_COLUMNS.map((c) => `m.${c}` as const))
    .select(matchEventId("m").as("event_id"))
    .select(VERSION_COLUMNS.map((c) => `v.${c}` as const))
    .select("v.rule_id")
    .select(sourceIdOfRow("m.source_num").as("source_id"));
}

/**
 * The columns of a stored window that change when its representative stays (most batches): the first match,
 * whose context may be large, is not written again.
 */
export function windowCounts(w: AlertWindow) {
  return {
    match_count: w.matchCount,
    unique_values: JSON.stringify(w.uniqueValues),
    valueless_count: w.valuelessCount,
    threshold: w.threshold,
    alert_created: toFlag(w.alertCreated),
  };
}

/**
 * A window as stored. Its representative match is stored in rule_matches in the same transaction: the window
 * names that row (`firstMatchSeq`) instead of holding a copy of it (a match's context and title were most of a
 * window's bytes, and most windows of threshold rules hold one match).
 */
export function windowRow(w: AlertWindow, firstMatchSeq: number) {
  return {
    id: w.id,
    source_id: w.sourceId,
    rule_id: w.ruleId,
    dedup_string: w.dedupString,
    is_error: toFlag(w.isError),
    start_secs: w.startSecs,
    end_secs: w.endSecs,
    on_grid: toFlag(w.onGrid),
    ...windowCounts(w),
    first_match: null,
    first_match_seq: firstMatchSeq,
  };
}

/** The RuleMatch fields a rule version holds (see ruleVersionRow). */
const VERSION_FIELDS = [
  "packId",
  "logType",
  "description",
  "reference",
  "runbook",
  "destinations",
  "dedupPeriodMinutes",
  "threshold",
  "createAlert",
  "tags",
  "reports",
] as const satisfies ReadonlyArray<keyof RuleMatch>;

/** The rule version ids that older windows' representatives (JSON copies) name, to load them with the windows. */
export function versionsNamed(rows: ReadonlyArray<Pick<Selectable<AlertWindowsTable>, "first_match">>): string[] {
  const ids = new Set<string>();
  for (const row of rows) {
    if (row.first_match === null) continue;
    const id = (JSON.parse(row.first_match) as { ruleVersion?: unknown }).ruleVersion;
    if (typeof id === "string") ids.add(id);
  }
  return [...ids];
}

/** The rule_matches seqs that stored windows name as their representatives, to load them with the windows. */
export function firstMatchSeqs(rows: ReadonlyArray<Pick<Selectable<AlertWindowsTable>, "first_match_seq">>): number[] {
  return [...new Set(rows.flatMap((r) => (r.first_match_seq === null ? [] : [r.first_match_seq])))];
}

/**
 * A stored window. `matches` holds the representatives the newer windows name (by seq); `versions`, the rule
 * versions the older windows' JSON copies may name (older rows still name none).
 */
export function toAlertWindow(
  row: Selectable<AlertWindowsTable>,
  matches: ReadonlyMap<number, RuleMatch>,
  versions: ReadonlyMap<string, Selectable<RuleVersionsTable>>,
): AlertWindow {
  let first: RuleMatch;
  if (row.first_match_seq !== null) {
    const match = matches.get(row.first_match_seq);
    if (match === undefined) {
      throw new Error(`Alert window ${row.id} names match ${row.first_match_seq}, which is not stored.`);
    }
    first = match;
  } else first = copiedFirstMatch(row.id, row.first_match, versions);
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
    first,
  };
}

/**
 * The representative an older window holds as JSON: the match without its rule version's fields, which it
 * names (windows stored before rule versions existed hold them all and name none).
 */
function copiedFirstMatch(
  windowId: string,
  json: string | null,
  versions: ReadonlyMap<string, Selectable<RuleVersionsTable>>,
): RuleMatch {
  if (json === null) throw new Error(`Alert window ${windowId} names no representative match.`);
  const stored = JSON.parse(json) as Record<string, unknown> & { ruleVersion?: string };
  const { ruleVersion, ...fields } = stored;
  const version = ruleVersion === undefined ? undefined : versions.get(ruleVersion);
  if (ruleVersion !== undefined && version === undefined) {
    throw new Error(`Alert window ${windowId} names rule version ${ruleVersion}, which is not stored.`);
  }
  return (version === undefined
    ? fields
    : {
        ...fields,
        packId: version.pack_id,
        logType: version.log_type,
        description: version.description,
        reference: version.reference,
        runbook: version.runbook,
        destinations: parseJson(version.destinations, null),
        dedupPeriodMinutes: version.dedup_period_minutes,
        threshold: version.threshold,
        createAlert: flag(version.create_alert),
        tags: parseJson(version.tags, []),
        reports: parseJson(version.reports, {}),
      }) as unknown as RuleMatch;
}

/**
 * The alert columns that come from the window's representative match: written again when matches attach,
 * since an earlier match arriving late replaces the representative (src/alerts/windows.ts).
 */
export function representativeFields(w: AlertWindow) {
  const f = w.first;
  return {
    pack_id: f.packId,
    title: f.title,
    severity: f.severity,
    alert_context: packJson(f.alertContext),
    description: f.description,
    reference: f.reference,
    runbook: f.runbook,
    destinations: jsonOrNull(f.destinations),
  };
}

/** A new alert from its window: every field from the window's representative match; status OPEN. */
export function newAlertRow(w: AlertWindow, nowMs: number, fromHistory: boolean) {
  return {
    id: w.id,
    rule_id: w.ruleId,
    source_id: w.sourceId,
    dedup_string: w.dedupString,
    is_error: toFlag(w.isError),
    ...representativeFields(w),
    status: "OPEN",
    window_start_secs: w.startSecs,
    window_end_secs: w.endSecs,
    match_count: w.matchCount,
    from_history: toFlag(fromHistory),
    created_at_ms: nowMs,
    updated_at_ms: nowMs,
  };
}

export function toAlertRecord(row: Selectable<AlertsTable>): AlertRecord {
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
    alertContext: unpackJson(row.alert_context) as Record<string, unknown> | null,
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
    assignee: row.assignee ?? null,
  };
}

export function toAlertStatusChange(
  row: Pick<Selectable<AlertStatusChangesTable>, "from_status" | "to_status" | "at_ms" | "changed_by">,
): AlertStatusChange {
  return {
    from: row.from_status as AlertStatus | null,
    to: row.to_status as AlertStatus,
    atMs: row.at_ms,
    by: row.changed_by,
  };
}
