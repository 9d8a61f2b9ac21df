// The one line `vigil start` logs after each poll of a source. A new source spends its first hours in the
// history backfill, which runs beside the live polls; its reads are counted here too, so the line does not
// say "0 new events" while thousands of historical events are being stored.

import type { BackfillProgress } from "./backfill.ts";
import type { PollReport } from "./poller.ts";

/** What the backfill of one source read since the last summary, and how far its current job is. */
export interface BackfillTally {
  eventsRead: number;
  inserted: number;
  secsDone: number;
  secsTotal: number;
}

/**
 * Adds up a source's backfill progress between two poll summaries. Progress reports are cumulative per
 * job run, so each report adds only what it has beyond the previous report of the same job.
 */
export class BackfillCounter {
  private tally: BackfillTally | null = null;
  private readonly lastOfJob = new Map<number, BackfillProgress>();

  record(jobId: number, progress: BackfillProgress): void {
    const last = this.lastOfJob.get(jobId);
    // A job run that starts again (after a pause) counts from zero.
    const base = last && progress.eventsRead >= last.eventsRead ? last : { eventsRead: 0, inserted: 0 };
    this.lastOfJob.set(jobId, progress);
    const t = this.tally ?? { eventsRead: 0, inserted: 0, secsDone: 0, secsTotal: 0 };
    this.tally = {
      eventsRead: t.eventsRead + progress.eventsRead - base.eventsRead,
      inserted: t.inserted + progress.inserted - base.inserted,
      secsDone: progress.secsDone,
      secsTotal: progress.secsTotal,
    };
  }

  /** The tally since the last call (null: no backfill ran), and a fresh start for the next one. */
  take(): BackfillTally | null {
    const t = this.tally;
    this.tally = null;
    return t;
  }
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** "1 new event", "2 new events". */
function newEvents(n: number): string {
  return `${count(n)} new ${n === 1 ? "event" : "events"}`;
}

/** `Polled OpenAI: 3 new events (40 read); backfill 42% done: 5,100 new events (5,400 read) since the last poll.` */
export function pollSummary(sourceName: string, report: PollReport, backfill: BackfillTally | null): string {
  const read = report.streams.reduce((n, s) => n + s.eventsRead, 0);
  const inserted = report.streams.reduce((n, s) => n + s.inserted, 0);
  let line = `Polled ${sourceName}: ${newEvents(inserted)} (${count(read)} read)`;
  if (backfill) {
    const pct = backfill.secsTotal > 0 ? Math.floor((backfill.secsDone / backfill.secsTotal) * 100) : 100;
    line += `; backfill ${pct}% done: ${newEvents(backfill.inserted)} (${count(backfill.eventsRead)} read) since the last poll`;
  }
  return `${line}.`;
}

/** `Backfill of OpenAI is complete: 5,100 new events (5,400 read).` (the counts of this run: a resumed job's earlier runs are not in them). */
export function backfillCompleteLine(sourceName: string, run: BackfillTally | null): string {
  const counts = run ? `: ${newEvents(run.inserted)} (${count(run.eventsRead)} read)` : "";
  return `Backfill of ${sourceName} is complete${counts}.`;
}
