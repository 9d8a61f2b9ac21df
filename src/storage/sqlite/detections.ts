// TEMPORARY: until applyPage moves to store/. The detection writes of the old SQLite page transaction
// (LegacySqliteStore.applyPage); everything else of detections is in ../store/detections.ts and ../store/alerts.ts,
// whose applyMatchesIn/applyStateOpsIn replace these.

import type Database from "better-sqlite3";
import { DEFAULT_ALERT_LIMIT_PER_HOUR, foldNoisyMatches } from "../../alerts/limiter.ts";
import { type AlertWindow, applyMatches, keysToLoad } from "../../alerts/windows.ts";
import type { RuleMatch, RuleStateOp } from "../../core/detection.ts";
import {
  ALERT_COLUMNS,
  MATCH_COLUMNS,
  matchValues,
  newAlertValues,
  REPRESENTATIVE_COLUMNS,
  type RuleStateRow,
  representativeValues,
  WINDOW_COLUMNS,
  WINDOW_COUNT_COLUMNS,
  WINDOW_STATE_UPDATE,
  type WindowRow,
  windowCountValues,
  windowValues,
} from "../alert-rows.ts";
import { matchKey, toAlertWindow, toRuleStateEntry } from "../store/detection-rows.ts";
import { applyStateOpsTo, groupStateOps } from "../store/rule-state.ts";

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
  };
}

type Statements = ReturnType<typeof prepare>;

export class SqliteDetections {
  readonly #db: Database.Database;
  #statements: Statements | undefined;

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
}
