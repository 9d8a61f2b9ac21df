// Events and rule matches name their source by its number (source_numbers, migration 30): a row or more per
// event, they repeated the 36-character id in the row and in the indexes that lead with it. Everything above
// the store names sources by id; the store turns an id into its number before it builds a query, and binds
// the number as a value: PostgreSQL then plans with that source's statistics, which a subquery would hide. The
// one exception is a look-up by the events' key, where those statistics mislead it (`hiddenSourceNum`).

import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** A number no source has: a filter on it matches no row. */
export const NO_SOURCE = -1;

/**
 * Source ids to numbers, remembered once found: a number is never given again, so a remembered one stays
 * right, even in another process of a fleet (a removed source's number matches no row from then on). An id
 * not found is not remembered: the source may be created next.
 */
export class SourceNumbers {
  readonly #known = new Map<string, number>();

  /** The number of source `sourceId`, or null when there is no such source. */
  async find(db: Kysely<Database>, sourceId: string): Promise<number | null> {
    const known = this.#known.get(sourceId);
    if (known !== undefined) return known;
    const row = await db
      .selectFrom("source_numbers")
      .select("num")
      .where("source_id", "=", sourceId)
      .executeTakeFirst();
    if (row === undefined) return null;
    this.#known.set(sourceId, row.num);
    return row.num;
  }

  /** The number to filter on: NO_SOURCE for an unknown source. */
  async filter(db: Kysely<Database>, sourceId: string): Promise<number> {
    return (await this.find(db, sourceId)) ?? NO_SOURCE;
  }
}

/**
 * A source number the planner cannot see, for a look-up of events by their (source_num, id) key. PostgreSQL plans
 * a number it sees from its statistics, which lag behind a backfill (autovacuum refreshes them a minute or more
 * after a tenth of the table changed): while they held the source's events to be few (a new source beside others
 * already analyzed), "source_num = 2 AND id IN (…100 ids…)" read every event of the source and filtered them (31 ms
 * a page at 30,000 events, and growing with each page) instead of probing the key for the 100 ids (0.15 ms). A
 * scalar subquery's value is unknown when the plan is made, so the planner counts on a source's average share of
 * the table and probes the key. SQLite probes the key either way.
 */
export function hiddenSourceNum(num: number) {
  return sql<number>`(SELECT CAST(${num} AS integer))`;
}

/** Gives a new source its number, in the transaction that creates it. */
export async function numberSource(db: Kysely<Database>, sourceId: string): Promise<void> {
  await db.insertInto("source_numbers").values({ source_id: sourceId }).execute();
}

/** The id of the source whose number is in `column` (of the row being read), for a select list. */
export function sourceIdOfRow(column: string) {
  return sql<string>`(SELECT source_id FROM source_numbers WHERE num = ${sql.ref(column)})`;
}
