import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BackfillProgress } from "./backfill.ts";
import { BackfillCounter, backfillCompleteLine, pollSummary } from "./poll-summary.ts";
import type { PollReport, StreamPollReport } from "./poller.ts";

function report(eventsRead: number, inserted: number): PollReport {
  const stream = { stream: "main", eventsRead, inserted } as StreamPollReport;
  return { sourceId: "s", streams: [stream] };
}

function progress(eventsRead: number, inserted: number, secsDone: number): BackfillProgress {
  return { eventsRead, inserted, secsDone, secsTotal: 1000, slicesDone: 0, slicesTotal: 4 };
}

describe("poll summary", () => {
  it("counts the live poll alone when no backfill ran", () => {
    assert.equal(pollSummary("OpenAI", report(40, 3), null), "Polled OpenAI: 3 new events (40 read).");
    assert.equal(pollSummary("OpenAI", report(1, 1), null), "Polled OpenAI: 1 new event (1 read).");
  });

  it("adds what the backfill read since the last summary, across job runs, then starts again", () => {
    const counter = new BackfillCounter();
    counter.record(1, progress(0, 0, 0));
    counter.record(1, progress(2000, 1900, 200));
    counter.record(1, progress(5400, 5100, 420));
    assert.equal(
      pollSummary("OpenAI", report(0, 0), counter.take()),
      "Polled OpenAI: 0 new events (0 read); backfill 42% done: 5,100 new events (5,400 read) since the last poll.",
    );
    assert.equal(counter.take(), null);
    counter.record(1, progress(6400, 6000, 500));
    // The job resumes after a pause: its run counts from zero again.
    counter.record(1, progress(0, 0, 500));
    counter.record(1, progress(100, 50, 600));
    assert.deepEqual(counter.take(), { eventsRead: 1100, inserted: 950, secsDone: 600, secsTotal: 1000 });
  });

  it("says what a completed backfill run stored", () => {
    const run = { eventsRead: 1216, inserted: 1214, secsDone: 1000, secsTotal: 1000 };
    assert.equal(backfillCompleteLine("OpenAI", run), "Backfill of OpenAI is complete: 1,214 new events (1,216 read).");
    assert.equal(backfillCompleteLine("OpenAI", null), "Backfill of OpenAI is complete.");
  });
});
