// Events: the page write (the hot path of every poll and backfill), search, quarantine, unknown types and
// scheduled queries. One page is one write transaction: its events, the matches and rule state of the events it
// inserted, its quarantined records, its unknown types and its checkpoint or slice progress commit together or
// not at all (the crash tests prove it with SIGKILL).

import { createHash } from "node:crypto";
import { type Selectable, sql } from "kysely";
import { foldEmail } from "../../core/event.ts";
import type { LeaseFence } from "../../core/fleet.ts";
import { documentsOf } from "../event-document.ts";
import type {
  EventRow,
  PageWrite,
  PageWriteResult,
  QuarantineRecord,
  Store,
  StoredEvent,
  UnknownTypeRecord,
} from "../ports.ts";
import { updateSliceProgress } from "./backfill.ts";
import { chunks } from "./chunks.ts";
import type { EventsTable, QuarantineTable } from "./database.ts";
import { applyMatchesIn, applyStateOpsIn, assertMatchesOf } from "./detections.ts";
import type { Db, PagesWritten, StoreContext, TextIndexer } from "./dialect.ts";
import {
  countableFromCounters,
  eventCount,
  eventDocumentSearch,
  eventSearch,
  numberQuery,
  quarantineList,
  textPlanOf,
} from "./event-search.ts";
import { holdLeaseIn } from "./fleet.ts";
import { inLockOrder } from "./lock-order.ts";
import { withPackedContexts } from "./packed-json.ts";
import { insertRows } from "./repeated-insert.ts";
import { requireSource } from "./require-source.ts";
import { stateTimeSecs } from "./rule-state.ts";
import type { RuleStateWrite } from "./rule-state-cache.ts";
import { recordEventStored, updateStreamState } from "./sources.ts";

type EventOps = Pick<
  Store,
  | "applyPage"
  | "applyPages"
  | "groupCommits"
  | "searchEvents"
  | "searchEventDocuments"
  | "countEvents"
  | "listEventIds"
  | "storedEventIds"
  | "listQuarantine"
  | "listUnknownTypes"
  | "queryEvents"
  | "eventTypeCounts"
  | "indexPendingText"
>;

export function eventOps(ctx: StoreContext, textIndex: TextIndexer): EventOps {
  const { dialect } = ctx;

  /** Several pages in one transaction (one commit), each applied exactly as `applyPage` would alone. */
  async function applyPages(pages: readonly PageWrite[]): Promise<PageWriteResult[]> {
    if (pages.length === 0) return [];
    const nowMs = ctx.clock.nowMs();
    const writes = dialect.pageWriter?.packsContexts ? pages : pages.map(withPackedContexts);
    const { results, stateWrites } = await (dialect.pageWriter?.write(writes, nowMs) ??
      writePagesIn(ctx, writes, nowMs));
    ctx.ruleStateCache.committed(stateWrites);
    const inserted = results.reduce((n, r) => n + r.insertedIds.length, 0);
    if (inserted > 0) textIndex.schedule(inserted);
    return results;
  }

  return {
    async applyPage(write) {
      return (await applyPages([write]))[0]!;
    },

    applyPages,
    groupCommits: dialect.groupCommits,

    async searchEvents(query) {
      const plan = await textPlanOf(dialect, query, "page");
      const rows = await dialect.heavyRead(eventSearch(dialect.db, dialect, await numberQuery(ctx, query), plan));
      return rows.map(toStoredEvent);
    },

    async searchEventDocuments(query) {
      const plan = await textPlanOf(dialect, query, "page");
      const numbered = await numberQuery(ctx, query);
      const inDatabase =
        dialect.eventDocumentSql === null
          ? null
          : dialect.eventDocuments(eventDocumentSearch(dialect.db, dialect, numbered, plan));
      if (inDatabase !== null) return inDatabase;
      return documentsOf(
        (await dialect.heavyRead(eventSearch(dialect.db, dialect, numbered, plan))).map(toStoredEvent),
      );
    },

    async countEvents(query = {}) {
      // Every event, or every event of a source: the day counters know (no read of the events).
      if (countableFromCounters(query)) {
        return dialect.run(async (db) => {
          let q = db
            .selectFrom("event_counts")
            .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("events"), sql<number>`0`).as("n"));
          if (query.sourceId !== undefined) q = q.where("source_id", "=", query.sourceId);
          return Number((await q.executeTakeFirst())?.n ?? 0);
        });
      }
      const rows = await dialect.heavyRead(
        eventCount(dialect.db, dialect, await numberQuery(ctx, query), await textPlanOf(dialect, query, "every")),
      );
      return Number(rows[0]?.n ?? 0);
    },

    async listEventIds(sourceId) {
      return dialect.run(async (db) =>
        (
          await db
            .selectFrom("events")
            .select("id")
            .where("source_num", "=", await ctx.sourceNumbers.filter(db, sourceId))
            .execute()
        ).map((r) => r.id),
      );
    },

    async storedEventIds(sourceId, ids) {
      const stored = new Set<string>();
      if (ids.length === 0) return stored;
      // A read only: off the event loop on SQLite (its read connection), never taking a writer's turn, which
      // would hold the writer thread's next page back once a page.
      const sourceNum = await ctx.sourceNumbers.filter(dialect.db, sourceId);
      for (const chunk of chunks([...new Set(ids)])) {
        for (const r of await dialect.heavyRead(dialect.storedEventIds(dialect.db, sourceNum, chunk))) stored.add(r.id);
      }
      return stored;
    },

    async listQuarantine(query = {}) {
      return (await dialect.heavyRead(quarantineList(dialect.db, query))).map(toQuarantineRecord);
    },

    async listUnknownTypes(sourceId) {
      return dialect.run(async (db) => {
        let q = db.selectFrom("unknown_event_types").selectAll();
        q =
          sourceId === undefined
            ? q.orderBy("first_seen_ms").orderBy("source_id")
            : q.where("source_id", "=", sourceId).orderBy("first_seen_ms");
        const rows = await q.orderBy("type").execute();
        return rows.map(
          (r): UnknownTypeRecord => ({ sourceId: r.source_id, type: r.type, firstSeenMs: r.first_seen_ms }),
        );
      });
    },

    indexPendingText: () => textIndex.flush(),

    queryEvents: (sourceId, query, options) => dialect.scheduledQuery(sourceId, query, options),

    async eventTypeCounts(sourceId) {
      return dialect.run(async (db) => {
        let q = db
          .selectFrom("event_counts")
          .select((eb) => ["type", eb.fn.sum<number>("events").as("n")])
          .where("events", ">", 0);
        if (sourceId !== undefined) q = q.where("source_id", "=", sourceId);
        const counts = await q.groupBy("type").orderBy("type").execute();
        const sourceNum = sourceId === undefined ? undefined : await ctx.sourceNumbers.filter(db, sourceId);
        // The newest event of each type: one index probe per type (events_by_type ends in effective_at).
        const out: Array<{ type: string; count: number; lastSeenSecs: number }> = [];
        for (const c of counts) {
          let last = db.selectFrom("events").select("effective_at").where("type", "=", c.type);
          if (sourceNum !== undefined) last = last.where("source_num", "=", sourceNum);
          const row = await last.orderBy("effective_at", "desc").limit(1).executeTakeFirst();
          if (row !== undefined) out.push({ type: c.type, count: Number(c.n), lastSeenSecs: row.effective_at });
        }
        return out;
      });
    },
  };
}

/**
 * The transaction of `applyPages`, on the dialect's connection: run by the store itself, or by the dialect's
 * writer thread with connections of its own (./writer-thread.ts).
 */
export async function writePagesIn(
  ctx: StoreContext,
  writes: readonly PageWrite[],
  nowMs: number,
): Promise<PagesWritten> {
  const stateWrites: RuleStateWrite[] = [];
  const results = await ctx.dialect.write(async (trx) => {
    stateWrites.length = 0;
    // Every lease first, in name order: two transactions holding several leases take them in the same order.
    for (const fence of fencesOf(writes)) await holdLeaseIn(ctx, trx, fence);
    const out: PageWriteResult[] = [];
    for (const write of writes) out.push(await applyPageIn(ctx, trx, write, nowMs, stateWrites));
    return out;
  });
  return { results, stateWrites };
}

/** The distinct fences of some pages, by lease name. */
function fencesOf(writes: readonly PageWrite[]): LeaseFence[] {
  const byKey = new Map<string, LeaseFence>();
  for (const w of writes) if (w.fence) byKey.set(`${w.fence.lease}\u0000${w.fence.workerId}`, w.fence);
  return [...byKey.values()].sort((a, b) =>
    a.lease < b.lease ? -1 : a.lease > b.lease ? 1 : a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0,
  );
}

/** One page, inside its transaction; what it writes of the rule state is added to `stateWrites`. */
async function applyPageIn(
  ctx: StoreContext,
  trx: Db,
  write: PageWrite,
  nowMs: number,
  stateWrites: RuleStateWrite[],
): Promise<PageWriteResult> {
  const sourceId = write.sourceId;
  const sourceNum = await requireSource(ctx, trx, sourceId);

  const inserted = await insertEvents(trx, write, sourceNum, nowMs);
  const insertedIds = write.events.filter((e) => inserted.has(e.id)).map((e) => e.id);
  // Page order, each id once (a page may repeat one).
  const orderedIds = [...new Set(insertedIds)];

  // Before the rest of the page, so that anything failing later also rolls the alert state back.
  const createdAlertIds = await applyPageMatches(ctx, trx, write, inserted, sourceNum, nowMs);

  const quarantined = await insertQuarantine(trx, write, nowMs);
  const quarantineKept = await releaseQuarantined(trx, write, sourceNum);
  const newUnknownTypes = await insertUnknownTypes(trx, write, nowMs);

  if (write.streamUpdate !== undefined) await updateStreamState(trx, sourceId, write.streamUpdate);
  // Throws when the slice is not the source's, which rolls the whole page back: progress is never lost silently.
  if (write.sliceProgress !== undefined) await updateSliceProgress(trx, sourceId, write.sliceProgress);
  // The rows and locks that concurrent pages of one source (a backfill's slices, PostgreSQL workers) contend
  // for most are taken last, so each is held from here to the commit only: the rule state of the page's users
  // (the slices of different days share users) and then its version row, the day's counter rows, then the poll
  // status.
  const stateWrite = await applyPageStateOps(ctx, trx, write, inserted, nowMs);
  if (stateWrite !== null) stateWrites.push(stateWrite);
  await countInsertedEvents(trx, sourceId, write.events, inserted);
  if (orderedIds.length > 0) await recordEventStored(trx, sourceId, nowMs);

  return {
    insertedIds: orderedIds,
    duplicates: write.events.length - orderedIds.length,
    quarantined,
    newUnknownTypes,
    createdAlertIds,
    ...(write.releasedQuarantineIds !== undefined ? { quarantineKept } : {}),
  };
}

/** Inserts the page's new events; returns the ids it inserted, with their seq. */
async function insertEvents(trx: Db, write: PageWrite, sourceNum: number, nowMs: number): Promise<Map<string, number>> {
  if (write.events.length === 0) return new Map();
  // Key order: concurrent writers (PostgreSQL workers) take the same unique-index locks in the same order.
  const rows = inLockOrder(
    write.events.map(
      (e): Omit<EventsTable, "seq"> => ({
        source_num: sourceNum,
        id: e.id,
        type: e.type,
        effective_at: e.effectiveAtSecs,
        actor_type: e.actorType ?? null,
        actor_id: e.actorId ?? null,
        // Folded, as every comparison of addresses is (the filter, suppressions); raw keeps it as it came.
        actor_email: e.actorEmail == null ? null : foldEmail(e.actorEmail),
        ip: e.ip ?? null,
        project_id: e.projectId ?? null,
        raw: e.raw,
        ingested_at_ms: nowMs,
      }),
    ),
    (row) => row.id,
  );
  // ON CONFLICT (key) DO NOTHING, not INSERT OR IGNORE: OR IGNORE also silently skips rows that break a
  // NOT NULL constraint, which would turn a bad row into a "duplicate" instead of failing the page.
  const stored = await insertRows(trx, "events", rows, (chunk) =>
    trx
      .insertInto("events")
      .values(chunk as Omit<EventsTable, "seq">[])
      .onConflict((oc) => oc.columns(["source_num", "id"]).doNothing())
      .returning(["seq", "id"]),
  );
  if (stored.length > 0) {
    // Queued for the text index, which is written after the commit (text-index.ts).
    await insertRows(
      trx,
      "event_text_pending",
      stored.map((r) => ({ seq: r.seq })),
      (pending) => trx.insertInto("event_text_pending").values(pending as { seq: number }[]),
    );
  }
  return new Map(stored.map((r) => [r.id, r.seq]));
}

const DAY_SECS = 86_400;

/**
 * Adds the page's inserted events to `event_counts` (per source, UTC day and type: what the overview reads),
 * in one statement per page. A trigger per inserted row did this before (migration 26): SQLite has no
 * statement-level triggers, and the row trigger cost a fifth of the events' insert. Removals still count down
 * in triggers, since a cascade or a prune deletes rows the store never sees one by one.
 */
async function countInsertedEvents(
  trx: Db,
  sourceId: string,
  events: ReadonlyArray<Pick<EventRow, "id" | "type" | "effectiveAtSecs">>,
  inserted: ReadonlyMap<string, number>,
): Promise<void> {
  const counts = new Map<string, { source_id: string; day_secs: number; type: string; events: number }>();
  const counted = new Set<string>();
  for (const event of events) {
    // A page may hold an id twice; the first of them in the page is the one stored.
    if (!inserted.has(event.id) || counted.has(event.id)) continue;
    counted.add(event.id);
    // Integer division truncating toward zero, as the triggers' SQL did (effective_at / 86400 * 86400).
    const day = Math.trunc(event.effectiveAtSecs / DAY_SECS) * DAY_SECS;
    const key = JSON.stringify([day, event.type]);
    const count = counts.get(key);
    if (count) count.events++;
    else counts.set(key, { source_id: sourceId, day_secs: day, type: event.type, events: 1 });
  }
  if (counts.size === 0) return;
  // Key order: concurrent PostgreSQL writers lock the counter rows in the same order.
  const values = inLockOrder(counts.entries(), ([key]) => key).map(([, v]) => v);
  await trx
    .insertInto("event_counts")
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(["source_id", "day_secs", "type"])
        .doUpdateSet((eb) => ({ events: eb(eb.ref("event_counts.events"), "+", eb.ref("excluded.events")) })),
    )
    .execute();
}

/** State ops of the events this page inserted; the others were applied when first stored. */
async function applyPageStateOps(
  ctx: StoreContext,
  trx: Db,
  write: PageWrite,
  inserted: ReadonlyMap<string, number>,
  nowMs: number,
): Promise<RuleStateWrite | null> {
  const ownOps = (write.stateOps ?? []).filter((o) => inserted.has(o.eventId)).map((o) => o.op);
  if (ownOps.length === 0) return null;
  return applyStateOpsIn(
    ctx,
    trx,
    write.sourceId,
    ownOps,
    stateTimeSecs(
      write.events.filter((e) => inserted.has(e.id)).map((e) => e.effectiveAtSecs),
      Math.floor(nowMs / 1000),
    ),
  );
}

/** Matches of the events this page inserted; the others were applied when first stored. */
async function applyPageMatches(
  ctx: StoreContext,
  trx: Db,
  write: PageWrite,
  inserted: ReadonlyMap<string, number>,
  sourceNum: number,
  nowMs: number,
): Promise<string[]> {
  const matches = write.matches ?? [];
  if (matches.length === 0) return [];
  assertMatchesOf(write.sourceId, matches);
  return applyMatchesIn(
    ctx,
    trx,
    matches.filter((m) => inserted.has(m.eventId)),
    nowMs,
    {
      fromHistory: write.fromHistory === true,
      eventSeqs: inserted,
      correlationMemberRuleIds: write.correlationMemberRuleIds,
      sourceNum,
    },
  );
}

/**
 * Every overlapping poll re-reads the same bad record: it is stored once per (source, sha256(raw)), and later
 * sightings only bump the counter. Hash order, for the same lock-order reason as the events.
 */
async function insertQuarantine(trx: Db, write: PageWrite, nowMs: number): Promise<number> {
  let quarantined = 0;
  const bad = write.quarantined
    .map((q) => ({ q, hash: createHash("sha256").update(q.raw).digest("hex") }))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  for (const { q, hash } of bad) {
    const added = await trx
      .insertInto("quarantine")
      .values({
        source_id: write.sourceId,
        event_id: q.eventId ?? null,
        reason: q.reason,
        issues: JSON.stringify(q.issues),
        raw: q.raw,
        raw_sha256: hash,
        received_at_ms: nowMs,
        last_seen_ms: nowMs,
      })
      .onConflict((oc) => oc.columns(["source_id", "raw_sha256"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (added !== undefined) quarantined++;
    else {
      await trx
        .updateTable("quarantine")
        .set((eb) => ({ sightings: eb("sightings", "+", 1), last_seen_ms: nowMs }))
        .where("source_id", "=", write.sourceId)
        .where("raw_sha256", "=", hash)
        .execute();
    }
  }
  return quarantined;
}

/**
 * Removes the quarantined records whose event is now stored with their very text (PageWrite.releasedQuarantineIds);
 * returns how many of them are still quarantined after it (their event id is stored with other content). Counted
 * after the delete, so that records another replay released meanwhile count as released, not as kept.
 */
async function releaseQuarantined(trx: Db, write: PageWrite, sourceNum: number): Promise<number> {
  const ids = [...new Set(write.releasedQuarantineIds ?? [])].sort((a, b) => a - b);
  let kept = 0;
  for (const chunk of chunks(ids)) {
    await trx
      .deleteFrom("quarantine")
      .where("source_id", "=", write.sourceId)
      .where("id", "in", chunk)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom("events")
            .select("events.seq")
            .where("events.source_num", "=", sourceNum)
            .whereRef("events.id", "=", "quarantine.event_id")
            .whereRef("events.raw", "=", "quarantine.raw"),
        ),
      )
      .execute();
    const left = await trx
      .selectFrom("quarantine")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("source_id", "=", write.sourceId)
      .where("id", "in", chunk)
      .executeTakeFirstOrThrow();
    kept += Number(left.n);
  }
  return kept;
}

async function insertUnknownTypes(trx: Db, write: PageWrite, nowMs: number): Promise<string[]> {
  if (write.unknownTypes.length === 0) return [];
  const types = [...new Set(write.unknownTypes)].sort();
  const rows = await trx
    .insertInto("unknown_event_types")
    .values(types.map((type) => ({ source_id: write.sourceId, type, first_seen_ms: nowMs })))
    .onConflict((oc) => oc.columns(["source_id", "type"]).doNothing())
    .returning("type")
    .execute();
  const fresh = new Set(rows.map((r) => r.type));
  return write.unknownTypes.filter((type) => fresh.delete(type));
}

type EventColumns = Omit<Selectable<EventsTable>, "seq" | "source_num"> & { source_id: string };

export function toStoredEvent(row: EventColumns): StoredEvent {
  return {
    sourceId: row.source_id,
    id: row.id,
    type: row.type,
    effectiveAtSecs: row.effective_at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorEmail: row.actor_email,
    ip: row.ip,
    projectId: row.project_id,
    raw: row.raw,
    ingestedAtMs: row.ingested_at_ms,
  };
}

function toQuarantineRecord(row: Selectable<QuarantineTable>): QuarantineRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    eventId: row.event_id,
    reason: row.reason,
    issues: JSON.parse(row.issues) as QuarantineRecord["issues"],
    raw: row.raw,
    receivedAtMs: row.received_at_ms,
  };
}
