// Alerts in the store: the list, one alert and its matches, status changes and their history. Alerts are
// created and grown by the detection write path (./detections.ts).

import { sql } from "kysely";
import { ALERT_STATUSES } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { Store, StoredEvent } from "../ports.ts";
import type { EventsTable } from "./database.ts";
import { toAlertRecord, toAlertStatusChange, toRuleMatch } from "./detection-rows.ts";
import { enqueue } from "./detections.ts";
import type { StoreContext } from "./dialect.ts";
import { EVENT_COLUMNS } from "./event-search.ts";
import { toStoredEvent } from "./events.ts";

/** The limit of a list query: default 100, at most 10000; below 1 is the caller's mistake. */
function listLimit(limit: number | undefined, fallback = 100): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`The limit must be a positive integer (got ${limit}).`);
  return Math.min(limit, 10_000);
}

// getAlertMatches reads the event columns (EVENT_COLUMNS) beside each match, as ev_<column>.

/** The event joined to a match row, or null when the match's event is not stored. */
function joinedEvent(row: Record<string, unknown>): StoredEvent | null {
  if (row.ev_id === null || row.ev_id === undefined) return null;
  return toStoredEvent(Object.fromEntries(EVENT_COLUMNS.map((c) => [c, row[`ev_${c}`]])) as unknown as EventsTable);
}

export function alertOps(
  ctx: StoreContext,
): Pick<Store, "listAlerts" | "getAlert" | "getAlertMatches" | "setAlertStatus" | "listAlertStatusChanges"> {
  const { dialect } = ctx;
  return {
    async listAlerts(query = {}) {
      const limit = listLimit(query.limit);
      let q = dialect.db.selectFrom("alerts").selectAll();
      if (query.status !== undefined) q = q.where("status", "=", query.status);
      if (query.severity !== undefined) q = q.where("severity", "=", query.severity);
      if (query.ruleId !== undefined) q = q.where("rule_id", "=", query.ruleId);
      if (query.sourceId !== undefined) q = q.where("source_id", "=", query.sourceId);
      if (query.fromHistory !== undefined) q = q.where("from_history", "=", query.fromHistory ? 1 : 0);
      const after = query.after;
      if (after !== undefined) {
        // Keyset paging in the list's own order; the plain bound lets the index scan start at the cursor.
        q = q
          .where("created_at_ms", "<=", after.createdAtMs)
          .where((eb) =>
            eb(
              eb.refTuple("created_at_ms", "window_start_secs", "id"),
              "<",
              eb.tuple(after.createdAtMs, after.windowStartSecs, after.id),
            ),
          );
      }
      const rows = await dialect.heavyRead(
        q.orderBy("created_at_ms", "desc").orderBy("window_start_secs", "desc").orderBy("id", "desc").limit(limit),
      );
      return rows.map(toAlertRecord);
    },

    async getAlert(id) {
      const row = await dialect.run((db) =>
        db.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst(),
      );
      return row === undefined ? null : toAlertRecord(row);
    },

    async getAlertMatches(id, limit) {
      const max = listLimit(limit, 10_000);
      const rows = await dialect.heavyRead(
        dialect.db
          .selectFrom("rule_matches as m")
          .leftJoin("events as e", (join) =>
            join.onRef("e.source_id", "=", "m.source_id").onRef("e.id", "=", "m.event_id"),
          )
          .selectAll("m")
          .select(EVENT_COLUMNS.map((c) => sql.ref(`e.${c}`).as(`ev_${c}`)))
          .where("m.alert_id", "=", id)
          .orderBy("m.event_time")
          .orderBy("m.seq")
          .limit(max),
      );
      return rows.map((row) => ({ match: toRuleMatch(row), event: joinedEvent(row) }));
    },

    async setAlertStatus(id, status, atMs, by = null) {
      if (!ALERT_STATUSES.includes(status)) {
        throw new UsageError(`Unknown alert status "${status}"; use one of ${ALERT_STATUSES.join(", ")}.`);
      }
      return dialect.write(async (trx) => {
        // Two changes of one alert at once must not both record the same transition.
        await dialect.lockKeys(trx, [`vigil:alerts:status:${id}`]);
        const row = await trx.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst();
        if (row === undefined) throw new NotFoundError(`No alert with id ${id}.`);
        const current = toAlertRecord(row);
        if (current.status === status) return current;
        await trx.updateTable("alerts").set({ status, updated_at_ms: atMs }).where("id", "=", id).execute();
        await trx
          .insertInto("alert_status_changes")
          .values({ alert_id: id, from_status: current.status, to_status: status, at_ms: atMs, changed_by: by })
          .execute();
        if (status === "RESOLVED") await enqueue(trx, [id], "resolved", atMs);
        return { ...current, status, updatedAtMs: atMs };
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
