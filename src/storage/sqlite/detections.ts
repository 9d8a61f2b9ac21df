// The detection side of the SQLite store: signals, alert windows, alerts, rule state and settings. Writes
// run inside the caller's page transaction (see SqliteStore.applyPage); reads run on their own.

import type Database from "better-sqlite3";
import { DEFAULT_ALERT_LIMIT_PER_HOUR, foldNoisyMatches } from "../../alerts/limiter.ts";
import { type AlertWindow, applyMatches, keysToLoad } from "../../alerts/windows.ts";
import type { AlertStatus, AlertStatusChange, RuleMatch, RuleStateOp } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import {
  ALERT_COLUMNS,
  ALERT_STATUSES,
  type AlertRow,
  listLimit,
  MATCH_COLUMNS,
  type MatchRow,
  matchKey,
  matchValues,
  newAlertValues,
  REPRESENTATIVE_COLUMNS,
  type RuleStateRow,
  representativeValues,
  type StatusChangeRow,
  toAlertRecord,
  toAlertStatusChange,
  toAlertWindow,
  toRuleMatch,
  toRuleStateEntry,
  WINDOW_COLUMNS,
  WINDOW_COUNT_COLUMNS,
  WINDOW_STATE_UPDATE,
  type WindowRow,
  windowCountValues,
  windowValues,
} from "../alert-rows.ts";
import type { AlertQuery, AlertRecord, DetectionSetting, RuleStateEntry, StoredEvent } from "../ports.ts";
import { applyStateOpsTo, groupStateOps, isLive } from "../rule-state.ts";
import type { EventsTable as EventsSchema } from "../store/database.ts";
import { toStoredEvent } from "../store/events.ts";

type EventsTable = Omit<EventsSchema, "seq">;

const toFlag = (b: boolean): number => (b ? 1 : 0);
const placeholders = (n: number): string => Array.from({ length: n }, () => "?").join(", ");

function prepare(db: Database.Database) {
  return {
    insertMatch: db.prepare(
      // correlation_pending: every new match waits for correlation (see Store.listCorrelationPending).
      `INSERT INTO rule_matches (${MATCH_COLUMNS.join(", ")}, window_id, alert_id, created_at_ms, correlation_pending)
       VALUES (${placeholders(MATCH_COLUMNS.length + 3)}, 1)
       ON CONFLICT (source_id, rule_id, event_id, is_error) DO NOTHING`,
    ),
    matchStored: db.prepare<[string, string, string, number], { one: number }>(
      "SELECT 1 AS one FROM rule_matches WHERE source_id = ? AND rule_id = ? AND event_id = ? AND is_error = ?",
    ),
    windowsOfKey: db.prepare<[string, string, string, number, number, number], WindowRow>(
      `SELECT * FROM alert_windows
       WHERE source_id = ? AND rule_id = ? AND dedup_string = ? AND is_error = ? AND start_secs <= ? AND end_secs > ?`,
    ),
    // A window keeps its key and span; its counts, threshold and representative change.
    upsertWindow: db.prepare(
      `INSERT INTO alert_windows (${WINDOW_COLUMNS.join(", ")}) VALUES (${placeholders(WINDOW_COLUMNS.length)})
       ON CONFLICT (id) DO UPDATE SET ${WINDOW_STATE_UPDATE}`,
    ),
    updateWindowCounts: db.prepare(
      `UPDATE alert_windows SET ${WINDOW_COUNT_COLUMNS.map((c) => `${c} = ?`).join(", ")} WHERE id = ?`,
    ),
    insertAlert: db.prepare(
      `INSERT INTO alerts (${ALERT_COLUMNS.join(", ")}) VALUES (${placeholders(ALERT_COLUMNS.length)})`,
    ),
    attachWindowMatches: db.prepare("UPDATE rule_matches SET alert_id = ? WHERE window_id = ? AND alert_id IS NULL"),
    updateAlertCount: db.prepare("UPDATE alerts SET match_count = ?, updated_at_ms = ? WHERE id = ?"),
    makeLive: db.prepare("UPDATE alerts SET from_history = 0, updated_at_ms = ? WHERE id = ? AND from_history = 1"),
    updateAlertFields: db.prepare(
      `UPDATE alerts SET match_count = ?, updated_at_ms = ?, ${REPRESENTATIVE_COLUMNS.map((c) => `${c} = ?`).join(", ")}
       WHERE id = ?`,
    ),
    // The outbox row is written with the alert change it announces: no alert without its notification.
    enqueue: db.prepare("INSERT INTO outbox (alert_id, kind, created_at_ms) VALUES (?, ?, ?)"),
    recentAlerts: db
      .prepare<[string, string, number, number], number>(
        "SELECT count(*) FROM alerts WHERE source_id = ? AND rule_id = ? AND created_at_ms > ? AND from_history = ?",
      )
      .pluck(),
    insertStatusChange: db.prepare(
      "INSERT INTO alert_status_changes (alert_id, from_status, to_status, at_ms, changed_by) VALUES (?, ?, ?, ?, ?)",
    ),
    statusChanges: db.prepare<[string], StatusChangeRow>(
      "SELECT from_status, to_status, at_ms, changed_by FROM alert_status_changes WHERE alert_id = ? ORDER BY id",
    ),
    stateEntry: db.prepare<[string, string, string], RuleStateRow>(
      "SELECT * FROM rule_state WHERE source_id = ? AND rule_id = ? AND key = ?",
    ),
    upsertState: db.prepare(
      `INSERT INTO rule_state (source_id, rule_id, key, value, counter, members, expires_at_secs)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, rule_id, key) DO UPDATE SET value = excluded.value, counter = excluded.counter,
         members = excluded.members, expires_at_secs = excluded.expires_at_secs`,
    ),
    deleteState: db.prepare("DELETE FROM rule_state WHERE source_id = ? AND rule_id = ? AND key = ?"),
    settings: db.prepare<[], { kind: "rule" | "pack"; id: string; source_id: string | null; enabled: number }>(
      "SELECT * FROM detection_settings ORDER BY kind, id, coalesce(source_id, '')",
    ),
    deleteSetting: db.prepare("DELETE FROM detection_settings WHERE kind = ? AND id = ? AND source_id IS ?"),
    insertSetting: db.prepare("INSERT INTO detection_settings (kind, id, source_id, enabled) VALUES (?, ?, ?, ?)"),
    alertById: db.prepare<[string], AlertRow>("SELECT * FROM alerts WHERE id = ?"),
    setStatus: db.prepare("UPDATE alerts SET status = ?, updated_at_ms = ? WHERE id = ?"),
    alertMatches: db.prepare<
      [string, number],
      MatchRow & { [K in keyof EventsTable as `ev_${K}`]: EventsTable[K] | null }
    >(
      `SELECT m.*, e.source_id AS ev_source_id, e.id AS ev_id, e.type AS ev_type, e.effective_at AS ev_effective_at,
         e.actor_type AS ev_actor_type, e.actor_id AS ev_actor_id, e.actor_email AS ev_actor_email, e.ip AS ev_ip,
         e.project_id AS ev_project_id, e.raw AS ev_raw,
         e.ingested_at_ms AS ev_ingested_at_ms
       FROM rule_matches m LEFT JOIN events e ON e.source_id = m.source_id AND e.id = m.event_id
       WHERE m.alert_id = ? ORDER BY m.event_time, m.seq LIMIT ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

export class SqliteDetections {
  readonly #db: Database.Database;
  #statements: Statements | undefined;
  readonly #ruleStateStatements = new Map<number, Database.Statement<unknown[], RuleStateRow>>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  get #s(): Statements {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  /**
   * Stores `matches` (those already stored are skipped) and applies them to alert windows and alerts.
   * Must run inside a write transaction. Returns the ids of the alerts created.
   *
   * The whole batch is grouped in memory first (`applyMatches`), so each match row is written once, with
   * its window and alert, and each window once. Which matches are new is decided before that by the
   * unique index (the transaction is the only writer, so the answer holds until the insert).
   */
  applyMatches(
    matches: readonly RuleMatch[],
    nowMs: number,
    options: { fromHistory?: boolean; alertLimitPerHour?: number } = {},
  ): string[] {
    const fromHistory = options.fromHistory === true;
    if (matches.length === 0) return [];
    const s = this.#s;
    // A match already stored (or twice in the batch) must not count again.
    const fresh: RuleMatch[] = [];
    const inBatch = new Set<string>();
    for (const m of matches) {
      const id = matchKey(m);
      if (inBatch.has(id)) continue;
      inBatch.add(id);
      if (s.matchStored.get(m.sourceId, m.ruleId, m.eventId, toFlag(m.isError)) === undefined) fresh.push(m);
    }
    if (fresh.length === 0) return [];

    const loadWindows = (of: readonly RuleMatch[]) =>
      keysToLoad(of).flatMap(({ key, minSecs, maxSecs }) =>
        s.windowsOfKey
          .all(key.sourceId, key.ruleId, key.dedupString, toFlag(key.isError), maxSecs, minSecs)
          .map(toAlertWindow),
      );
    let existing: AlertWindow[] = loadWindows(fresh);
    let outcome = applyMatches(existing, fresh);
    // A rule over its alert budget: the matches of the alerts it would open go to its noisy alert instead.
    const folded = foldNoisyMatches(
      outcome,
      fresh,
      // History and live alerts have budgets of their own: a backfill must not silence the live alerts after it.
      (sourceId, ruleId) => s.recentAlerts.get(sourceId, ruleId, nowMs - 3_600_000, toFlag(fromHistory)) ?? 0,
      options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR,
    );
    if (folded !== null) {
      existing = loadWindows(folded);
      outcome = applyMatches(existing, folded);
    }
    const loaded = new Set(existing.map((w) => w.id));
    for (const w of outcome.windowUpserts) {
      if (loaded.has(w.id) && !outcome.newRepresentative.has(w.id))
        s.updateWindowCounts.run(...windowCountValues(w, toFlag), w.id);
      else s.upsertWindow.run(...windowValues(w, toFlag));
    }
    for (const p of outcome.placements) {
      const { changes } = s.insertMatch.run(...matchValues(p.match, toFlag), p.windowId, p.alertId, nowMs);
      // Checked as new above, in this transaction: a conflict here would be a bug that miscounts a window.
      if (changes !== 1) throw new Error(`The match of rule ${p.match.ruleId} on ${p.match.eventId} was stored twice.`);
    }
    for (const w of outcome.alertCreations) {
      s.insertAlert.run(...newAlertValues(w, nowMs, toFlag, fromHistory));
      s.insertStatusChange.run(w.id, null, "OPEN", nowMs, "system:detection");
      s.enqueue.run(w.id, "created", nowMs);
      // Matches of earlier pages that opened the window belong to the alert too.
      s.attachWindowMatches.run(w.id, w.id);
    }
    for (const w of outcome.alertAttachments) {
      // An earlier match that arrived late replaced the representative: the alert takes its fields.
      if (outcome.newRepresentative.has(w.id))
        s.updateAlertFields.run(w.matchCount, nowMs, ...representativeValues(w), w.id);
      else s.updateAlertCount.run(w.matchCount, nowMs, w.id);
      // Live activity joining an alert a backfill raised makes it a live alert, announced now: an attack that
      // spans the moment a source was added is paged for its live part.
      if (!fromHistory && s.makeLive.run(nowMs, w.id).changes === 1) s.enqueue.run(w.id, "created", nowMs);
    }
    return outcome.alertCreations.map((w) => w.id);
  }

  /**
   * Applies rule state ops in order. Must run inside a write transaction. Ops of one key are folded in
   * memory: one read and one write per key, whatever the number of ops.
   */
  applyStateOps(sourceId: string, ops: readonly RuleStateOp[], nowSecs: number): void {
    const s = this.#s;
    for (const group of groupStateOps(ops)) {
      const row = s.stateEntry.get(sourceId, group.ruleId, group.key);
      const next = applyStateOpsTo(row === undefined ? null : toRuleStateEntry(row), group.ops, nowSecs);
      if (next === null) {
        if (row !== undefined) s.deleteState.run(sourceId, group.ruleId, group.key);
      } else {
        s.upsertState.run(
          sourceId,
          group.ruleId,
          group.key,
          next.value,
          next.counter,
          JSON.stringify(next.members),
          next.expiresAtSecs,
        );
      }
    }
  }

  loadRuleState(sourceId: string, ruleIds: string[], nowSecs: number): RuleStateEntry[] {
    if (ruleIds.length === 0) return [];
    // Called for every page with the same rule list: one prepared statement per list length.
    let statement = this.#ruleStateStatements.get(ruleIds.length);
    if (statement === undefined) {
      statement = this.#db.prepare<unknown[], RuleStateRow>(
        `SELECT * FROM rule_state WHERE source_id = ? AND rule_id IN (${placeholders(ruleIds.length)})
         AND (expires_at_secs IS NULL OR expires_at_secs > ?) ORDER BY rule_id, key`,
      );
      this.#ruleStateStatements.set(ruleIds.length, statement);
    }
    const rows = statement.all(sourceId, ...ruleIds, nowSecs);
    return rows.map(toRuleStateEntry).filter((e) => isLive(e, nowSecs));
  }

  listDetectionSettings(): DetectionSetting[] {
    return this.#s.settings
      .all()
      .map((r) => ({ kind: r.kind, id: r.id, sourceId: r.source_id, enabled: r.enabled === 1 }));
  }

  /** Must run inside a write transaction (delete + insert is the upsert: see the unique index). */
  setDetectionSetting(setting: DetectionSetting): void {
    this.#s.deleteSetting.run(setting.kind, setting.id, setting.sourceId);
    this.#s.insertSetting.run(setting.kind, setting.id, setting.sourceId, toFlag(setting.enabled));
  }

  /** The SQL of `listAlerts`, for the store to run where it likes (off the event loop). */
  compileAlertList(query: AlertQuery): { sql: string; parameters: unknown[] } {
    const limit = listLimit(query.limit);
    if (limit === null) throw new UsageError(`The limit must be a positive integer (got ${query.limit}).`);
    const where: string[] = [];
    const params: unknown[] = [];
    const filters: Array<[string, unknown]> = [
      ["status", query.status],
      ["severity", query.severity],
      ["rule_id", query.ruleId],
      ["source_id", query.sourceId],
      ["from_history", query.fromHistory === undefined ? undefined : toFlag(query.fromHistory)],
    ];
    for (const [column, value] of filters) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const after = query.after;
    if (after !== undefined) {
      // Keyset paging in the list's own order; the plain bound lets the index scan start at the cursor.
      where.push("created_at_ms <= ?", "(created_at_ms, window_start_secs, id) < (?, ?, ?)");
      params.push(after.createdAtMs, after.createdAtMs, after.windowStartSecs, after.id);
    }
    const sql = `SELECT * FROM alerts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at_ms DESC, window_start_secs DESC, id DESC LIMIT ?`;
    return { sql, parameters: [...params, limit] };
  }

  getAlert(id: string): AlertRecord | null {
    const row = this.#s.alertById.get(id);
    return row === undefined ? null : toAlertRecord(row);
  }

  getAlertMatches(id: string, limit?: number): Array<{ match: RuleMatch; event: StoredEvent | null }> {
    const max = listLimit(limit ?? 10_000);
    if (max === null) throw new UsageError(`The limit must be a positive integer (got ${limit}).`);
    return this.#s.alertMatches.all(id, max).map((row) => ({
      match: toRuleMatch(row),
      event:
        row.ev_id === null
          ? null
          : toStoredEvent({
              source_id: row.ev_source_id ?? row.source_id,
              id: row.ev_id,
              type: row.ev_type ?? "",
              effective_at: row.ev_effective_at ?? 0,
              actor_type: row.ev_actor_type,
              actor_id: row.ev_actor_id,
              actor_email: row.ev_actor_email,
              ip: row.ev_ip,
              project_id: row.ev_project_id,
              raw: row.ev_raw ?? "",
              ingested_at_ms: row.ev_ingested_at_ms ?? 0,
            }),
    }));
  }

  /** Must run inside a write transaction. */
  setAlertStatus(id: string, status: AlertStatus, atMs: number, by: string | null = null): AlertRecord {
    if (!ALERT_STATUSES.includes(status)) {
      throw new UsageError(`Unknown alert status "${status}"; use one of ${ALERT_STATUSES.join(", ")}.`);
    }
    const s = this.#s;
    const row = s.alertById.get(id);
    if (row === undefined) throw new NotFoundError(`No alert with id ${id}.`);
    if (row.status !== status) {
      s.setStatus.run(status, atMs, id);
      s.insertStatusChange.run(id, row.status, status, atMs, by);
      if (status === "RESOLVED") s.enqueue.run(id, "resolved", atMs);
    }
    return toAlertRecord(s.alertById.get(id) ?? row);
  }

  listAlertStatusChanges(alertId: string): AlertStatusChange[] {
    return this.#s.statusChanges.all(alertId).map(toAlertStatusChange);
  }

  listMatches(query: { ruleIds?: string[]; sourceId?: string; sinceSecs: number; untilSecs: number }): RuleMatch[] {
    const where = ["event_time >= ?", "event_time < ?"];
    const params: unknown[] = [query.sinceSecs, query.untilSecs];
    if (query.sourceId !== undefined) {
      where.push("source_id = ?");
      params.push(query.sourceId);
    }
    if (query.ruleIds !== undefined && query.ruleIds.length > 0) {
      where.push(`rule_id IN (${placeholders(query.ruleIds.length)})`);
      params.push(...query.ruleIds);
    }
    return this.#db
      .prepare<unknown[], MatchRow>(`SELECT * FROM rule_matches WHERE ${where.join(" AND ")} ORDER BY event_time, seq`)
      .all(...params)
      .map(toRuleMatch);
  }

  listCorrelationPending(sourceId: string, afterSeq: number, limit: number): Array<{ seq: number; match: RuleMatch }> {
    return this.#db
      .prepare<[string, number, number], MatchRow & { seq: number }>(
        `SELECT * FROM rule_matches WHERE source_id = ? AND correlation_pending = 1 AND seq > ? ORDER BY seq LIMIT ?`,
      )
      .all(sourceId, afterSeq, limit)
      .map((row) => ({ seq: row.seq, match: toRuleMatch(row) }));
  }

  clearCorrelationPending(sourceId: string, seqs: number[]): void {
    const clear = this.#db.prepare("UPDATE rule_matches SET correlation_pending = 0 WHERE source_id = ? AND seq = ?");
    for (const seq of seqs) clear.run(sourceId, seq);
  }
}
