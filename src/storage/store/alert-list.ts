// The alert list and its count: the filters (status, severity, rule, source, assignee, creation time, history or
// live), the orders, and paging, by offset (a numbered page of the console) or keyset (the API's stream).

import { type SelectQueryBuilder, sql } from "kysely";
import { type AlertStatusFilter, SEVERITIES, statusesOf } from "../../core/detection.ts";
import { UsageError } from "../../core/errors.ts";
import { ALERT_SORTS, type AlertFilter, type Store } from "../ports.ts";
import { listLimit } from "./alerts.ts";
import type { Database } from "./database.ts";
import { toAlertRecord } from "./detection-rows.ts";
import type { StoreContext } from "./dialect.ts";

function checkTime(name: string, value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) throw new UsageError(`The ${name} time must be a Unix time.`);
}

type AlertSelect<O> = SelectQueryBuilder<Database, "alerts", O>;

function filtered<O>(q: AlertSelect<O>, filter: AlertFilter): AlertSelect<O> {
  checkTime("since", filter.sinceMs);
  checkTime("until", filter.untilMs);
  return q
    .$if(filter.status !== undefined, (qb) => qb.where("status", "in", statusesOf(filter.status as AlertStatusFilter)))
    .$if(filter.severity !== undefined, (qb) => qb.where("severity", "=", filter.severity as string))
    .$if(filter.ruleId !== undefined, (qb) => qb.where("rule_id", "=", filter.ruleId as string))
    .$if(filter.sourceId !== undefined, (qb) => qb.where("source_id", "=", filter.sourceId as string))
    .$if(filter.fromHistory !== undefined, (qb) => qb.where("from_history", "=", filter.fromHistory ? 1 : 0))
    .$if(filter.assignee === null, (qb) => qb.where("assignee", "is", null))
    .$if(typeof filter.assignee === "string", (qb) => qb.where("assignee", "=", filter.assignee as string))
    .$if(filter.sinceMs !== undefined, (qb) => qb.where("created_at_ms", ">=", filter.sinceMs as number))
    .$if(filter.untilMs !== undefined, (qb) => qb.where("created_at_ms", "<", filter.untilMs as number));
}

/** Most severe first: the rank of a severity in SEVERITIES (INFO … CRITICAL), written as a CASE. */
const severityRank = sql<number>`case severity ${sql.join(
  SEVERITIES.map((s, i) => sql`when ${sql.lit(s)} then ${sql.lit(i)}`),
  sql` `,
)} else -1 end`;

/** Only status, severity and source: the alert_counts counters answer without reading the alerts. */
function countersAnswer(filter: AlertFilter): boolean {
  return (
    filter.ruleId === undefined &&
    filter.fromHistory === undefined &&
    filter.assignee === undefined &&
    filter.sinceMs === undefined &&
    filter.untilMs === undefined
  );
}

export function alertListOps(ctx: StoreContext): Pick<Store, "listAlerts" | "countAlerts"> {
  const { dialect } = ctx;
  return {
    async listAlerts(query = {}) {
      const limit = listLimit(query.limit, 100);
      const sort = query.sort ?? "newest";
      if (!ALERT_SORTS.includes(sort))
        throw new UsageError(`Unknown sort "${sort}"; use one of ${ALERT_SORTS.join(", ")}.`);
      const offset = query.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new UsageError(`The offset must be 0 or more (got ${offset}).`);
      const after = query.after;
      if (after !== undefined && sort !== "newest") throw new UsageError("A cursor pages the newest-first order only.");
      let q = filtered(dialect.db.selectFrom("alerts").selectAll(), query);
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
      if (sort === "severity") q = q.orderBy(severityRank, "desc");
      if (sort === "updated") q = q.orderBy("updated_at_ms", "desc");
      const direction = sort === "oldest" ? "asc" : "desc";
      q = q.orderBy("created_at_ms", direction).orderBy("window_start_secs", direction).orderBy("id", direction);
      const rows = await dialect.heavyRead(q.limit(limit).$if(offset > 0, (qb) => qb.offset(offset)));
      return rows.map(toAlertRecord);
    },

    async countAlerts(filter = {}) {
      if (countersAnswer(filter)) {
        const row = await dialect.run((db) =>
          db
            .selectFrom("alert_counts")
            // PostgreSQL's sum of a bigint is a numeric (a string to the driver).
            .select((eb) => eb.cast<number>(eb.fn.coalesce(eb.fn.sum("alerts"), sql.lit(0)), "bigint").as("n"))
            .$if(filter.status !== undefined, (qb) =>
              qb.where("status", "in", statusesOf(filter.status as AlertStatusFilter)),
            )
            .$if(filter.severity !== undefined, (qb) => qb.where("severity", "=", filter.severity as string))
            .$if(filter.sourceId !== undefined, (qb) => qb.where("source_id", "=", filter.sourceId as string))
            .executeTakeFirstOrThrow(),
        );
        return Number(row.n);
      }
      const row = await dialect.heavyRead(
        filtered(
          dialect.db.selectFrom("alerts").select((eb) => eb.fn.countAll<number>().as("n")),
          filter,
        ),
      );
      return Number(row[0]?.n ?? 0);
    },
  };
}
