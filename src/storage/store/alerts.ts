// Alerts in the store: one alert and its matches, status changes and their history. Alerts are
// created and grown by the detection write path (./detections.ts).

import { sql } from "kysely";
import { type AlertRecord, triageConflict } from "../../core/alert.ts";
import { ALERT_STATUSES, type AlertStatus, isOpenAlertStatus } from "../../core/detection.ts";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import type { Store, StoredEvent } from "../ports.ts";
import { type EventsTable, flag } from "./database.ts";
import {
  matchEventId,
  matchesWithVersions,
  toAlertRecord,
  toAlertStatusChange,
  toRuleMatch,
} from "./detection-rows.ts";
import { enqueue } from "./detections.ts";
import type { Db, StoreContext, StoreDialect } from "./dialect.ts";
import { EVENT_COLUMNS } from "./event-search.ts";
import { toStoredEvent } from "./events.ts";

/** The limit of a list query: at most 10000; below 1 is the caller's mistake. */
export function listLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`The limit must be a positive integer (got ${limit}).`);
  return Math.min(limit, 10_000);
}

// getAlertMatches reads the event columns (EVENT_COLUMNS) beside each match, as ev_<column>.

/** The event joined to a match row (of the match's source), or null when the match's event is not stored. */
function joinedEvent(row: Record<string, unknown> & { source_id: string }): StoredEvent | null {
  if (row.ev_id === null || row.ev_id === undefined) return null;
  const columns = Object.fromEntries(EVENT_COLUMNS.map((c) => [c, row[`ev_${c}`]])) as unknown as EventsTable;
  return toStoredEvent({ ...columns, source_id: row.source_id });
}

export function checkStatus(status: AlertStatus): void {
  if (!ALERT_STATUSES.includes(status)) {
    throw new UsageError(`Unknown alert status "${status}"; use one of ${ALERT_STATUSES.join(", ")}.`);
  }
}

/** The lock that serializes status changes of one alert (see `changeStatus`). */
export function statusLockKey(alertId: string): string {
  return `vigil:alerts:status:${alertId}`;
}

/**
 * The alerts `ids` that exist, each read after taking its `statusLockKey` (the locks in sorted order), ready for
 * `changeStatus`.
 */
export async function lockedAlerts(dialect: StoreDialect, trx: Db, ids: readonly string[]): Promise<AlertRecord[]> {
  if (ids.length === 0) return [];
  await dialect.lockKeys(trx, ids.map(statusLockKey));
  const rows = await trx.selectFrom("alerts").selectAll().where("id", "in", ids).execute();
  return rows.map(toAlertRecord);
}

/** One alert, read under its status lock (see lockedAlerts); NotFound when there is none. */
export async function lockedAlert(dialect: StoreDialect, trx: Db, id: string): Promise<AlertRecord> {
  const [alert] = await lockedAlerts(dialect, trx, [id]);
  if (alert === undefined) throw new NotFoundError(`No alert with id ${id}.`);
  return alert;
}

/** Refuses, as a conflict, a triage change whose caller saw the alert otherwise (core/alert.ts triageConflict). */
export function checkTriageExpectation(...args: Parameters<typeof triageConflict>): void {
  const conflict = triageConflict(...args);
  if (conflict !== null) throw new VigilError("conflict", conflict);
}

/**
 * Moves a locked alert (read after taking `statusLockKey`) to `status`: the row, its history row, and for
 * an open alert that ends (RESOLVED or CLOSED) the resolve notification, in the caller's transaction. The same
 * status changes nothing.
 */
export async function changeStatus(
  trx: Db,
  current: AlertRecord,
  status: AlertStatus,
  atMs: number,
  by: string | null,
): Promise<AlertRecord> {
  if (current.status === status) return current;
  const id = current.id;
  // Whether it is a history alert is read as the UPDATE finds the row, not from `current`: a live page may have
  // made it live (detections.ts attachToAlerts) after `current` was read, and its resolve must then reach the
  // destinations that were sent its "created".
  const { from_history } = await trx
    .updateTable("alerts")
    .set({ status, updated_at_ms: atMs })
    .where("id", "=", id)
    .returning("from_history")
    .executeTakeFirstOrThrow();
  const fromHistory = flag(from_history);
  await trx
    .insertInto("alert_status_changes")
    .values({ alert_id: id, from_status: current.status, to_status: status, at_ms: atMs, changed_by: by })
    .execute();
  // Ending an open alert, resolved or closed (a false positive), sends the resolve: else the pager keeps
  // escalating an incident nobody needs to read. Between the two ended statuses, and on reopening, nothing.
  if (isOpenAlertStatus(current.status) && !isOpenAlertStatus(status)) {
    await enqueue(trx, [id], "resolved", atMs, fromHistory);
  }
  return { ...current, status, fromHistory, updatedAtMs: atMs };
}

export function alertOps(
  ctx: StoreContext,
): Pick<Store, "getAlert" | "getAlertMatches" | "setAlertStatus" | "listAlertStatusChanges"> {
  const { dialect } = ctx;
  return {
    async getAlert(id) {
      const row = await dialect.run((db) =>
        db.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst(),
      );
      return row === undefined ? null : toAlertRecord(row);
    },

    async getAlertMatches(id, limit) {
      const max = listLimit(limit, 10_000);
      const rows = await dialect.heavyRead(
        matchesWithVersions(dialect.db)
          .leftJoin("events as e", (join) =>
            join.onRef("e.source_num", "=", "m.source_num").on("e.id", "=", matchEventId("m")),
          )
          .select(EVENT_COLUMNS.map((c) => sql.ref(`e.${c}`).as(`ev_${c}`)))
          .where("m.alert_id", "=", id)
          .orderBy("m.event_time")
          .orderBy("m.seq")
          .limit(max),
      );
      return rows.map((row) => ({ match: toRuleMatch(row), event: joinedEvent(row) }));
    },

    async setAlertStatus(id, status, atMs, by = null, expected) {
      checkStatus(status);
      // Two changes of one alert at once must not both record the same transition: each reads it locked.
      return dialect.write(async (trx) => {
        const current = await lockedAlert(dialect, trx, id);
        checkTriageExpectation(id, "status", current.status, expected, status);
        return changeStatus(trx, current, status, atMs, by);
      });
    },

    async listAlertStatusChanges(alertId) {
      const rows = await dialect.run((db) =>
        db
          .selectFrom("alert_status_changes")
          .select(["from_status", "to_status", "at_ms", "changed_by"])
          .where("alert_id", "=", alertId)
          .orderBy("id")
          .execute(),
      );
      return rows.map(toAlertStatusChange);
    },
  };
}
