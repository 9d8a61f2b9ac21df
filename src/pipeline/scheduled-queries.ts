// Panther scheduled rules, live: each scheduled query (detections/panther/scheduled-query.ts) runs once per
// schedule slot (RateMinutes, or a CronExpression's times) for a source, over that source's events
// (Store.queryEvents), and its rows go through the detection engine to the scheduled rules that list the query.
// Matches reach alerts through Store.applyDerivedMatches, like correlation matches.
//
// No slot is skipped: the store keeps the last slot each query completed per source (Store.scheduledSlotsDone),
// and a run goes through every slot since, oldest first, a few at a time: after a failed slot, a restart, a
// failover, or polls that failed for a while (queries run after a successful poll). No slot runs twice either,
// but a slot whose run was cut off between its matches and its record runs again: a row's event id is the
// query, the slot and a hash of the row, so the rows it gave already are found stored and skipped. Rows are
// evaluated at the slot's time (alert windows run on it). Rule state writes made by scheduled rules are not
// kept (the rows are not stored events).

import { createHash } from "node:crypto";
import { errorMessage } from "../core/errors.ts";
import type { SourceRecord } from "../core/source.ts";
import type { BatchEvent, DetectionEngine } from "../detections/engine/engine.ts";
import type { LoadedRule } from "../detections/engine/loaded-rule.ts";
import {
  type ScheduledQuerySpec,
  scheduledQueryLogType,
  slotStart,
  slotsDue,
} from "../detections/panther/scheduled-query.ts";
import type { Store } from "../storage/ports.ts";

/** Rows read back per run; more is a query that should aggregate. */
export const SCHEDULED_QUERY_MAX_ROWS = 1000;
/**
 * Slots of one query caught up per run: a worker back after a day runs the missed slots over its next polls
 * instead of stalling this one (a 5-minute query missed 288).
 */
export const SLOTS_PER_RUN = 24;
/**
 * Runs of one slot that may fail before it is given up (said as an error) and the query goes on with the next:
 * a slot that always fails (a query that times out on that hour) must not stop every later one.
 */
export const SLOT_ATTEMPTS = 3;

export interface ScheduledQueryRun {
  query: string;
  /** The slot's start (Unix seconds): `{{now}}` in the query. */
  slotSecs: number;
  rows: number;
  matches: number;
  createdAlertIds: string[];
  /**
   * The query's or the rules' failure; the slot is then retried at the next run, before any later one, up to
   * SLOT_ATTEMPTS runs in all.
   */
  error?: string;
  /** The slot failed for the last time allowed: given up, and the query goes on with the next one. */
  gaveUp?: boolean;
}

function rowId(query: string, slot: number, row: Record<string, unknown>): string {
  const hash = createHash("sha256").update(JSON.stringify(row)).digest("hex").slice(0, 24);
  return `${query}@${slot}#${hash}`;
}

/** "YYYY-MM-DD HH:MM:SS.000000000" (Panther's p_event_time): the engine reads a row's time from it. */
function pantherTime(secs: number): string {
  return `${new Date(secs * 1000).toISOString().slice(0, 19).replace("T", " ")}.000000000`;
}

/** What becomes of a query's slots at a run (queryState). */
type QueryState = "runs" | "off" | "waits";

/**
 * Whether a query runs: some enabled rule of the source reads it and can run. Otherwise it is "off" when the
 * operator turned it off (the query disabled, or every rule that reads it disabled): its record follows the
 * clock, and using it again does not replay the time it was off. It "waits" when its rules did not load or their
 * modules do not import: its slots are kept for when they are fixed.
 */
function queryState(
  q: ScheduledQuerySpec,
  rules: readonly LoadedRule[],
  enabled: ReadonlySet<string>,
  broken: ReadonlySet<string>,
): QueryState {
  if (!q.enabled) return "off";
  const logType = scheduledQueryLogType(q.name);
  const reading = rules.filter((r) => r.logTypes.includes(logType) && enabled.has(r.id));
  if (reading.some((r) => !broken.has(r.id))) return "runs";
  return reading.length === 0 && rules.some((r) => r.logTypes.includes(logType)) ? "off" : "waits";
}

/**
 * Runs, for each query that runs for the source (queryState), the slots due (slotsDue) since the last one it
 * completed for this source, oldest first; a failed slot ends that query's run, to be tried again first.
 */
export async function runScheduledQueries(options: {
  store: Store;
  engine: DetectionEngine;
  queries: readonly ScheduledQuerySpec[];
  source: SourceRecord;
  nowSecs: number;
  /** Failed runs per source, query and slot (SLOT_ATTEMPTS), kept by the caller from run to run. */
  failures?: Map<string, number>;
  /** Stops between slots (the source's lease was lost, the worker stops). */
  signal?: AbortSignal;
}): Promise<ScheduledQueryRun[]> {
  const { store, engine, source, nowSecs } = options;
  const failures = options.failures ?? new Map<string, number>();
  if (options.queries.length === 0) return [];
  const enabled = new Set(engine.ruleIdsFor(source.id));
  const broken = new Set((await engine.pythonLoadErrors()).map((f) => f.rule.id));
  const done = await store.scheduledSlotsDone(source.id);
  const runs: ScheduledQueryRun[] = [];
  for (const q of options.queries) {
    const last = done.get(q.name);
    const state = queryState(q, engine.rules, enabled, broken);
    if (state === "off") {
      const current = slotStart(nowSecs, q.schedule);
      if (last !== undefined && current !== null && last < current)
        await store.recordScheduledSlot(source.id, q.name, current);
    }
    if (state !== "runs") continue;
    for (const slot of slotsDue(last, nowSecs, q.schedule, SLOTS_PER_RUN)) {
      if (options.signal?.aborted) return runs;
      const run = await runSlot(store, engine, source, q, slot);
      runs.push(run);
      const key = JSON.stringify([source.id, q.name, slot]);
      if (run.error === undefined) {
        failures.delete(key);
        continue;
      }
      const failed = (failures.get(key) ?? 0) + 1;
      if (failed >= SLOT_ATTEMPTS) {
        // Given up: recorded as done, so that the next slots run; the run says so (gaveUp).
        failures.delete(key);
        run.gaveUp = true;
        await store.recordScheduledSlot(source.id, q.name, slot);
        continue;
      }
      failures.set(key, failed);
      // A query's first slot failed: recorded as done up to the second before it, so that it is tried again
      // first (slotsDue runs only the current slot of a query with no record).
      if (last === undefined) await store.recordScheduledSlot(source.id, q.name, slot - 1).catch(() => undefined);
      break;
    }
  }
  return runs;
}

async function runSlot(
  store: Store,
  engine: DetectionEngine,
  source: SourceRecord,
  q: ScheduledQuerySpec,
  slot: number,
): Promise<ScheduledQueryRun> {
  const logType = scheduledQueryLogType(q.name);
  const run: ScheduledQueryRun = { query: q.name, slotSecs: slot, rows: 0, matches: 0, createdAlertIds: [] };
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
    if (matches.length > 0) run.createdAlertIds = (await store.applyDerivedMatches(source.id, matches)).createdAlertIds;
    await store.recordScheduledSlot(source.id, q.name, slot);
  } catch (err) {
    run.error = errorMessage(err);
  }
  return run;
}
