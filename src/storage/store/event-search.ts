// The dynamic event and quarantine queries. Every filter becomes a bound parameter, so no caller text is ever
// spliced into SQL; the free-text condition is the dialect's (StoreDialect.textFilter).

import { type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { UsageError } from "../../core/errors.ts";
import { foldEmail } from "../../core/event.ts";
import type { EventQuery } from "../ports.ts";
import type { Database } from "./database.ts";
import type { StoreContext, StoreDialect, TextPlan } from "./dialect.ts";
import { sourceIdOfRow } from "./source-numbers.ts";

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

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

/**
 * True when `text` can only be in a value if it is also in the raw JSON text as typed: it holds nothing JSON
 * escapes (quotes, backslashes, control characters). Then a LIKE on raw is a cheap necessary condition.
 */
export function spelledAlikeInJson(text: string): boolean {
  return !/["\\\u0000-\u001f]/.test(text);
}

/** A LIKE pattern matching `text` literally anywhere; `\` is the escape character. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** An EventQuery with its source, and its cursor's, as numbers (./source-numbers.ts): what the builders read. */
export type NumberedQuery = Omit<EventQuery, "sourceId" | "after"> & {
  sourceNum?: number;
  after?: { effectiveAtSecs: number; id: string; sourceNum: number };
};

/**
 * Above every source number: a cursor whose source was removed since goes on with that second's events of the
 * same id from every other source, so it may repeat one, never skip one.
 */
const PAST_EVERY_SOURCE = 2_147_483_647;

/** `query` with its sources as numbers. */
export async function numberQuery(ctx: StoreContext, query: EventQuery): Promise<NumberedQuery> {
  const { sourceId, after, ...rest } = query;
  const numbers = ctx.sourceNumbers;
  const db = ctx.dialect.db;
  const out: NumberedQuery = rest;
  if (sourceId !== undefined) out.sourceNum = await numbers.filter(db, sourceId);
  if (after !== undefined) {
    const sourceNum = (await numbers.find(db, after.sourceId)) ?? PAST_EVERY_SOURCE;
    out.after = { effectiveAtSecs: after.effectiveAtSecs, id: after.id, sourceNum };
  }
  return out;
}

function applyFilters<O>(
  dialect: StoreDialect,
  query: SelectQueryBuilder<Database, "events", O>,
  filter: NumberedQuery,
  textPlan: TextPlan,
): SelectQueryBuilder<Database, "events", O> {
  let q = query;
  if (filter.sourceNum !== undefined) q = q.where("source_num", "=", filter.sourceNum);
  if (filter.ids !== undefined) {
    // Kysely compiles `in ()` for an empty list, which is not SQL: ask for what matches nothing instead.
    q = filter.ids.length > 0 ? q.where("id", "in", filter.ids) : q.where(sql<boolean>`1 = 0`);
  }
  // An empty list means "no type filter", the same as leaving it out (a CLI with no --type flags).
  if (filter.types !== undefined && filter.types.length > 0) q = q.where("type", "in", filter.types);
  if (filter.actorEmail !== undefined) {
    // Addresses are stored folded (foldEmail): "Joan@Acme.com" finds joan@acme.com, on the index.
    q = q.where("actor_email", "=", foldEmail(filter.actorEmail));
  }
  if (filter.actorId !== undefined) q = q.where("actor_id", "=", filter.actorId);
  if (filter.ip !== undefined) q = q.where("ip", "=", filter.ip);
  if (filter.projectId !== undefined) q = q.where("project_id", "=", filter.projectId);
  if (filter.sinceSecs !== undefined) q = q.where("effective_at", ">=", filter.sinceSecs);
  if (filter.untilSecs !== undefined) q = q.where("effective_at", "<", filter.untilSecs);
  if (filter.text !== undefined && filter.text !== "") q = q.where(dialect.textFilter(filter.text, textPlan));
  const after = filter.after;
  if (after !== undefined) {
    // The row-value comparison is the newest-first order itself; the plain bound on effective_at lets
    // both planners start the index scan at the cursor instead of filtering from the newest row.
    q = q
      .where("effective_at", "<=", after.effectiveAtSecs)
      .where(
        sql<boolean>`(effective_at, id, source_num) < (${after.effectiveAtSecs}, ${after.id}, ${after.sourceNum})`,
      );
  }
  return q;
}

/**
 * Newest first; ties (events of the same second) by id, then source (its number). The indexes end in
 * effective_at, so both engines read in time order and sort only each second's few rows.
 */
function newestFirst<O>(q: SelectQueryBuilder<Database, "events", O>, limit: number | undefined) {
  return q
    .orderBy("effective_at", "desc")
    .orderBy("id", "desc")
    .orderBy("source_num", "desc")
    .limit(resolveLimit(limit));
}

/** The event columns a StoredEvent is read from (events.ts: toStoredEvent), besides its source's id. */
export const EVENT_COLUMNS = [
  "id",
  "type",
  "effective_at",
  "actor_type",
  "actor_id",
  "actor_email",
  "ip",
  "project_id",
  "raw",
  "ingested_at_ms",
] as const;

/** The id of an event's source, for a select list of events. */
export const EVENT_SOURCE_ID = sourceIdOfRow("events.source_num").as("source_id");

export function eventSearch(db: Kysely<Database>, dialect: StoreDialect, filter: NumberedQuery, plan: TextPlan) {
  return newestFirst(
    applyFilters(dialect, db.selectFrom("events").select(EVENT_COLUMNS).select(EVENT_SOURCE_ID), filter, plan),
    filter.limit,
  );
}

export function eventDocumentSearch(
  db: Kysely<Database>,
  dialect: StoreDialect,
  filter: NumberedQuery,
  plan: TextPlan,
) {
  const doc = dialect.eventDocumentSql;
  if (doc === null) throw new Error("eventDocumentSearch: this dialect builds documents in JavaScript.");
  return newestFirst(
    applyFilters(
      dialect,
      db.selectFrom("events").select([doc.as("doc"), "effective_at", "id", EVENT_SOURCE_ID]),
      filter,
      plan,
    ),
    filter.limit,
  );
}

/**
 * How a query's free text is answered (StoreDialect.textPlan); a query without text asks no index. `reading`:
 * "page" for a search's newest matches, "every" for a count or a histogram.
 */
export async function textPlanOf(dialect: StoreDialect, query: { text?: string }, reading: "page" | "every") {
  return query.text ? dialect.textPlan(query.text, reading) : "index";
}

/** `plan`: for reading every match (textPlanOf "every"). */
export function eventCount(db: Kysely<Database>, dialect: StoreDialect, filter: NumberedQuery, plan: TextPlan) {
  return applyFilters(
    dialect,
    db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")),
    filter,
    plan,
  );
}

/**
 * Every match of `filter` (its page, `limit` and `after`, aside) counted per (time bucket, type): the search's
 * own conditions under one GROUP BY. The cast keeps the division whole: SQLite binds a JS number as a real.
 */
export function eventHistogram(
  db: Kysely<Database>,
  dialect: StoreDialect,
  filter: NumberedQuery,
  bucketSecs: number,
  plan: TextPlan,
) {
  const { limit: _limit, after: _after, ...conditions } = filter;
  const bucket = sql<number>`(effective_at / cast(${bucketSecs} as bigint)) * cast(${bucketSecs} as bigint)`;
  return applyFilters(
    dialect,
    db
      .selectFrom("events")
      .select((eb) => [bucket.as("bucketStartSecs"), "type", eb.fn.countAll<number>().as("count")]),
    conditions,
    plan,
  )
    .groupBy(["bucketStartSecs", "type"])
    .orderBy("bucketStartSecs")
    .orderBy("type");
}

export function quarantineList(db: Kysely<Database>, filter: { sourceId?: string; limit?: number; afterId?: number }) {
  let q = db.selectFrom("quarantine").selectAll();
  if (filter.sourceId !== undefined) q = q.where("source_id", "=", filter.sourceId);
  if (filter.afterId !== undefined) q = q.where("id", ">", filter.afterId);
  return q.orderBy("id", filter.afterId === undefined ? "desc" : "asc").limit(resolveLimit(filter.limit));
}
