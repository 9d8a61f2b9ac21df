// The SQLite dialect of the shared event and quarantine queries (../event-search.ts), and its free-text
// filter: candidates from the `events_text` trigram index (migration 9), each confirmed by LIKE on `raw`.

import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from "kysely";
import { eventQueries, rawContains, type SearchSchema, type TextFilter } from "../event-search.ts";

export type { EventsTable, QuarantineTable } from "../event-search.ts";

const builder = new Kysely<SearchSchema>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/**
 * The FTS5 query that finds every record containing `text`, or null when the text is shorter than one
 * trigram (three characters) and only a scan can answer. The index is `detail=none` (no positions, a
 * fraction of the size and insert cost), so it cannot match the text as a phrase of trigrams; instead it
 * asks for records holding all of them. Every third trigram plus the last already covers the text, and
 * fewer terms make a faster lookup. The result is a superset of the true matches; LIKE confirms each one.
 * Each trigram is an FTS5 string ("..." with " doubled), so no character of the text is FTS5 syntax.
 */
export function trigramLookup(text: string): string | null {
  // Code points, not UTF-16 units: the tokenizer's trigrams are three characters.
  const chars = Array.from(text);
  if (chars.length < 3) return null;
  const starts = new Set<number>();
  for (let i = 0; i + 3 <= chars.length; i += 3) starts.add(i);
  starts.add(chars.length - 3);
  const terms = new Set<string>();
  for (const i of starts)
    terms.add(
      `"${chars
        .slice(i, i + 3)
        .join("")
        .replaceAll('"', '""')}"`,
    );
  return [...terms].join(" AND ");
}

const textFilter: TextFilter = (text) => {
  const lookup = trigramLookup(text);
  const confirm = rawContains("LIKE", text);
  if (lookup === null) return confirm;
  return sql<boolean>`rowid IN (SELECT rowid FROM events_text WHERE events_text MATCH ${lookup}) AND ${confirm}`;
};

export const { compileEventSearch, compileEventCount, compileQuarantineList } = eventQueries(builder, textFilter);
