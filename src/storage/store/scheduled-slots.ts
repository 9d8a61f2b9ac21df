// Where each source's scheduled queries have got to (pipeline/scheduled-queries.ts): the last schedule slot each
// completed. In the database rather than in the worker's memory, so that a restart or a failover neither skips
// the slots that fell due meanwhile nor runs the last one again.

import type { Store } from "../ports.ts";
import type { StoreContext } from "./dialect.ts";

export function scheduledSlotOps(ctx: StoreContext): Pick<Store, "scheduledSlotsDone" | "recordScheduledSlot"> {
  const { dialect } = ctx;
  return {
    async scheduledSlotsDone(sourceId) {
      const rows = await dialect.db
        .selectFrom("scheduled_query_slots")
        .select(["query", "slot_secs"])
        .where("source_id", "=", sourceId)
        .execute();
      return new Map(rows.map((r) => [r.query, Number(r.slot_secs)]));
    },

    recordScheduledSlot: (sourceId, query, slotSecs) =>
      dialect.write(async (trx) => {
        await trx
          .insertInto("scheduled_query_slots")
          .values({ source_id: sourceId, query, slot_secs: slotSecs })
          // Never back: a worker that lost the source late must not undo the progress of the one that has it.
          .onConflict((oc) =>
            oc
              .columns(["source_id", "query"])
              .doUpdateSet((eb) => ({ slot_secs: eb.ref("excluded.slot_secs") }))
              .where("scheduled_query_slots.slot_secs", "<", slotSecs),
          )
          .execute();
      }),
  };
}
