// Working alerts: status changes of many alerts at once, assignment to a console user, comments, and the
// alert's whole history. Status changes keep their own table (alert_status_changes, written by ./alerts.ts);
// assignments and comments are rows of alert_activity; the history merges both.

import { ALERT_COMMENT_MAX_CHARS, type AlertActivity, type AlertRecord, BULK_STATUS_MAX } from "../../core/alert.ts";
import type { AlertStatus } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { characterCount, wellFormedText } from "../../core/storable-text.ts";
import type { Store } from "../ports.ts";
import { changeStatus, checkStatus, checkTriageExpectation, lockedAlert, lockedAlerts } from "./alerts.ts";
import { toAlertStatusChange } from "./detection-rows.ts";
import type { StoreContext } from "./dialect.ts";

export function triageOps(
  ctx: StoreContext,
): Pick<Store, "setAlertsStatus" | "assignAlert" | "commentOnAlert" | "listAlertActivity" | "listAssignees"> {
  const { dialect } = ctx;
  return {
    async setAlertsStatus(ids, status: AlertStatus, atMs, by = null, expected = {}) {
      checkStatus(status);
      const unique = [...new Set(ids)];
      if (unique.length === 0) throw new UsageError("Name at least one alert.");
      if (unique.length > BULK_STATUS_MAX) {
        throw new UsageError(`At most ${BULK_STATUS_MAX} alerts change status at once (got ${unique.length}).`);
      }
      return dialect.write(async (trx) => {
        const byId = new Map((await lockedAlerts(dialect, trx, unique)).map((a) => [a.id, a]));
        const missing = unique.filter((id) => !byId.has(id));
        if (missing.length > 0) {
          throw new NotFoundError(
            `No alert with id ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}.`,
          );
        }
        // An expectation for an alert not changed here is a mistake (a mistyped id would leave its alert unguarded).
        const strays = Object.keys(expected).filter((id) => !byId.has(id));
        if (strays.length > 0) {
          throw new UsageError(
            `Expected statuses name alerts not being changed: ${strays.slice(0, 5).join(", ")}${strays.length > 5 ? ", …" : ""}.`,
          );
        }
        // All or none: an alert that moved on since the caller's list was read refuses the whole change.
        for (const id of unique) {
          const now = byId.get(id)!.status;
          checkTriageExpectation(id, "status", now, Object.hasOwn(expected, id) ? expected[id] : undefined, status);
        }
        const changed = new Map<string, AlertRecord>();
        for (const id of unique) changed.set(id, await changeStatus(trx, byId.get(id)!, status, atMs, by));
        return ids.map((id) => changed.get(id)!);
      });
    },

    async assignAlert(id, assignee, atMs, by = null, expected) {
      return dialect.write(async (trx) => {
        // The status lock also orders assignments: two at once must not both record a change from the same one.
        const current = await lockedAlert(dialect, trx, id);
        checkTriageExpectation(id, "assignee", current.assignee, expected, assignee);
        if (assignee !== null) {
          // Kept until the commit (PostgreSQL: KEY SHARE): a deletion of the user, which unassigns its alerts,
          // waits for this assignment, or this one finds the user gone.
          const user = await dialect
            .keyShare(trx.selectFrom("users").select("id").where("username", "=", assignee))
            .executeTakeFirst();
          if (user === undefined) throw new UsageError(`There is no console user named "${assignee}".`);
        }
        if (current.assignee === assignee) return current;
        await trx.updateTable("alerts").set({ assignee, updated_at_ms: atMs }).where("id", "=", id).execute();
        await trx
          .insertInto("alert_activity")
          .values({ alert_id: id, kind: "assigned", at_ms: atMs, by, assignee, body: null })
          .execute();
        return { ...current, assignee, updatedAtMs: atMs };
      });
    },

    async commentOnAlert(id, body, atMs, by = null) {
      // Stored as written (wellFormedText: a NUL or a lone surrogate as its \u escape), counted in characters.
      const text = wellFormedText(body.trim());
      if (text === "") throw new UsageError("A comment needs some text.");
      const chars = characterCount(text);
      if (chars > ALERT_COMMENT_MAX_CHARS) {
        throw new UsageError(`A comment is at most ${ALERT_COMMENT_MAX_CHARS} characters (got ${chars}).`);
      }
      return dialect.write(async (trx) => {
        await lockedAlert(dialect, trx, id);
        await trx
          .insertInto("alert_activity")
          .values({ alert_id: id, kind: "comment", at_ms: atMs, by, assignee: null, body: text })
          .execute();
        return { kind: "comment", atMs, by, body: text } satisfies AlertActivity;
      });
    },

    async listAlertActivity(alertId) {
      const [changes, activity] = await Promise.all([
        dialect.run((db) =>
          db
            .selectFrom("alert_status_changes")
            .select(["from_status", "to_status", "at_ms", "changed_by"])
            .where("alert_id", "=", alertId)
            .orderBy("id")
            .execute(),
        ),
        dialect.run((db) =>
          db
            .selectFrom("alert_activity")
            .select(["kind", "at_ms", "by", "assignee", "body"])
            .where("alert_id", "=", alertId)
            .orderBy("id")
            .execute(),
        ),
      ]);
      const entries: AlertActivity[] = [
        ...changes.map((row): AlertActivity => ({ kind: "status", ...toAlertStatusChange(row) })),
        ...activity.map(
          (row): AlertActivity =>
            row.kind === "assigned"
              ? { kind: "assigned", atMs: row.at_ms, by: row.by, assignee: row.assignee }
              : { kind: "comment", atMs: row.at_ms, by: row.by, body: row.body ?? "" },
        ),
      ];
      // Both lists are in write order; a stable sort by time merges them (status changes first at the same ms).
      return entries.sort((a, b) => a.atMs - b.atMs);
    },

    async listAssignees() {
      const rows = await dialect.run((db) => db.selectFrom("users").select("username").orderBy("username").execute());
      return rows.map((r) => r.username);
    },
  };
}
