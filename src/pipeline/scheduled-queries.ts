// Panther scheduled rules, live: each scheduled query (detections/panther/scheduled-query.ts) runs once per
// schedule slot (RateMinutes, or a CronExpression's times) for a source, over that source's events
// (Store.queryEvents), and its rows go through the detection engine to the scheduled rules that list the query.
// Matches reach alerts through Store.applyDerivedMatches, like correlation matches.
//
// Nothing is counted twice: a row's event id is the query, the slot and a hash of the row, so re-running a slot
// (after a restart, or by another process) finds the same matches, which the store skips. Rows are evaluated at
// the slot's time (alert windows run on it). Rule state writes made by scheduled rules are not kept (the rows
// are not stored events); Panther counts re-matched rows of overlapping lookbacks again, Vigil does not within
// one slot.

import { createHash } from "node:crypto";
import type { SourceRecord } from "../core/source.ts";
import type { BatchEvent, DetectionEngine } from "../detections/engine/engine.ts";
import { type ScheduledQuerySpec, scheduledQueryLogType, slotStart } from "../detections/panther/scheduled-query.ts";
import type { Store } from "../storage/ports.ts";

/** Rows read back per run; more is a query that should aggregate. */
export const SCHEDULED_QUERY_MAX_ROWS = 1000;

export interface ScheduledQueryRun {
  query: string;
  rows: number;
  matches: number;
  createdAlertIds: string[];
  /** The query's or the rules' failure; the slot is then retried at the next run. */
  error?: string;
}

function rowId(query: string, slot: number, row: Record<string, unknown>): string {
  const hash = createHash("sha256").update(JSON.stringify(row)).digest("hex").slice(0, 24);
  return `${query}@${slot}#${hash}`;
}

/** "YYYY-MM-DD HH:MM:SS.000000000" (Panther's p_event_time): the engine reads a row's time from it. */
function pantherTime(secs: number): string {
  return `${new Date(secs * 1000).toISOString().slice(0, 19).replace("T", " ")}.000000000`;
}

/**
 * Runs each enabled query whose current slot has not run yet for this source (`done` remembers, per source and
 * query, the last slot that completed), when some enabled rule of the source uses it.
 */
export async function runScheduledQueries(options: {
  store: Store;
  engine: DetectionEngine;
  queries: readonly ScheduledQuerySpec[];
  source: SourceRecord;
  nowSecs: number;
  done: Map<string, number>;
}): Promise<ScheduledQueryRun[]> {
  const { store, engine, source, nowSecs, done } = options;
  const enabled = new Set(engine.ruleIdsFor(source.id));
  const runs: ScheduledQueryRun[] = [];
  for (const q of options.queries) {
    if (!q.enabled) continue;
    const logType = scheduledQueryLogType(q.name);
    if (!engine.rules.some((r) => enabled.has(r.id) && r.logTypes.includes(logType))) continue;
    const slot = slotStart(nowSecs, q.schedule);
    const key = `${source.id}\u0000${q.name}`;
    if (slot === null || done.get(key) === slot) continue;
    const run: ScheduledQueryRun = { query: q.name, rows: 0, matches: 0, createdAlertIds: [] };
    try {
      const sql = q.sql.replaceAll("{{now}}", String(slot));
      const rows = await store.queryEvents(source.id, sql, {
        maxRows: SCHEDULED_QUERY_MAX_ROWS,
        timeoutMs: q.timeoutMinutes * 60_000,
      });
      run.rows = rows.length;
      const batch: BatchEvent[] = rows.map((row) => ({
        sourceId: source.id,
        eventId: rowId(q.name, slot, row),
        record: { ...row, p_log_type: logType, p_event_time: pantherTime(slot) },
      }));
      const { matches } = batch.length > 0 ? await engine.evaluate(batch, []) : { matches: [] };
      run.matches = matches.length;
      if (matches.length > 0)
        run.createdAlertIds = (await store.applyDerivedMatches(source.id, matches)).createdAlertIds;
      done.set(key, slot);
    } catch (err) {
      run.error = err instanceof Error ? err.message : String(err);
    }
    runs.push(run);
  }
  return runs;
}
