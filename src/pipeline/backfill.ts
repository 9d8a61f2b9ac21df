// History backfill. A time range is split into slices fetched in parallel by a small pool of workers.
// Each slice walks its pages newest first; every page is stored in one transaction together with the
// slice's progress (its cursor, and how far in time it has come, for the progress bar), so a killed backfill
// resumes each slice at the page where it stopped; if the API no longer knows the cursor, the slice is read again
// whole. Events read twice are ignored by id: every event is stored once. Where the store asks for it
// (Store.groupCommits), pages of several slices ready at the same time share one transaction, one commit
// (PageCommitQueue), each still with its own progress.
//
// In a fleet (several workers on one PostgreSQL), a worker runs a slice only while it holds the slice's lease
// (`claimSlice`): several workers share one job's slices, and a dead worker's slice is taken over, once its lease
// expires, from the progress stored with its last page.

import { type AuditLogPage, type AuditLogQuery, pageCursor } from "../core/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import { VigilError } from "../core/errors.ts";
import type { LeaseFence } from "../core/fleet.ts";
import type { SourceRecord } from "../core/source.ts";
import type { BackfillJob, BackfillSlice, Store } from "../storage/ports.ts";
import type { RecordNormalizer } from "./page-records.ts";
import { type Detector, PageCommitQueue, storePage } from "./page-writer.ts";
import type { AuditLogReader } from "./reader.ts";
import { pagesFrom } from "./resume.ts";

export interface BackfillProgress {
  /** Seconds of the job's range fully read, over all slices. */
  secsDone: number;
  secsTotal: number;
  eventsRead: number;
  inserted: number;
  slicesDone: number;
  slicesTotal: number;
}

/**
 * A slice this worker may run until `signal` fires (its lease was lost); `release` hands it back. Its pages are
 * written under `fence`.
 */
export interface SliceClaim {
  signal: AbortSignal;
  release(): Promise<void>;
  fence?: LeaseFence;
}

export interface BackfillDeps {
  store: Store;
  reader: AuditLogReader;
  source: SourceRecord;
  clock: Clock;
  normalizer: RecordNormalizer;
  detector?: Detector;
  concurrency?: number;
  onProgress?: (progress: BackfillProgress) => void;
  /**
   * Fleet mode: called before each slice; null means another worker holds it, and this run skips it. Unset
   * (one process): every slice is this run's.
   */
  claimSlice?: (slice: BackfillSlice) => Promise<SliceClaim | null>;
  /** The lease of the slice being run: its pages are written under it (set per slice from its claim). */
  fence?: LeaseFence;
  /** How pages are committed; unset, runBackfillJob gives the job's slices one PageCommitQueue (Store.groupCommits). */
  commits?: Pick<PageCommitQueue, "write">;
}

/** Splits [since, until) into at most `count` slices of whole seconds, newest slice first. */
export function planSlices(
  sinceSecs: number,
  untilSecs: number,
  count: number,
): Array<{ startSecs: number; endSecs: number }> {
  const span = untilSecs - sinceSecs;
  if (span <= 0) return [];
  const n = Math.max(1, Math.min(count, span));
  const slices: Array<{ startSecs: number; endSecs: number }> = [];
  for (let i = 0; i < n; i++) {
    const startSecs = sinceSecs + Math.floor((span * i) / n);
    const endSecs = sinceSecs + Math.floor((span * (i + 1)) / n);
    if (endSecs > startSecs) slices.push({ startSecs, endSecs });
  }
  // Newest first: the most recent history is usually the most wanted.
  return slices.reverse();
}

/** How many slices a backfill of this range gets: enough for the pool to stay busy and balanced. */
export function sliceCountFor(sinceSecs: number, untilSecs: number, concurrency: number): number {
  const days = (untilSecs - sinceSecs) / 86_400;
  return Math.max(concurrency * 4, Math.min(512, Math.ceil(days * 2)));
}

function secsDone(slice: BackfillSlice): number {
  return slice.done ? slice.endSecs - slice.startSecs : slice.endSecs - 1 - slice.upperBoundSecs;
}

/**
 * Runs (or resumes) a job until every slice is done, or, with `claimSlice`, every slice this worker could claim.
 * Resolves with the final progress and whether the job is complete.
 */
export async function runBackfillJob(
  deps: BackfillDeps,
  job: BackfillJob,
  signal?: AbortSignal,
): Promise<BackfillProgress & { complete: boolean }> {
  const { store } = deps;
  const slices = await store.getBackfillSlices(job.id);
  const progress: BackfillProgress = {
    secsDone: slices.reduce((sum, s) => sum + secsDone(s), 0),
    secsTotal: slices.reduce((sum, s) => sum + (s.endSecs - s.startSecs), 0),
    eventsRead: 0,
    inserted: 0,
    slicesDone: slices.filter((s) => s.done).length,
    slicesTotal: slices.length,
  };
  deps.onProgress?.({ ...progress });
  const pending = slices.filter((s) => !s.done);
  // One queue for the job's slices: the pages they have ready at the same time share one commit (where the
  // store says that pays).
  const commits = deps.commits ?? (store.groupCommits ? new PageCommitQueue(store) : undefined);
  const shared: BackfillDeps = { ...deps, ...(commits ? { commits } : {}) };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      signal?.throwIfAborted();
      const slice = pending[next++]!;
      if (deps.claimSlice) await runClaimedSlice(shared, deps.claimSlice, job, slice, progress, signal);
      else await runSlice(shared, job, slice, progress, signal);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 4, pending.length)) }, worker);
  // allSettled, then rethrow: a failing worker must not leave the others writing after we return.
  const results = await Promise.allSettled(workers);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  const complete = await store.completeBackfillJobIfDone(job.id);
  return { ...progress, complete };
}

async function runClaimedSlice(
  deps: BackfillDeps,
  claimSlice: (slice: BackfillSlice) => Promise<SliceClaim | null>,
  job: BackfillJob,
  listed: BackfillSlice,
  progress: BackfillProgress,
  signal?: AbortSignal,
): Promise<void> {
  const claim = await claimSlice(listed);
  if (claim === null) return;
  try {
    // Read again under the lease: another worker may have advanced or finished the slice since it was listed,
    // and resuming from stale progress would re-read what it already stored.
    const slice = (await deps.store.getBackfillSlices(job.id)).find((s) => s.sliceIndex === listed.sliceIndex);
    if (!slice || slice.done) return;
    if (slice.upperBoundSecs !== listed.upperBoundSecs || slice.eventsRead !== listed.eventsRead) {
      progress.secsDone += secsDone(slice) - secsDone(listed);
    }
    const both = signal ? AbortSignal.any([signal, claim.signal]) : claim.signal;
    try {
      await runSlice(claim.fence ? { ...deps, fence: claim.fence } : deps, job, slice, progress, both);
    } catch (err) {
      // The lease was lost (not renewed in time, or found gone when a page was written): the slice stops here,
      // and whoever takes the lease resumes it from the progress of the last stored page.
      const lost = claim.signal.aborted || (err instanceof VigilError && err.code === "lease_lost");
      if (lost && !signal?.aborted) return;
      throw err;
    }
  } finally {
    await claim.release();
  }
}

async function runSlice(
  deps: BackfillDeps,
  job: BackfillJob,
  slice: BackfillSlice,
  progress: BackfillProgress,
  signal?: AbortSignal,
): Promise<void> {
  const base: AuditLogQuery = { limit: 100, ...(job.stream === "tenant" ? { tenant_only: true } : {}) };
  // The slice's own query, from its cursor if it has one, so an interrupted backfill reads exactly the pages an
  // uninterrupted one would (same boundaries: detection sees the same order).
  const query: AuditLogQuery = { ...base, effective_at: { gte: slice.startSecs, lte: slice.endSecs - 1 } };
  return walkSlice(deps, job, slice, progress, pagesFrom(deps.reader, query, slice.cursor, signal));
}

/** Stores the slice's pages, each with its progress. */
async function walkSlice(
  deps: BackfillDeps,
  job: BackfillJob,
  slice: BackfillSlice,
  progress: BackfillProgress,
  pages: AsyncIterable<AuditLogPage>,
): Promise<void> {
  let upperBound = slice.upperBoundSecs;
  let eventsRead = slice.eventsRead;
  for await (const page of pages) {
    const done = !page.has_more;
    // Progress for the bar (resumes go by cursor, or read the slice again whole): pages come newest first, and
    // the page's newest record bounds what is left, unless records were written late (see resume.ts).
    const before = upperBound;
    upperBound = done
      ? slice.startSecs
      : Math.min(upperBound, newestRecordSecs(page.data, slice.startSecs) ?? upperBound);
    eventsRead += page.data.length;
    const cursor = !done ? pageCursor(page) : null;
    const result = await storePage(deps, page.data, {
      sliceProgress: {
        jobId: job.id,
        sliceIndex: slice.sliceIndex,
        upperBoundSecs: upperBound,
        cursor,
        done,
        eventsRead,
      },
    });
    progress.eventsRead += page.data.length;
    progress.inserted += result.insertedIds.length;
    // The slice covers [start, end): seconds start..before are left to read; done reads them all.
    progress.secsDone += done ? before - slice.startSecs + 1 : before - upperBound;
    if (done) progress.slicesDone++;
    deps.onProgress?.({ ...progress });
    if (done) return;
  }
}

/** The newest effective_at of the page inside the slice (at or after `startSecs`); null if no record has one. */
function newestRecordSecs(items: readonly unknown[], startSecs: number): number | null {
  let newest: number | null = null;
  for (const item of items) {
    const at = (item as { effective_at?: unknown } | null)?.effective_at;
    if (typeof at === "number" && Number.isSafeInteger(at) && at >= startSecs && (newest === null || at > newest))
      newest = at;
  }
  return newest;
}
