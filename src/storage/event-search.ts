// The dynamic event and quarantine queries, shared by the SQLite and PostgreSQL stores. They are built
// with Kysely (compile only, never executed by Kysely): every filter becomes a bound parameter, so no caller
// text is ever spliced into SQL. Each store passes its own dialect's builder and its free-text filter.

import { type CompiledQuery, type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from "kysely";
import { UsageError } from "../core/errors.ts";
import type { EventQuery } from "./ports.ts";

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

export interface EventsTable {
  source_id: string;
  id: string;
  type: string;
  effective_at: number;
  actor_type: string | null;
  actor_id: string | null;
  actor_email: string | null;
  ip: string | null;
  project_id: string | null;
  raw: string;
  normalized: string | null;
  ingested_at_ms: number;
}

export interface QuarantineTable {
  id: number;
  source_id: string;
  event_id: string | null;
  reason: string;
  issues: string;
  raw: string;
  raw_sha256: string;
  received_at_ms: number;
  last_seen_ms: number;
  sightings: number;
}

export interface SearchSchema {
  events: EventsTable;
  quarantine: QuarantineTable;
}

/** `limit` clamped to MAX_LIMIT; anything that is not a positive number is a usage error. */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isFinite(limit) || limit < 1) {
    throw new UsageError(`The result limit must be a number from 1 to ${MAX_LIMIT}, not ${limit}.`);
  }
  return Math.min(Math.floor(limit), MAX_LIMIT);
}

/**
 * True when the per-day event counters (migration 15) give `countEvents` exactly: no filter, or only a
 * source. Any other filter needs the events themselves.
 */
export function countableFromCounters(query: EventQuery): boolean {
  return Object.entries(query).every(([key, value]) => value === undefined || key === "limit" || key === "sourceId");
}

export const DAY_SECS = 86_400;

/** True when whole-day counters give exactly the histogram: buckets of whole days from a day's start. */
export function histogramFitsDays(query: { sinceSecs: number; bucketSecs: number }): boolean {
  return query.bucketSecs % DAY_SECS === 0 && Math.floor(query.sinceSecs) % DAY_SECS === 0;
}

/** A LIKE pattern matching `text` literally anywhere; `\` is the escape character. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The free-text filter of one dialect: `text` must occur, case-insensitively and literally, in the event's
 * raw record. Both stores answer it from a trigram index and confirm each candidate with a LIKE on `raw`,
 * so the index only decides speed, never the result. `plan` is a hint for a dialect whose planner cannot
 * weigh the index itself (SQLite): "index" — read the index's candidates, few enough to sort; "scan" — the
 * text is common, so read rows in the query's order and stop at the limit.
 */
export type TextFilter = (text: string, plan: TextPlan) => RawBuilder<boolean>;
export type TextPlan = "index" | "scan";

/**
 * The confirming match. SQLite's LIKE is case-insensitive for ASCII letters (which covers ids, emails, IPs
 * and types); PostgreSQL's LIKE is case-sensitive, so it uses ILIKE, which folds case by the locale.
 */
export function rawContains(operator: "LIKE" | "ILIKE", text: string): RawBuilder<boolean> {
  return sql<boolean>`raw ${sql.raw(operator)} ${containsPattern(text)} ESCAPE '\\'`;
}

export interface EventQueries {
  compileEventSearch(filter: EventQuery, textPlan?: TextPlan): CompiledQuery;
  /**
   * The same search, each row one column `doc` (the event's API document, built by the database from
   * `doc`) plus the cursor columns effective_at, id and source_id.
   */
  compileEventDocuments(filter: EventQuery, textPlan: TextPlan, doc: RawBuilder<string>): CompiledQuery;
  compileEventCount(filter: EventQuery): CompiledQuery;
  compileQuarantineList(filter: { sourceId?: string; limit?: number }): CompiledQuery;
}

export function eventQueries(builder: Kysely<SearchSchema>, textFilter: TextFilter): EventQueries {
  function applyFilters<O>(
    query: SelectQueryBuilder<SearchSchema, "events", O>,
    filter: EventQuery,
    textPlan: TextPlan,
  ): SelectQueryBuilder<SearchSchema, "events", O> {
    let q = query;
    if (filter.sourceId !== undefined) q = q.where("source_id", "=", filter.sourceId);
    if (filter.ids !== undefined) {
      // Kysely compiles `in ()` for an empty list, which is not SQL: ask for what matches nothing instead.
      q = filter.ids.length > 0 ? q.where("id", "in", filter.ids) : q.where(sql<boolean>`1 = 0`);
    }
    // An empty list means "no type filter", the same as leaving it out (a CLI with no --type flags).
    if (filter.types !== undefined && filter.types.length > 0) q = q.where("type", "in", filter.types);
    if (filter.actorEmail !== undefined) q = q.where("actor_email", "=", filter.actorEmail);
    if (filter.actorId !== undefined) q = q.where("actor_id", "=", filter.actorId);
    if (filter.ip !== undefined) q = q.where("ip", "=", filter.ip);
    if (filter.projectId !== undefined) q = q.where("project_id", "=", filter.projectId);
    if (filter.sinceSecs !== undefined) q = q.where("effective_at", ">=", filter.sinceSecs);
    if (filter.untilSecs !== undefined) q = q.where("effective_at", "<", filter.untilSecs);
    if (filter.text !== undefined && filter.text !== "") {
      q = q.where(textFilter(filter.text, textPlan));
    }
    const after = filter.after;
    if (after !== undefined) {
      // The row-value comparison is the newest-first order itself; the plain bound on effective_at lets
      // both planners start the index scan at the cursor instead of filtering from the newest row.
      q = q
        .where("effective_at", "<=", after.effectiveAtSecs)
        .where(
          sql<boolean>`(effective_at, id, source_id) < (${after.effectiveAtSecs}, ${after.id}, ${after.sourceId})`,
        );
    }
    return q;
  }
  return {
    /** Newest first; `source_id` last only to make ties between sources deterministic. */
    compileEventSearch: (filter, textPlan = "index") =>
      applyFilters(builder.selectFrom("events").selectAll(), filter, textPlan)
        .orderBy("effective_at", "desc")
        .orderBy("id", "desc")
        .orderBy("source_id", "desc")
        .limit(resolveLimit(filter.limit))
        .compile(),
    compileEventDocuments: (filter, textPlan, doc) =>
      applyFilters(
        builder.selectFrom("events").select([doc.as("doc"), "effective_at", "id", "source_id"]),
        filter,
        textPlan,
      )
        .orderBy("effective_at", "desc")
        .orderBy("id", "desc")
        .orderBy("source_id", "desc")
        .limit(resolveLimit(filter.limit))
        .compile(),
    compileEventCount: (filter) =>
      applyFilters(
        builder.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")),
        filter,
        // A count reads every match whatever the order: the index's candidates are never more rows.
        "index",
      ).compile(),
    compileQuarantineList: (filter) => {
      let q = builder.selectFrom("quarantine").selectAll();
      if (filter.sourceId !== undefined) q = q.where("source_id", "=", filter.sourceId);
      return q.orderBy("id", "desc").limit(resolveLimit(filter.limit)).compile();
    },
  };
}
