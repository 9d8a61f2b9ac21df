// The guard of writes that reference a source (the page write, derived matches): shared here so that both areas
// take the same lock.

import { NotFoundError } from "../../core/errors.ts";
import type { Db, StoreContext } from "./dialect.ts";

/**
 * The source must exist for the rest of the transaction (PostgreSQL: FOR KEY SHARE, so a concurrent removal
 * waits; SQLite's writer holds the database). Returns its number, which events and matches are written with
 * (./source-numbers.ts).
 */
export async function requireSource(ctx: StoreContext, trx: Db, sourceId: string): Promise<number> {
  const row = await ctx.dialect
    .keyShare(
      trx
        .selectFrom("sources")
        .innerJoin("source_numbers", "source_numbers.source_id", "sources.id")
        .select("source_numbers.num")
        .where("sources.id", "=", sourceId),
    )
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`No source with id ${sourceId}.`);
  return row.num;
}
