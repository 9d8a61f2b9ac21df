// The PostgreSQL dialect of the shared event and quarantine queries (../event-search.ts): $n parameters,
// and ILIKE for the text filter.

import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { eventQueries, type SearchSchema } from "../event-search.ts";

const builder = new Kysely<SearchSchema>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

export const { compileEventSearch, compileEventCount, compileQuarantineList } = eventQueries(builder, "ILIKE");
