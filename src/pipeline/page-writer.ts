// Stores one page of API records: validate and normalize them, run the detection rules on them (pure,
// before the transaction), then hand everything to the store's one transaction per page (a backfill's
// concurrent slices group theirs, PageCommitQueue, where the store asks for it: Store.groupCommits). The poller
// and the backfill both store pages through here.

import type { Clock } from "../core/clock.ts";
import type { RuleMatch, RuleStateOp } from "../core/detection.ts";
import type { LeaseFence } from "../core/fleet.ts";
import type { SourceRecord } from "../core/source.ts";
import type { Logger } from "../logging/logger.ts";
import type { PageWrite, PageWriteResult, Store } from "../storage/ports.ts";
import { type PageRecordsContext, pageRecords, type RecordNormalizer } from "./page-records.ts";

export interface DetectionOutcome {
  matches: RuleMatch[];
  stateOps: Array<{ eventId: string; op: RuleStateOp }>;
  /** The rules whose matches correlation rules of the source read (see PageWrite); absent: unknown. */
  correlationMemberRuleIds?: readonly string[];
}

/** Runs the enabled rules of a source over normalized records (the pipeline adapts the engine to this). */
export interface Detector {
  detect(
    source: SourceRecord,
    events: Array<{ eventId: string; record: Record<string, unknown> }>,
  ): Promise<DetectionOutcome>;
}

export interface PageWriterDeps {
  store: Store;
  source: SourceRecord;
  clock: Clock;
  normalizer: RecordNormalizer;
  detector?: Detector;
  /** Fleet mode: the lease every page is written under (see PageWrite.fence). */
  fence?: LeaseFence;
  /** Pages written concurrently (a backfill's slices) share one, to commit together; unset: one page per commit. */
  commits?: Pick<PageCommitQueue, "write">;
}

/** What a page's records are checked and normalized with (page-records.ts), for the source's pages now. */
export function recordChecks(deps: Pick<PageWriterDeps, "source" | "clock" | "normalizer">): PageRecordsContext {
  return {
    sourceId: deps.source.id,
    sourceLabel: deps.source.name,
    parseTimeMs: deps.clock.nowMs(),
    normalizer: deps.normalizer,
  };
}

export async function storePage(
  deps: PageWriterDeps,
  items: readonly unknown[],
  progress: Pick<PageWrite, "streamUpdate" | "sliceProgress" | "releasedQuarantineIds" | "fromHistory">,
): Promise<PageWriteResult> {
  const { store, source } = deps;
  const { normalized, ...records } = pageRecords(items, recordChecks(deps));
  // Only the records not stored yet go through the rules. A re-read record (every poll's overlap, the sweeps, a
  // slice read again) would otherwise count again in a rule's state within the batch: its own writes are dropped
  // at the store, but a new record after it in the batch was judged on them (three failed logins seen as five).
  // A record a concurrent writer stores between this look-up and the transaction is still dropped there.
  const stored =
    deps.detector && normalized.length > 0
      ? await store.storedEventIds(
          source.id,
          normalized.map((n) => n.eventId),
        )
      : new Set<string>();
  const fresh = stored.size === 0 ? normalized : normalized.filter((n) => !stored.has(n.eventId));
  const detection = deps.detector && fresh.length > 0 ? await deps.detector.detect(source, fresh) : undefined;
  const write: PageWrite = {
    sourceId: source.id,
    ...records,
    ...progress,
    // A backfill slice's page is history: its alerts are marked so, and destinations skip them unless asked.
    fromHistory: progress.fromHistory ?? progress.sliceProgress !== undefined,
    ...(deps.fence ? { fence: deps.fence } : {}),
    ...(detection
      ? {
          matches: detection.matches,
          stateOps: detection.stateOps,
          correlationMemberRuleIds: detection.correlationMemberRuleIds,
        }
      : {}),
  };
  return deps.commits ? deps.commits.write(write) : store.applyPage(write);
}

/**
 * Says once (the store reports each type the first time a source sends it) that a source sent a new event type:
 * what a stored page reports in `newUnknownTypes`.
 */
export function warnNewEventTypes(logger: Pick<Logger, "warn">, sourceName: string, types: readonly string[]): void {
  for (const type of types) {
    logger.warn(
      { source: sourceName, type },
      `Source ${sourceName} sent a new event type, ${type}; it is stored and searchable, but no built-in rule knows it yet.`,
    );
  }
}

interface Waiting {
  write: PageWrite;
  resolve(result: PageWriteResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit for pages written concurrently (a backfill's parallel slices), used where the store asks for it
 * (Store.groupCommits: SQLite written inline; SQLite's writer thread and PostgreSQL take pages one by one). Much of
 * a page's write is its commit (an fsync), and the slices' pages become ready while another page's transaction is
 * in flight: those wait for it to end, then all go in one transaction, one commit. There is no timer: a page that
 * finds no transaction in flight waits only for the end of the event loop's turn (setImmediate), so that the pages
 * whose responses arrived meanwhile join it (SQLite's driver blocks the thread for a whole transaction: the
 * responses that came in during one are all handled in the next turn). Each page keeps its own progress and fence,
 * and a group commits whole or not at all, so a page's events and its progress still commit together. When a group
 * fails, its pages are written again one per transaction: a page that cannot be written (its lease was lost, its
 * slice is gone) fails alone, with its own error, and the others go through.
 */
export class PageCommitQueue {
  private waiting: Waiting[] = [];
  private flushing = false;

  constructor(private readonly store: Pick<Store, "applyPages">) {}

  write(write: PageWrite): Promise<PageWriteResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.commit(this.waiting.splice(0));
    } finally {
      this.flushing = false;
    }
  }

  /** Settles every page of the group; never throws. */
  private async commit(group: Waiting[]): Promise<void> {
    let results: PageWriteResult[];
    try {
      results = await this.store.applyPages(group.map((p) => p.write));
    } catch (err) {
      if (group.length === 1) group[0]!.reject(err);
      else for (const p of group) await this.commit([p]);
      return;
    }
    for (const [i, p] of group.entries()) p.resolve(results[i]!);
  }
}
