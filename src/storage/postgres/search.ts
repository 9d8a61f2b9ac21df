// The PostgreSQL dialect of the shared event and quarantine queries (../event-search.ts): $n parameters,
// and ILIKE for the text filter, which the planner answers from the pg_trgm index on `raw` (migration 9).

import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { eventQueries, rawContains, type SearchSchema } from "../event-search.ts";

const builder = new Kysely<SearchSchema>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

export const { compileEventSearch, compileEventCount, compileQuarantineList } = eventQueries(builder, (text) =>
  rawContains("ILIKE", text),
);
