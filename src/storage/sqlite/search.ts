// The SQLite dialect of the shared event and quarantine queries (../event-search.ts).

import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";
import { eventQueries, type SearchSchema } from "../event-search.ts";

export type { EventsTable, QuarantineTable } from "../event-search.ts";

const builder = new Kysely<SearchSchema>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

export const { compileEventSearch, compileEventCount, compileQuarantineList } = eventQueries(builder, "LIKE");
