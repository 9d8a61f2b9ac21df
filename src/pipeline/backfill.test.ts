import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeClock, forgettingCursors, sortedIds, storeWithSource } from "../../test/helpers.ts";
import { isTenantScoped } from "../core/event-types.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { startSimulator } from "../simulator/index.ts";
import { OpenAIAuditLogClient } from "../sources/openai/client.ts";
import type { BackfillSlice, PageWrite } from "../storage/ports.ts";
import { type BackfillProgress, planSlices, runBackfillJob, type SliceClaim, sliceCountFor } from "./backfill.ts";
import type { AuditLogReader } from "./reader.ts";

const normalizer = loadOpenAIAuditLogType();

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const NOW = T0 / 1000;
const DAY = 86_400;

describe("planSlices", () => {
  it("covers the range exactly once, newest slice first", () => {
    const slices = planSlices(1000, 1000 + 10 * DAY + 7, 16);
    assert.equal(slices.length, 16);
    const ordered = [...slices].reverse();
    assert.equal(ordered[0]!.startSecs, 1000);
    assert.equal(ordered.at(-1)!.endSecs, 1000 + 10 * DAY + 7);
    for (let i = 1; i < ordered.length; i++) assert.equal(ordered[i]!.startSecs, ordered[i - 1]!.endSecs);
    assert.ok(slices[0]!.startSecs > slices[1]!.startSecs, "newest first");
  });

  it("never makes empty slices", () => {
    assert.deepEqual(planSlices(10, 13, 16), [
      { startSecs: 12, endSecs: 13 },
      { startSecs: 11, endSecs: 12 },
      { startSecs: 10, endSecs: 11 },
    ]);
    assert.deepEqual(planSlices(10, 10, 4), []);
  });

  it("gives the pool enough slices to stay busy", () => {
    assert.equal(sliceCountFor(0, DAY, 4), 16);
    assert.equal(sliceCountFor(0, 90 * DAY, 4), 180);
  });
});

describe("runBackfillJob", () => {
  async function setup() {
    const clock = fakeClock(T0);
    const sim = await startSimulator({ seed: 21, clock, history: { days: 3, eventsPerDay: 3000, endSecs: NOW } });
    const { store, source } = await storeWithSource();
    const client = new OpenAIAuditLogClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.adminKey,
      initialDelayMs: 1,
      maxDelayMs: 10,
    });
    const since = NOW - 2 * DAY;
    const expected = sortedIds(
      sim.org
        .visibleEvents(NOW)
        .filter((e) => !isTenantScoped(e.type) && e.effective_at >= since && e.effective_at < NOW),
    );
    const job = await store.createBackfillJob(
      { sourceId: source.id, stream: "main" as const, sinceSecs: since, untilSecs: NOW },
      planSlices(since, NOW, 12),
    );
    return {
      clock,
      sim,
      store,
      source,
      client,
      job,
      expected,
      close: async () => {
        await sim.close();
        await store.close();
      },
    };
  }

  /** The pages one uninterrupted run of the same job reads (what interrupted runs must add up to). */
  async function pagesOfCleanRun(s: Awaited<ReturnType<typeof setup>>): Promise<number> {
    const clean = await storeWithSource();
    try {
      const job = await clean.store.createBackfillJob(
        { sourceId: clean.source.id, stream: "main", sinceSecs: s.job.sinceSecs, untilSecs: s.job.untilSecs },
        planSlices(s.job.sinceSecs, s.job.untilSecs, 12),
      );
      let pages = 0;
      const counting: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of s.client.pages(query, signal)) {
            pages++;
            yield page;
          }
        },
      };
      await runBackfillJob(
        { store: clean.store, reader: counting, source: clean.source, clock: s.clock, concurrency: 4, normalizer },
        job,
      );
      return pages;
    } finally {
      await clean.store.close();
    }
  }

  it("stores exactly the events of the range, in parallel, and reports full progress", async () => {
    const s = await setup();
    try {
      const seen: BackfillProgress[] = [];
      const result = await runBackfillJob(
        {
          store: s.store,
          reader: s.client,
          source: s.source,
          normalizer,
          clock: s.clock,
          concurrency: 4,
          onProgress: (p) => seen.push(p),
        },
        s.job,
      );
      assert.ok(s.expected.length > 4000);
      assert.deepEqual((await s.store.listEventIds(s.source.id)).sort(), s.expected);
      assert.equal(result.secsDone, result.secsTotal);
      assert.equal(result.slicesDone, 12);
      assert.equal(result.inserted, s.expected.length);
      assert.ok(seen.length > 12, "progress is reported page by page");
      assert.ok((await s.store.listBackfillJobs({ sourceId: s.source.id }))[0]!.done);
    } finally {
      await s.close();
    }
  });

  it("commits the pages of slices ready at the same time together, where the store groups commits", async () => {
    for (const groupCommits of [true, false]) {
      const s = await setup();
      try {
        const groups: number[] = [];
        const store = new Proxy(s.store, {
          get(target, key, receiver) {
            if (key === "groupCommits") return groupCommits;
            if (key === "applyPages") {
              return async (writes: readonly PageWrite[]) => {
                groups.push(writes.length);
                return target.applyPages(writes);
              };
            }
            return Reflect.get(target, key, receiver);
          },
        });
        // Each slice's pages are fetched first, then the first four slices start together: their pages are
        // ready at the same time.
        let started = 0;
        let open = () => {};
        const together = new Promise<void>((resolve) => {
          open = resolve;
        });
        const reader: AuditLogReader = {
          async *pages(query, signal) {
            const pages = [];
            for await (const page of s.client.pages(query, signal)) pages.push(page);
            if (++started === 4) open();
            await together;
            yield* pages;
          },
        };
        await runBackfillJob({ store, reader, source: s.source, normalizer, clock: s.clock, concurrency: 4 }, s.job);
        assert.deepEqual((await s.store.listEventIds(s.source.id)).sort(), s.expected);
        const slices = await s.store.getBackfillSlices(s.job.id);
        assert.ok(slices.every((sl) => sl.done && sl.eventsRead > 0));
        if (groupCommits) assert.ok(Math.max(...groups) > 1, `grouped: ${groups.join(" ")}`);
        else
          assert.ok(
            groups.every((n) => n === 1),
            "one page per transaction where the store does not group",
          );
      } finally {
        await s.close();
      }
    }
  });

  it("resumes an interrupted job where each slice stopped, storing every event once", async () => {
    const s = await setup();
    try {
      let pages = 0;
      const dying: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of s.client.pages(query, signal)) {
            if (++pages > 25) throw new Error("killed");
            yield page;
          }
        },
      };
      await assert.rejects(
        runBackfillJob(
          { store: s.store, reader: dying, source: s.source, clock: s.clock, concurrency: 4, normalizer },
          s.job,
        ),
        /killed/,
      );
      const stored = await s.store.countEvents({ sourceId: s.source.id });
      assert.ok(stored > 0 && stored < s.expected.length, "partial progress was kept");
      const slices = await s.store.getBackfillSlices(s.job.id);
      assert.ok(
        slices.some((sl) => sl.upperBoundSecs < sl.endSecs - 1),
        "slice progress was persisted",
      );

      let resumedPages = 0;
      const counting: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of s.client.pages(query, signal)) {
            resumedPages++;
            yield page;
          }
        },
      };
      await runBackfillJob(
        { store: s.store, reader: counting, source: s.source, clock: s.clock, concurrency: 4, normalizer },
        s.job,
      );
      assert.deepEqual((await s.store.listEventIds(s.source.id)).sort(), s.expected);
      // The slices resumed from their cursors: together the two runs read exactly the pages of one
      // uninterrupted run, with the same boundaries.
      assert.equal(25 + resumedPages, await pagesOfCleanRun(s), "no page was read twice");
    } finally {
      await s.close();
    }
  });

  /**
   * Stops a job after its first page of each slice, then resumes it against an API that no longer knows the
   * slices' cursors and answers them `refusal`'s way. `late`: each first page lists one record late, stamped near
   * its slice's start, among newer ones.
   */
  async function resumeWithRefusedCursors(
    refusal: "400" | "404" | "empty",
    late?: "among newer ones" | "last" | "the whole page",
  ) {
    const s = await setup();
    try {
      const slices = await s.store.getBackfillSlices(s.job.id);
      const startOf = (query: { effective_at?: { gte?: number } }) => query.effective_at?.gte ?? 0;
      const stopping: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of s.client.pages(query, signal)) {
            if (late && page.data.length > 2) {
              const lateAt =
                late === "the whole page" ? page.data.map((_, i) => i) : [late === "last" ? page.data.length - 1 : 1];
              for (const at of lateAt) {
                const record = page.data[at] as { effective_at: number };
                page.data[at] = { ...record, effective_at: startOf(query) + 3 };
              }
            }
            yield page;
            throw new Error("stopped");
          }
        },
      };
      await assert.rejects(
        runBackfillJob(
          { store: s.store, reader: stopping, source: s.source, clock: s.clock, concurrency: 4, normalizer },
          s.job,
        ),
        /stopped/,
      );
      assert.ok((await s.store.getBackfillSlices(s.job.id)).some((sl) => sl.cursor !== null && !sl.done));
      const forgetful = forgettingCursors(s.client, refusal);
      const result = await runBackfillJob(
        { store: s.store, reader: forgetful, source: s.source, clock: s.clock, concurrency: 4, normalizer },
        s.job,
      );
      assert.ok(result.complete);
      assert.equal(slices.length, 12);
      assert.deepEqual((await s.store.listEventIds(s.source.id)).sort(), s.expected);
    } finally {
      await s.close();
    }
  }

  it("resumes by time a slice whose cursor the API refuses with a 400", () => resumeWithRefusedCursors("400"));
  it("resumes by time a slice whose cursor the API refuses with a 404", () => resumeWithRefusedCursors("404"));
  it("resumes by time a slice whose cursor the API answers with an empty last page", () =>
    resumeWithRefusedCursors("empty"));
  it("resumes without skipping when a late record was listed among newer ones", () =>
    resumeWithRefusedCursors("400", "among newer ones"));
  it("resumes without skipping when a late record was listed last", () => resumeWithRefusedCursors("400", "last"));
  it("resumes without skipping when a whole page of late records was listed before older ones", () =>
    resumeWithRefusedCursors("400", "the whole page"));

  it("shares slices between runners by lease; a slice whose lease is lost stops and resumes elsewhere", async () => {
    const s = await setup();
    try {
      // The ledger's rule in miniature: a slice lease has one holder at a time.
      const holders = new Map<number, string>();
      const ran = new Map<string, number[]>();
      const lost = new AbortController();
      let firstEnd: number | undefined;
      let pagesRead = 0;
      const claimFor =
        (runner: string) =>
        async (slice: BackfillSlice): Promise<SliceClaim | null> => {
          if (holders.has(slice.sliceIndex)) return null;
          holders.set(slice.sliceIndex, runner);
          ran.set(runner, [...(ran.get(runner) ?? []), slice.sliceIndex]);
          if (runner === "a" && firstEnd === undefined) firstEnd = slice.endSecs;
          return {
            // Runner a's first slice loses its lease after a few pages.
            signal: runner === "a" && ran.get("a")?.length === 1 ? lost.signal : new AbortController().signal,
            release: async () => {
              holders.delete(slice.sliceIndex);
            },
          };
        };
      const readerOf = (runner: string): AuditLogReader => ({
        async *pages(query, signal) {
          for await (const page of s.client.pages(query, signal)) {
            pagesRead++;
            // Its lease is lost after its first page (not its last: the slice is left half done).
            if (runner === "a" && query.effective_at?.lte === (firstEnd ?? 0) - 1 && page.has_more) lost.abort();
            yield page;
          }
        },
      });
      const deps = (runner: string) => ({
        store: s.store,
        reader: readerOf(runner),
        source: s.source,
        normalizer,
        clock: s.clock,
        concurrency: 2,
        claimSlice: claimFor(runner),
      });
      const [a, b] = await Promise.all([runBackfillJob(deps("a"), s.job), runBackfillJob(deps("b"), s.job)]);
      assert.ok((ran.get("a") ?? []).length > 1 && (ran.get("b") ?? []).length > 1, "both runners ran slices");
      const first = ran.get("a")?.[0] as number;
      assert.ok(lost.signal.aborted);
      // The abandoned slice is taken again (by b if it had not passed it yet, else by a later run), from its
      // stored progress; every other slice ran once.
      const c = a.complete || b.complete ? null : await runBackfillJob(deps("c"), s.job);
      assert.ok(a.complete || b.complete || c?.complete, "the job completed");
      const claims = [...ran.values()].flat();
      assert.ok(claims.filter((i) => i === first).length >= 2, "the abandoned slice was taken again");
      // A slice claimed after another runner finished it is read again under the lease, found done and skipped,
      // and the abandoned one resumed from its cursor: together the runners read the pages of one clean run.
      assert.equal(pagesRead, await pagesOfCleanRun(s), "no page was read twice");
      assert.deepEqual((await s.store.listEventIds(s.source.id)).sort(), s.expected);
      assert.ok((await s.store.listBackfillJobs({ sourceId: s.source.id }))[0]!.done);
    } finally {
      await s.close();
    }
  });
});
