// Keeps every enabled source polled every poll_interval_secs, with exactly one poll in flight per
// source, and runs unfinished backfill jobs beside the live polls (history never delays live events).
// Sources added or removed while running are picked up by a periodic refresh. Stopping (the abort
// signal) interrupts in-flight requests; page writes are transactions, so a stop never half-applies one.
//
// In a fleet (several workers on one PostgreSQL database, src/fleet/), a source's loop runs only while this
// worker holds the source's lease: the coordinator starts it when the lease is taken and aborts it (mid-poll if
// need be) when the lease is lost or handed to another worker, so each source is polled, checked, correlated and
// snapshotted by one worker at a time. Backfill slices are shared: any worker runs any slice whose lease it takes.
// The delivery worker runs everywhere: its claims already give each delivery to one worker.

import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage, NotFoundError, retryAfterMsOf, VigilError } from "../core/errors.ts";
import { fenceOf, type LeaseFence } from "../core/fleet.ts";
import type { SourceRecord } from "../core/source.ts";
import type { FleetCoordinator } from "../fleet/coordinator.ts";
import { sliceLease, sourceLease, sourceOfLease } from "../fleet/lease-names.ts";
import type { SliceClaim } from "./backfill.ts";
import { BackfillCounter, backfillCompleteLine, pollSummary } from "./poll-summary.ts";
import { postureDue, runPosture } from "./posture.ts";
import {
  deliveryWorkerFor,
  pollerFor,
  type Runtime,
  retireDemoSource,
  runDerivedDetections,
  runHealthChecks,
  runPendingBackfills,
} from "./runtime.ts";

const REFRESH_MS = 15_000;
/** A server asking a source's polls to wait longer than this is taken at its word for this long only: a bad header
 * (a Retry-After of days) must not silence a source; its health alarm would be the only sign. */
const MAX_SERVER_WAIT_MS = 15 * 60_000;

/**
 * How long after a poll the next one starts: the rest of the poll interval; after a failure, at least as long as
 * the API asked to wait (a 429's Retry-After, which the client honours only up to its own bound between
 * attempts): asking again before then would only prolong the rate limiting.
 */
export function nextPollInMs(intervalMs: number, elapsedMs: number, failure: unknown): number {
  const serverWaitMs = Math.min(retryAfterMsOf(failure) ?? 0, MAX_SERVER_WAIT_MS);
  return Math.max(0, intervalMs - elapsedMs, serverWaitMs);
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof VigilError && err.code === "aborted");
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

export class PollScheduler {
  private readonly loops = new Map<string, Promise<void>>();
  /** Per source: what its backfill read since the last poll summary. */
  private readonly backfillCounters = new Map<string, BackfillCounter>();

  /**
   * `fleet`: this worker's coordinator in a fleet (fleet/coordinator.ts fleetFor); absent, it does all the work.
   * `options.delivery`: overrides of the delivery worker's timings (tests shorten its leases).
   */
  constructor(
    private readonly runtime: Runtime,
    private readonly fleet: FleetCoordinator | null = null,
    private readonly options: { delivery?: Parameters<typeof deliveryWorkerFor>[1] } = {},
  ) {}

  /** Runs until the signal aborts; resolves once every loop has finished its current step. */
  async run(signal: AbortSignal): Promise<void> {
    // Load the rules before polling: a missing python3 stops start-up with its reason; a rule file that cannot load
    // is said with its reason, and the other rules run.
    await this.runtime.detection();
    // Alert delivery runs beside the polls: a slow destination never delays collection.
    const delivery = deliveryWorkerFor(this.runtime, this.options.delivery).run(signal);
    const fleet = this.fleet;
    let backfills: Promise<void> | undefined;
    if (fleet) {
      // Before any source is shared: a demo source beside a real one is removed, never polled.
      await this.retireDemo();
      fleet.setShare({
        items: async () =>
          (await this.runtime.store.listSources()).filter((s) => s.enabled).map((s) => sourceLease(s.id)),
        work: (name, leaseSignal) => this.ownedSourceLoop(name, leaseSignal),
      });
      fleet.start();
      backfills = this.fleetBackfills(fleet, signal);
    }
    while (!signal.aborted) {
      // Before the loops start: a demo source beside a real one is removed, never polled. Safe on every worker
      // at once: removing a source twice removes it once.
      await this.retireDemo();
      let sources: SourceRecord[] = [];
      try {
        sources = await this.runtime.store.listSources();
      } catch (err) {
        // The database is unreachable (or failing): keep running and look again at the next refresh; the loops
        // and the fleet's heartbeats retry on their own, and nothing is written until it answers.
        if (isAbort(err, signal)) break;
        this.runtime.logger.warn(`Reading the sources failed (tried again in a moment): ${errorMessage(err)}`);
      }
      for (const source of sources) {
        if (fleet) {
          // The source's owner checks it; the others leave it alone.
          if (fleet.owns(sourceLease(source.id))) await runHealthChecks(this.runtime, source);
          continue;
        }
        if (source.enabled && !this.loops.has(source.id)) {
          const loop = this.sourceLoop(source, signal).finally(() => this.loops.delete(source.id));
          this.loops.set(source.id, loop);
        }
        // Every refresh too, not only after polls: a poll that hangs must not hide a silent source.
        await runHealthChecks(this.runtime, source);
      }
      await pause(REFRESH_MS, signal);
    }
    await Promise.allSettled([...this.loops.values(), delivery, ...(backfills ? [backfills] : [])]);
  }

  /** A fleet worker's loop of a source whose lease it holds, until the lease's signal fires. */
  private async ownedSourceLoop(name: string, leaseSignal: AbortSignal): Promise<void> {
    const sourceId = sourceOfLease(name);
    if (sourceId === null) return;
    const source = await this.runtime.store.getSource(sourceId);
    if (!source?.enabled) return;
    // Backfills are shared slice by slice across the fleet (fleetBackfills), not run by the source's owner. Pages
    // are written under the lease: a worker that kept polling past its lease (frozen, starved) writes nothing.
    const fence = this.fleet ? fenceOf(this.fleet.identity, name) : undefined;
    await this.sourceLoop(source, leaseSignal, { backfill: false, ...(fence ? { fence } : {}) });
  }

  /**
   * Fleet mode: every worker takes the backfill slices it can claim. As in one process, each source with pending
   * jobs has its own backfill step beside the others; its slices go to whichever workers claim them, so several
   * workers share one job and a dead worker's slice resumes elsewhere once its lease expires.
   */
  private async fleetBackfills(fleet: FleetCoordinator, signal: AbortSignal): Promise<void> {
    const claimSlice = async (slice: { jobId: number; sliceIndex: number }): Promise<SliceClaim | null> =>
      fleet.claimOnce(sliceLease(slice.jobId, slice.sliceIndex));
    const steps = new Map<string, Promise<void>>();
    while (!signal.aborted) {
      try {
        // One query for the fleet's pending jobs, not one per source.
        const pending = new Set(
          (await this.runtime.store.listBackfillJobs({ pendingOnly: true })).map((j) => j.sourceId),
        );
        for (const sourceId of pending) {
          if (steps.has(sourceId) || signal.aborted) continue;
          const source = await this.runtime.store.getSource(sourceId);
          if (!source?.enabled) continue;
          steps.set(
            sourceId,
            this.backfillStep(source, signal, claimSlice).finally(() => steps.delete(sourceId)),
          );
        }
      } catch (err) {
        if (!isAbort(err, signal)) this.runtime.logger.warn(`Looking for backfill work failed: ${errorMessage(err)}`);
      }
      await pause(fleet.heartbeatMs, signal);
    }
    await Promise.allSettled(steps.values());
  }

  private async retireDemo(): Promise<void> {
    try {
      await retireDemoSource(this.runtime);
    } catch (err) {
      // Another worker of the fleet removed it first: done.
      if (err instanceof NotFoundError) return;
      this.runtime.logger.warn(`Removing the demo source failed (tried again in a moment): ${errorMessage(err)}`);
    }
  }

  private async sourceLoop(
    initial: SourceRecord,
    signal: AbortSignal,
    options: { backfill: boolean; fence?: LeaseFence } = { backfill: true },
  ): Promise<void> {
    const { logger, store, clock } = this.runtime;
    let backfill: Promise<void> | null = null;
    let posture: Promise<void> | null = null;
    while (!signal.aborted) {
      // Re-read each time: settings may change, and a removed or disabled source stops here.
      let source: SourceRecord | null;
      try {
        source = await store.getSource(initial.id);
      } catch (err) {
        // The database is unreachable: wait and read again rather than end the loop (nothing was fetched).
        if (isAbort(err, signal)) break;
        logger.warn({ source: initial.name }, `Reading source ${initial.name} failed: ${errorMessage(err)}`);
        await pause(REFRESH_MS, signal);
        continue;
      }
      if (!source?.enabled) break;
      const started = clock.nowMs();
      let failure: unknown = null;
      // Shutdown, or another worker holds the source now (this one's heartbeat will notice): stop quietly.
      const stops = (err: unknown) => isAbort(err, signal) || (err instanceof VigilError && err.code === "lease_lost");
      try {
        const poller = await pollerFor(this.runtime, source, options.fence);
        const report = await poller.pollOnce(signal);
        const inserted = report.streams.reduce((n, s) => n + s.inserted, 0);
        const backfill = this.backfillCounter(source.id).take();
        logger.info(
          { source: source.name, inserted, ...(backfill ? { backfill } : {}) },
          pollSummary(source.name, report, backfill),
        );
      } catch (err) {
        if (stops(err)) break;
        const level = err instanceof VigilError && !err.retryable ? "error" : "warn";
        logger[level]({ source: source.name }, `Polling ${source.name} failed: ${errorMessage(err)}`);
        failure = err;
      }
      // Correlation and scheduled rules read what is stored, whatever this poll's outcome: a stream that keeps
      // failing (tenant events the key may not read) must not hold back the alerts of what the other stored.
      try {
        await runDerivedDetections(this.runtime, source, signal);
      } catch (err) {
        if (stops(err)) break;
        logger.warn(
          { source: source.name },
          `Correlation or scheduled rules of ${source.name} failed: ${errorMessage(err)}`,
        );
        failure ??= err;
      }
      await runHealthChecks(this.runtime, source);
      if (options.backfill) {
        backfill ??= this.backfillStep(source, signal).finally(() => {
          backfill = null;
        });
      }
      // Snapshots run beside the polls, like backfills: a slow inventory never delays live events.
      posture ??= this.postureStep(source, signal).finally(() => {
        posture = null;
      });
      await pause(nextPollInMs(source.pollIntervalSecs * 1000, clock.nowMs() - started, failure), signal);
    }
    if (backfill) await backfill;
    if (posture) await posture;
  }

  private async postureStep(source: SourceRecord, signal: AbortSignal): Promise<void> {
    try {
      if (!(await postureDue(this.runtime.store, source, this.runtime.clock.nowMs()))) return;
      const report = await runPosture(this.runtime, source, signal);
      this.runtime.logger.info(
        { source: source.name, objects: report.objects, findings: report.findings.length },
        `Snapshot of ${source.name}: ${report.objects} objects, ${report.changes ?? 0} changes, ${report.findings.length} findings.`,
      );
    } catch (err) {
      if (isAbort(err, signal)) return;
      // Another run stored its snapshot first (a worker that held the source before this one): nothing is lost.
      const level = err instanceof VigilError && err.code === "posture_snapshot_conflict" ? "info" : "warn";
      this.runtime.logger[level](
        { source: source.name },
        `Inventory snapshot of ${source.name} failed: ${errorMessage(err)}`,
      );
    }
  }

  private backfillCounter(sourceId: string): BackfillCounter {
    let counter = this.backfillCounters.get(sourceId);
    if (!counter) {
      counter = new BackfillCounter();
      this.backfillCounters.set(sourceId, counter);
    }
    return counter;
  }

  private async backfillStep(
    source: SourceRecord,
    signal: AbortSignal,
    claimSlice?: (slice: { jobId: number; sliceIndex: number }) => Promise<SliceClaim | null>,
  ): Promise<void> {
    const sincePoll = this.backfillCounter(source.id);
    // This run's own total, for the line that says the backfill is complete.
    const thisRun = new BackfillCounter();
    try {
      const ran = await runPendingBackfills(this.runtime, source, {
        signal,
        ...(claimSlice ? { claimSlice } : {}),
        onProgress: (jobId, progress) => {
          sincePoll.record(jobId, progress);
          thisRun.record(jobId, progress);
        },
      });
      if (ran > 0) {
        const total = thisRun.take();
        this.runtime.logger.info(
          { source: source.name, ...(total ? { backfill: total } : {}) },
          backfillCompleteLine(source.name, total),
        );
      }
    } catch (err) {
      if (!isAbort(err, signal)) {
        this.runtime.logger.warn({ source: source.name }, `Backfill of ${source.name} paused: ${errorMessage(err)}`);
      }
    }
  }
}
