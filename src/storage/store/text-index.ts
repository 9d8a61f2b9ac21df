// The free-text index, written after the page commits instead of inside it. A page only queues its new
// events' seq in `event_text_pending` (a few bytes each); this indexer then moves them into the dialect's text
// index in batches, each its own short write transaction. Searches scan the pending events until then
// (StoreDialect.textFilter), so a search never misses an event, it is only slower for the few seconds an event
// waits. A crash loses nothing: the queue is in the database and the indexer resumes from it at start.
//
// Why: indexing every trigram of a record took three quarters of a page transaction's time; in batches it
// costs the same per event but no longer stands between the API's page and the next request.

import type { StoreContext, TextIndexer } from "./dialect.ts";

/** After a failed batch (the database busy, say), try again this much later. */
const RETRY_MS = 5_000;
/**
 * Indexing waits until pages stop coming for this long: during a backfill the pages follow each other, and the
 * index is written after them instead of between them (searches scan the queue meanwhile).
 */
const IDLE_MS = 250;
/** ... unless this many events are waiting: the queue a search scans stays bounded. */
const MAX_QUEUED = 50_000;

/**
 * What free text is matched against: the record's values (strings, numbers, booleans), one per line. Keys and
 * JSON punctuation are left out, which keeps the index a third smaller; nobody searches for `":"`.
 */
export function searchableText(raw: string): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === "object") {
      for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
    } else out.push(String(v));
  };
  try {
    walk(JSON.parse(raw));
  } catch {
    return raw;
  }
  return out.join("\n");
}

export function textIndexer(ctx: StoreContext): TextIndexer {
  const { dialect } = ctx;
  let running: Promise<void> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let idle: NodeJS.Timeout | null = null;
  let queued = 0;
  let stopped = false;

  /** One batch in one transaction; returns how many events it indexed (0: the queue is empty). */
  async function indexBatch(): Promise<number> {
    return dialect.write(
      async (trx) => {
        const pending = await dialect
          .skipLocked(trx.selectFrom("event_text_pending").select("seq").orderBy("seq").limit(dialect.textBatch))
          .execute();
        if (pending.length === 0) return 0;
        const seqs = pending.map((p) => p.seq);
        const events = await trx.selectFrom("events").select(["seq", "raw"]).where("seq", "in", seqs).execute();
        if (events.length > 0) {
          await dialect.insertText(
            trx,
            events.map((e) => ({ seq: e.seq, body: searchableText(e.raw) })),
          );
        }
        await trx.deleteFrom("event_text_pending").where("seq", "in", seqs).execute();
        return pending.length;
        // Not fsynced: a batch lost to a power cut comes back with its queue rows, which commit with it.
      },
      { durable: false },
    );
  }

  /** Indexes the queue until it is empty, then catches up (StoreDialect.catchUpText); returns the events indexed. */
  async function drain(): Promise<number> {
    let total = 0;
    while (!stopped) {
      const n = await indexBatch();
      total += n;
      if (n === 0) break;
      // Let what waits behind this batch go first: on SQLite's writer thread, the page writes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Owed work goes after the queue, a chunk at a time, so new events are never kept waiting long for it.
    while (!stopped && dialect.catchUpText !== undefined && queued === 0 && (await dialect.catchUpText()) > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  function schedule(events = 0): void {
    if (stopped) return;
    queued += events;
    if (idle !== null) clearTimeout(idle);
    idle = null;
    if (queued < MAX_QUEUED) {
      idle = setTimeout(() => {
        idle = null;
        start();
      }, IDLE_MS);
      idle.unref();
      return;
    }
    start();
  }

  function start(): void {
    if (stopped || running !== null || retry !== null) return;
    void run();
  }

  /**
   * Drains as the indexer's one run (start's, or a flush's: never two beside each other, or on PostgreSQL one
   * run's batch would hold rows the other skips, SKIP LOCKED, and the other would end before they are indexed).
   */
  function run(): Promise<number> {
    queued = 0;
    // This run does what a scheduled one would.
    if (idle !== null) clearTimeout(idle);
    idle = null;
    const draining = drain();
    running = draining
      .then(
        () => undefined,
        () => {
          // The queue stays; searches still find every event. Try again later.
          if (!stopped && retry === null) {
            retry = setTimeout(() => {
              retry = null;
              start();
            }, RETRY_MS);
            retry.unref();
          }
        },
      )
      .finally(() => {
        running = null;
        // Pages came while it ran, and their start() found it running: whatever it left (a page committed after
        // its last batch, or owed work it yielded to them) waits for a run of its own.
        if (queued > 0) schedule();
      });
    return draining;
  }

  return {
    schedule,
    async flush() {
      while (running !== null) await running;
      // Everything now, owed work too (drain leaves that to the next run while events are scheduled).
      return run();
    },
    async stop() {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      if (idle !== null) clearTimeout(idle);
      await running;
    },
  };
}
