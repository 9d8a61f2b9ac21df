// Builds the dynamic event and quarantine queries for PostgreSQL with Kysely (compile only, never executed
// by Kysely): every filter becomes a bound $n parameter, so no caller text is ever spliced into SQL. The
// limit rules and the LIKE escaping are the SQLite store's own helpers, so both backends agree exactly.

import {
  type CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type SelectQueryBuilder,
  sql,
} from "kysely";
import type { EventQuery } from "../ports.ts";
import { containsPattern, type EventsTable, type QuarantineTable, resolveLimit } from "../sqlite/search.ts";

interface Schema {
  events: EventsTable;
  quarantine: QuarantineTable;
}

const builder = new Kysely<Schema>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function applyFilters<O>(
  query: SelectQueryBuilder<Schema, "events", O>,
  filter: EventQuery,
): SelectQueryBuilder<Schema, "events", O> {
  let q = query;
  if (filter.sourceId !== undefined) q = q.where("source_id", "=", filter.sourceId);
  // An empty list means "no type filter", the same as leaving it out.
  if (filter.types !== undefined && filter.types.length > 0) q = q.where("type", "in", filter.types);
  if (filter.actorEmail !== undefined) q = q.where("actor_email", "=", filter.actorEmail);
  if (filter.actorId !== undefined) q = q.where("actor_id", "=", filter.actorId);
  if (filter.ip !== undefined) q = q.where("ip", "=", filter.ip);
  if (filter.projectId !== undefined) q = q.where("project_id", "=", filter.projectId);
  if (filter.sinceSecs !== undefined) q = q.where("effective_at", ">=", filter.sinceSecs);
  if (filter.untilSecs !== undefined) q = q.where("effective_at", "<", filter.untilSecs);
  if (filter.text !== undefined && filter.text !== "") {
    // PostgreSQL's LIKE is case-sensitive; ILIKE folds case by the database's locale (beyond ASCII too).
    q = q.where(sql<boolean>`raw ILIKE ${containsPattern(filter.text)} ESCAPE '\\'`);
  }
  return q;
}

/** Newest first; `source_id` last only to make ties between sources deterministic. */
export function compileEventSearch(filter: EventQuery): CompiledQuery {
  return applyFilters(builder.selectFrom("events").selectAll(), filter)
    .orderBy("effective_at", "desc")
    .orderBy("id", "desc")
    .orderBy("source_id", "desc")
    .limit(resolveLimit(filter.limit))
    .compile();
}

export function compileEventCount(filter: EventQuery): CompiledQuery {
  return applyFilters(
    builder.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")),
    filter,
  ).compile();
}

export function compileQuarantineList(filter: { sourceId?: string; limit?: number }): CompiledQuery {
  let q = builder.selectFrom("quarantine").selectAll();
  if (filter.sourceId !== undefined) q = q.where("source_id", "=", filter.sourceId);
  return q.orderBy("id", "desc").limit(resolveLimit(filter.limit)).compile();
}
