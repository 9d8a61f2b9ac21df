// Events and rule matches name their source by its number (source_numbers, migration 30): a row or more per
// event, they repeated the 36-character id in the row and in the indexes that lead with it. Everything above
// the store names sources by id; the store turns an id into its number before it builds a query, and binds
// the number as a value: PostgreSQL then plans with that source's statistics, which a subquery would hide. A
// look-up by the events' key, where those statistics mislead it, is the dialect's (StoreDialect.storedEventIds).

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

/** Gives a new source its number, in the transaction that creates it. */
export async function numberSource(db: Kysely<Database>, sourceId: string): Promise<void> {
  await db.insertInto("source_numbers").values({ source_id: sourceId }).execute();
}

/** The id of the source whose number is in `column` (of the row being read), for a select list. */
export function sourceIdOfRow(column: string) {
  return sql<string>`(SELECT source_id FROM source_numbers WHERE num = ${sql.ref(column)})`;
}
