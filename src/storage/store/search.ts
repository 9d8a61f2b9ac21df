// The search page's store operations (issue 12): the histogram of a search's results over time, and saved
// searches. The histogram is the search's own conditions (event-search.ts) under one GROUP BY, run as a heavy
// read (off SQLite's event loop). Saved searches are shared by the team: a name and the page's filters as a
// URL query string, which the store keeps as opaque text (the API and console give it meaning).

import { randomUUID } from "node:crypto";
import type { Selectable } from "kysely";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import type { SavedSearch, SearchStore } from "../ports.ts";
import type { SavedSearchesTable } from "./database.ts";
import type { StoreContext } from "./dialect.ts";
import { eventHistogram, numberQuery, textPlanOf } from "./event-search.ts";

const NAME_MAX = 200;
const QUERY_MAX = 4000;

function toSavedSearch(r: Selectable<SavedSearchesTable>): SavedSearch {
  return { id: r.id, name: r.name, query: r.query, createdBy: r.created_by, createdAtMs: r.created_at_ms };
}

export function searchOps(ctx: StoreContext): SearchStore {
  const { dialect } = ctx;
  return {
    async searchHistogram(query, bucketSecs) {
      if (!Number.isInteger(bucketSecs) || bucketSecs < 1) {
        throw new UsageError("The histogram bucket must be a whole number of seconds of at least 1.");
      }
      // Like a count, the histogram reads every match whatever the order.
      const plan = await textPlanOf(dialect, query, "every");
      return dialect.heavyRead(eventHistogram(dialect.db, dialect, await numberQuery(ctx, query), bucketSecs, plan));
    },

    async listSavedSearches() {
      const rows = await dialect.run((db) => db.selectFrom("saved_searches").selectAll().orderBy("name").execute());
      return rows.map(toSavedSearch);
    },

    async createSavedSearch(search) {
      const name = search.name.trim();
      if (name === "" || name.length > NAME_MAX) {
        throw new UsageError(`A saved search needs a name of 1 to ${NAME_MAX} characters.`);
      }
      if (search.query.length > QUERY_MAX) {
        throw new UsageError(`A saved search's query is at most ${QUERY_MAX} characters.`);
      }
      const row = {
        id: randomUUID(),
        name,
        query: search.query,
        created_by: search.createdBy,
        created_at_ms: ctx.clock.nowMs(),
      };
      await dialect.run(async (db) => {
        try {
          await db.insertInto("saved_searches").values(row).execute();
        } catch (err) {
          // Caught inside `run`, before the dialect translates the driver's error.
          if (dialect.violatedConstraint(err) !== "unique") throw err;
          throw new VigilError("conflict", `A saved search named "${name}" already exists; choose another name.`);
        }
      });
      return toSavedSearch(row);
    },

    async deleteSavedSearch(id) {
      const result = await dialect.run((db) => db.deleteFrom("saved_searches").where("id", "=", id).executeTakeFirst());
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`There is no saved search with id ${id}.`);
    },
  };
}
