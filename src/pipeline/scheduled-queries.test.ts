import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { eventRow, sourceSettings } from "../../test/storage-contract.ts";
import { createDetectionEngine } from "../detections/engine/engine.ts";
import { loadRules } from "../detections/engine/load.ts";
import { parseScheduledQuery, type ScheduledQuerySpec, slotStart } from "../detections/panther/scheduled-query.ts";
import { PythonWorkerPool } from "../detections/python/pool.ts";
import { createLogger } from "../logging/logger.ts";
import type { Store } from "../storage/ports.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { openDetection } from "./detection.ts";
import { type Runtime, runDerivedDetections } from "./runtime.ts";
import { runScheduledQueries } from "./scheduled-queries.ts";

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
let dir: string;
const pool = new PythonWorkerPool({ size: 1, timeoutMs: 30_000 });
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vigil-scheduled-"));
  // Keys created per actor over the last day, above a baseline of 2 (the documented OpenAI.Audit example)
  await writeFile(
    join(dir, "keys_per_actor.yml"),
    `AnalysisType: scheduled_query
QueryName: Query.Keys.PerActor
Enabled: true
Query: >
  SELECT actor_email, count(*) AS keys FROM events
  WHERE type = 'api_key.created' AND effective_at > {{now}} - 86400
  GROUP BY actor_email
Schedule:
  RateMinutes: 60
  TimeoutMinutes: 1
`,
  );
  await writeFile(
    join(dir, "many_keys.yml"),
    `AnalysisType: scheduled_rule
RuleID: Keys.Many
Enabled: true
Filename: many_keys.py
ScheduledQueries: [Query.Keys.PerActor]
Severity: Medium
`,
  );
  await writeFile(
    join(dir, "many_keys.py"),
    "def rule(event):\n    return event.get('keys', 0) > 2\n\ndef title(event):\n    return f\"{event.get('actor_email')} created {event.get('keys')} keys\"\n",
  );
  // A Snowflake-only query is valid Panther content Vigil skips, said once
  await writeFile(
    join(dir, "lake.yml"),
    "AnalysisType: scheduled_query\nQueryName: Lake\nEnabled: true\nSnowflakeQuery: SELECT 1\nSchedule:\n  RateMinutes: 60\n  TimeoutMinutes: 1\n",
  );
});
after(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

/** The rules of `dir`, a new in-memory store with one source, and an engine running them: what each test starts from. */
async function withScheduled(
  test: (t: {
    set: Awaited<ReturnType<typeof loadRules>>;
    store: Store;
    source: Awaited<ReturnType<Store["createSource"]>>;
    engine: ReturnType<typeof createDetectionEngine>;
  }) => Promise<void>,
): Promise<void> {
  const set = await loadRules({ packs: [], dirs: [dir] });
  const store = await openSqliteStore({ memory: true });
  try {
    const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
    await test({ set, store, source, engine: createDetectionEngine({ rules: set, pythonPool: pool }) });
  } finally {
    await store.close();
  }
}

it("a scheduled query's rows reach its scheduled rules live, once per slot (kept by the store), and a re-run slot adds nothing", async () => {
  await withScheduled(async ({ set, store, source, engine }) => {
    assert.deepEqual(
      set.scheduledQueries?.map((q) => q.name),
      ["Query.Keys.PerActor"],
    );
    assert.match(set.unsupported?.[0] ?? "", /lake\.yml: scheduled query Lake has no Query/);
    const key = (id: string, t: number, email: string) =>
      eventRow(id, t, { type: "api_key.created", actorEmail: email });
    await store.applyPage({
      sourceId: source.id,
      events: [
        key("k1", T0 - 100, "a@x.io"),
        key("k2", T0 - 90, "a@x.io"),
        key("k3", T0 - 80, "a@x.io"),
        key("k4", T0 - 70, "b@x.io"),
        key("old", T0 - 90_000, "b@x.io"), // over a day before: outside the query's window
      ],
      quarantined: [],
      unknownTypes: [],
    });
    const run = (nowSecs: number, on: Store = store) =>
      runScheduledQueries({ store: on, engine, queries: set.scheduledQueries ?? [], source, nowSecs });
    const [first] = await run(T0 + 30);
    assert.deepEqual(
      { rows: first?.rows, matches: first?.matches, alerts: first?.createdAlertIds.length, error: first?.error },
      { rows: 2, matches: 1, alerts: 1, error: undefined },
    );
    const alerts = await store.listAlerts();
    assert.deepEqual(
      alerts.map((a) => [a.ruleId, a.title]),
      [["Keys.Many", "a@x.io created 3 keys"]],
    );
    // The store remembers the slot, not the worker: a restart or another worker does not run it again.
    assert.deepEqual(await run(T0 + 600), [], "same slot: not run again");
    assert.deepEqual(Object.fromEntries(await store.scheduledSlotsDone(source.id)), { "Query.Keys.PerActor": T0 });
    // A run cut off after its matches, before its slot was recorded: the next run does the slot again, and the
    // matches it gave are found stored.
    const cutOff = new Proxy(store, {
      get: (target, key, receiver) =>
        key === "recordScheduledSlot"
          ? () => Promise.reject(new Error("the worker stopped"))
          : Reflect.get(target, key, receiver),
    });
    const [interrupted] = await run(T0 + 3600, cutOff);
    assert.deepEqual([interrupted?.slotSecs, interrupted?.createdAlertIds.length], [T0 + 3600, 1]);
    assert.match(interrupted?.error ?? "", /the worker stopped/);
    const [again] = await run(T0 + 3700);
    assert.deepEqual(
      [again?.slotSecs, again?.matches, again?.createdAlertIds, again?.error],
      [T0 + 3600, 1, [], undefined],
    );
    assert.equal((await store.listAlerts()).length, 2);
    assert.equal(slotStart(T0 + 3599, { rateMinutes: 60 }), T0);
  });
});

it("a CronExpression query runs at each time it names: {{now}} is that time, and each time runs once", async () => {
  await withScheduled(async ({ set, store, source, engine }) => {
    // The same query, every six hours from midnight UTC.
    const [cron] = (set.scheduledQueries ?? []).map((q) => ({
      ...q,
      // Bounded by the run's time too, to show which time it is.
      sql: q.sql.replace("WHERE", "WHERE effective_at <= {{now}} AND"),
      schedule: (
        parseScheduledQuery(
          {
            AnalysisType: "scheduled_query",
            QueryName: q.name,
            Enabled: true,
            Query: q.sql,
            Schedule: { CronExpression: "0 */6 * * *", TimeoutMinutes: 1 },
          },
          q.specPath,
        ) as ScheduledQuerySpec
      ).schedule,
    }));
    assert.ok(cron);
    // Three keys by a@x.io in the hour before 06:00; none after it.
    await store.applyPage({
      sourceId: source.id,
      events: [1, 2, 3].map((i) =>
        eventRow(`k${i}`, T0 + 5 * 3600 + i, { type: "api_key.created", actorEmail: "a@x.io" }),
      ),
      quarantined: [],
      unknownTypes: [],
    });
    const run = (nowSecs: number) => runScheduledQueries({ store, engine, queries: [cron], source, nowSecs });
    // At 05:59 the slot is midnight's: {{now}} = 00:00 sees keys created before it only, none.
    assert.deepEqual(
      (await run(T0 + 6 * 3600 - 1)).map((r) => r.rows),
      [0],
    );
    // From 06:00 the slot is 06:00's: it runs once and sees the three keys.
    assert.deepEqual(
      (await run(T0 + 6 * 3600)).map((r) => [r.rows, r.matches]),
      [[1, 1]],
    );
    assert.deepEqual(await run(T0 + 11 * 3600), [], "the same slot does not run again");
    assert.deepEqual(
      (await run(T0 + 12 * 3600)).map((r) => r.rows),
      [1],
    );
    // Down from 12:30 to 06:30 the next day (or polls failing): the three times it missed run then, in order.
    assert.deepEqual(
      (await run(T0 + 30 * 3600 + 1800)).map((r) => (r.slotSecs - T0) / 3600),
      [18, 24, 30],
    );
  });
});

it("a failing query is reported with its reason, and its slot is run at the next run before the later ones", async () => {
  await withScheduled(async ({ set, store, source, engine }) => {
    const broken = (set.scheduledQueries ?? []).map((q) => ({ ...q, sql: "SELECT nope FROM events" }));
    const runs = await runScheduledQueries({ store, engine, queries: broken, source, nowSecs: T0 });
    assert.match(runs[0]?.error ?? "", /nope/);
    assert.deepEqual(
      Object.fromEntries(await store.scheduledSlotsDone(source.id)),
      { "Query.Keys.PerActor": T0 - 1 },
      "the slot is not marked done, only what came before it",
    );
    // Two slots later, mended: the failed slot runs first, then each one after it; none is skipped.
    const mended = await runScheduledQueries({
      store,
      engine,
      queries: set.scheduledQueries ?? [],
      source,
      nowSecs: T0 + 2 * 3600 + 5,
    });
    assert.deepEqual(
      mended.map((r) => [r.slotSecs - T0, r.error]),
      [
        [0, undefined],
        [3600, undefined],
        [7200, undefined],
      ],
    );
  });
});

it("a failing correlation run does not hold the scheduled queries back, and is still reported", async () => {
  const store = await openSqliteStore({ memory: true });
  const detection = await openDetection({ store, rulesDirs: [dir], packsDirs: [], nowSecs: () => T0 });
  try {
    const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
    const runtime = {
      store,
      clock: { nowMs: () => T0 * 1000 },
      logger: createLogger({ level: "silent" }),
      detection: async () => ({
        ...detection,
        correlationRulesFor: () => Promise.reject(new Error("the correlation read failed")),
      }),
    } as unknown as Runtime;
    await assert.rejects(runDerivedDetections(runtime, source), /the correlation read failed/);
    assert.deepEqual(Object.fromEntries(await store.scheduledSlotsDone(source.id)), { "Query.Keys.PerActor": T0 });
  } finally {
    await detection.close();
    await store.close();
  }
});

it("a slot that keeps failing is given up after its last attempt, and the later ones run", async () => {
  await withScheduled(async ({ set, store, source, engine }) => {
    // The run at T0 always times out (a busy hour, say); the others work.
    const busyHour = new Proxy(store, {
      get: (target, key, receiver) =>
        key === "queryEvents"
          ? (sourceId: string, sql: string, o: { maxRows: number; timeoutMs: number }) =>
              sql.includes(String(T0)) ? Promise.reject(new Error("timed out")) : target.queryEvents(sourceId, sql, o)
          : Reflect.get(target, key, receiver),
    });
    const failures = new Map<string, number>();
    const run = async (nowSecs: number) =>
      (
        await runScheduledQueries({
          store: busyHour,
          engine,
          queries: set.scheduledQueries ?? [],
          source,
          nowSecs,
          failures,
        })
      ).map((r) => [r.slotSecs - T0, r.error ?? "ok", r.gaveUp === true]);
    assert.deepEqual(await run(T0 + 30), [[0, "timed out", false]]);
    assert.deepEqual(await run(T0 + 3605), [[0, "timed out", false]], "tried again first; the next slot waits");
    assert.deepEqual(await run(T0 + 3610), [
      [0, "timed out", true],
      [3600, "ok", false],
    ]);
    assert.equal(failures.size, 0);
  });
});

it("a query turned off does not replay its time off; one whose rules do not load keeps its slots", async () => {
  await withScheduled(async ({ set, store, source, engine }) => {
    const queries = set.scheduledQueries ?? [];
    const run = async (nowSecs: number, options: { enabled?: boolean; rules?: typeof set } = {}) =>
      (
        await runScheduledQueries({
          store,
          engine: options.rules ? createDetectionEngine({ rules: options.rules, pythonPool: pool }) : engine,
          queries: queries.map((q) => ({ ...q, enabled: options.enabled ?? true })),
          source,
          nowSecs,
        })
      ).map((r) => r.slotSecs - T0);
    assert.deepEqual(await run(T0 + 30), [0]);
    // Disabled for two hours: enabled again, it runs from now, not the hours it was off.
    assert.deepEqual(await run(T0 + 2 * 3600 + 30, { enabled: false }), []);
    assert.deepEqual(await run(T0 + 3 * 3600 + 30), [3 * 3600]);
    // Its rule did not load for two hours (a bad file): the query waits, and runs those hours once it is fixed.
    assert.deepEqual(await run(T0 + 5 * 3600 + 30, { rules: { ...set, rules: [] } }), []);
    assert.deepEqual(await run(T0 + 5 * 3600 + 60), [4 * 3600, 5 * 3600]);
    // A record ahead of the clock (made on a clock that ran ahead) holds the query until the clock comes round:
    // running an earlier slot again could raise its matches twice.
    await store.recordScheduledSlot(source.id, "Query.Keys.PerActor", T0 + 9 * 3600);
    assert.deepEqual(await run(T0 + 6 * 3600 + 30), []);
    assert.deepEqual(await run(T0 + 10 * 3600 + 30), [10 * 3600]);
  });
});
