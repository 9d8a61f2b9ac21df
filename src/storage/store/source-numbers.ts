// Events and rule matches name their source by its number (source_numbers, migration 30): a row or more per
// event, they repeated the 36-character id in the row and in the indexes that lead with it. Everything above
// the store names sources by id; the number is looked up inside each query, so none is cached or passed on.

import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** The number of source `sourceId`, as a subquery: none (NULL, which matches no row) for an unknown source. */
export function sourceNumOf(db: Kysely<Database>, sourceId: string) {
  return db.selectFrom("source_numbers").select("num").where("source_id", "=", sourceId);
}

/** Gives a new source its number, in the transaction that creates it. */
export async function numberSource(db: Kysely<Database>, sourceId: string): Promise<void> {
  await db.insertInto("source_numbers").values({ source_id: sourceId }).execute();
}

/** The id of the source whose number is in `column` (of the row being read), for a select list. */
export function sourceIdOfRow(column: string) {
  return sql<string>`(SELECT source_id FROM source_numbers WHERE num = ${sql.ref(column)})`;
}
