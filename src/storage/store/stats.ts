// The statistics behind the console's overview, a source's page and /metrics. Counts come from the counter
// tables kept with every write (event_counts, alert_counts, source_counters: triggers, and the page write for
// inserted events, see events.ts countInsertedEvents), so a read costs a
// few rows per day and type or per source, never a pass over the events; only what the counters cannot answer
// (histogram buckets shorter than a day) reads the events, and that runs as a heavy read (off SQLite's event
// loop). Everything else here is cheap enough to answer on the main connection.

import { type Kysely, sql } from "kysely";
import { OPEN_ALERT_STATUSES } from "../../core/detection.ts";
import { UsageError } from "../../core/errors.ts";
import type { AlertCount, DeliveryStatus, HistogramBucket, StatsStore } from "../ports.ts";
import type { Database } from "./database.ts";
import type { StoreContext } from "./dialect.ts";
import { histogramFitsDays } from "./event-search.ts";

type HistogramQuery = { sourceId?: string; sinceSecs: number; bucketSecs: number };

function validateHistogramQuery(query: HistogramQuery): void {
  if (!Number.isInteger(query.bucketSecs) || query.bucketSecs < 1) {
    throw new UsageError("The histogram bucket must be a whole number of seconds of at least 1.");
  }
  if (!Number.isFinite(query.sinceSecs)) throw new UsageError("The histogram start must be a Unix time in seconds.");
}

/** The start of the bucket holding `column`'s time. The cast keeps the division whole: SQLite binds a JS
 * number as a real. */
function bucketStart(column: "day_secs" | "effective_at", bucketSecs: number) {
  return sql<number>`(${sql.ref(column)} / cast(${bucketSecs} as bigint)) * cast(${bucketSecs} as bigint)`;
}

/** Whole-day buckets from the day counters: an event's day and its bucket then agree. */
function histogramFromCounters(db: Kysely<Database>, query: HistogramQuery) {
  return db
    .selectFrom("event_counts")
    .select((eb) => [
      bucketStart("day_secs", query.bucketSecs).as("bucketStartSecs"),
      "type",
      // PostgreSQL's sum of a bigint is a numeric (a string to the driver).
      eb.cast<number>(eb.fn.sum("events"), "bigint").as("count"),
    ])
    .where("day_secs", ">=", Math.floor(query.sinceSecs))
    .$if(query.sourceId !== undefined, (qb) => qb.where("source_id", "=", query.sourceId as string))
    .where("events", ">", 0)
    .groupBy(["bucketStartSecs", "type"])
    .orderBy("bucketStartSecs")
    .orderBy("type");
}

/**
 * Any other buckets from the events themselves. `sourceNum`: the number of `query.sourceId`
 * (./source-numbers.ts), when it names one.
 */
function histogramFromEvents(db: Kysely<Database>, query: HistogramQuery, sourceNum: number | undefined) {
  return db
    .selectFrom("events")
    .select((eb) => [
      bucketStart("effective_at", query.bucketSecs).as("bucketStartSecs"),
      "type",
      eb.fn.countAll<number>().as("count"),
    ])
    .where("effective_at", ">=", Math.floor(query.sinceSecs))
    .$if(sourceNum !== undefined, (qb) => qb.where("source_num", "=", sourceNum as number))
    .groupBy(["bucketStartSecs", "type"])
    .orderBy("bucketStartSecs")
    .orderBy("type");
}

export function statsOps(ctx: StoreContext): StatsStore {
  const { dialect } = ctx;
  return {
    async eventHistogram(query: HistogramQuery): Promise<HistogramBucket[]> {
      validateHistogramQuery(query);
      if (histogramFitsDays(query)) return dialect.run((db) => histogramFromCounters(db, query).execute());
      const sourceNum =
        query.sourceId === undefined ? undefined : await ctx.sourceNumbers.filter(dialect.db, query.sourceId);
      return dialect.heavyRead(histogramFromEvents(dialect.db, query, sourceNum));
    },

    async sourceCounts(): Promise<
      Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>
    > {
      return dialect.run((db) =>
        db
          .selectFrom("sources as s")
          .leftJoin("source_counters as c", "c.source_id", "s.id")
          .select((eb) => [
            "s.id as sourceId",
            eb
              .cast<number>(
                eb.fn.coalesce(
                  eb
                    .selectFrom("event_counts as e")
                    .select((e) => e.fn.sum("e.events").as("n"))
                    .whereRef("e.source_id", "=", "s.id"),
                  eb.lit(0),
                ),
                "bigint",
              )
              .as("events"),
            eb.fn.coalesce("c.quarantined", eb.lit(0)).as("quarantined"),
            eb.fn.coalesce("c.rule_errors", eb.lit(0)).as("ruleErrors"),
          ])
          .orderBy("s.id")
          .execute(),
      );
    },

    async deliveryCounts(): Promise<Array<{ status: DeliveryStatus; count: number }>> {
      return dialect.run((db) =>
        db
          .selectFrom("deliveries")
          .select((eb) => ["status", eb.fn.countAll<number>().as("count")])
          .groupBy("status")
          .orderBy("status")
          .$castTo<{ status: DeliveryStatus; count: number }>()
          .execute(),
      );
    },

    async alertCounts(): Promise<AlertCount[]> {
      return dialect.run((db) =>
        db
          .selectFrom("alert_counts")
          .select(["source_id as sourceId", "status", "severity", "alerts as count"])
          .where("alerts", ">", 0)
          .orderBy("source_id")
          .orderBy("status")
          .orderBy("severity")
          .$castTo<AlertCount>()
          .execute(),
      );
    },

    /** Over the partial index of history alerts: as cheap as there are history alerts, whatever the live ones. */
    async historyAlertCounts(): Promise<{ total: number; open: number }> {
      const row = await dialect.run((db) =>
        db
          .selectFrom("alerts")
          .select((eb) => [
            eb.fn.countAll<number>().as("total"),
            // Open as everywhere (core/detection.ts): not resolved yet. An acknowledged alert still needs attention.
            eb.fn
              .countAll<number>()
              .filterWhere("status", "in", [...OPEN_ALERT_STATUSES])
              .as("open"),
          ])
          .where("from_history", "=", 1)
          .executeTakeFirstOrThrow(),
      );
      return { total: row.total, open: row.open };
    },
  };
}
