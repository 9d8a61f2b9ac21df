// The poller against the simulator over loopback HTTP, with the real client and the SQLite store.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  capturingLogger,
  type FakeClock,
  fakeClock,
  forgettingCursors,
  sortedIds,
  storeWithSource,
} from "../../test/helpers.ts";
import type { RawAuditLog } from "../core/audit-log.ts";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import { isTenantScoped } from "../core/event-types.ts";
import type { SourceRecord } from "../core/source.ts";
import { silentLogger } from "../logging/logger.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "../simulator/index.ts";
import { OpenAIAuditLogClient } from "../sources/openai/client.ts";
import { authError } from "../sources/openai/errors.ts";
import type { Store } from "../storage/ports.ts";
import { runBackfillJob } from "./backfill.ts";
import { SourcePoller, warnIfClockAhead } from "./poller.ts";
import type { AuditLogReader } from "./reader.ts";

const normalizer = loadOpenAIAuditLogType();

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const DAY = 86_400;

interface Harness {
  sim: RunningSimulator;
  store: Store;
  source: SourceRecord;
  clock: FakeClock;
  client: OpenAIAuditLogClient;
  poller: SourcePoller;
  close(): Promise<void>;
}

async function harness(
  simOptions: SimulatorOptions,
  sourceOverrides: Partial<SourceRecord> = {},
  apiKey?: string,
): Promise<Harness> {
  const clock = fakeClock(T0);
  const sim = await startSimulator({ clock, ...simOptions });
  const { store, source } = await storeWithSource({ backfillDays: 2, ...sourceOverrides });
  const client = new OpenAIAuditLogClient({
    baseUrl: sim.baseUrl,
    apiKey: apiKey ?? sim.adminKey,
    timeoutMs: 500,
    initialDelayMs: 1,
    maxDelayMs: 20,
    maxAttempts: 30,
  });
  const poller = new SourcePoller({ store, reader: client, source, clock, logger: silentLogger, normalizer });
  return {
    sim,
    store,
    source,
    clock,
    client,
    poller,
    close: async () => {
      await sim.close();
      await store.close();
    },
  };
}

function visibleMain(sim: RunningSimulator, nowSecs: number): RawAuditLog[] {
  return sim.org.visibleEvents(nowSecs).filter((e) => !isTenantScoped(e.type));
}

function pollerDeps(h: Harness) {
  return { store: h.store, reader: h.client, source: h.source, clock: h.clock, logger: silentLogger, normalizer };
}

/** The first poll of a new source plus its history backfill: everything visible ends up stored once. */
async function pollAndBackfill(h: Harness): Promise<void> {
  await h.poller.pollOnce();
  for (const job of await h.store.listBackfillJobs({ sourceId: h.source.id, pendingOnly: true })) {
    await runBackfillJob(
      { store: h.store, reader: h.client, source: h.source, clock: h.clock, concurrency: 4, normalizer },
      job,
    );
  }
}

describe("poller", () => {
  it("stores every event of a long history exactly once across many pages", async () => {
    const h = await harness({ seed: 11, history: { days: 2, eventsPerDay: 3000, endSecs: T0 / 1000 } });
    try {
      await pollAndBackfill(h);
      const expected = sortedIds(visibleMain(h.sim, T0 / 1000));
      assert.ok(expected.length > 5000, "the history spans many pages");
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), expected);
      const state = await h.store.getStreamState(h.source.id, "main");
      assert.equal(state.checkpointSecs, T0 / 1000);
      // A second poll re-reads the overlap and stores nothing twice.
      const report = await h.poller.pollOnce();
      assert.equal(report.streams[0]!.inserted, 0);
      assert.ok(report.streams[0]!.duplicates > 0);
      assert.equal(await h.store.countEvents({ sourceId: h.source.id }), expected.length);
    } finally {
      await h.close();
    }
  });

  it("reads a same-second burst larger than a page completely", async () => {
    const burstAt = T0 / 1000 - 30;
    const h = await harness({
      seed: 12,
      history: { days: 0.01, eventsPerDay: 100, endSecs: T0 / 1000 - 3600 },
      bursts: [{ atSecs: burstAt, count: 450 }],
    });
    try {
      await h.store.createBackfillJob(
        {
          sourceId: h.source.id,
          stream: "main",
          sinceSecs: T0 / 1000 - DAY,
          untilSecs: T0 / 1000 - 300,
          initialCheckpointSecs: T0 / 1000 - 300,
        },
        [],
      );
      await h.poller.pollOnce();
      const inBurst = visibleMain(h.sim, T0 / 1000).filter((e) => e.effective_at === burstAt);
      assert.ok(inBurst.length > 300, "the burst is several pages long");
      const stored = await h.store.searchEvents({
        sourceId: h.source.id,
        sinceSecs: burstAt,
        untilSecs: burstAt + 1,
        limit: 10_000,
      });
      assert.deepEqual(sortedIds(stored), sortedIds(inBurst));
    } finally {
      await h.close();
    }
  });

  it("picks up a late event inside the overlap on the next poll, and one older than the overlap in the sweep", async () => {
    const h = await harness({ seed: 13, history: { days: 0.5, eventsPerDay: 500, endSecs: T0 / 1000 } });
    try {
      await pollAndBackfill(h);
      const template = visibleMain(h.sim, T0 / 1000)[0]!;
      const now = T0 / 1000;
      const inOverlap = { ...template, id: "audit_log-LATEoverlap000000000000001", effective_at: now - 120 };
      const inSweep = { ...template, id: "audit_log-LATEsweep00000000000000001", effective_at: now - 3 * 3600 };
      h.sim.org.addEvents([inOverlap, inSweep], { visibleAtSecs: now + 30 });
      h.clock.advance(60_000);
      await h.poller.pollOnce();
      const ids = new Set(await h.store.listEventIds(h.source.id));
      assert.ok(ids.has(inOverlap.id), "the overlap re-read finds the late event");
      assert.ok(!ids.has(inSweep.id), "an event older than the overlap waits for the sweep");
      h.clock.advance(3600_000);
      const report = await h.poller.pollOnce();
      assert.equal(report.streams[0]!.swept, true);
      assert.ok((await h.store.listEventIds(h.source.id)).includes(inSweep.id), "the hourly sweep finds it");
    } finally {
      await h.close();
    }
  });

  it("completes the window despite 429, 5xx, timeouts, resets and truncated bodies", async () => {
    const h = await harness({
      seed: 14,
      history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 },
      faults: {
        rateLimitProbability: 0.1,
        retryAfter: 1,
        serverErrorProbability: 0.1,
        hangProbability: 0.03,
        resetProbability: 0.05,
        truncateProbability: 0.1,
      },
    });
    try {
      await pollAndBackfill(h);
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), sortedIds(visibleMain(h.sim, T0 / 1000)));
      const faults = h.sim.stats().faultsInjected;
      const injected = Object.values(faults).reduce((a, b) => a + b, 0);
      assert.ok(injected >= 10, `faults were injected (${JSON.stringify(faults)})`);
    } finally {
      await h.close();
    }
  });

  it("stores unknown event types and records each type once", async () => {
    const h = await harness({
      seed: 15,
      history: { days: 1, eventsPerDay: 1500, endSecs: T0 / 1000 },
      faults: { unknownTypeProbability: 0.05 },
    });
    try {
      await pollAndBackfill(h);
      const unknown = await h.store.listUnknownTypes(h.source.id);
      assert.ok(unknown.length > 0, "unknown types were recorded");
      assert.equal(new Set(unknown.map((u) => u.type)).size, unknown.length, "once per type");
      const stored = await h.store.countEvents({ sourceId: h.source.id, types: unknown.map((u) => u.type) });
      assert.ok(stored > 0, "events of unknown types are stored, not dropped");
    } finally {
      await h.close();
    }
  });

  it("quarantines malformed records with the reason and stores the rest", async () => {
    const h = await harness({
      seed: 16,
      history: { days: 1, eventsPerDay: 1500, endSecs: T0 / 1000 },
      faults: { malformedRecordProbability: 0.02 },
    });
    try {
      await pollAndBackfill(h);
      const quarantined = await h.store.listQuarantine({ sourceId: h.source.id, limit: 1000 });
      assert.ok(quarantined.length > 0);
      for (const q of quarantined) {
        assert.ok(q.reason.length > 0 && q.issues.length > 0 && q.issues[0]!.code.length > 0);
        assert.doesNotThrow(() => JSON.parse(q.raw));
      }
      // A second poll re-reads the same bad records but does not quarantine them twice.
      h.clock.advance(60_000);
      await h.poller.pollOnce();
      assert.equal((await h.store.listQuarantine({ sourceId: h.source.id, limit: 1000 })).length, quarantined.length);
    } finally {
      await h.close();
    }
  });

  it("polls tenant-scoped events in a second pass with its own checkpoint", async () => {
    const h = await harness(
      { seed: 17, history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 }, tenantShare: 0.2 },
      { includeTenantEvents: true },
    );
    try {
      // Each stream of a new source gets its own backfill job, and the log says which stream is which.
      const { logger, lines } = capturingLogger();
      const first = await new SourcePoller({
        store: h.store,
        reader: h.client,
        source: h.source,
        clock: h.clock,
        logger,
        normalizer,
      }).pollOnce();
      const jobs = first.streams.map((s) => s.backfillJobId);
      assert.equal(new Set(jobs).size, 2);
      assert.deepEqual(
        lines()
          .map((l) => l.msg)
          .filter((m) => m.includes("is new")),
        [
          `Source ${h.source.name} is new: its last 2 days go to backfill job ${jobs[0]}.`,
          `Source ${h.source.name} is new: its last 2 days of tenant events go to backfill job ${jobs[1]}.`,
        ],
      );
      await pollAndBackfill(h);
      const all = h.sim.org.visibleEvents(T0 / 1000);
      assert.ok(all.some((e) => isTenantScoped(e.type)));
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), sortedIds(all));
      assert.equal((await h.store.getStreamState(h.source.id, "tenant")).checkpointSecs, T0 / 1000);
    } finally {
      await h.close();
    }
  });

  /** The harness's client, refusing (403) the queries of one stream the way OpenAI refuses a key. */
  function refusing(h: Harness, stream: "main" | "tenant"): AuditLogReader {
    const api = { message: "Missing scope", type: "invalid_request_error", param: null, code: null };
    return {
      async *pages(query, signal) {
        if ((query.tenant_only === true) === (stream === "tenant")) throw authError(403, api, null, true);
        yield* h.client.pages(query, signal);
      },
    };
  }

  it("polls the organization's events when the key may not read tenant events, and says which stream failed", async () => {
    const h = await harness(
      { seed: 17, history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 }, tenantShare: 0.2 },
      { includeTenantEvents: true },
    );
    try {
      const poller = new SourcePoller({ ...pollerDeps(h), reader: refusing(h, "tenant") });
      await assert.rejects(poller.pollOnce(), (err: Error & { code?: string }) => {
        assert.equal(err.code, "openai_tenant_refused");
        assert.match(err.message, /^Tenant events \(tenant_only=true\): /);
        assert.match(err.message, /include-tenant-events setting/);
        return true;
      });
      assert.equal((await h.store.getStreamState(h.source.id, "main")).checkpointSecs, T0 / 1000);
      const status = await h.store.getPollStatus(h.source.id);
      assert.equal(status.lastErrorCode, "openai_tenant_refused", "not an authentication failure of the key");
    } finally {
      await h.close();
    }
  });

  it("polls the tenant events when the organization's stream fails, and fails the poll with that failure", async () => {
    const h = await harness(
      { seed: 17, history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 }, tenantShare: 0.2 },
      { includeTenantEvents: true },
    );
    try {
      const poller = new SourcePoller({ ...pollerDeps(h), reader: refusing(h, "main") });
      await assert.rejects(poller.pollOnce(), (err: Error & { code?: string }) => err.code === "openai_auth_forbidden");
      assert.equal((await h.store.getStreamState(h.source.id, "tenant")).checkpointSecs, T0 / 1000);
      assert.equal((await h.store.getPollStatus(h.source.id)).lastErrorCode, "openai_auth_forbidden");
    } finally {
      await h.close();
    }
  });

  it("asks no stream further once the API rate-limited one, and keeps how long it asked to wait", async () => {
    const h = await harness(
      { seed: 17, history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 }, tenantShare: 0.2 },
      { includeTenantEvents: true },
    );
    try {
      for (const limited of ["main", "tenant"] as const) {
        const asked: string[] = [];
        const reader: AuditLogReader = {
          async *pages(query, signal) {
            const stream = query.tenant_only === true ? "tenant" : "main";
            asked.push(stream);
            if (stream === limited) {
              throw new VigilError("openai_unavailable", "rate limited", { retryable: true, retryAfterMs: 120_000 });
            }
            yield* h.client.pages(query, signal);
          },
        };
        const poller = new SourcePoller({ ...pollerDeps(h), reader });
        await assert.rejects(poller.pollOnce(), (err: VigilError) => err.retryAfterMs === 120_000);
        assert.deepEqual(asked, limited === "main" ? ["main"] : ["main", "tenant"], limited);
      }
      // The organization's stream failing first (a 5xx) does not hide the tenant stream's rate limit after it.
      const reader: AuditLogReader = {
        // biome-ignore lint/correctness/useYield: it fails before any page
        async *pages(query) {
          if (query.tenant_only === true)
            throw new VigilError("openai_unavailable", "rate limited", { retryable: true, retryAfterMs: 120_000 });
          throw new VigilError("openai_unavailable", "server error", { retryable: true });
        },
      };
      await assert.rejects(
        new SourcePoller({ ...pollerDeps(h), reader }).pollOnce(),
        (err: VigilError) => err.retryAfterMs === 120_000,
      );
    } finally {
      await h.close();
    }
  });

  it("does not see tenant-scoped events without the tenant pass", async () => {
    const h = await harness({
      seed: 17,
      history: { days: 1, eventsPerDay: 2000, endSecs: T0 / 1000 },
      tenantShare: 0.2,
    });
    try {
      await pollAndBackfill(h);
      const stored = await h.store.searchEvents({ sourceId: h.source.id, limit: 10_000 });
      assert.ok(stored.length > 0);
      assert.ok(stored.every((e) => !isTenantScoped(e.type)));
    } finally {
      await h.close();
    }
  });

  it("fails a poll with a wrong key as a configuration error and moves nothing", async () => {
    const h = await harness(
      { seed: 18, history: { days: 1, eventsPerDay: 100, endSecs: T0 / 1000 } },
      {},
      "sk-admin-wrong-key-0000000000",
    );
    try {
      await assert.rejects(h.poller.pollOnce(), (err: unknown) => {
        assert.ok(err instanceof ConfigurationError);
        assert.match(err.message, /admin key/i);
        assert.doesNotMatch(err.message, /wrong-key-0000/);
        return true;
      });
      const status = await h.store.getPollStatus(h.source.id);
      assert.equal(status.consecutiveFailures, 1);
      assert.ok(status.lastError && !status.lastError.includes("wrong-key-0000"));
      assert.equal(await h.store.countEvents({ sourceId: h.source.id }), 0);
    } finally {
      await h.close();
    }
  });

  it("does not count a poll stopped by its caller (shutdown, lease lost) as a failure", async () => {
    const h = await harness({ seed: 20, history: { days: 1, eventsPerDay: 3000, endSecs: T0 / 1000 } });
    try {
      await h.poller.pollOnce();
      const stop = new AbortController();
      const stopping: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of h.client.pages(query, signal)) {
            stop.abort();
            signal?.throwIfAborted();
            yield page;
          }
        },
      };
      const poller = new SourcePoller({
        store: h.store,
        reader: stopping,
        normalizer,
        source: h.source,
        clock: h.clock,
        logger: silentLogger,
      });
      h.clock.advance(3600_000);
      await assert.rejects(poller.pollOnce(stop.signal));
      assert.equal((await h.store.getPollStatus(h.source.id)).consecutiveFailures, 0);
    } finally {
      await h.close();
    }
  });

  it("after this machine's clock was set back, sweeps from now (not an inverted window from the checkpoint)", async () => {
    const h = await harness({ seed: 17, history: { days: 0.5, eventsPerDay: 500, endSecs: T0 / 1000 } });
    try {
      // Polled while the clock ran two hours ahead: checkpoint and sweep are stored two hours in the future.
      h.clock.set(T0 + 2 * 3600_000);
      await h.poller.pollOnce();
      assert.equal((await h.store.getStreamState(h.source.id, "main")).checkpointSecs, T0 / 1000 + 2 * 3600);
      // Set back. An event three hours old arrives late (after the windows of the clock that ran ahead).
      h.clock.set(T0 + 60_000);
      const now = (T0 + 60_000) / 1000;
      const template = visibleMain(h.sim, T0 / 1000)[0]!;
      const late = { ...template, id: "audit_log-LATEclockback0000000000001", effective_at: now - 3 * 3600 };
      h.sim.org.addEvents([late], { visibleAtSecs: now - 30 });
      const report = await h.poller.pollOnce();
      const stream = report.streams[0]!;
      assert.ok(stream.windowStartSecs <= stream.windowEndSecs, JSON.stringify(stream));
      assert.equal(stream.windowEndSecs, now);
      assert.equal(stream.swept, true, "a sweep stored in the future is due");
      assert.ok((await h.store.listEventIds(h.source.id)).includes(late.id), "the sweep finds the late event");
      const state = await h.store.getStreamState(h.source.id, "main");
      assert.deepEqual([state.checkpointSecs, state.lastSweepSecs], [now, now]);
    } finally {
      await h.close();
    }
  });

  it("keeps an interrupted window owed from its cursor, and the next poll reads it on from there without duplicates", async () => {
    const h = await harness(
      { seed: 19, history: { days: 1, eventsPerDay: 3000, endSecs: T0 / 1000 } },
      { overlapSecs: 86_400 },
    );
    try {
      await startFrom(h, T0 / 1000 - 20 * 3600);
      await assert.rejects(pollerWith(h, stoppingAfter(h, 5)).pollOnce(), /connection lost/);
      const state = await h.store.getStreamState(h.source.id, "main");
      // The checkpoint stays until the window is read to its end; the window is owed from the fifth page's cursor.
      assert.equal(state.checkpointSecs, T0 / 1000 - 20 * 3600);
      assert.equal(state.owedWindow?.startSecs, T0 / 1000 - 44 * 3600);
      assert.equal(state.owedWindow?.endSecs, T0 / 1000);
      assert.equal(state.owedWindow?.sweep, true);
      assert.equal(await h.store.countEvents({ sourceId: h.source.id }), 500, "the five stored pages stay stored");
      const stored = new Set(await h.store.listEventIds(h.source.id));
      assert.ok(state.owedWindow?.cursor && stored.has(state.owedWindow.cursor), "the cursor is a stored record's id");

      const afters: Array<string | undefined> = [];
      const watching: AuditLogReader = {
        async *pages(query, signal) {
          afters.push(query.after);
          yield* h.client.pages(query, signal);
        },
      };
      const report = await pollerWith(h, watching).pollOnce();
      const expected = visibleMain(h.sim, T0 / 1000).filter((e) => e.effective_at >= T0 / 1000 - 44 * 3600);
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), sortedIds(expected));
      // The owed window from its cursor, then this poll's own window from the checkpoint it moved (the overlap is
      // a day here, so that window reads 10 pages again).
      assert.deepEqual(afters, [state.owedWindow.cursor, undefined]);
      assert.equal(report.streams[0]?.swept, false, "the owed window was the sweep");
      assert.deepEqual(report.streams[0]?.owedRead, { startSecs: T0 / 1000 - 44 * 3600, endSecs: T0 / 1000 });
      assert.equal(report.streams[0]?.inserted, expected.length - 500);
      const after = await h.store.getStreamState(h.source.id, "main");
      assert.equal(after.checkpointSecs, T0 / 1000);
      assert.equal(after.owedWindow, null);
      assert.equal(after.lastSweepSecs, T0 / 1000, "the owed sweep's end is the last sweep");
    } finally {
      await h.close();
    }
  });

  it("ends a window longer than the API lets one poll read: each poll reads on from where the last stopped", async () => {
    const h = await harness({ seed: 23, history: { days: 1, eventsPerDay: 3000, endSecs: T0 / 1000 } });
    try {
      await startFrom(h, T0 / 1000 - 20 * 3600);
      // The API answers 8 requests per poll, then rate-limits it: fewer than the 25-hour sweep's pages.
      let requests = 0;
      const quota: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of h.client.pages(query, signal)) {
            if (++requests > 8)
              throw new VigilError("openai_rate_limited", "rate limited", { retryable: true, retryAfterMs: 1000 });
            yield page;
          }
        },
      };
      const poller = pollerWith(h, quota);
      const expected = sortedIds(visibleMain(h.sim, T0 / 1000));
      let polls = 0;
      for (; polls < 10; polls++) {
        requests = 0;
        const ok = await poller.pollOnce().then(
          () => true,
          (err) => {
            assert.match(String(err), /rate limited/);
            return false;
          },
        );
        h.clock.advance(60_000);
        if (ok) break;
        const owed = (await h.store.getStreamState(h.source.id, "main")).owedWindow;
        assert.ok(owed !== null && owed.cursor !== null, `poll ${polls + 1} left its rest owed`);
      }
      // The sweep's 2,863 events are 29 pages: 8 a poll, each poll reading on from the last one's cursor, and the
      // fourth its own (empty) window after the sweep's last 5 pages: four polls. Reading each window from its
      // first page again, no poll would ever end it.
      assert.equal(expected.length, 2863);
      assert.equal(polls + 1, 4);
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), expected);
      const state = await h.store.getStreamState(h.source.id, "main");
      assert.equal(state.owedWindow, null);
      assert.equal(state.lastSweepSecs, T0 / 1000);
      // The next poll is an ordinary one: the sweep done, nothing owed.
      requests = 0;
      const next = await poller.pollOnce();
      assert.equal(next.streams[0]?.swept, false);
      assert.equal(next.streams[0]?.owedRead, undefined);
    } finally {
      await h.close();
    }
  });

  it("catches up after an outage under a quota: the owed window is read on first, then the windows after it", async () => {
    const h = await harness({
      seed: 23,
      history: { days: 1, eventsPerDay: 3000, endSecs: T0 / 1000 },
      live: { eventsPerMinute: 5 },
    });
    try {
      await startFrom(h, T0 / 1000 - 20 * 3600);
      let requests = 0;
      let down = false;
      const quota: AuditLogReader = {
        async *pages(query, signal) {
          if (down) throw new VigilError("openai_server_error", "503 from the API", { retryable: true });
          for await (const page of h.client.pages(query, signal)) {
            if (++requests > 8)
              throw new VigilError("openai_rate_limited", "rate limited", { retryable: true, retryAfterMs: 1000 });
            yield page;
          }
        },
      };
      const poller = pollerWith(h, quota);
      await assert.rejects(poller.pollOnce(), /rate limited/);
      const owed = (await h.store.getStreamState(h.source.id, "main")).owedWindow;
      assert.ok(owed !== null);
      // Three hours without the API: the state stays as the last stored page left it.
      down = true;
      for (let i = 0; i < 3; i++) {
        h.clock.advance(3600_000);
        await assert.rejects(poller.pollOnce(), /503/);
      }
      assert.deepEqual((await h.store.getStreamState(h.source.id, "main")).owedWindow, owed);
      down = false;
      // Back, still at 8 requests a poll: the owed sweep, then three hours and more of events (the recent re-read
      // and a new sweep, due again by now), each window read on from where the last poll stopped.
      let polls = 0;
      for (; polls < 40; polls++) {
        requests = 0;
        h.clock.advance(60_000);
        if (
          await poller.pollOnce().then(
            () => true,
            () => false,
          )
        )
          break;
      }
      assert.ok(polls < 40, "the polls caught up");
      const nowSecs = h.clock.nowMs() / 1000;
      const state = await h.store.getStreamState(h.source.id, "main");
      assert.equal(state.checkpointSecs, nowSecs);
      assert.equal(state.owedWindow, null);
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), sortedIds(visibleMain(h.sim, nowSecs)));
    } finally {
      await h.close();
    }
  });

  /** Stops a poll after its third page, then polls against an API that answers the owed cursor `refusal`'s way. */
  async function resumeWithRefusedCursor(refusal: "404" | "empty") {
    const h = await harness({ seed: 29, history: { days: 1, eventsPerDay: 3000, endSecs: T0 / 1000 } });
    try {
      await startFrom(h, T0 / 1000 - 20 * 3600);
      await assert.rejects(pollerWith(h, stoppingAfter(h, 3)).pollOnce(), /connection lost/);
      assert.notEqual((await h.store.getStreamState(h.source.id, "main")).owedWindow?.cursor ?? null, null);
      await pollerWith(h, forgettingCursors(h.client, refusal)).pollOnce();
      assert.deepEqual((await h.store.listEventIds(h.source.id)).sort(), sortedIds(visibleMain(h.sim, T0 / 1000)));
      assert.equal((await h.store.getStreamState(h.source.id, "main")).owedWindow, null);
    } finally {
      await h.close();
    }
  }

  it("reads an owed window whole again when the API refuses its cursor with a 404", () =>
    resumeWithRefusedCursor("404"));
  it("reads an owed window whole again when the API answers its cursor with an empty last page", () =>
    resumeWithRefusedCursor("empty"));
});

/** A source polled before: its stream's checkpoint is `checkpointSecs` (its history is not this test's). */
async function startFrom(h: Harness, checkpointSecs: number): Promise<void> {
  await h.store.createBackfillJob(
    { sourceId: h.source.id, stream: "main", sinceSecs: 0, untilSecs: 1, initialCheckpointSecs: checkpointSecs },
    [],
  );
}

/** The simulator's API, which stops answering after `pages` pages (counted over every walk). */
function stoppingAfter(h: Harness, pages: number): AuditLogReader {
  let read = 0;
  return {
    async *pages(query, signal) {
      for await (const page of h.client.pages(query, signal)) {
        if (++read > pages) throw new Error("connection lost mid-window");
        yield page;
      }
    },
  };
}

function pollerWith(h: Harness, reader: AuditLogReader): SourcePoller {
  return new SourcePoller({ ...pollerDeps(h), reader });
}

describe("simulator fixture", () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ seed: 1, history: { days: 1, eventsPerDay: 100 } });
  });
  after(async () => sim.close());
  it("serves the key it advertises", async () => {
    const client = new OpenAIAuditLogClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey });
    const result = await client.verify();
    assert.equal(result.ok, true);
  });
});

describe("warnIfClockAhead", () => {
  it("says, once an hour per source, that this machine's clock runs ahead of the API's", () => {
    const clock = fakeClock(T0);
    const { logger, lines } = capturingLogger();
    const deps = { logger, clock };
    const local = T0 / 1000;
    warnIfClockAhead(local, local + 30, "Skewed", deps);
    warnIfClockAhead(local, undefined, "Skewed", deps);
    warnIfClockAhead(local, local - 2, "Skewed", deps);
    assert.equal(lines().length, 0, "behind, unknown, or a second or two (the header's rounding, the request's time)");
    warnIfClockAhead(local, local - 300, "Skewed", deps);
    warnIfClockAhead(local, local - 300, "Skewed", deps);
    assert.deepEqual(
      lines().map((l) => l.msg),
      [
        "This machine's clock is 300 s ahead of the OpenAI API's: events of Skewed may be read up to an hour late " +
          "(its checkpoints follow this clock). Keep NTP on.",
      ],
    );
    clock.advance(3_600_001);
    warnIfClockAhead(local, local - 300, "Skewed", deps);
    assert.equal(lines().length, 2);
  });

  it("is said by a poll whose API answers with a Date minutes behind this machine", async () => {
    const h = await harness({ seed: 5, history: { days: 0.01, eventsPerDay: 10, endSecs: T0 / 1000 - 3600 } });
    try {
      const apiNow = T0 / 1000 - 300;
      const serverClock: AuditLogReader = {
        async *pages(query, signal) {
          for await (const page of h.client.pages(query, signal)) yield { ...page, serverTimeSecs: apiNow };
        },
      };
      const { logger, lines } = capturingLogger();
      await h.store.createBackfillJob(
        {
          sourceId: h.source.id,
          stream: "main",
          sinceSecs: apiNow - DAY,
          untilSecs: apiNow - 600,
          initialCheckpointSecs: apiNow - 600,
        },
        [],
      );
      await new SourcePoller({ ...pollerDeps(h), logger, reader: serverClock }).pollOnce();
      assert.ok(lines().some((l) => /300 s ahead of the OpenAI API's/.test(l.msg)));
      assert.equal((await h.store.getStreamState(h.source.id, "main")).checkpointSecs, T0 / 1000, "this machine's");
    } finally {
      await h.close();
    }
  });
});
