// Polls one source. Each poll reads, per stream, the window from `checkpoint − overlap` to now, walking
// the pages newest first, storing each page in its own transaction (re-read events are ignored by id) with
// the stream's state: the page that completes the window moves the checkpoint to its end; a page before it
// records the window as owed from that page's cursor (OwedWindow), and the next poll reads it on from there
// before its own. A crash at any point resumes from what the last stored page wrote; nothing is lost, nothing
// is stored twice, and a window longer than the API lets one poll read still ends.
//
// Late events are found by re-reading, in tiers, and every tier is the same window starting earlier, so
// re-reading is not a second mechanism: each poll re-reads `overlap` before the checkpoint; the first poll
// of every 5-minute slot of the clock re-reads 70 minutes before the checkpoint (RECENT_REREAD: up to 1 hour
// late, stored within 5 minutes); when the sweep is due (hourly), the last `sweep window` (25 hours: up to 24
// hours late, stored within the hour), reaching further back after polls failed for longer (sweepStart). The
// recent tier needs no state: a poll is the first of its slot when the previous poll (the checkpoint) ended in
// an earlier slot. A source without a checkpoint hands its history (backfill_days) to a backfill job and polls
// live from "now".

import { RECENT_REREAD } from "../config/source-defaults.ts";
import { type AuditLogQuery, pageCursor } from "../core/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import { unixSeconds } from "../core/clock.ts";
import { errorMessage, retryAfterMsOf, VigilError } from "../core/errors.ts";
import type { LeaseFence } from "../core/fleet.ts";
import type { OwedWindow, SourceRecord, SourceSettings, StreamName } from "../core/source.ts";
import type { Logger } from "../logging/logger.ts";
import type { Store } from "../storage/ports.ts";
import { planSlices } from "./backfill.ts";
import type { RecordNormalizer } from "./page-records.ts";
import { type Detector, storePage, warnNewEventTypes } from "./page-writer.ts";
import type { AuditLogReader } from "./reader.ts";
import { pagesFrom } from "./resume.ts";

export interface PollerDeps {
  store: Store;
  reader: AuditLogReader;
  source: SourceRecord;
  clock: Clock;
  logger: Logger;
  normalizer: RecordNormalizer;
  detector?: Detector;
  /** Slices per initial backfill job (history of a new source). */
  backfillSlices?: number;
  /** Fleet mode: the source's lease, which every page is written under. */
  fence?: LeaseFence;
}

export interface StreamPollReport {
  stream: StreamName;
  windowStartSecs: number;
  windowEndSecs: number;
  swept: boolean;
  /** Whether this poll re-read the recent tier (the last RECENT_REREAD.windowSecs). */
  rereadRecent: boolean;
  pages: number;
  eventsRead: number;
  inserted: number;
  duplicates: number;
  quarantined: number;
  newUnknownTypes: string[];
  /**
   * The window an earlier poll stopped in, which this poll read to its end before its own; its pages and events
   * are counted above.
   */
  owedRead?: { startSecs: number; endSecs: number };
  /** Set when this poll handed the source's history to a backfill job. */
  backfillJobId?: number;
}

export interface PollReport {
  sourceId: string;
  streams: StreamPollReport[];
}

export function streamsOf(source: SourceRecord): StreamName[] {
  return source.includeTenantEvents ? ["main", "tenant"] : ["main"];
}

/**
 * Where a due sweep starts reading. A sweep promises the events up to `sweepWindowSecs − sweepIntervalSecs` late
 * (24 hours by default). Each one reads its window back from now, and the next is due an interval later, so it
 * covers what became visible since the last one. A sweep due long after the last one (polls failed for hours)
 * reads back from where the last one stood: an event visible meanwhile is at most that late, and it may be
 * older than this sweep's window from now. `lastSweepSecs`: null when unknown or not to be trusted (a clock
 * set back), and then the window from now is all there is to read.
 */
export function sweepStart(
  settings: Pick<SourceSettings, "sweepWindowSecs" | "sweepIntervalSecs">,
  nowSecs: number,
  lastSweepSecs: number | null,
): number {
  const fromNow = nowSecs - settings.sweepWindowSecs;
  if (lastSweepSecs === null || settings.sweepWindowSecs === 0) return fromNow;
  return Math.min(fromNow, lastSweepSecs + settings.sweepIntervalSecs - settings.sweepWindowSecs);
}

/** What reading one window tells: a stream's report but for which kinds of window the poll read. */
type WindowReport = Omit<StreamPollReport, "swept" | "rereadRecent">;

export class SourcePoller {
  private readonly deps: PollerDeps;

  constructor(deps: PollerDeps) {
    this.deps = deps;
  }

  /** One complete poll of every stream of the source; records the outcome in the poll status. */
  async pollOnce(signal?: AbortSignal): Promise<PollReport> {
    const { store, source, clock } = this.deps;
    await store.recordPollStart(source.id, clock.nowMs());
    try {
      const streams: StreamPollReport[] = [];
      // Each stream is polled whatever the other's outcome: tenant events the key may not read must not stop the
      // organization's own, nor the other way round. The poll fails with the first failure.
      let failure: { err: unknown } | undefined;
      for (const stream of streamsOf(source)) {
        try {
          streams.push(await this.pollStream(stream, signal));
        } catch (err) {
          if (signal?.aborted) throw err;
          const said = stream === "tenant" ? tenantStreamError(err) : err;
          // The first failure, unless a later one carries how long the API asked to wait: the next poll needs it.
          if (failure === undefined || (retryAfterMsOf(said) !== null && retryAfterMsOf(failure.err) === null))
            failure = { err: said };
          // Rate-limited: the organization's API wants no request for a while, whichever stream asks.
          if (retryAfterMsOf(err) !== null) break;
        }
      }
      if (failure) throw failure.err;
      await store.recordPollResult(source.id, { atMs: clock.nowMs(), ok: true });
      return { sourceId: source.id, streams };
    } catch (err) {
      // Stopped (shutdown, or the lease went to another worker): not a failure of the source. Recording one would
      // count towards its "polls failing" alarm at every restart.
      if (signal?.aborted) throw err;
      const code = err instanceof VigilError ? err.code : "unexpected";
      await store.recordPollResult(source.id, {
        atMs: clock.nowMs(),
        ok: false,
        error: errorMessage(err),
        errorCode: code,
      });
      throw err;
    }
  }

  private async pollStream(stream: StreamName, signal?: AbortSignal): Promise<StreamPollReport> {
    const { store, source, clock } = this.deps;
    const now = unixSeconds(clock);
    const state = await store.getStreamState(source.id, stream);
    let backfillJobId: number | undefined;
    let checkpoint = state.checkpointSecs;
    if (checkpoint === null) {
      // A new source: its history goes to a resumable, parallel backfill; live polling starts now.
      const since = now - source.backfillDays * 86_400;
      const job = await store.createBackfillJob(
        { sourceId: source.id, stream, sinceSecs: since, untilSecs: now, initialCheckpointSecs: now },
        planSlices(since, now, this.deps.backfillSlices ?? 16),
      );
      backfillJobId = job.id;
      checkpoint = (await store.getStreamState(source.id, stream)).checkpointSecs ?? now;
      this.deps.logger.info(
        { source: source.name, stream, jobId: job.id },
        // A source with tenant events has two streams, each with its own job: say which one this is.
        `Source ${source.name} is new: its last ${source.backfillDays} days${stream === "tenant" ? " of tenant events" : ""} go to backfill job ${job.id}.`,
      );
    }
    // The sweep's clock starts with the source: a new source's history is covered by its backfill.
    let lastSweep = state.lastSweepSecs ?? (backfillJobId !== undefined ? now : null);
    // A window an earlier poll stopped in is read to its end first, from its cursor: its last page moves the
    // checkpoint to its end, as if that poll had ended it. Only then is the next window read from there. Reading
    // the new window first would be quicker for new events, but a new window that could not end either (it grows
    // with every poll that fails) would then keep the owed one from ever being read.
    const owed = state.owedWindow;
    let resumed: WindowReport | null = null;
    if (owed !== null) {
      resumed = await this.readWindow(stream, owed, lastSweep, signal);
      checkpoint = owed.endSecs;
      if (owed.sweep) lastSweep = owed.endSecs;
    }
    // A checkpoint or sweep later than now was written by a clock that ran ahead and has been set back: the windows
    // it started may have passed over events the API did not show yet, so the sweep reads them again now (and
    // the window starts from now, not from the checkpoint, which would ask the API for an empty, inverted range).
    const clockSetBack = checkpoint > now || (lastSweep !== null && lastSweep > now);
    const sweepDue = lastSweep === null || now - lastSweep >= source.sweepIntervalSecs || clockSetBack;
    const slot = (secs: number) => Math.floor(secs / RECENT_REREAD.intervalSecs);
    const recentDue = slot(now) > slot(checkpoint);
    const lastRead = Math.min(checkpoint, now);
    let windowStart = lastRead - source.overlapSecs;
    // Each tier re-reads back from where the last poll (or sweep) stood, not from now: after polls that failed
    // for a while (an outage, Vigil down, an owed window read for hours), a tier counted back from now would pass
    // over events that became visible meanwhile, late by less than the tier promises, and no later read would
    // reach back to them. Polled on time, the two starts are the same within a poll interval.
    if (recentDue)
      windowStart = Math.min(windowStart, lastRead - Math.min(RECENT_REREAD.windowSecs, source.sweepWindowSecs));
    // No sweep yet (a new source whose first polls failed): its checkpoint is where its sweeps' clock started.
    if (sweepDue)
      windowStart = Math.min(windowStart, sweepStart(source, now, clockSetBack ? null : (lastSweep ?? checkpoint)));
    const window: OwedWindow = { startSecs: windowStart, endSecs: now, cursor: null, sweep: sweepDue };
    const report = await this.readWindow(stream, window, lastSweep, signal);
    if (resumed !== null) {
      report.pages += resumed.pages;
      report.eventsRead += resumed.eventsRead;
      report.inserted += resumed.inserted;
      report.duplicates += resumed.duplicates;
      report.quarantined += resumed.quarantined;
      report.newUnknownTypes.unshift(...resumed.newUnknownTypes);
    }
    return {
      ...report,
      swept: sweepDue,
      rereadRecent: recentDue,
      ...(owed !== null ? { owedRead: { startSecs: owed.startSecs, endSecs: owed.endSecs } } : {}),
      ...(backfillJobId !== undefined ? { backfillJobId } : {}),
    };
  }

  /**
   * Reads a window page by page, from its cursor if it has one. Each page but the last is stored with the window
   * as owed from that page's cursor; the last moves the checkpoint to the window's end (and the last sweep, if it
   * is a sweep; else it keeps `lastSweep`) and clears what was owed.
   */
  private async readWindow(
    stream: StreamName,
    window: OwedWindow,
    lastSweep: number | null,
    signal: AbortSignal | undefined,
  ): Promise<WindowReport> {
    const { source, reader, clock } = this.deps;
    const report: WindowReport = {
      stream,
      windowStartSecs: window.startSecs,
      windowEndSecs: window.endSecs,
      pages: 0,
      eventsRead: 0,
      inserted: 0,
      duplicates: 0,
      quarantined: 0,
      newUnknownTypes: [],
    };
    const query: AuditLogQuery = {
      effective_at: { gte: Math.max(0, window.startSecs), lte: window.endSecs },
      limit: 100,
      ...(stream === "tenant" ? { tenant_only: true } : {}),
    };
    const sweptAt = window.sweep ? window.endSecs : lastSweep;
    for await (const page of pagesFrom(reader, query, window.cursor, signal)) {
      const last = !page.has_more;
      const result = await storePage(this.deps, page.data, {
        streamUpdate: last
          ? {
              stream,
              checkpointSecs: window.endSecs,
              ...(sweptAt !== null ? { lastSweepSecs: sweptAt } : {}),
              owedWindow: null,
            }
          : { stream, owedWindow: { ...window, cursor: pageCursor(page) } },
      });
      if (report.pages === 0) warnIfClockAhead(unixSeconds(clock), page.serverTimeSecs, source.name, this.deps);
      report.pages++;
      report.eventsRead += page.data.length;
      report.inserted += result.insertedIds.length;
      report.duplicates += result.duplicates;
      report.quarantined += result.quarantined;
      report.newUnknownTypes.push(...result.newUnknownTypes);
      warnNewEventTypes(this.deps.logger, source.name, result.newUnknownTypes);
      if (last) return report;
    }
    // The reader ended without a page saying has_more=false: the window is not complete.
    throw new VigilError(
      "window_incomplete",
      `The poll of ${source.name} ended before the last page of its window; the next poll reads the rest.`,
      { retryable: true },
    );
  }
}

/**
 * A failure of the tenant stream, said as one: its refusal is not the key failing (the organization's own events
 * may well be read), so it does not count as an authentication failure, and the message says what to change.
 */
function tenantStreamError(err: unknown): unknown {
  if (!(err instanceof VigilError)) return err;
  const refused = err.code.startsWith("openai_auth_");
  return new VigilError(
    refused ? "openai_tenant_refused" : err.code,
    `Tenant events (tenant_only=true): ${err.message}` +
      (refused
        ? " The source reads tenant events because of its include-tenant-events setting; turn that off in the " +
          "source's settings if this key is not meant to read them."
        : ""),
    { retryable: err.retryable, cause: err, retryAfterMs: err.retryAfterMs },
  );
}

/** When each source last warned that this machine's clock runs ahead of the API's (at most once an hour each). */
const skewWarnedAt = new Map<string, number>();

/**
 * Says (once an hour per source) that this machine's clock runs ahead of the API's (the first page's Date header)
 * by more than SKEW_WARN_SECS. Checkpoints are this machine's time: one ahead by more than the overlap starts the
 * next window after events the API had not yet written, and they wait for the recent re-read (up to an hour).
 * Delivery retries and backfill ranges use this clock too. Keeping NTP on is the fix; this says it is needed.
 */
export function warnIfClockAhead(
  localSecs: number,
  serverSecs: number | undefined,
  sourceName: string,
  deps: Pick<PollerDeps, "logger" | "clock">,
): void {
  if (serverSecs === undefined || localSecs - serverSecs <= SKEW_WARN_SECS) return;
  const nowMs = deps.clock.nowMs();
  if (nowMs - (skewWarnedAt.get(sourceName) ?? Number.NEGATIVE_INFINITY) <= 3_600_000) return;
  skewWarnedAt.set(sourceName, nowMs);
  const aheadSecs = localSecs - serverSecs;
  deps.logger.warn(
    { source: sourceName, aheadSecs },
    `This machine's clock is ${aheadSecs} s ahead of the OpenAI API's: events of ${sourceName} may be read up to an ` +
      "hour late (its checkpoints follow this clock). Keep NTP on.",
  );
}

/** More than this ahead of the API is worth saying (its Date header counts whole seconds, and the request took some). */
const SKEW_WARN_SECS = 10;
