// The SQLite dialect of the shared event and quarantine queries (../event-search.ts), and its free-text
// filter: candidates from the `events_text` trigram index (migration 9), each confirmed by LIKE on `raw`.

import {
  type CompiledQuery,
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from "kysely";
import { eventQueries, rawContains, type SearchSchema, type TextFilter, type TextPlan } from "../event-search.ts";
import type { EventQuery } from "../ports.ts";

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

const textFilter: TextFilter = (text, plan) => {
  const lookup = trigramLookup(text);
  const confirm = rawContains("LIKE", text);
  if (lookup === null || plan === "scan") return confirm;
  return sql<boolean>`rowid IN (SELECT rowid FROM events_text WHERE events_text MATCH ${lookup}) AND ${confirm}`;
};

/**
 * Above this many index candidates a search reads rows in its own order instead (plan "scan"). SQLite
 * cannot tell how many records hold a text, and the two plans fail in opposite cases: sorting every
 * candidate of a common text (an email in a third of the records) took a second on 1M events, where reading
 * the newest rows finds 100 matches at once; a rare text is the reverse. Counting up to the cap is cheap.
 */
export const TEXT_CANDIDATE_CAP = 2000;

/** Counts the index candidates of `text`, up to the cap; null when the index cannot answer (short text). */
export function compileTextCandidateCount(text: string): CompiledQuery | null {
  const lookup = trigramLookup(text);
  if (lookup === null) return null;
  return sql`SELECT count(*) AS n FROM (SELECT rowid FROM events_text WHERE events_text MATCH ${lookup} LIMIT ${TEXT_CANDIDATE_CAP})`.compile(
    builder,
  );
}

const queries = eventQueries(builder, textFilter);
export const { compileEventSearch, compileEventCount, compileQuarantineList } = queries;

/** A JSON value stored as text: the value itself when it is valid JSON, else the text as a JSON string. */
const jsonValue = (column: "raw" | "normalized") =>
  sql.raw(`CASE WHEN ${column} IS NULL THEN NULL WHEN json_valid(${column}) THEN json(${column}) ELSE ${column} END`);

/**
 * The API document of an event (see ../event-document.ts), built by SQLite in C: the JSON text of a page
 * costs the reader thread microseconds and the event loop nothing. Same fields, same values.
 */
const EVENT_DOCUMENT = sql<string>`json_object('sourceId', source_id, 'id', id, 'type', type,
  'effectiveAtSecs', effective_at, 'actorType', actor_type, 'actorId', actor_id, 'actorEmail', actor_email,
  'ip', ip, 'projectId', project_id, 'raw', ${jsonValue("raw")}, 'normalized', ${jsonValue("normalized")},
  'ingestedAtMs', ingested_at_ms)`;

export function compileEventDocuments(filter: EventQuery, plan: TextPlan): CompiledQuery {
  return queries.compileEventDocuments(filter, plan, EVENT_DOCUMENT);
}
