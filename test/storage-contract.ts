// The Store contract: every backend (embedded SQLite, PostgreSQL) runs this same suite, so behaviour the
// rest of Vigil relies on is pinned here and nowhere else. Only the Store interface is used — no SQL, no
// backend types — and each case opens a fresh, empty, migrated store.
//
// Behaviour that ports.ts leaves open and this suite pins (so both backends agree):
// - a taken source name rejects with a VigilError coded "conflict"; unknown ids with code "not_found";
// - search ranges are [sinceSecs, untilSecs): since inclusive, until exclusive, like backfill slices;
// - `types: []` means no type filter; `limit` defaults to 100, is capped at 10000, and < 1 is a usage error;
// - a successful poll clears lastError/lastErrorCode and resets consecutiveFailures;
// - slice progress is absolute (the slice's current upper bound and total events read), not a delta.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { NOISY_DEDUP } from "../src/alerts/limiter.ts";
import type { RuleMatch, RuleStateOp } from "../src/core/detection.ts";
import { VigilError } from "../src/core/errors.ts";
import type { EventRow, PageWrite, QuarantineRow, SourceSettings, Store } from "../src/storage/ports.ts";

const T0 = 1_700_000_000;
/** The hour that holds T0 (T0 is 800 s into it): the start of T0's 60-minute alert window on the grid. */
const H0 = T0 - (T0 % 3600);

export function sourceSettings(name: string, overrides: Partial<SourceSettings> = {}): SourceSettings {
  return {
    name,
    kind: "openai",
    baseUrl: null,
    pollIntervalSecs: 60,
    overlapSecs: 300,
    sweepWindowSecs: 86_400,
    sweepIntervalSecs: 3_600,
    includeTenantEvents: true,
    backfillDays: 30,
    enabled: true,
    noDataAlertEnabled: true,
    noDataAlertSecs: 86_400,
    pollFailureAlertSecs: 3_600,
    postureIntervalSecs: 3_600,
    ...overrides,
  };
}

export function eventRow(id: string, effectiveAtSecs: number, overrides: Partial<EventRow> = {}): EventRow {
  const type = overrides.type ?? "login.succeeded";
  return {
    id,
    type,
    effectiveAtSecs,
    actorType: "session",
    actorId: "user-1",
    actorEmail: "alice@example.com",
    ip: "203.0.113.7",
    projectId: null,
    raw: JSON.stringify({ id, type, effective_at: effectiveAtSecs }),
    ...overrides,
  };
}

function page(sourceId: string, events: EventRow[], extra: Partial<PageWrite> = {}): PageWrite {
  return { sourceId, events, quarantined: [], unknownTypes: [], ...extra };
}

/** A rule match of one event; threshold 1 and a 60-minute dedup period unless overridden. */
export function ruleMatch(
  sourceId: string,
  eventId: string,
  eventTimeSecs: number,
  overrides: Partial<RuleMatch> = {},
): RuleMatch {
  return {
    ruleId: "OpenAI.Login.Failed",
    packId: "openai",
    sourceId,
    eventId,
    logType: "OpenAI.Audit",
    eventTimeSecs,
    isError: false,
    errorType: null,
    errorMessage: null,
    dedupString: "alice@example.com",
    title: `Failed login ${eventId}`,
    severity: "MEDIUM",
    alertContext: { eventId },
    description: "A login failed",
    reference: null,
    runbook: null,
    destinations: null,
    uniqueValue: null,
    dedupPeriodMinutes: 60,
    threshold: 1,
    createAlert: true,
    tags: ["openai"],
    reports: { MITRE: ["TA0006:T1110"] },
    ...overrides,
  };
}

function badRecord(raw: string, reason = "missing effective_at"): QuarantineRow {
  return {
    eventId: null,
    reason,
    issues: [{ code: "required", path: "effective_at", message: "effective_at is required" }],
    raw,
  };
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function runStorageContract(
  name: string,
  open: () => Promise<Store>,
  /** Replaces `store.close()` after each case when given; it must release the store. */
  cleanup?: (s: Store) => Promise<void>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      if (cleanup) await cleanup(store);
      else await store.close();
    });

    async function newSource(sourceName = "acme", secret = "v1:ciphertext-of-acme") {
      return store.createSource(sourceSettings(sourceName), { ciphertext: secret });
    }

    describe("migrate", () => {
      it("is a no-op on an up-to-date schema and keeps the data", async () => {
        const source = await newSource();
        await store.applyPage(page(source.id, [eventRow("e1", T0)]));
        await store.migrate();
        await store.migrate();
        assert.equal(await store.countEvents(), 1);
        assert.deepEqual(await store.getSource(source.id), source);
        const again = await store.applyPage(page(source.id, [eventRow("e2", T0)]));
        assert.deepEqual(again.insertedIds, ["e2"]);
      });
    });

    describe("sources", () => {
      it("creates a source and finds it by id and by name", async () => {
        const settings = sourceSettings("acme", { baseUrl: "http://127.0.0.1:9999/v1", enabled: false });
        const created = await store.createSource(settings, { ciphertext: "v1:abc" });
        assert.match(created.id, /^[0-9a-f-]{36}$/i);
        assert.equal(typeof created.createdAtMs, "number");
        assert.deepEqual(
          { ...created, id: undefined, createdAtMs: undefined },
          {
            ...settings,
            id: undefined,
            createdAtMs: undefined,
          },
        );
        assert.deepEqual(await store.getSource(created.id), created);
        assert.deepEqual(await store.getSource("acme"), created);
        assert.equal(await store.getSource("nope"), null);
      });

      it("lists every source", async () => {
        const a = await newSource("beta");
        const b = await newSource("alpha");
        const listed = await store.listSources();
        assert.equal(listed.length, 2);
        assert.deepEqual(listed.map((s) => s.id).sort(), [a.id, b.id].sort());
      });

      it("rejects a second source with a taken name, on create and on rename", async () => {
        await newSource("acme");
        const other = await newSource("other");
        await rejectsWithCode(newSource("acme"), "conflict");
        await rejectsWithCode(store.updateSource(other.id, { name: "acme" }), "conflict");
        assert.equal((await store.listSources()).length, 2);
        assert.equal((await store.getSource(other.id))?.name, "other");
      });

      it("updates only the fields given", async () => {
        const created = await store.createSource(sourceSettings("acme", { baseUrl: "http://x/v1" }), {
          ciphertext: "v1:old",
        });
        const updated = await store.updateSource(created.id, { pollIntervalSecs: 15, baseUrl: null, enabled: false });
        assert.deepEqual(updated, { ...created, pollIntervalSecs: 15, baseUrl: null, enabled: false });
        assert.deepEqual(await store.getSource(created.id), updated);
        assert.deepEqual(await store.getSourceSecret(created.id), { ciphertext: "v1:old" });

        const renamed = await store.updateSource(created.id, { name: "acme-prod" }, { ciphertext: "v1:new" });
        assert.equal(renamed.name, "acme-prod");
        assert.equal(renamed.pollIntervalSecs, 15);
        assert.deepEqual(await store.getSourceSecret(created.id), { ciphertext: "v1:new" });
        assert.equal(await store.getSource("acme"), null);
        // Renaming a source to its own name is not a conflict.
        await store.updateSource(created.id, { name: "acme-prod" });
      });

      it("judges a change with its check on the stored record, one change at a time, and writes nothing it refuses", async () => {
        const created = await store.createSource(
          sourceSettings("acme", { sweepWindowSecs: 14_400, sweepIntervalSecs: 3_600 }),
          { ciphertext: "v1:old" },
        );
        // The rule of core/source.ts in small: the interval must stay shorter than the window.
        const seen: Array<[number, number]> = [];
        const check = (changed: { sweepWindowSecs: number; sweepIntervalSecs: number }) => {
          seen.push([changed.sweepWindowSecs, changed.sweepIntervalSecs]);
          if (changed.sweepIntervalSecs >= changed.sweepWindowSecs) throw new Error("the interval reaches the window");
        };
        await assert.rejects(
          store.updateSource(created.id, { sweepIntervalSecs: 20_000 }, { ciphertext: "v1:new" }, check),
          { message: "the interval reaches the window" },
        );
        assert.deepEqual(seen, [[14_400, 20_000]]);
        assert.deepEqual(await store.getSource(created.id), created);
        assert.deepEqual(await store.getSourceSecret(created.id), { ciphertext: "v1:old" });
        // Two changes at once, each fine against the record they started from, break the rule together: whichever
        // is judged second sees the other's value and is refused. (Whether they overlap here is up to the engine's
        // scheduling; postgres-store.test.ts holds one open to prove the lock.)
        const results = await Promise.allSettled([
          store.updateSource(created.id, { sweepWindowSecs: 7_200 }, undefined, check),
          store.updateSource(created.id, { sweepIntervalSecs: 9_000 }, undefined, check),
        ]);
        assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
        const stored = await store.getSource(created.id);
        assert.ok(stored && stored.sweepIntervalSecs < stored.sweepWindowSecs, JSON.stringify(stored));
        await rejectsWithCode(
          store.updateSource("00000000-0000-0000-0000-000000000000", { enabled: false }, undefined, check),
          "not_found",
        );
      });

      it("rejects updating or removing an unknown source", async () => {
        await rejectsWithCode(
          store.updateSource("00000000-0000-0000-0000-000000000000", { enabled: false }),
          "not_found",
        );
        await rejectsWithCode(store.removeSource("00000000-0000-0000-0000-000000000000"), "not_found");
      });

      it("keeps the secret as given and never returns it with the source", async () => {
        const ciphertext = "v1:aXY=:dGFn:ZGF0YQ==";
        const created = await newSource("acme", ciphertext);
        assert.deepEqual(await store.getSourceSecret(created.id), { ciphertext });
        assert.equal(await store.getSourceSecret("00000000-0000-0000-0000-000000000000"), null);
        for (const record of [created, await store.getSource(created.id), ...(await store.listSources())]) {
          assert.ok(!JSON.stringify(record).includes(ciphertext), "a source record must not carry its secret");
        }
      });
    });

    describe("applyPage", () => {
      it("stores new events and reports their ids in page order", async () => {
        const source = await newSource();
        const events = [eventRow("e3", T0 + 3), eventRow("e1", T0 + 1), eventRow("e2", T0 + 2)];
        const result = await store.applyPage(page(source.id, events));
        assert.deepEqual(result, {
          insertedIds: ["e3", "e1", "e2"],
          duplicates: 0,
          quarantined: 0,
          newUnknownTypes: [],
          createdAlertIds: [],
        });
        assert.deepEqual((await store.listEventIds(source.id)).sort(), ["e1", "e2", "e3"]);
      });

      it("tells which of some ids a source has stored, and only that source's", async () => {
        const source = await newSource();
        const other = await newSource("other");
        await store.applyPage(page(source.id, [eventRow("a", T0), eventRow("b", T0 + 1)]));
        await store.applyPage(page(other.id, [eventRow("c", T0)]));
        assert.deepEqual([...(await store.storedEventIds(source.id, ["b", "c", "x", "a", "b"]))].sort(), ["a", "b"]);
        assert.deepEqual([...(await store.storedEventIds(other.id, ["a", "c"]))], ["c"]);
        assert.equal((await store.storedEventIds(source.id, [])).size, 0);
        assert.equal((await store.storedEventIds("no-such-source", ["a"])).size, 0);
        // More ids than one statement takes.
        const many = Array.from({ length: 1_201 }, (_, i) => `m${i}`);
        await store.applyPage(
          page(
            source.id,
            many.map((id) => eventRow(id, T0 + 2)),
          ),
        );
        assert.equal((await store.storedEventIds(source.id, [...many, "zz"])).size, many.length);
      });

      it("stores every field of an event as given", async () => {
        const source = await newSource();
        const full = eventRow("full", T0, {
          type: "api_key.created",
          actorType: "api_key",
          actorId: "key_1",
          actorEmail: "bob@example.com",
          ip: "2001:db8::1",
          projectId: "proj_1",
          raw: '{"id":"full","unicode":"ünïcödé ✓"}',
        });
        const sparse = eventRow("sparse", T0 - 1, {
          actorType: null,
          actorId: null,
          actorEmail: null,
          ip: null,
          projectId: null,
        });
        await store.applyPage(page(source.id, [full, sparse]));
        const stored = await store.searchEvents({ sourceId: source.id });
        assert.equal(stored.length, 2);
        for (const [got, want] of [
          [stored[0], full],
          [stored[1], sparse],
        ] as const) {
          assert.ok(got);
          const { sourceId, ingestedAtMs, ...rest } = got;
          assert.equal(sourceId, source.id);
          assert.equal(typeof ingestedAtMs, "number");
          assert.deepEqual(rest, want);
        }
      });

      it("is idempotent: the same page twice stores nothing twice", async () => {
        const source = await newSource();
        const write = page(source.id, [eventRow("e1", T0), eventRow("e2", T0)], {
          quarantined: [badRecord('{"id":"bad"}')],
          unknownTypes: ["brand_new.type"],
        });
        const first = await store.applyPage(write);
        assert.deepEqual(first, {
          insertedIds: ["e1", "e2"],
          duplicates: 0,
          quarantined: 1,
          newUnknownTypes: ["brand_new.type"],
          createdAlertIds: [],
        });
        const second = await store.applyPage(write);
        assert.deepEqual(second, {
          insertedIds: [],
          duplicates: 2,
          quarantined: 0,
          newUnknownTypes: [],
          createdAlertIds: [],
        });
        assert.equal(await store.countEvents({ sourceId: source.id }), 2);
        assert.equal((await store.listQuarantine({ sourceId: source.id })).length, 1);
        assert.equal((await store.listUnknownTypes(source.id)).length, 1);
      });

      it("reports only the events not stored before, including duplicates within one page", async () => {
        const source = await newSource();
        await store.applyPage(page(source.id, [eventRow("old1", T0), eventRow("old2", T0)]));
        const result = await store.applyPage(
          page(source.id, [
            eventRow("new1", T0 + 5),
            eventRow("old1", T0),
            eventRow("new2", T0 + 4),
            eventRow("new1", T0 + 5),
            eventRow("old2", T0),
          ]),
        );
        assert.deepEqual(result.insertedIds, ["new1", "new2"]);
        assert.equal(result.duplicates, 3);
        assert.equal(await store.countEvents({ sourceId: source.id }), 4);
      });

      it("keeps the same event id in two sources as two events", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        const ra = await store.applyPage(page(a.id, [eventRow("shared", T0, { raw: '{"org":"a"}' })]));
        const rb = await store.applyPage(page(b.id, [eventRow("shared", T0, { raw: '{"org":"b"}' })]));
        assert.deepEqual(ra.insertedIds, ["shared"]);
        assert.deepEqual(rb.insertedIds, ["shared"]);
        assert.equal(await store.countEvents(), 2);
        assert.deepEqual(
          (await store.searchEvents({ sourceId: a.id })).map((e) => e.raw),
          ['{"org":"a"}'],
        );
        assert.deepEqual(
          (await store.searchEvents({ sourceId: b.id })).map((e) => e.raw),
          ['{"org":"b"}'],
        );
      });

      it("quarantines a bad record once per source, however often it is re-read", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        const bad = badRecord('{"id":"evt_bad","type":"x"}');
        bad.eventId = "evt_bad";
        const first = await store.applyPage(page(a.id, [], { quarantined: [bad, { ...bad }] }));
        assert.equal(first.quarantined, 1);
        const again = await store.applyPage(page(a.id, [], { quarantined: [bad] }));
        assert.equal(again.quarantined, 0);
        const other = await store.applyPage(page(a.id, [], { quarantined: [badRecord('{"id":"evt_bad2"}')] }));
        assert.equal(other.quarantined, 1);
        const elsewhere = await store.applyPage(page(b.id, [], { quarantined: [bad] }));
        assert.equal(elsewhere.quarantined, 1);

        const records = await store.listQuarantine({ sourceId: a.id });
        assert.equal(records.length, 2);
        const record = records.find((r) => r.eventId === "evt_bad");
        assert.ok(record);
        assert.equal(record.sourceId, a.id);
        assert.equal(record.reason, bad.reason);
        assert.deepEqual(record.issues, bad.issues);
        assert.equal(record.raw, bad.raw);
        assert.equal(typeof record.id, "number");
        assert.equal(typeof record.receivedAtMs, "number");
        assert.equal((await store.listQuarantine()).length, 3);
        assert.equal((await store.listQuarantine({ limit: 1 })).length, 1);
      });

      it("releases a quarantined record with the page that stores its very text, and only the source's", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        const ids = ["q1", "q2", "q3", "q4"];
        const records = ids.map((id) => ({ ...badRecord(eventRow(id, 100).raw), eventId: id }));
        // One page each: a page quarantines its records in hash order (lock order), not page order.
        for (const record of records) await store.applyPage(page(a.id, [], { quarantined: [record] }));
        await store.applyPage(page(b.id, [], { quarantined: [records[0]!] }));
        // q3's id is stored already, with its very text; q4's with other content.
        await store.applyPage(page(a.id, [eventRow("q3", 100), eventRow("q4", 100, { raw: '{"id":"q4","other":1}' })]));
        // Walked oldest first from an id; newest first without one.
        const walked = await store.listQuarantine({ sourceId: a.id, afterId: 0, limit: 2 });
        assert.deepEqual(
          walked.map((r) => r.eventId),
          ["q1", "q2"],
        );
        const rest = await store.listQuarantine({ sourceId: a.id, afterId: walked[1]!.id });
        assert.deepEqual(
          rest.map((r) => r.eventId),
          ["q3", "q4"],
        );
        const ofB = (await store.listQuarantine({ sourceId: b.id }))[0]!;
        const result = await store.applyPage(
          page(a.id, [eventRow("q1", 100), eventRow("q2", 100)], {
            // q2's id twice, and b's record, which this page of a's cannot release.
            releasedQuarantineIds: [...walked, ...rest, walked[1]!, ofB].map((r) => r.id),
          }),
        );
        assert.deepEqual(result.insertedIds, ["q1", "q2"]);
        assert.equal(result.quarantineKept, 1);
        // q4 stays: its event id is stored with other content, which the quarantine alone keeps.
        assert.deepEqual(
          (await store.listQuarantine({ sourceId: a.id })).map((r) => r.eventId),
          ["q4"],
        );
        assert.equal((await store.listQuarantine({ sourceId: b.id })).length, 1);
        const counts = new Map((await store.sourceCounts()).map((c) => [c.sourceId, c.quarantined]));
        assert.equal(counts.get(a.id), 1);
        assert.equal(counts.get(b.id), 1);
      });

      it("reports an unknown event type only the first time a source sees it", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        const first = await store.applyPage(page(a.id, [], { unknownTypes: ["x.new", "y.new"] }));
        assert.deepEqual(first.newUnknownTypes, ["x.new", "y.new"]);
        const second = await store.applyPage(page(a.id, [], { unknownTypes: ["x.new", "z.new", "z.new"] }));
        assert.deepEqual(second.newUnknownTypes, ["z.new"]);
        const other = await store.applyPage(page(b.id, [], { unknownTypes: ["x.new"] }));
        assert.deepEqual(other.newUnknownTypes, ["x.new"]);

        const ofA = await store.listUnknownTypes(a.id);
        assert.deepEqual(ofA.map((t) => t.type).sort(), ["x.new", "y.new", "z.new"]);
        for (const t of ofA) {
          assert.equal(t.sourceId, a.id);
          assert.equal(typeof t.firstSeenMs, "number");
        }
        assert.equal((await store.listUnknownTypes()).length, 4);
      });

      it("moves the checkpoint only when a stream update is given, and only the fields given", async () => {
        const source = await newSource();
        assert.deepEqual(await store.getStreamState(source.id, "main"), {
          sourceId: source.id,
          stream: "main",
          checkpointSecs: null,
          lastSweepSecs: null,
          owedWindow: null,
        });
        await store.applyPage(page(source.id, [eventRow("e1", T0)]));
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, null);

        await store.applyPage(
          page(source.id, [eventRow("e2", T0)], { streamUpdate: { stream: "main", checkpointSecs: T0 } }),
        );
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0);
        assert.equal((await store.getStreamState(source.id, "tenant")).checkpointSecs, null);

        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "main", lastSweepSecs: T0 + 50 } }));
        assert.deepEqual(await store.getStreamState(source.id, "main"), {
          sourceId: source.id,
          stream: "main",
          checkpointSecs: T0,
          lastSweepSecs: T0 + 50,
          owedWindow: null,
        });

        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "main", checkpointSecs: T0 + 60 } }));
        await store.applyPage(page(source.id, [eventRow("e3", T0 + 61)]));
        const main = await store.getStreamState(source.id, "main");
        assert.equal(main.checkpointSecs, T0 + 60);
        assert.equal(main.lastSweepSecs, T0 + 50);

        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "tenant", checkpointSecs: T0 + 7 } }));
        assert.equal((await store.getStreamState(source.id, "tenant")).checkpointSecs, T0 + 7);
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 60);
      });

      it("keeps a window's owed rest with the page that leaves it, until a page clears it", async () => {
        const source = await newSource();
        const owed = { startSecs: T0 - 3600, endSecs: T0, cursor: "audit_log-x", sweep: true };
        await store.applyPage(
          page(source.id, [eventRow("e1", T0)], {
            streamUpdate: { stream: "main", checkpointSecs: T0, owedWindow: owed },
          }),
        );
        assert.deepEqual((await store.getStreamState(source.id, "main")).owedWindow, owed);
        assert.equal((await store.getStreamState(source.id, "tenant")).owedWindow, null);
        // A page that moves only the checkpoint leaves the owed window as it is; a later cursor replaces it.
        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "main", checkpointSecs: T0 + 60 } }));
        assert.deepEqual((await store.getStreamState(source.id, "main")).owedWindow, owed);
        const further = { ...owed, cursor: null };
        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "main", owedWindow: further } }));
        assert.deepEqual(await store.getStreamState(source.id, "main"), {
          sourceId: source.id,
          stream: "main",
          checkpointSecs: T0 + 60,
          lastSweepSecs: null,
          owedWindow: further,
        });
        await store.applyPage(
          page(source.id, [], { streamUpdate: { stream: "main", owedWindow: null, lastSweepSecs: T0 } }),
        );
        assert.deepEqual(await store.getStreamState(source.id, "main"), {
          sourceId: source.id,
          stream: "main",
          checkpointSecs: T0 + 60,
          lastSweepSecs: T0,
          owedWindow: null,
        });
        // A page that fails writes none of it.
        await assert.rejects(
          store.applyPage(
            page(source.id, [], {
              streamUpdate: { stream: "main", owedWindow: owed },
              sliceProgress: { jobId: 987_654, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 0 },
            }),
          ),
          VigilError,
        );
        assert.equal((await store.getStreamState(source.id, "main")).owedWindow, null);
      });

      it("rejects a page for an unknown source and stores nothing", async () => {
        await assert.rejects(
          store.applyPage(page("00000000-0000-0000-0000-000000000000", [eventRow("e1", T0)])),
          VigilError,
        );
        assert.equal(await store.countEvents(), 0);
      });

      it("writes nothing of a page that fails", async () => {
        const source = await newSource();
        await store.applyPage(
          page(source.id, [eventRow("before", T0)], { streamUpdate: { stream: "main", checkpointSecs: T0 } }),
        );
        const statusBefore = await store.getPollStatus(source.id);
        // A slice that does not exist makes the page fail after its events were written.
        await assert.rejects(
          store.applyPage(
            page(source.id, [eventRow("lost1", T0 + 1), eventRow("lost2", T0 + 2)], {
              quarantined: [badRecord("{}")],
              unknownTypes: ["never.seen"],
              streamUpdate: { stream: "main", checkpointSecs: T0 + 100, lastSweepSecs: T0 + 100 },
              sliceProgress: { jobId: 987_654, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 2 },
            }),
          ),
          VigilError,
        );
        assert.deepEqual(await store.listEventIds(source.id), ["before"]);
        assert.deepEqual(await store.listQuarantine({ sourceId: source.id }), []);
        assert.deepEqual(await store.listUnknownTypes(source.id), []);
        assert.deepEqual(await store.getStreamState(source.id, "main"), {
          sourceId: source.id,
          stream: "main",
          checkpointSecs: T0,
          lastSweepSecs: null,
          owedWindow: null,
        });
        assert.deepEqual(await store.getPollStatus(source.id), statusBefore);
        // The same page, retried without the fault, is stored whole.
        const retried = await store.applyPage(
          page(source.id, [eventRow("lost1", T0 + 1), eventRow("lost2", T0 + 2)], {
            unknownTypes: ["never.seen"],
            streamUpdate: { stream: "main", checkpointSecs: T0 + 100 },
          }),
        );
        assert.deepEqual(retried.insertedIds, ["lost1", "lost2"]);
        assert.deepEqual(retried.newUnknownTypes, ["never.seen"]);
      });
    });

    describe("poll status", () => {
      it("starts empty and records polls, failures and recoveries", async () => {
        const source = await newSource();
        assert.deepEqual(await store.getPollStatus(source.id), {
          sourceId: source.id,
          lastPollStartedMs: null,
          lastPollFinishedMs: null,
          lastSuccessMs: null,
          lastError: null,
          lastErrorCode: null,
          lastEventStoredMs: null,
          consecutiveFailures: 0,
        });

        await store.recordPollStart(source.id, 1_000);
        await store.recordPollResult(source.id, {
          atMs: 1_500,
          ok: false,
          error: "The API said 503.",
          errorCode: "http_503",
        });
        await store.recordPollStart(source.id, 2_000);
        await store.recordPollResult(source.id, { atMs: 2_500, ok: false, error: "Timed out.", errorCode: "timeout" });
        let status = await store.getPollStatus(source.id);
        assert.equal(status.lastPollStartedMs, 2_000);
        assert.equal(status.lastPollFinishedMs, 2_500);
        assert.equal(status.lastSuccessMs, null);
        assert.equal(status.lastError, "Timed out.");
        assert.equal(status.lastErrorCode, "timeout");
        assert.equal(status.consecutiveFailures, 2);

        await store.recordPollStart(source.id, 3_000);
        await store.recordPollResult(source.id, { atMs: 3_500, ok: true });
        status = await store.getPollStatus(source.id);
        assert.equal(status.lastPollStartedMs, 3_000);
        assert.equal(status.lastPollFinishedMs, 3_500);
        assert.equal(status.lastSuccessMs, 3_500);
        assert.equal(status.lastError, null);
        assert.equal(status.lastErrorCode, null);
        assert.equal(status.consecutiveFailures, 0);
      });

      it("never stores an admin key in an error message", async () => {
        const source = await newSource();
        const key = "sk-admin-abcdefghijklmnopqrstuvwxyz0123456789";
        await store.recordPollResult(source.id, { atMs: 1, ok: false, error: `Rejected key ${key}.` });
        const status = await store.getPollStatus(source.id);
        assert.ok(status.lastError);
        assert.ok(!status.lastError.includes(key));
      });

      it("sets lastEventStoredMs only when a page stores a new event", async () => {
        const source = await newSource();
        await store.applyPage(page(source.id, [], { quarantined: [badRecord("{}")] }));
        assert.equal((await store.getPollStatus(source.id)).lastEventStoredMs, null);

        await store.recordPollStart(source.id, 10);
        await store.applyPage(page(source.id, [eventRow("e1", T0)]));
        const stored = (await store.getPollStatus(source.id)).lastEventStoredMs;
        assert.equal(typeof stored, "number");
        assert.equal((await store.getPollStatus(source.id)).lastPollStartedMs, 10);

        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.applyPage(page(source.id, [eventRow("e1", T0)]));
        assert.equal((await store.getPollStatus(source.id)).lastEventStoredMs, stored);
      });
    });

    describe("backfill", () => {
      it("creates a job with its slices, each starting at endSecs - 1", async () => {
        const source = await newSource();
        const job = await store.createBackfillJob(
          { sourceId: source.id, stream: "main", sinceSecs: T0, untilSecs: T0 + 300 },
          [
            { startSecs: T0, endSecs: T0 + 100 },
            { startSecs: T0 + 100, endSecs: T0 + 200 },
            { startSecs: T0 + 200, endSecs: T0 + 300 },
          ],
        );
        assert.equal(typeof job.id, "number");
        assert.equal(typeof job.createdAtMs, "number");
        assert.deepEqual(
          { ...job, id: 0, createdAtMs: 0 },
          {
            id: 0,
            sourceId: source.id,
            stream: "main",
            sinceSecs: T0,
            untilSecs: T0 + 300,
            createdAtMs: 0,
            done: false,
          },
        );
        assert.deepEqual(await store.getBackfillSlices(job.id), [
          {
            jobId: job.id,
            sliceIndex: 0,
            startSecs: T0,
            endSecs: T0 + 100,
            upperBoundSecs: T0 + 99,
            cursor: null,
            done: false,
            eventsRead: 0,
          },
          {
            jobId: job.id,
            sliceIndex: 1,
            startSecs: T0 + 100,
            endSecs: T0 + 200,
            upperBoundSecs: T0 + 199,
            cursor: null,
            done: false,
            eventsRead: 0,
          },
          {
            jobId: job.id,
            sliceIndex: 2,
            startSecs: T0 + 200,
            endSecs: T0 + 300,
            upperBoundSecs: T0 + 299,
            cursor: null,
            done: false,
            eventsRead: 0,
          },
        ]);
        assert.deepEqual(await store.listBackfillJobs(), [job]);
        assert.deepEqual(await store.listBackfillJobs({ sourceId: source.id, pendingOnly: true }), [job]);
        assert.deepEqual(await store.listBackfillJobs({ sourceId: "00000000-0000-0000-0000-000000000000" }), []);
        // No initialCheckpointSecs: the stream's checkpoint is left alone.
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, null);
      });

      it("sets the initial checkpoint only when the stream has none", async () => {
        const source = await newSource();
        const range = { sourceId: source.id, sinceSecs: T0, untilSecs: T0 + 100 };
        await store.createBackfillJob({ ...range, stream: "main", initialCheckpointSecs: T0 + 100 }, [
          { startSecs: T0, endSecs: T0 + 100 },
        ]);
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 100);
        assert.equal((await store.getStreamState(source.id, "tenant")).checkpointSecs, null);

        // A second start of the source's history (a worker that read no checkpoint either) gets the first job.
        const again = await store.createBackfillJob({ ...range, stream: "main", initialCheckpointSecs: T0 + 5 }, []);
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 100);
        assert.deepEqual(await store.listBackfillJobs({ sourceId: source.id }), [again]);
        assert.equal((await store.getBackfillSlices(again.id)).length, 1);

        await store.applyPage(page(source.id, [], { streamUpdate: { stream: "tenant", lastSweepSecs: T0 } }));
        await store.createBackfillJob({ ...range, stream: "tenant", initialCheckpointSecs: T0 + 9 }, []);
        assert.equal((await store.listBackfillJobs({ sourceId: source.id })).length, 2);
        assert.deepEqual(await store.getStreamState(source.id, "tenant"), {
          sourceId: source.id,
          stream: "tenant",
          checkpointSecs: T0 + 9,
          lastSweepSecs: T0,
          owedWindow: null,
        });
      });

      it("writes slice progress with its page and completes the job when every slice is done", async () => {
        const source = await newSource();
        const job = await store.createBackfillJob(
          { sourceId: source.id, stream: "main", sinceSecs: T0, untilSecs: T0 + 200 },
          [
            { startSecs: T0, endSecs: T0 + 100 },
            { startSecs: T0 + 100, endSecs: T0 + 200 },
          ],
        );
        await store.applyPage(
          page(source.id, [eventRow("b1", T0 + 150), eventRow("b2", T0 + 140)], {
            sliceProgress: { jobId: job.id, sliceIndex: 1, upperBoundSecs: T0 + 140, done: false, eventsRead: 2 },
          }),
        );
        let slices = await store.getBackfillSlices(job.id);
        assert.deepEqual(
          slices.map((s) => [s.upperBoundSecs, s.done, s.eventsRead]),
          [
            [T0 + 99, false, 0],
            [T0 + 140, false, 2],
          ],
        );
        assert.equal(await store.completeBackfillJobIfDone(job.id), false);

        await store.applyPage(
          page(source.id, [eventRow("b3", T0 + 120)], {
            sliceProgress: { jobId: job.id, sliceIndex: 1, upperBoundSecs: T0 + 99, done: true, eventsRead: 3 },
          }),
        );
        await store.applyPage(
          page(source.id, [], {
            sliceProgress: { jobId: job.id, sliceIndex: 0, upperBoundSecs: T0 - 1, done: true, eventsRead: 0 },
          }),
        );
        slices = await store.getBackfillSlices(job.id);
        assert.deepEqual(
          slices.map((s) => [s.done, s.eventsRead]),
          [
            [true, 0],
            [true, 3],
          ],
        );
        assert.deepEqual((await store.listBackfillJobs({ pendingOnly: true })).length, 1);
        assert.equal(await store.completeBackfillJobIfDone(job.id), true);
        assert.equal(await store.completeBackfillJobIfDone(job.id), true);
        assert.deepEqual(await store.listBackfillJobs({ pendingOnly: true }), []);
        assert.equal((await store.listBackfillJobs({ sourceId: source.id }))[0]?.done, true);
        assert.equal(await store.countEvents({ sourceId: source.id }), 3);
      });

      it("writes several slices' pages in one transaction, each with its own progress, or none of them", async () => {
        const source = await newSource();
        const job = await store.createBackfillJob(
          { sourceId: source.id, stream: "main", sinceSecs: T0, untilSecs: T0 + 200 },
          [
            { startSecs: T0, endSecs: T0 + 100 },
            { startSecs: T0 + 100, endSecs: T0 + 200 },
          ],
        );
        const results = await store.applyPages([
          page(source.id, [eventRow("g1", T0 + 150), eventRow("g2", T0 + 140)], {
            sliceProgress: { jobId: job.id, sliceIndex: 1, upperBoundSecs: T0 + 140, done: false, eventsRead: 2 },
          }),
          // Applied after the first page, as alone: the event the first page stored is its duplicate.
          page(source.id, [eventRow("g3", T0 + 50), eventRow("g2", T0 + 140)], {
            sliceProgress: { jobId: job.id, sliceIndex: 0, upperBoundSecs: T0 + 50, done: false, eventsRead: 2 },
          }),
        ]);
        assert.deepEqual(
          results.map((r) => [r.insertedIds, r.duplicates]),
          [
            [["g1", "g2"], 0],
            [["g3"], 1],
          ],
        );
        assert.deepEqual(
          (await store.getBackfillSlices(job.id)).map((s) => [s.upperBoundSecs, s.eventsRead]),
          [
            [T0 + 50, 2],
            [T0 + 140, 2],
          ],
        );
        // One page that fails (a slice of no job) fails the group: the other page's events and progress are
        // not written either.
        await assert.rejects(
          store.applyPages([
            page(source.id, [eventRow("g4", T0 + 130)], {
              sliceProgress: { jobId: job.id, sliceIndex: 1, upperBoundSecs: T0 + 130, done: false, eventsRead: 3 },
            }),
            page(source.id, [eventRow("g5", T0 + 40)], {
              sliceProgress: { jobId: 987_654, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 1 },
            }),
          ]),
          VigilError,
        );
        assert.deepEqual((await store.listEventIds(source.id)).sort(), ["g1", "g2", "g3"]);
        assert.deepEqual(
          (await store.getBackfillSlices(job.id)).map((s) => s.upperBoundSecs),
          [T0 + 50, T0 + 140],
        );
        assert.deepEqual(await store.applyPages([]), []);
      });

      it("rejects a job for an unknown source", async () => {
        await rejectsWithCode(
          store.createBackfillJob(
            { sourceId: "00000000-0000-0000-0000-000000000000", stream: "main", sinceSecs: T0, untilSecs: T0 + 1 },
            [{ startSecs: T0, endSecs: T0 + 1 }],
          ),
          "not_found",
        );
        assert.deepEqual(await store.listBackfillJobs(), []);
      });
    });

    describe("search", () => {
      it("returns events newest first, ties broken by id descending", async () => {
        const source = await newSource();
        await store.applyPage(
          page(source.id, [
            eventRow("evt_b", T0 + 10),
            eventRow("evt_a", T0 + 10),
            eventRow("evt_z", T0),
            eventRow("evt_c", T0 + 10),
            eventRow("evt_y", T0 + 20),
          ]),
        );
        const ids = (await store.searchEvents({})).map((e) => e.id);
        assert.deepEqual(ids, ["evt_y", "evt_c", "evt_b", "evt_a", "evt_z"]);
      });

      it("AND-s every filter", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        await store.applyPage(
          page(a.id, [
            eventRow("a1", T0 + 1, { type: "login.failed", actorEmail: "eve@example.com", ip: "198.51.100.1" }),
            eventRow("a2", T0 + 2, { type: "api_key.created", actorId: "user-2", projectId: "proj_x" }),
            eventRow("a3", T0 + 3, { type: "login.succeeded", actorEmail: "eve@example.com", ip: "198.51.100.2" }),
            eventRow("a4", T0 + 4, { type: "login.failed", actorEmail: null, actorId: null, ip: null }),
          ]),
        );
        await store.applyPage(
          page(b.id, [eventRow("b1", T0 + 2, { type: "login.failed", actorEmail: "eve@example.com" })]),
        );

        const ids = async (q: Parameters<Store["searchEvents"]>[0]) => (await store.searchEvents(q)).map((e) => e.id);
        assert.deepEqual(await ids({ sourceId: a.id }), ["a4", "a3", "a2", "a1"]);
        assert.deepEqual(await ids({ types: ["login.failed"] }), ["a4", "b1", "a1"]);
        assert.deepEqual(await ids({ types: ["login.failed", "api_key.created"], sourceId: a.id }), ["a4", "a2", "a1"]);
        assert.deepEqual(await ids({ types: [], sourceId: a.id }), ["a4", "a3", "a2", "a1"]);
        assert.deepEqual(await ids({ actorEmail: "eve@example.com" }), ["a3", "b1", "a1"]);
        assert.deepEqual(await ids({ actorEmail: "eve@example.com", types: ["login.failed"], sourceId: a.id }), ["a1"]);
        assert.deepEqual(await ids({ actorId: "user-2" }), ["a2"]);
        assert.deepEqual(await ids({ ip: "198.51.100.2" }), ["a3"]);
        assert.deepEqual(await ids({ projectId: "proj_x" }), ["a2"]);
        assert.deepEqual(await ids({ sinceSecs: T0 + 2 }), ["a4", "a3", "b1", "a2"]);
        assert.deepEqual(await ids({ untilSecs: T0 + 2 }), ["a1"]);
        assert.deepEqual(await ids({ sinceSecs: T0 + 2, untilSecs: T0 + 4, sourceId: a.id }), ["a3", "a2"]);
        assert.deepEqual(await ids({ ip: "203.0.113.7" }), ["b1", "a2"]);
        assert.deepEqual(await ids({ actorEmail: "nobody@example.com" }), []);

        assert.equal(await store.countEvents(), 5);
        assert.equal(await store.countEvents({ actorEmail: "eve@example.com" }), 3);
        assert.equal(await store.countEvents({ sourceId: b.id }), 1);
        assert.equal(await store.countEvents({ sourceId: a.id, limit: 1 }), 4);
      });

      /** Stores one event per record of `raws` (keyed by its event id), a second apart, in one page. */
      async function storeRecords(sourceId: string, raws: Record<string, string>): Promise<void> {
        await store.applyPage(
          page(
            sourceId,
            Object.entries(raws).map(([id, raw], i) => eventRow(id, T0 + i, { raw })),
          ),
        );
      }

      /** The ids of the events a free-text search finds, sorted. */
      async function idsWithText(text: string): Promise<string[]> {
        return (await store.searchEvents({ text })).map((e) => e.id).sort();
      }

      /** Checks the same answers while the events wait for the text index, and once it has caught up. */
      async function indexedOrNot(expectations: () => Promise<void>): Promise<void> {
        await expectations();
        await store.indexPendingText();
        await expectations();
      }

      it("finds text as a case-insensitive literal substring of a value of the record", async () => {
        const source = await newSource();
        const raws: Record<string, string> = {
          percent: '{"note":"disk 100% full"}',
          underscore: '{"note":"disk 100_ full"}',
          plain: '{"note":"disk 1000 full"}',
          backslash: JSON.stringify({ note: "C:\\Users\\eve" }),
          upper: '{"email":"MALLORY@EXAMPLE.COM"}',
        };
        await storeRecords(source.id, raws);
        assert.deepEqual(await idsWithText("100% full"), ["percent"]);
        assert.deepEqual(await idsWithText("100_ full"), ["underscore"]);
        assert.deepEqual(await idsWithText("%"), ["percent"]);
        assert.deepEqual(await idsWithText("_"), ["underscore"]);
        // A trailing backslash must stay literal, not escape the closing wildcard.
        assert.deepEqual(await idsWithText("c:\\"), ["backslash"]);
        // Values as they read once unescaped: one backslash, not JSON's two.
        assert.deepEqual(await idsWithText("\\users"), ["backslash"]);
        assert.deepEqual(await idsWithText("\\\\users"), []);
        assert.deepEqual(await idsWithText("mallory@example"), ["upper"]);
        assert.deepEqual(await idsWithText("DISK 100"), ["percent", "plain", "underscore"]);
        assert.deepEqual(await idsWithText("absent"), []);
        assert.equal(await store.countEvents({ text: "100% FULL" }), 1);
      });

      it("finds long, quoted and non-ASCII text exactly, in values only, indexed or not yet", async () => {
        const source = await newSource();
        const raws: Record<string, string> = {
          key: JSON.stringify({ id: "key_8f3a2c9d01", name: 'say "hi" to <script>alert(1)</script>' }),
          lookalike: JSON.stringify({ id: "key_8f3a2c9d02", name: "key_8f3 a2c9d01" }),
          unicode: JSON.stringify({ name: "Zoë Ünïcode 東京" }),
          spans: '{"type":"api_key.created"}',
        };
        await storeRecords(source.id, raws);
        const expectations = async () => {
          // Every trigram of "key_8f3a2c9d01" is in both records; only one holds the text itself.
          assert.deepEqual(await idsWithText("key_8f3a2c9d01"), ["key"]);
          assert.deepEqual(await idsWithText("KEY_8F3A2C9D0"), ["key", "lookalike"]);
          // Values are matched unescaped: the quotes as typed, not as JSON escapes them.
          assert.deepEqual(await idsWithText('say "hi"'), ["key"]);
          assert.deepEqual(await idsWithText('say \\"hi\\"'), []);
          assert.deepEqual(await idsWithText('"hi" AND NOT x'), []);
          assert.deepEqual(await idsWithText("<script>alert(1)</script>"), ["key"]);
          assert.deepEqual(await idsWithText("東京"), ["unicode"]);
          assert.deepEqual(await idsWithText("Zoë Ü"), ["unicode"]);
          // Values only: keys and JSON syntax are not searched.
          assert.deepEqual(await idsWithText("api_key.cr"), ["spans"]);
          assert.deepEqual(await idsWithText('"type":"api_key.cr'), []);
          assert.deepEqual(await idsWithText("type"), []);
          assert.equal(await store.countEvents({ text: "d01" }), 2);
        };
        await indexedOrNot(expectations);
      });

      it("finds text of one or two characters wherever a value holds it, indexed or not yet", async () => {
        const source = await newSource();
        const raws: Record<string, string> = {
          // The text as a whole value, at a value's start, and at the very end of the record (its last value).
          whole: JSON.stringify({ a: "x", code: "Qz" }),
          start: JSON.stringify({ note: "qzebra", n: 1 }),
          last: JSON.stringify({ n: 2, tail: "fizz-qz" }),
          spanning: JSON.stringify({ a: "q", b: "z" }),
          single: JSON.stringify({ mark: "~" }),
          key: JSON.stringify({ qz: "nothing" }),
        };
        await storeRecords(source.id, raws);
        const expectations = async () => {
          assert.deepEqual(await idsWithText("qz"), ["last", "start", "whole"]);
          assert.deepEqual(await idsWithText("QZ"), ["last", "start", "whole"]);
          assert.deepEqual(await idsWithText("z-"), ["last"]);
          assert.deepEqual(await idsWithText("~"), ["single"]);
          assert.deepEqual(await idsWithText("~^"), []);
          assert.deepEqual(await idsWithText('"'), []);
          assert.equal(await store.countEvents({ text: "Q" }), 4);
        };
        await indexedOrNot(expectations);
      });

      it("finds events by id, within a source or across sources", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        await store.applyPage(page(a.id, [eventRow("e1", T0), eventRow("e2", T0 + 1), eventRow("shared", T0 + 2)]));
        await store.applyPage(page(b.id, [eventRow("shared", T0 + 3)]));
        const found = async (q: { sourceId?: string; ids: string[] }) =>
          (await store.searchEvents(q)).map((e) => `${e.sourceId === a.id ? "a" : "b"}:${e.id}`);
        assert.deepEqual(await found({ sourceId: a.id, ids: ["e2"] }), ["a:e2"]);
        assert.deepEqual(await found({ sourceId: a.id, ids: ["e1", "e2", "nope"] }), ["a:e2", "a:e1"]);
        assert.deepEqual(await found({ ids: ["shared"] }), ["b:shared", "a:shared"]);
        assert.deepEqual(await found({ sourceId: b.id, ids: ["e1"] }), []);
        assert.deepEqual(await found({ ids: [] }), []);
        assert.equal(await store.countEvents({ ids: ["e1", "shared"] }), 3);
      });

      it("stops finding a source's events by text once the source is removed", async () => {
        const a = await newSource("a");
        const b = await newSource("b");
        const raw = JSON.stringify({ note: "needle-in-a-haystack" });
        await store.applyPage(page(a.id, [eventRow("ea", T0, { raw })]));
        await store.applyPage(page(b.id, [eventRow("eb", T0, { raw })]));
        assert.equal(await store.countEvents({ text: "needle-in-a" }), 2);
        await store.removeSource(a.id);
        assert.deepEqual(
          (await store.searchEvents({ text: "needle-in-a" })).map((e) => [e.sourceId, e.id]),
          [[b.id, "eb"]],
        );
        // A new event of a new source, written after the removal, is indexed as usual.
        const c = await newSource("c");
        await store.applyPage(page(c.id, [eventRow("ec", T0 + 1, { raw })]));
        assert.equal(await store.countEvents({ text: "NEEDLE-IN-A" }), 2);
      });

      it("returns 100 events by default, honours limit, and caps it at 10000", async () => {
        const source = await newSource();
        const events = Array.from({ length: 10_005 }, (_, i) => eventRow(`evt_${String(i).padStart(5, "0")}`, T0 + i));
        await store.applyPage(page(source.id, events));
        const all = await store.searchEvents({});
        assert.equal(all.length, 100);
        assert.equal(all[0]?.id, "evt_10004");
        assert.deepEqual(
          (await store.searchEvents({ limit: 3 })).map((e) => e.id),
          ["evt_10004", "evt_10003", "evt_10002"],
        );
        assert.equal((await store.searchEvents({ limit: 50_000 })).length, 10_000);
        assert.equal(await store.countEvents(), 10_005);
        await rejectsWithCode(store.searchEvents({ limit: 0 }), "usage");
      });
    });

    describe("removeSource", () => {
      it("removes the source and everything stored for it, and nothing of other sources", async () => {
        const doomed = await newSource("doomed");
        const kept = await newSource("kept");
        for (const source of [doomed, kept]) {
          const job = await store.createBackfillJob(
            { sourceId: source.id, stream: "main", sinceSecs: T0, untilSecs: T0 + 10 },
            [{ startSecs: T0, endSecs: T0 + 10 }],
          );
          await store.applyPage(
            page(source.id, [eventRow("shared", T0 + 1)], {
              quarantined: [badRecord("{}")],
              unknownTypes: ["odd.type"],
              streamUpdate: { stream: "main", checkpointSecs: T0 + 10, lastSweepSecs: T0 },
              sliceProgress: { jobId: job.id, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 1 },
            }),
          );
          await store.recordPollResult(source.id, { atMs: 5, ok: false, error: "boom" });
        }
        const [doomedJob] = await store.listBackfillJobs({ sourceId: doomed.id });
        assert.ok(doomedJob);

        await store.removeSource(doomed.id);

        assert.equal(await store.getSource(doomed.id), null);
        assert.equal(await store.getSource("doomed"), null);
        assert.equal(await store.getSourceSecret(doomed.id), null);
        assert.deepEqual(await store.listEventIds(doomed.id), []);
        assert.equal(await store.countEvents({ sourceId: doomed.id }), 0);
        assert.deepEqual(await store.listQuarantine({ sourceId: doomed.id }), []);
        assert.deepEqual(await store.listUnknownTypes(doomed.id), []);
        assert.deepEqual(await store.listBackfillJobs({ sourceId: doomed.id }), []);
        assert.deepEqual(await store.getBackfillSlices(doomedJob.id), []);
        assert.equal((await store.getStreamState(doomed.id, "main")).checkpointSecs, null);
        assert.equal((await store.getPollStatus(doomed.id)).consecutiveFailures, 0);
        assert.equal((await store.getPollStatus(doomed.id)).lastError, null);

        assert.deepEqual(await store.listEventIds(kept.id), ["shared"]);
        assert.equal((await store.listQuarantine()).length, 1);
        assert.equal((await store.listUnknownTypes()).length, 1);
        assert.equal((await store.listBackfillJobs()).length, 1);
        assert.equal((await store.getStreamState(kept.id, "main")).checkpointSecs, T0 + 10);
        assert.equal((await store.getPollStatus(kept.id)).consecutiveFailures, 1);

        // The name is free again, and the new source starts empty.
        const reborn = await newSource("doomed");
        assert.notEqual(reborn.id, doomed.id);
        assert.equal(await store.countEvents({ sourceId: reborn.id }), 0);
      });

      it("leaves nothing of pages written while the source is removed; a page after it is not_found", async () => {
        const doomed = await newSource("doomed");
        await store.applyPage(page(doomed.id, [eventRow("first", T0)]));
        const pages = Array.from({ length: 6 }, (_, i) =>
          store.applyPage(
            page(doomed.id, [eventRow(`p${i}-a`, T0 + i), eventRow(`p${i}-b`, T0 + i)], {
              streamUpdate: { stream: "main", checkpointSecs: T0 + i },
            }),
          ),
        );
        const removal = store.removeSource(doomed.id);
        const settled = await Promise.allSettled([...pages, removal]);
        assert.equal(settled.at(-1)?.status, "fulfilled");
        for (const outcome of settled) {
          if (outcome.status === "rejected") {
            assert.ok(
              outcome.reason instanceof VigilError && outcome.reason.code === "not_found",
              String(outcome.reason),
            );
          }
        }
        await rejectsWithCode(store.applyPage(page(doomed.id, [eventRow("late", T0)])), "not_found");
        assert.equal(await store.getSource(doomed.id), null);
        assert.deepEqual(await store.listEventIds(doomed.id), []);
        assert.equal(await store.countEvents({ sourceId: doomed.id }), 0);
        assert.equal((await store.getStreamState(doomed.id, "main")).checkpointSecs, null);
        assert.equal((await store.getPollStatus(doomed.id)).lastEventStoredMs, null);
      });
    });

    describe("detections", () => {
      /** One page: each event with its matches (built by `m`) and state ops. */
      function detectionPage(
        sourceId: string,
        items: Array<{ id: string; t: number; matches?: Array<Partial<RuleMatch>>; ops?: RuleStateOp[] }>,
        extra: Partial<PageWrite> = {},
      ): PageWrite {
        return page(
          sourceId,
          items.map((i) => eventRow(i.id, i.t)),
          {
            matches: items.flatMap((i) => (i.matches ?? []).map((o) => ruleMatch(sourceId, i.id, i.t, o))),
            stateOps: items.flatMap((i) => (i.ops ?? []).map((op) => ({ eventId: i.id, op }))),
            ...extra,
          },
        );
      }

      it("stores matches as signals, creates an alert, and never applies a re-read event's matches twice", async () => {
        const source = await newSource();
        const write = detectionPage(source.id, [
          { id: "e1", t: T0, matches: [{}] },
          { id: "e2", t: T0 + 10, matches: [{}] },
        ]);
        const first = await store.applyPage(write);
        assert.equal(first.createdAlertIds.length, 1);
        const second = await store.applyPage(write);
        assert.deepEqual(second.createdAlertIds, []);
        const signals = await store.listMatches({ sourceId: source.id, sinceSecs: T0, untilSecs: T0 + 11 });
        assert.deepEqual(signals, [ruleMatch(source.id, "e1", T0), ruleMatch(source.id, "e2", T0 + 10)]);
        const alerts = await store.listAlerts();
        assert.equal(alerts.length, 1);
        const alert = alerts[0]!;
        assert.equal(alert.id, first.createdAlertIds[0]);
        assert.equal(alert.matchCount, 2);
        assert.equal(alert.status, "OPEN");
        assert.equal(alert.windowStartSecs, H0);
        assert.equal(alert.windowEndSecs, H0 + 3600);
        assert.deepEqual(await store.getAlert(alert.id), alert);
        const attached = await store.getAlertMatches(alert.id);
        assert.deepEqual(
          attached.map((a) => [a.match.eventId, a.event?.id]),
          [
            ["e1", "e1"],
            ["e2", "e2"],
          ],
        );
        assert.equal(attached[0]?.event?.raw, eventRow("e1", T0).raw);
      });

      it("marks the alerts a page of history creates, and filters on it", async () => {
        const source = await newSource();
        const live = await store.applyPage(detectionPage(source.id, [{ id: "e1", t: T0, matches: [{}] }]));
        const old = await store.applyPage(
          detectionPage(source.id, [{ id: "e2", t: T0 - 86_400, matches: [{}] }], { fromHistory: true }),
        );
        // A re-read of the live event by a history page changes nothing: the alert stays live.
        await store.applyPage(detectionPage(source.id, [{ id: "e1", t: T0, matches: [{}] }], { fromHistory: true }));
        const byId = new Map((await store.listAlerts()).map((a) => [a.id, a]));
        assert.equal(byId.size, 2);
        assert.equal(byId.get(live.createdAlertIds[0]!)?.fromHistory, false);
        assert.equal(byId.get(old.createdAlertIds[0]!)?.fromHistory, true);
        assert.deepEqual(
          (await store.listAlerts({ fromHistory: true })).map((a) => a.id),
          old.createdAlertIds,
        );
        assert.deepEqual(
          (await store.listAlerts({ fromHistory: false })).map((a) => a.id),
          live.createdAlertIds,
        );
        assert.deepEqual(await store.historyAlertCounts(), { total: 1, open: 1 });
        // Live activity joining the history alert makes it live, and announces it (an outbox entry).
        const outboxBefore = (await store.listUnroutedOutbox(100)).length;
        await store.applyPage(detectionPage(source.id, [{ id: "e3", t: T0 - 86_400 + 60, matches: [{}] }]));
        const joined = await store.getAlert(old.createdAlertIds[0]!);
        assert.equal(joined?.fromHistory, false);
        assert.equal(joined?.matchCount, 2);
        const outbox = await store.listUnroutedOutbox(100);
        assert.equal(outbox.length, outboxBefore + 1);
        assert.deepEqual(
          outbox.filter((e) => e.alertId === old.createdAlertIds[0]).map((e) => e.kind),
          ["created", "created"],
        );
        assert.deepEqual(await store.historyAlertCounts(), { total: 0, open: 0 });
        // Another history alert, then resolved: counted, no longer open.
        const older = await store.applyPage(
          detectionPage(source.id, [{ id: "e4", t: T0 - 2 * 86_400, matches: [{}] }], { fromHistory: true }),
        );
        assert.deepEqual(await store.historyAlertCounts(), { total: 1, open: 1 });
        // Acknowledged is still open, as the overview's tiles and the alert list's UNRESOLVED count it.
        await store.setAlertStatus(older.createdAlertIds[0]!, "ACKNOWLEDGED", 1);
        assert.deepEqual(await store.historyAlertCounts(), { total: 1, open: 1 });
        await store.setAlertStatus(older.createdAlertIds[0]!, "RESOLVED", 1);
        assert.deepEqual(await store.historyAlertCounts(), { total: 1, open: 0 });
        // Live activity joining it now is not announced: its resolve went to the destinations that take history,
        // and a "created" would page the others for an incident nothing resolves. It joins, and stays history.
        const kinds = async (id: string) =>
          (await store.listUnroutedOutbox(100)).filter((e) => e.alertId === id).map((e) => [e.kind, e.fromHistory]);
        const olderId = older.createdAlertIds[0]!;
        assert.deepEqual(await kinds(olderId), [
          ["created", true],
          ["resolved", true],
        ]);
        await store.applyPage(detectionPage(source.id, [{ id: "e5", t: T0 - 2 * 86_400 + 60, matches: [{}] }]));
        const ended = await store.getAlert(olderId);
        assert.deepEqual([ended?.status, ended?.fromHistory, ended?.matchCount], ["RESOLVED", true, 2]);
        assert.deepEqual(await kinds(olderId), [
          ["created", true],
          ["resolved", true],
        ]);
        // Reopened, it is open again: the next live match makes it live and announces it, and its resolve then
        // reaches the same destinations.
        await store.setAlertStatus(olderId, "OPEN", 2);
        await store.applyPage(detectionPage(source.id, [{ id: "e6", t: T0 - 2 * 86_400 + 120, matches: [{}] }]));
        assert.equal((await store.getAlert(olderId))?.fromHistory, false);
        const resolvedAgain = await store.setAlertStatus(olderId, "RESOLVED", 3);
        assert.equal(resolvedAgain.fromHistory, false);
        assert.deepEqual(await kinds(olderId), [
          ["created", true],
          ["resolved", true],
          ["created", false],
          ["resolved", false],
        ]);
      });

      it("creates the alert when the threshold is reached, across pages, and attaches the earlier matches", async () => {
        const source = await newSource();
        const m = { threshold: 3 };
        const p1 = await store.applyPage(
          detectionPage(source.id, [
            { id: "e1", t: T0, matches: [m] },
            { id: "e2", t: T0 + 1, matches: [m] },
          ]),
        );
        assert.deepEqual(p1.createdAlertIds, []);
        assert.deepEqual(await store.listAlerts(), []);
        const p2 = await store.applyPage(detectionPage(source.id, [{ id: "e3", t: T0 + 2, matches: [m] }]));
        assert.equal(p2.createdAlertIds.length, 1);
        const alertId = p2.createdAlertIds[0]!;
        const alert = await store.getAlert(alertId);
        assert.equal(alert?.matchCount, 3);
        assert.equal(alert?.title, "Failed login e1");
        assert.deepEqual(
          (await store.getAlertMatches(alertId)).map((a) => a.match.eventId),
          ["e1", "e2", "e3"],
        );
        assert.deepEqual(
          (await store.getAlertMatches(alertId, 2)).map((a) => a.match.eventId),
          ["e1", "e2"],
        );
      });

      it("counts distinct unique() values exactly under a threshold", async () => {
        const source = await newSource();
        const u = (value: string) => ({ threshold: 3, uniqueValue: value });
        const p1 = await store.applyPage(
          detectionPage(source.id, [
            { id: "e1", t: T0, matches: [u("ip-a")] },
            { id: "e2", t: T0 + 1, matches: [u("ip-a")] },
            { id: "e3", t: T0 + 2, matches: [u("ip-b")] },
            { id: "e4", t: T0 + 3, matches: [u("ip-b")] },
          ]),
        );
        assert.deepEqual(p1.createdAlertIds, []);
        const p2 = await store.applyPage(detectionPage(source.id, [{ id: "e5", t: T0 + 4, matches: [u("ip-a")] }]));
        assert.deepEqual(p2.createdAlertIds, []);
        const p3 = await store.applyPage(detectionPage(source.id, [{ id: "e6", t: T0 + 5, matches: [u("ip-c")] }]));
        assert.equal(p3.createdAlertIds.length, 1);
        assert.equal((await store.getAlert(p3.createdAlertIds[0]!))?.matchCount, 6);
      });

      it("starts a new alert at the next multiple of the dedup period, and attaches up to one second before", async () => {
        const source = await newSource();
        const p1 = await store.applyPage(detectionPage(source.id, [{ id: "e1", t: H0 + 10, matches: [{}] }]));
        const p2 = await store.applyPage(detectionPage(source.id, [{ id: "e2", t: H0 + 3599, matches: [{}] }]));
        const p3 = await store.applyPage(detectionPage(source.id, [{ id: "e3", t: H0 + 3600, matches: [{}] }]));
        // Before the first match, in its grid hour: still its window (windows do not start at the first match).
        const p4 = await store.applyPage(detectionPage(source.id, [{ id: "e0", t: H0, matches: [{}] }]));
        assert.equal(p1.createdAlertIds.length, 1);
        assert.deepEqual(p2.createdAlertIds, []);
        assert.deepEqual(p4.createdAlertIds, []);
        assert.equal(p3.createdAlertIds.length, 1);
        assert.notEqual(p3.createdAlertIds[0], p1.createdAlertIds[0]);
        const second = await store.getAlert(p3.createdAlertIds[0]!);
        assert.equal(second?.windowStartSecs, H0 + 3600);
        const first = await store.getAlert(p1.createdAlertIds[0]!);
        assert.deepEqual([first?.windowStartSecs, first?.windowEndSecs, first?.matchCount], [H0, H0 + 3600, 3]);
        // Newest first.
        assert.deepEqual(
          (await store.listAlerts()).map((a) => a.id),
          [p3.createdAlertIds[0], p1.createdAlertIds[0]],
        );
      });

      it("keeps the earliest match's title, severity and context when later matches attach", async () => {
        const source = await newSource();
        const p1 = await store.applyPage(
          detectionPage(source.id, [
            { id: "e1", t: T0, matches: [{ title: "first", severity: "LOW", alertContext: { n: 1 } }] },
          ]),
        );
        await store.applyPage(
          detectionPage(source.id, [
            { id: "e2", t: T0 + 5, matches: [{ title: "second", severity: "CRITICAL", alertContext: { n: 2 } }] },
          ]),
        );
        const alert = await store.getAlert(p1.createdAlertIds[0]!);
        assert.equal(alert?.title, "first");
        assert.equal(alert?.severity, "LOW");
        assert.deepEqual(alert?.alertContext, { n: 1 });
        assert.equal(alert?.matchCount, 2);
        assert.deepEqual(alert?.destinations, null);
        assert.equal(alert?.packId, "openai");
      });

      it("takes the alert's fields from the earliest match, even one that arrives after the alert", async () => {
        const source = await newSource();
        const p1 = await store.applyPage(
          detectionPage(source.id, [
            { id: "late", t: T0 + 60, matches: [{ title: "late", severity: "LOW", alertContext: { n: 2 } }] },
          ]),
        );
        const [id] = p1.createdAlertIds;
        assert.ok(id !== undefined);
        assert.equal((await store.getAlert(id))?.title, "late");
        // An earlier event, read later (a newest-first page, another slice): the alert follows it.
        const p2 = await store.applyPage(
          detectionPage(source.id, [
            {
              id: "early",
              t: T0,
              matches: [{ title: "early", severity: "HIGH", alertContext: { n: 1 }, destinations: ["d1"] }],
            },
          ]),
        );
        assert.deepEqual(p2.createdAlertIds, []);
        const alert = await store.getAlert(id);
        assert.deepEqual(
          [alert?.title, alert?.severity, alert?.alertContext, alert?.destinations, alert?.matchCount],
          ["early", "HIGH", { n: 1 }, ["d1"], 2],
        );
      });

      it("keeps createAlert false matches as signals without an alert", async () => {
        const source = await newSource();
        const result = await store.applyPage(
          detectionPage(source.id, [{ id: "e1", t: T0, matches: [{ createAlert: false }] }]),
        );
        assert.deepEqual(result.createdAlertIds, []);
        assert.deepEqual(await store.listAlerts(), []);
        const signals = await store.listMatches({ sinceSecs: T0, untilSecs: T0 + 1 });
        assert.equal(signals.length, 1);
        assert.equal(signals[0]?.createAlert, false);
      });

      it("groups rule errors apart from matches of the same rule", async () => {
        const source = await newSource();
        const error = { isError: true, errorType: "KeyError", errorMessage: "x", dedupString: "KeyError" };
        const result = await store.applyPage(
          detectionPage(source.id, [{ id: "e1", t: T0, matches: [{ dedupString: "KeyError" }, error] }]),
        );
        assert.equal(result.createdAlertIds.length, 2);
        const alerts = await store.listAlerts({ ruleId: "OpenAI.Login.Failed" });
        assert.deepEqual(alerts.map((a) => a.isError).sort(), [false, true]);
        assert.equal((await store.listMatches({ sinceSecs: T0, untilSecs: T0 + 1 })).length, 2);
      });

      it("derives the same alert ids in another store and on replay", async () => {
        const source = await newSource();
        const items = [
          { id: "e1", t: T0, matches: [{}] },
          { id: "e2", t: T0 + 7200, matches: [{}] },
        ];
        const result = await store.applyPage(detectionPage(source.id, items));
        const other = await open();
        try {
          // Same source id, as after a restore: the ids depend on key and window start only.
          const otherSource = await other.createSource(sourceSettings("acme"), { ciphertext: "x" });
          const replay = await other.applyPage(detectionPage(otherSource.id, items));
          assert.equal(replay.createdAlertIds.length, 2);
          if (otherSource.id === source.id) assert.deepEqual(replay.createdAlertIds, result.createdAlertIds);
        } finally {
          if (cleanup) await cleanup(other);
          else await other.close();
        }
        assert.equal(new Set(result.createdAlertIds).size, 2);
        // Re-applying (a crash replay) creates nothing.
        assert.deepEqual((await store.applyPage(detectionPage(source.id, items))).createdAlertIds, []);
        assert.deepEqual(
          (await store.applyDerivedMatches(source.id, [ruleMatch(source.id, "e1", T0)])).createdAlertIds,
          [],
        );
        assert.equal((await store.listAlerts()).length, 2);
      });

      it("keeps every new match pending for correlation until cleared, per source, in storage order", async () => {
        const source = await newSource();
        const other = await newSource("other");
        // Stored out of event-time order (a backfill page after a live one): storage order is what counts.
        await store.applyPage(detectionPage(source.id, [{ id: "live", t: T0 + 600, matches: [{}] }]));
        await store.applyPage(
          detectionPage(source.id, [{ id: "old", t: T0 - 86_400, matches: [{}, { ruleId: "B" }] }]),
        );
        await store.applyPage(detectionPage(other.id, [{ id: "x", t: T0, matches: [{}] }]));
        const derived = ruleMatch(source.id, "live", T0 + 600, { ruleId: "C", logType: "Vigil.Correlation" });
        await store.applyDerivedMatches(source.id, [derived]);
        const pending = await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 10 });
        assert.deepEqual(
          pending.map((p) => `${p.match.ruleId}@${p.match.eventId}`),
          [
            `${ruleMatch(source.id, "live", 0).ruleId}@live`,
            `${ruleMatch(source.id, "old", 0).ruleId}@old`,
            "B@old",
            "C@live",
          ],
        );
        assert.ok(
          pending.every((p, i) => i === 0 || p.seq > pending[i - 1]!.seq),
          "ascending seq",
        );
        assert.equal(pending[1]?.match.eventTimeSecs, T0 - 86_400);
        // A re-read page stores nothing new, so nothing new is pending.
        await store.applyPage(detectionPage(source.id, [{ id: "old", t: T0 - 86_400, matches: [{}] }]));
        assert.equal((await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 10 })).length, 4);
        // Paging by afterSeq and limit.
        const second = await store.listCorrelationPending(source.id, { afterSeq: pending[0]!.seq, limit: 2 });
        assert.deepEqual(
          second.map((p) => p.seq),
          [pending[1]!.seq, pending[2]!.seq],
        );
        await store.clearCorrelationPending(source.id, [pending[0]!.seq, pending[2]!.seq]);
        // Another source's seqs are not cleared through this source.
        const otherPending = await store.listCorrelationPending(other.id, { afterSeq: 0, limit: 10 });
        await store.clearCorrelationPending(
          source.id,
          otherPending.map((p) => p.seq),
        );
        assert.equal((await store.listCorrelationPending(other.id, { afterSeq: 0, limit: 10 })).length, 1);
        assert.deepEqual(
          (await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 10 })).map((p) => p.seq),
          [pending[1]!.seq, pending[3]!.seq],
        );
        await store.clearCorrelationPending(source.id, []);
        // Cleared matches stay stored (listMatches still sees them).
        assert.equal((await store.listMatches({ sourceId: source.id, sinceSecs: 0, untilSecs: T0 + 1000 })).length, 4);
      });

      it("stores pending for correlation only the matches of the member rules a write names", async () => {
        const source = await newSource();
        const member = ruleMatch(source.id, "e1", T0).ruleId;
        await store.applyPage(
          detectionPage(source.id, [{ id: "e1", t: T0, matches: [{}, { ruleId: "B" }] }], {
            correlationMemberRuleIds: [member],
          }),
        );
        // Chained correlations: a derived match of a member rule waits, another does not.
        await store.applyDerivedMatches(
          source.id,
          [
            ruleMatch(source.id, "e1", T0, { ruleId: "C", logType: "Vigil.Correlation" }),
            ruleMatch(source.id, "e1", T0, { ruleId: "D", logType: "Vigil.Correlation" }),
          ],
          { correlationMemberRuleIds: ["D"] },
        );
        const pending = await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 10 });
        assert.deepEqual(
          pending.map((p) => p.match.ruleId),
          [member, "D"],
        );
        // The others are stored all the same.
        assert.deepEqual(
          (await store.listMatches({ sourceId: source.id, sinceSecs: 0, untilSecs: T0 + 1 }))
            .map((m) => m.ruleId)
            .sort(),
          ["B", "C", "D", member].sort(),
        );
        // A write naming no members (an empty list) stores none pending.
        await store.applyPage(
          detectionPage(source.id, [{ id: "e2", t: T0 + 1, matches: [{}] }], { correlationMemberRuleIds: [] }),
        );
        assert.equal((await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 10 })).length, 2);
      });

      it("applies derived (correlation) matches once", async () => {
        const source = await newSource();
        await store.applyPage(detectionPage(source.id, [{ id: "e1", t: T0 }]));
        const correlated = ruleMatch(source.id, "e1", T0, {
          ruleId: "Vigil.Correlation.X",
          logType: "Vigil.Correlation",
        });
        const first = await store.applyDerivedMatches(source.id, [correlated]);
        const again = await store.applyDerivedMatches(source.id, [correlated]);
        assert.equal(first.createdAlertIds.length, 1);
        assert.deepEqual(again.createdAlertIds, []);
        assert.equal((await store.getAlert(first.createdAlertIds[0]!))?.matchCount, 1);
        await rejectsWithCode(
          store.applyDerivedMatches(source.id, [{ ...correlated, sourceId: "someone-else" }]),
          "usage",
        );
        // One anchor completes for each of its keys (an event of two addresses): each key's match is its own,
        // in one call or in two, and each is applied once.
        const keyed = (dedupString: string) => ({ ...correlated, ruleId: "Vigil.Correlation.Y", dedupString });
        const both = await store.applyDerivedMatches(source.id, [keyed("198.51.100.1"), keyed("198.51.100.2")]);
        assert.equal(both.createdAlertIds.length, 2);
        const third = await store.applyDerivedMatches(source.id, [keyed("198.51.100.2"), keyed("198.51.100.3")]);
        assert.equal(third.createdAlertIds.length, 1);
        assert.deepEqual(
          (await store.listAlerts({ limit: 10 }))
            .filter((a) => a.ruleId === "Vigil.Correlation.Y")
            .map((a) => [a.dedupString, a.matchCount])
            .sort(),
          [
            ["198.51.100.1", 1],
            ["198.51.100.2", 1],
            ["198.51.100.3", 1],
          ],
        );
        // Any other rule's derived match is one per event, whatever its dedup string says now: a system alarm's
        // names its source, and a renamed source's episode is not alerted a second time.
        const alarm = (dedupString: string) =>
          ruleMatch(source.id, "no-data:episode-1", T0, { ruleId: "Vigil.System.NoData", dedupString });
        assert.equal((await store.applyDerivedMatches(source.id, [alarm("prod:1")])).createdAlertIds.length, 1);
        assert.deepEqual((await store.applyDerivedMatches(source.id, [alarm("prod-renamed:1")])).createdAlertIds, []);
        assert.deepEqual(
          (await store.listAlerts({ limit: 10 }))
            .filter((a) => a.ruleId === "Vigil.System.NoData")
            .map((a) => a.matchCount),
          [1],
        );
      });

      it("stores one match of a rule for an event a page holds twice, whatever dedup strings the two copies give", async () => {
        const source = await newSource();
        const page = detectionPage(source.id, [{ id: "e1", t: T0, matches: [{ dedupString: "first" }] }]);
        const twice: PageWrite = {
          ...page,
          events: [...page.events, ...page.events],
          matches: [...(page.matches ?? []), { ...page.matches![0]!, dedupString: "second" }],
        };
        const result = await store.applyPage(twice);
        assert.equal(result.createdAlertIds.length, 1);
        assert.deepEqual(
          (await store.listAlerts({ limit: 10 })).map((a) => [a.dedupString, a.matchCount]),
          [["first", 1]],
        );
      });

      it("makes a history alert live when live derived matches join it, and announces it once", async () => {
        const source = await newSource();
        const derived = (eventId: string, t: number) =>
          ruleMatch(source.id, eventId, t, { ruleId: "Vigil.Correlation.H", logType: "Vigil.Correlation" });
        const old = await store.applyDerivedMatches(source.id, [derived("h1", T0)], { fromHistory: true });
        assert.equal(old.createdAlertIds.length, 1);
        const id = old.createdAlertIds[0]!;
        assert.equal((await store.getAlert(id))?.fromHistory, true);
        // More history joining it changes nothing but the count.
        await store.applyDerivedMatches(source.id, [derived("h2", T0 + 10)], { fromHistory: true });
        const kinds = async () =>
          (await store.listUnroutedOutbox(100)).filter((e) => e.alertId === id).map((e) => e.kind);
        assert.deepEqual(await kinds(), ["created"]);
        await store.applyDerivedMatches(source.id, [derived("l1", T0 + 20)]);
        const joined = await store.getAlert(id);
        assert.equal(joined?.fromHistory, false);
        assert.equal(joined?.matchCount, 3);
        assert.deepEqual(await kinds(), ["created", "created"]);
        // Once live, more live matches only count.
        await store.applyDerivedMatches(source.id, [derived("l2", T0 + 30)]);
        assert.equal((await store.getAlert(id))?.matchCount, 4);
        assert.deepEqual(await kinds(), ["created", "created"]);
        assert.deepEqual(
          (await store.getAlertMatches(id)).map((m) => m.match.eventId),
          ["h1", "h2", "l1", "l2"],
        );
      });

      it("judges state expiry by event time, so old history keeps its counters", async () => {
        // T0 is years before the wall clock: every expiry below is long past, yet alive at the events' time.
        const source = await newSource();
        const r = "OpenAI.BruteForce";
        const bump = (id: string, t: number) =>
          detectionPage(source.id, [
            { id, t, ops: [{ kind: "increment", ruleId: r, key: "fails", by: 1, expiresAtSecs: t + 3600 }] },
          ]);
        await store.applyPage(bump("f1", T0));
        await store.applyPage(bump("f2", T0 + 60));
        const [alive] = await store.loadRuleState(source.id, [r], T0 + 120);
        assert.equal(alive?.counter, 2, "the second failure counts on top of the first");
        assert.equal(alive?.expiresAtSecs, T0 + 3660);
        // An event after the expiry starts a new count.
        await store.applyPage(bump("f3", T0 + 3660 + 1));
        const [fresh] = await store.loadRuleState(source.id, [r], T0 + 3661);
        assert.equal(fresh?.counter, 1);
      });

      it("applies state ops only for inserted events, and hides expired entries", async () => {
        const source = await newSource();
        const r = "OpenAI.FirstSeen";
        const ops: RuleStateOp[] = [
          { kind: "put", ruleId: r, key: "last", value: "v1", expiresAtSecs: null },
          { kind: "increment", ruleId: r, key: "count", by: 2, expiresAtSecs: null },
          { kind: "add_to_set", ruleId: r, key: "ips", member: "b", expiresAtSecs: null },
          { kind: "add_to_set", ruleId: r, key: "ips", member: "a", expiresAtSecs: null },
          { kind: "add_to_set", ruleId: r, key: "ips", member: "b", expiresAtSecs: null },
          { kind: "put", ruleId: r, key: "gone", value: "x", expiresAtSecs: T0 + 100 },
          { kind: "put", ruleId: r, key: "deleted", value: "x", expiresAtSecs: null },
          { kind: "delete", ruleId: r, key: "deleted" },
        ];
        const write = detectionPage(source.id, [{ id: "e1", t: T0, ops }]);
        await store.applyPage(write);
        // The same event re-read: its ops are not applied again (the counter stays at 2).
        await store.applyPage(write);
        const state = await store.loadRuleState(source.id, [r, "Other.Rule"], T0);
        const byKey = new Map(state.map((e) => [e.key, e]));
        assert.deepEqual([...byKey.keys()].sort(), ["count", "gone", "ips", "last"]);
        assert.equal(byKey.get("last")?.value, "v1");
        assert.equal(byKey.get("count")?.counter, 2);
        assert.deepEqual(byKey.get("ips")?.members, ["a", "b"]);
        assert.equal(byKey.get("gone")?.expiresAtSecs, T0 + 100);
        const later = await store.loadRuleState(source.id, [r], T0 + 100);
        assert.deepEqual(later.map((e) => e.key).sort(), ["count", "ips", "last"]);
        assert.deepEqual(await store.loadRuleState(source.id, [], T0), []);

        await store.applyPage(
          detectionPage(source.id, [
            { id: "e2", t: T0 + 1, ops: [{ kind: "increment", ruleId: r, key: "count", by: 1, expiresAtSecs: null }] },
          ]),
        );
        const counted = await store.loadRuleState(source.id, [r], T0);
        assert.equal(counted.find((e) => e.key === "count")?.counter, 3);
      });

      it("applies a batch of many matches and state ops of one key as one at a time would", async () => {
        const batched = await newSource("batched");
        const single = await newSource("single");
        const r = "OpenAI.Counter";
        const items = Array.from({ length: 30 }, (_, i) => ({
          id: `e${i}`,
          // Out of order, within one dedup window (the first event is the earliest).
          t: H0 + ((i * 7) % 30) * 100,
          matches: [{ threshold: 12 }, { ruleId: "OpenAI.Signal", createAlert: false }],
          ops: [
            { kind: "increment", ruleId: r, key: "count", by: 1, expiresAtSecs: null },
            { kind: "add_to_set", ruleId: r, key: "set", member: `m${i % 4}`, expiresAtSecs: null },
            ...(i % 5 === 0 ? [{ kind: "delete", ruleId: r, key: "count" } as const] : []),
          ] satisfies RuleStateOp[],
        }));
        await store.applyPage(detectionPage(batched.id, items));
        for (const item of items) await store.applyPage(detectionPage(single.id, [item]));

        const summary = async (sourceId: string) => {
          const alerts = (await store.listAlerts({ sourceId })).sort((a, b) => a.windowStartSecs - b.windowStartSecs);
          return {
            alerts: await Promise.all(
              alerts.map(async (a) => ({
                window: [a.windowStartSecs, a.windowEndSecs, a.matchCount],
                events: (await store.getAlertMatches(a.id)).map((m) => m.match.eventId),
              })),
            ),
            signals: (await store.listMatches({ sourceId, sinceSecs: H0, untilSecs: H0 + 7200 })).length,
            state: (await store.loadRuleState(sourceId, [r], T0)).map((e) => [e.key, e.counter, e.members]).sort(),
          };
        };
        const got = await summary(batched.id);
        assert.deepEqual(got, await summary(single.id));
        assert.equal(got.signals, 60);
        assert.deepEqual(
          got.alerts.map((a) => a.window),
          [[H0, H0 + 3600, 30]],
        );
        assert.equal(new Set(got.alerts[0]?.events).size, 30);
        assert.deepEqual(got.state, [
          ["count", 4, []],
          ["set", 0, ["m0", "m1", "m2", "m3"]],
        ]);
      });

      it("applies a large batch of derived matches once, duplicates in it included", async () => {
        const source = await newSource();
        const derived = Array.from({ length: 1100 }, (_, i) =>
          ruleMatch(source.id, `d${i}`, T0 + i, { ruleId: "Vigil.Correlation.Big", logType: "Vigil.Correlation" }),
        );
        const first = await store.applyDerivedMatches(source.id, [...derived, derived[0]!, derived[1099]!]);
        assert.equal(first.createdAlertIds.length, 1);
        const alert = await store.getAlert(first.createdAlertIds[0]!);
        assert.equal(alert?.matchCount, 1100);
        const again = await store.applyDerivedMatches(source.id, [...derived.slice(500), ...derived.slice(0, 500)]);
        assert.deepEqual(again.createdAlertIds, []);
        assert.equal((await store.getAlert(first.createdAlertIds[0]!))?.matchCount, 1100);
        const attached = await store.getAlertMatches(first.createdAlertIds[0]!);
        assert.deepEqual(
          attached.map((a) => a.match.eventId),
          derived.map((m) => m.eventId),
        );
      });

      it("finds the stored windows of a batch spread over more of them than one look-up reads", async () => {
        // 600 hourly windows of one key (more ids than one statement binds), each holding one match under a
        // threshold of 2; a second batch puts one more match in each. Every window must be found and extended:
        // one recreated from the second batch alone would hold one match and raise no alert.
        const source = await newSource();
        const hours = 600;
        const batch = (prefix: string, offset: number) =>
          Array.from({ length: hours }, (_, h) =>
            ruleMatch(source.id, `${prefix}${h}`, T0 + h * 3600 + offset, {
              ruleId: "Vigil.Correlation.Hourly",
              logType: "Vigil.Correlation",
              threshold: 2,
            }),
          );
        const first = await store.applyDerivedMatches(source.id, batch("a", 0));
        assert.deepEqual(first.createdAlertIds, []);
        const second = await store.applyDerivedMatches(source.id, batch("b", 60));
        // The rule's alerts past its hourly budget fold into its noisy alerts; the others hold both matches.
        const alerts = await Promise.all(second.createdAlertIds.map((id) => store.getAlert(id)));
        const windowed = alerts.filter((a) => a?.dedupString !== NOISY_DEDUP);
        assert.ok(windowed.length > 0, "no alert of the windows themselves");
        for (const alert of windowed) {
          const matches = (await store.getAlertMatches(alert!.id)).map((m) => m.match.eventId);
          assert.equal(matches.length, 2, alert!.id);
          assert.equal(matches[0]?.slice(1), matches[1]?.slice(1));
        }
      });

      it("upserts detection settings by kind, id and source", async () => {
        const source = await newSource();
        await store.setDetectionSetting({ kind: "rule", id: "R1", sourceId: null, enabled: false });
        await store.setDetectionSetting({ kind: "rule", id: "R1", sourceId: null, enabled: true });
        await store.setDetectionSetting({ kind: "rule", id: "R1", sourceId: source.id, enabled: false });
        await store.setDetectionSetting({ kind: "pack", id: "R1", sourceId: null, enabled: false });
        const settings = await store.listDetectionSettings();
        assert.equal(settings.length, 3);
        assert.deepEqual(
          settings.find((x) => x.kind === "rule" && x.sourceId === null),
          { kind: "rule", id: "R1", sourceId: null, enabled: true },
        );
        assert.deepEqual(
          settings.find((x) => x.kind === "rule" && x.sourceId === source.id),
          { kind: "rule", id: "R1", sourceId: source.id, enabled: false },
        );
        await rejectsWithCode(
          store.setDetectionSetting({ kind: "rule", id: "R1", sourceId: "no-such-source", enabled: true }),
          "not_found",
        );
      });

      it("changes an alert's status, filters by it, and rejects unknown ids", async () => {
        const source = await newSource();
        const result = await store.applyPage(
          detectionPage(source.id, [
            { id: "e1", t: T0, matches: [{ severity: "HIGH" }] },
            { id: "e2", t: T0, matches: [{ ruleId: "Other", severity: "LOW" }] },
          ]),
        );
        const [high, low] = result.createdAlertIds;
        assert.ok(high !== undefined && low !== undefined);
        const changed = await store.setAlertStatus(high, "TRIAGED", 1_234);
        assert.equal(changed.status, "TRIAGED");
        assert.equal(changed.updatedAtMs, 1_234);
        assert.deepEqual(await store.getAlert(high), changed);
        assert.deepEqual(
          (await store.listAlerts({ status: "TRIAGED" })).map((a) => a.id),
          [high],
        );
        assert.deepEqual(
          (await store.listAlerts({ severity: "LOW" })).map((a) => a.id),
          [low],
        );
        assert.deepEqual(
          (await store.listAlerts({ ruleId: "Other", sourceId: source.id })).map((a) => a.id),
          [low],
        );
        assert.equal((await store.listAlerts({ limit: 1 })).length, 1);
        await rejectsWithCode(store.listAlerts({ limit: 0 }), "usage");
        await rejectsWithCode(store.setAlertStatus("no-such-alert", "CLOSED", 1), "not_found");
        assert.equal(await store.getAlert("no-such-alert"), null);
        assert.deepEqual(await store.getAlertMatches("no-such-alert"), []);
      });

      it("records each status change with who and when, oldest first, and resolving enqueues a resolve", async () => {
        const source = await newSource();
        const [id] = (await store.applyPage(detectionPage(source.id, [{ id: "e1", t: T0, matches: [{}] }])))
          .createdAlertIds;
        assert.ok(id !== undefined);
        const acked = await store.setAlertStatus(id, "ACKNOWLEDGED", 2_000, "cli:alice");
        assert.equal(acked.status, "ACKNOWLEDGED");
        assert.deepEqual(
          (await store.listAlerts({ status: "ACKNOWLEDGED" })).map((a) => a.id),
          [id],
        );
        // No change, no row.
        await store.setAlertStatus(id, "ACKNOWLEDGED", 2_500, "cli:alice");
        await store.setAlertStatus(id, "RESOLVED", 3_000, "user:bob");
        await store.setAlertStatus(id, "OPEN", 4_000);
        const changes = await store.listAlertStatusChanges(id);
        assert.equal(changes.length, 4);
        assert.deepEqual(changes[0] && { from: changes[0].from, to: changes[0].to }, { from: null, to: "OPEN" });
        assert.deepEqual(changes.slice(1), [
          { from: "OPEN", to: "ACKNOWLEDGED", atMs: 2_000, by: "cli:alice" },
          { from: "ACKNOWLEDGED", to: "RESOLVED", atMs: 3_000, by: "user:bob" },
          { from: "RESOLVED", to: "OPEN", atMs: 4_000, by: null },
        ]);
        assert.deepEqual(
          (await store.listUnroutedOutbox(10)).map((e) => e.kind),
          ["created", "resolved"],
        );
        assert.deepEqual(await store.listAlertStatusChanges("no-such-alert"), []);
      });

      it("queryEvents: a read-only SELECT over one source's events, capped at maxRows; writes are refused", async () => {
        const source = await newSource();
        const other = await newSource("other", "v1:other");
        await store.applyPage(
          page(source.id, [
            eventRow("q1", T0, { type: "api_key.created", actorEmail: "a@x.io" }),
            eventRow("q2", T0 + 10, { type: "api_key.created", actorEmail: "a@x.io" }),
            eventRow("q3", T0 + 20, { type: "api_key.created", actorEmail: "b@x.io" }),
          ]),
        );
        await store.applyPage(page(other.id, [eventRow("q1", T0, { type: "api_key.created", actorEmail: "a@x.io" })]));
        const perActor = `SELECT actor_email, count(*) AS keys FROM events
          WHERE type = 'api_key.created' AND effective_at >= ${T0} GROUP BY actor_email ORDER BY actor_email;`;
        assert.deepEqual(await store.queryEvents(source.id, perActor, { maxRows: 10, timeoutMs: 5000 }), [
          { actor_email: "a@x.io", keys: 2 },
          { actor_email: "b@x.io", keys: 1 },
        ]);
        const all = "SELECT id FROM events ORDER BY id";
        assert.deepEqual(await store.queryEvents(source.id, all, { maxRows: 2, timeoutMs: 5000 }), [
          { id: "q1" },
          { id: "q2" },
        ]);
        assert.deepEqual(await store.queryEvents(other.id, all, { maxRows: 10, timeoutMs: 5000 }), [{ id: "q1" }]);
        for (const bad of ["DELETE FROM events", "SELECT 1; DELETE FROM events", "SELECT nope FROM events"])
          await assert.rejects(store.queryEvents(source.id, bad, { maxRows: 10, timeoutMs: 5000 }), VigilError);
        assert.equal(await store.countEvents({ sourceId: source.id }), 3);
      });

      it("keeps each scheduled query's last completed slot per source, never moving it back", async () => {
        const source = await newSource();
        const other = await newSource("other", "v1:other");
        assert.deepEqual(await store.scheduledSlotsDone(source.id), new Map());
        await store.recordScheduledSlot(source.id, "Q.A", T0);
        await store.recordScheduledSlot(source.id, "Q.B", T0 + 60);
        await store.recordScheduledSlot(other.id, "Q.A", T0 + 3600);
        await store.recordScheduledSlot(source.id, "Q.A", T0 + 300);
        // A worker that lost the source and records late does not undo the progress of the one that has it.
        await store.recordScheduledSlot(source.id, "Q.A", T0 + 120);
        assert.deepEqual(
          await store.scheduledSlotsDone(source.id),
          new Map([
            ["Q.A", T0 + 300],
            ["Q.B", T0 + 60],
          ]),
        );
        await store.removeSource(other.id);
        assert.deepEqual(await store.scheduledSlotsDone(other.id), new Map());
      });

      it("filters stored matches by rule, source and event-time range [since, until)", async () => {
        const source = await newSource();
        await store.applyPage(
          detectionPage(source.id, [
            { id: "e1", t: T0, matches: [{}] },
            { id: "e2", t: T0 + 10, matches: [{ ruleId: "OpenAI.Login.Success" }] },
            { id: "e3", t: T0 + 20, matches: [{}] },
          ]),
        );
        const ids = async (q: Parameters<Store["listMatches"]>[0]) =>
          (await store.listMatches(q)).map((m) => m.eventId);
        assert.deepEqual(await ids({ sinceSecs: T0, untilSecs: T0 + 20 }), ["e1", "e2"]);
        assert.deepEqual(await ids({ sinceSecs: T0, untilSecs: T0 + 21, ruleIds: ["OpenAI.Login.Failed"] }), [
          "e1",
          "e3",
        ]);
        assert.deepEqual(await ids({ sinceSecs: T0, untilSecs: T0 + 21, ruleIds: [] }), ["e1", "e2", "e3"]);
        assert.deepEqual(await ids({ sinceSecs: T0, untilSecs: T0 + 21, sourceId: "other" }), []);
      });

      it("leaves no signal, alert, window or state behind when the page fails", async () => {
        const source = await newSource();
        const before = await store.applyPage(detectionPage(source.id, [{ id: "e1", t: T0, matches: [{}] }]));
        const alertId = before.createdAlertIds[0]!;
        const failing = detectionPage(
          source.id,
          [
            {
              id: "e2",
              t: T0 + 5,
              matches: [{}, { ruleId: "New.Rule" }],
              ops: [{ kind: "increment", ruleId: "R", key: "k", by: 1, expiresAtSecs: null }],
            },
          ],
          // A slice that does not exist makes the page fail after its matches were applied.
          { sliceProgress: { jobId: 987_654, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 1 } },
        );
        await assert.rejects(store.applyPage(failing), VigilError);
        assert.equal((await store.getAlert(alertId))?.matchCount, 1);
        assert.equal((await store.listAlerts()).length, 1);
        assert.equal((await store.listMatches({ sinceSecs: T0, untilSecs: T0 + 100 })).length, 1);
        assert.deepEqual(await store.loadRuleState(source.id, ["R"], T0), []);
        // Retried without the fault, the page applies whole: the window state was rolled back too.
        const { sliceProgress: _, ...retry } = failing;
        const retried = await store.applyPage(retry);
        assert.equal(retried.createdAlertIds.length, 1);
        assert.equal((await store.getAlert(alertId))?.matchCount, 2);
        assert.equal((await store.loadRuleState(source.id, ["R"], T0))[0]?.counter, 1);
      });

      it("removes a source's signals, alerts and state with it", async () => {
        const source = await newSource();
        await store.applyPage(
          detectionPage(source.id, [
            {
              id: "e1",
              t: T0,
              matches: [{}],
              ops: [{ kind: "put", ruleId: "R", key: "k", value: "v", expiresAtSecs: null }],
            },
          ]),
        );
        await store.setDetectionSetting({ kind: "rule", id: "R", sourceId: source.id, enabled: false });
        await store.removeSource(source.id);
        assert.deepEqual(await store.listAlerts(), []);
        assert.deepEqual(await store.listMatches({ sinceSecs: 0, untilSecs: T0 * 2 }), []);
        assert.deepEqual(await store.loadRuleState(source.id, ["R"], T0), []);
        assert.deepEqual(await store.listDetectionSettings(), []);
      });
    });

    describe("source no-data alarm settings", () => {
      it("default to enabled and 24 hours, and can be changed", async () => {
        const source = await newSource();
        assert.equal(source.noDataAlertEnabled, true);
        assert.equal(source.noDataAlertSecs, 86_400);
        const updated = await store.updateSource(source.id, { noDataAlertEnabled: false, noDataAlertSecs: 3600 });
        assert.equal(updated.noDataAlertEnabled, false);
        assert.equal(updated.noDataAlertSecs, 3600);
        const read = await store.getSource(source.id);
        assert.equal(read?.noDataAlertEnabled, false);
        assert.equal(read?.noDataAlertSecs, 3600);
        const other = await store.createSource(sourceSettings("beta", { noDataAlertSecs: 900 }), { ciphertext: "x" });
        assert.equal(other.noDataAlertSecs, 900);
        assert.equal(other.noDataAlertEnabled, true);
      });

      it("keep the poll-failure threshold: default 1 hour, set on create and on update", async () => {
        const { pollFailureAlertSecs: _omitted, ...settings } = sourceSettings("gamma");
        const source = await store.createSource(settings, { ciphertext: "x" });
        assert.equal(source.pollFailureAlertSecs, 3600);
        const updated = await store.updateSource(source.id, { pollFailureAlertSecs: 900 });
        assert.equal(updated.pollFailureAlertSecs, 900);
        assert.equal((await store.getSource(source.id))?.pollFailureAlertSecs, 900);
        const other = await store.createSource(sourceSettings("delta", { pollFailureAlertSecs: 7200 }), {
          ciphertext: "x",
        });
        assert.equal(other.pollFailureAlertSecs, 7200);
      });
    });

    describe("destinations and delivery", () => {
      async function newDestination(name = "hook") {
        return store.createDestination({
          name,
          type: "webhook",
          minSeverity: "HIGH",
          logTypes: ["OpenAI.Audit"],
          config: { ciphertext: `v1:ciphertext-of-${name}` },
        });
      }

      async function alertWithOutbox() {
        const source = await newSource();
        const result = await store.applyPage(
          page(source.id, [eventRow("e1", T0)], { matches: [ruleMatch(source.id, "e1", T0)] }),
        );
        assert.equal(result.createdAlertIds.length, 1);
        return { source, alertId: result.createdAlertIds[0] as string };
      }

      it("creates, lists, gets and removes destinations; the config stays ciphertext", async () => {
        const created = await newDestination();
        assert.equal(created.name, "hook");
        assert.equal(created.minSeverity, "HIGH");
        assert.deepEqual(created.logTypes, ["OpenAI.Audit"]);
        assert.deepEqual((await store.getDestination("hook"))?.id, created.id);
        assert.deepEqual((await store.getDestination(created.id))?.name, "hook");
        assert.deepEqual(await store.getDestinationConfig(created.id), { ciphertext: "v1:ciphertext-of-hook" });
        await rejectsWithCode(newDestination(), "conflict");
        await newDestination("alpha");
        assert.deepEqual(
          (await store.listDestinations()).map((d) => d.name),
          ["alpha", "hook"],
        );
        await store.removeDestination(created.id);
        assert.equal(await store.getDestination("hook"), null);
        assert.equal(await store.getDestinationConfig(created.id), null);
        await rejectsWithCode(store.removeDestination(created.id), "not_found");
      });

      it("updates a destination in place: same id and name, new settings and ciphertext", async () => {
        const created = await newDestination();
        const updated = await store.updateDestination(created.id, {
          minSeverity: "LOW",
          logTypes: [],
          config: { ciphertext: "v1:new" },
        });
        assert.equal(updated.id, created.id);
        assert.equal(updated.name, "hook");
        assert.equal(updated.type, "webhook");
        assert.equal(updated.minSeverity, "LOW");
        assert.deepEqual(updated.logTypes, []);
        assert.deepEqual(await store.getDestinationConfig(created.id), { ciphertext: "v1:new" });
        const read = await store.getDestination("hook");
        assert.equal(read?.minSeverity, "LOW");
        assert.deepEqual(read?.logTypes, []);
        const typeOnly = await store.updateDestination(created.id, { type: "slack" });
        assert.equal(typeOnly.type, "slack");
        assert.equal(typeOnly.minSeverity, "LOW");
        await rejectsWithCode(store.updateDestination("nope", { minSeverity: "HIGH" }), "not_found");
      });

      it("records who owns a destination, and keeps the owner unless an update names one", async () => {
        const created = await newDestination();
        assert.equal(created.managedBy, null);
        const owned = await store.updateDestination(created.id, { managedBy: "config" });
        assert.equal(owned.managedBy, "config");
        assert.equal((await store.updateDestination(created.id, { minSeverity: "LOW" })).managedBy, "config");
        assert.equal((await store.getDestination("hook"))?.managedBy, "config");
        assert.equal((await store.updateDestination(created.id, { managedBy: null })).managedBy, null);
        const fromFile = await store.createDestination({
          name: "from-file",
          type: "file",
          minSeverity: "INFO",
          logTypes: [],
          config: { ciphertext: "v1:x" },
          managedBy: "config",
        });
        assert.deepEqual(
          (await store.listDestinations()).map((d) => [d.name, d.managedBy]),
          [
            ["from-file", "config"],
            ["hook", null],
          ],
        );
        assert.equal(fromFile.managedBy, "config");
      });

      it("enqueues an outbox entry with each created alert, in the page and in derived matches", async () => {
        const { source, alertId } = await alertWithOutbox();
        const derived = await store.applyDerivedMatches(source.id, [
          ruleMatch(source.id, "system:x", T0, { ruleId: "Vigil.System.Test", dedupString: "d" }),
        ]);
        const entries = await store.listUnroutedOutbox(10);
        assert.deepEqual(
          entries.map((e) => [e.alertId, e.kind]),
          [
            [alertId, "created"],
            [derived.createdAlertIds[0], "created"],
          ],
        );
        // A second match of the same alert enqueues nothing more.
        await store.applyPage(
          page(source.id, [eventRow("e2", T0 + 1)], { matches: [ruleMatch(source.id, "e2", T0 + 1)] }),
        );
        assert.equal((await store.listUnroutedOutbox(10)).length, 2);
      });

      it("enqueues a resolved entry when an open alert ends, resolved or closed, once", async () => {
        const { alertId } = await alertWithOutbox();
        await store.setAlertStatus(alertId, "TRIAGED", 1);
        await store.setAlertStatus(alertId, "RESOLVED", 2);
        await store.setAlertStatus(alertId, "RESOLVED", 3);
        // Between the ended statuses: the receivers were told already.
        await store.setAlertStatus(alertId, "CLOSED", 4);
        await store.setAlertStatus(alertId, "RESOLVED", 5);
        assert.deepEqual(
          (await store.listUnroutedOutbox(10)).map((e) => e.kind),
          ["created", "resolved"],
        );
        // Reopened, then closed as a false positive: the pager is told it ended again.
        await store.setAlertStatus(alertId, "OPEN", 6);
        await store.setAlertStatus(alertId, "CLOSED", 7);
        assert.deepEqual(
          (await store.listUnroutedOutbox(10)).map((e) => e.kind),
          ["created", "resolved", "resolved"],
        );
      });

      it("routes an entry once into deliveries, claims them under a lease, and records attempts", async () => {
        const { alertId } = await alertWithOutbox();
        const dest = await newDestination();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 1000);
        // Routing again (a worker that crashed after routing) changes nothing.
        await store.routeOutboxEntry(
          entry.id,
          [
            { id: dest.id, name: dest.name },
            { id: "other", name: "o" },
          ],
          1000,
        );
        assert.deepEqual(await store.listUnroutedOutbox(10), []);

        const claimed = await store.claimDeliveries({ nowMs: 1000, leaseMs: 30_000, limit: 10 });
        assert.equal(claimed.length, 1);
        const first = claimed[0];
        assert.ok(first);
        assert.equal(first.alertId, alertId);
        assert.equal(first.kind, "created");
        assert.equal(first.destinationId, dest.id);
        assert.equal(first.attempts, 1);
        // Leased: nobody else gets it, even when due.
        assert.deepEqual(await store.claimDeliveries({ nowMs: 2000, leaseMs: 30_000, limit: 10 }), []);

        assert.equal(
          await store.recordDeliveryAttempt({
            deliveryId: first.id,
            leaseToken: first.leaseToken,
            atMs: 2000,
            outcome: "retry",
            nextAttemptAtMs: 5000,
            statusCode: 503,
            error: "HTTP 503",
            durationMs: 12,
          }),
          true,
        );
        assert.equal((await store.getDestination(dest.id))?.lastDeliveredAtMs, null, "nothing delivered yet");
        assert.deepEqual(await store.claimDeliveries({ nowMs: 4999, leaseMs: 30_000, limit: 10 }), []);
        const again = await store.claimDeliveries({ nowMs: 5000, leaseMs: 30_000, limit: 10 });
        assert.equal(again.length, 1);
        assert.equal(again[0]?.id, first.id);
        assert.equal(again[0]?.attempts, 2);
        assert.equal(
          await store.recordDeliveryAttempt({
            deliveryId: first.id,
            leaseToken: again[0]?.leaseToken ?? "",
            atMs: 5100,
            outcome: "sent",
            statusCode: 200,
            durationMs: 5,
          }),
          true,
        );
        assert.equal((await store.getDestination(dest.id))?.lastDeliveredAtMs, 5100);
        const [delivery] = await store.listDeliveries(alertId);
        assert.ok(delivery);
        assert.equal(delivery.status, "sent");
        assert.equal(delivery.deliveredAtMs, 5100);
        assert.equal(delivery.lastError, null);
        assert.equal(delivery.destinationName, "hook");
        assert.deepEqual(
          delivery.log.map((a) => [a.attempt, a.outcome, a.statusCode, a.error]),
          [
            [1, "retry", 503, "HTTP 503"],
            [2, "sent", 200, null],
          ],
        );
        assert.deepEqual(await store.claimDeliveries({ nowMs: 99_999, leaseMs: 30_000, limit: 10 }), []);
      });

      it("hands a destination an alert's notifications in the order they were enqueued, each after the last", async () => {
        const { alertId } = await alertWithOutbox();
        const pager = await newDestination("pager");
        const chat = await newDestination("chat");
        const both = [pager, chat].map((d) => ({ id: d.id, name: d.name }));
        const route = async () => {
          for (const entry of await store.listUnroutedOutbox(10)) await store.routeOutboxEntry(entry.id, both, 1000);
        };
        const claim = async (nowMs: number) =>
          (await store.claimDeliveries({ nowMs, leaseMs: 30_000, limit: 10 })).sort((a, b) =>
            a.destinationName.localeCompare(b.destinationName),
          );
        const record = (d: { id: string; leaseToken: string }, outcome: "sent" | "retry", atMs: number) =>
          store.recordDeliveryAttempt({
            deliveryId: d.id,
            leaseToken: d.leaseToken,
            atMs,
            outcome,
            ...(outcome === "retry" ? { nextAttemptAtMs: 60_000, statusCode: 429 } : { statusCode: 200 }),
            durationMs: 1,
          });
        await route();
        const created = await claim(1000);
        assert.deepEqual(
          created.map((d) => `${d.destinationName}:${d.kind}`),
          ["chat:created", "pager:created"],
        );
        // The pager answers 429 (retry in a minute), the chat takes it. Then the alert is resolved.
        await record(created[1]!, "retry", 1100);
        await record(created[0]!, "sent", 1100);
        await store.setAlertStatus(alertId, "RESOLVED", 2000, "user:bob");
        await route();
        // The chat hears of the resolve at once; the pager only after its creation went through.
        const resolvedToChat = await claim(2000);
        assert.deepEqual(
          resolvedToChat.map((d) => `${d.destinationName}:${d.kind}`),
          ["chat:resolved"],
        );
        await record(resolvedToChat[0]!, "sent", 2100);
        const retried = await claim(60_000);
        assert.deepEqual(
          retried.map((d) => `${d.destinationName}:${d.kind}`),
          ["pager:created"],
        );
        // Claimed (being sent) is still pending: the resolve waits for its outcome too.
        assert.deepEqual(await claim(60_000), []);
        await record(retried[0]!, "sent", 60_100);
        assert.deepEqual(
          (await claim(60_100)).map((d) => `${d.destinationName}:${d.kind}`),
          ["pager:resolved"],
        );
      });

      it("routes a resolve to the destinations its alert's creation went to, and only there, whatever routing says now", async () => {
        const { alertId } = await alertWithOutbox();
        const pager = await newDestination("pager");
        const chat = await newDestination("chat");
        const gone = await newDestination("gone");
        const [createdEntry] = await store.listUnroutedOutbox(10);
        assert.ok(createdEntry);
        await store.routeOutboxEntry(
          createdEntry.id,
          [pager, chat, gone].map((d) => ({ id: d.id, name: d.name })),
          1000,
        );
        // The pager received it, the chat has it on its way; "gone" gave up (dead letter).
        for (const d of await store.claimDeliveries({ nowMs: 1000, leaseMs: 30_000, limit: 10 })) {
          if (d.destinationName === "chat") continue;
          await store.recordDeliveryAttempt({
            deliveryId: d.id,
            leaseToken: d.leaseToken,
            atMs: 1100,
            outcome: d.destinationName === "pager" ? "sent" : "failed",
            durationMs: 1,
          });
        }
        await store.setAlertStatus(alertId, "RESOLVED", 2000, "user:bob");
        const [resolvedEntry] = await store.listUnroutedOutbox(10);
        assert.equal(resolvedEntry?.kind, "resolved");
        // Routing now names none of them (a late match lowered the alert's severity, say), only a destination
        // added since, which never heard of the alert: the resolve goes where the creation went, and only there
        // (not to "gone", whose creation was given up).
        const late = await newDestination("late");
        await store.routeOutboxEntry(resolvedEntry!.id, [{ id: late.id, name: late.name }], 2000);
        const resolves = (await store.listDeliveries(alertId)).filter((d) => d.kind === "resolved");
        assert.deepEqual(resolves.map((d) => d.destinationName).sort(), ["chat", "pager"]);
      });

      it("re-claims a delivery whose lease expired; the stale holder cannot record over the new one", async () => {
        const { alertId } = await alertWithOutbox();
        const dest = await newDestination();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 0);
        // Leases run on the database's clock: a short one, and a wait past it.
        const [stale] = await store.claimDeliveries({ nowMs: 0, leaseMs: LEASE_MS, limit: 10 });
        assert.ok(stale);
        // Not even to a worker whose clock runs far ahead: it is still being sent.
        assert.deepEqual(
          await store.claimDeliveries({ nowMs: 1e15, leaseMs: LEASE_MS, limit: 10 }),
          [],
          "still leased",
        );
        await leaseLapses();
        const [fresh] = await store.claimDeliveries({ nowMs: 1000, leaseMs: 60_000, limit: 10 });
        assert.ok(fresh);
        assert.equal(fresh.id, stale.id);
        assert.notEqual(fresh.leaseToken, stale.leaseToken);
        assert.equal(
          await store.recordDeliveryAttempt({
            deliveryId: stale.id,
            leaseToken: stale.leaseToken,
            atMs: 1500,
            outcome: "failed",
            error: "late",
            durationMs: 1,
          }),
          false,
        );
        assert.equal((await store.listDeliveries(alertId))[0]?.status, "pending");
        await store.recordDeliveryAttempt({
          deliveryId: fresh.id,
          leaseToken: fresh.leaseToken,
          atMs: 1600,
          outcome: "failed",
          error: "gave up",
          durationMs: 1,
        });
        const [dead] = await store.listDeliveriesByStatus("failed");
        assert.equal(dead?.id, fresh.id);
        assert.equal(dead?.lastError, "gave up");
        assert.deepEqual(await store.claimDeliveries({ nowMs: 99_999, leaseMs: 1000, limit: 10 }), []);
      });

      it("claims no delivery of the destinations it is told to skip", async () => {
        await alertWithOutbox();
        const pager = await newDestination("pager");
        const chat = await newDestination("chat");
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(
          entry.id,
          [pager, chat].map((d) => ({ id: d.id, name: d.name })),
          1000,
        );
        const skipped = await store.claimDeliveries({
          nowMs: 1000,
          leaseMs: 1000,
          limit: 10,
          skipDestinations: [pager.id],
        });
        assert.deepEqual(
          skipped.map((d) => d.destinationName),
          ["chat"],
        );
        const rest = await store.claimDeliveries({ nowMs: 1000, leaseMs: 1000, limit: 10, skipDestinations: [] });
        assert.deepEqual(
          rest.map((d) => d.destinationName),
          ["pager"],
        );
      });

      it("two concurrent claims never return the same delivery", async () => {
        await alertWithOutbox();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        const targets = Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, name: `dest ${i}` }));
        await store.routeOutboxEntry(entry.id, targets, 0);
        const [a, b] = await Promise.all([
          store.claimDeliveries({ nowMs: 0, leaseMs: 1000, limit: 8 }),
          store.claimDeliveries({ nowMs: 0, leaseMs: 1000, limit: 8 }),
        ]);
        const ids = [...(a ?? []), ...(b ?? [])].map((d) => d.id);
        assert.equal(ids.length, 12);
        assert.equal(new Set(ids).size, 12);
      });

      it("routes an entry once when two workers route it at the same time; unknown entries are not_found", async () => {
        const { alertId } = await alertWithOutbox();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        // Different targets, so the deliveries show which routing won: exactly one of them, whole.
        await Promise.all([
          store.routeOutboxEntry(
            entry.id,
            [
              { id: "a1", name: "a1" },
              { id: "a2", name: "a2" },
            ],
            0,
          ),
          store.routeOutboxEntry(entry.id, [{ id: "b1", name: "b1" }], 0),
        ]);
        const routed = (await store.listDeliveries(alertId)).map((d) => d.destinationId).sort();
        assert.ok(
          JSON.stringify(routed) === '["a1","a2"]' || JSON.stringify(routed) === '["b1"]',
          `routed to ${routed}`,
        );
        assert.deepEqual(await store.listUnroutedOutbox(10), []);
        await rejectsWithCode(store.routeOutboxEntry(entry.id + 1000, [{ id: "x", name: "x" }], 0), "not_found");
      });

      it("logs a stale holder's attempt without moving the delivery; an unknown delivery is not_found", async () => {
        const { alertId } = await alertWithOutbox();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: "d", name: "d" }], 0);
        const [stale] = await store.claimDeliveries({ nowMs: 0, leaseMs: LEASE_MS, limit: 10 });
        assert.ok(stale);
        await leaseLapses();
        const [fresh] = await store.claimDeliveries({ nowMs: 1000, leaseMs: 60_000, limit: 10 });
        assert.ok(fresh);
        const late = { deliveryId: stale.id, leaseToken: stale.leaseToken, atMs: 1500, durationMs: 1 };
        assert.equal(await store.recordDeliveryAttempt({ ...late, outcome: "sent", statusCode: 200 }), false);
        const [delivery] = await store.listDeliveries(alertId);
        assert.equal(delivery?.status, "pending");
        assert.equal(delivery?.deliveredAtMs, null);
        assert.equal(delivery?.leaseUntilMs, fresh.leaseUntilMs, "the new holder's lease stands");
        assert.deepEqual(
          delivery?.log.map((a) => [a.attempt, a.outcome, a.atMs]),
          [[2, "sent", 1500]],
        );
        // The new holder's token still holds: its dead letter keeps the due time it had.
        assert.equal(
          await store.recordDeliveryAttempt({
            deliveryId: fresh.id,
            leaseToken: fresh.leaseToken,
            atMs: 1600,
            outcome: "failed",
            error: "gave up",
            durationMs: 1,
          }),
          true,
        );
        const [dead] = await store.listDeliveriesByStatus("failed");
        assert.equal(dead?.nextAttemptAtMs, 0);
        assert.equal(dead?.leaseUntilMs, null);
        await rejectsWithCode(
          store.recordDeliveryAttempt({ ...late, deliveryId: "nope", outcome: "sent" }),
          "not_found",
        );
      });

      it("finds a destination by id before a name equal to that id; lists never carry the config", async () => {
        const first = await newDestination("first");
        const shadow = await newDestination(first.id);
        assert.equal((await store.getDestination(first.id))?.name, "first");
        assert.equal((await store.getDestination(shadow.id))?.name, first.id);
        for (const listed of [await store.listDestinations(), await store.getDestination("first")]) {
          assert.doesNotMatch(JSON.stringify(listed), /ciphertext/);
        }
      });

      /**
       * A claim's lease in these tests, on the database's clock, and a wait past it: long enough that a check
       * right after the claim still finds it held on a loaded machine.
       */
      const LEASE_MS = 1000;
      const leaseLapses = () => new Promise((resolve) => setTimeout(resolve, LEASE_MS + 100));

      /** Claims the one due delivery at `atMs` and records `outcome` for it. */
      async function attempt(
        atMs: number,
        outcome: "sent" | "retry" | "failed",
        extra: { error?: string; concernsDestination?: boolean } = {},
      ) {
        const [d] = await store.claimDeliveries({ nowMs: atMs, leaseMs: 1000, limit: 1 });
        assert.ok(d, `a delivery is due at ${atMs}`);
        await store.recordDeliveryAttempt({
          deliveryId: d.id,
          leaseToken: d.leaseToken,
          atMs,
          outcome,
          ...(outcome === "retry" ? { nextAttemptAtMs: atMs } : {}),
          durationMs: 1,
          ...extra,
        });
        return d;
      }

      it("keeps each destination's health with its attempts: failing since the first failure, cleared by a success", async () => {
        const { alertId } = await alertWithOutbox();
        const dest = await newDestination();
        const other = await newDestination("other");
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 1000);
        const health = async () => (await store.getDestination(dest.id))?.failing;
        assert.equal(await health(), null);

        const d = await attempt(2000, "retry", { error: "HTTP 503" });
        const episode = { sinceMs: 2000, deliveryId: d.id, alertId, recovered: false };
        assert.deepEqual(await health(), { ...episode, latestMs: 2000, error: "HTTP 503", dead: false });
        // Later failures keep the episode's start and delivery, and bring their time and error.
        await attempt(3000, "retry", { error: "HTTP 502" });
        assert.deepEqual(await health(), { ...episode, latestMs: 3000, error: "HTTP 502", dead: false });
        // A failure that says nothing about the destination (nothing was sent) leaves it as it is.
        await attempt(3500, "retry", { error: "the alert was deleted", concernsDestination: false });
        assert.equal((await health())?.error, "HTTP 502");
        await attempt(4000, "failed", { error: "HTTP 400" });
        assert.deepEqual(await health(), { ...episode, latestMs: 4000, error: "HTTP 400", dead: true });
        // A give-up is ended only once its alert is raised: the caller says so (and only for this episode).
        assert.equal(await store.endDeliveryEpisode(dest.id, 2000), false, "no success yet");
        assert.equal((await store.getDestination(other.id))?.failing, null);
        assert.deepEqual(
          (await store.listDestinations()).map((x) => [x.name, x.failing?.dead ?? null]),
          [
            ["hook", true],
            ["other", null],
          ],
        );

        // Sent again, it succeeds: the episode has recovered, and ends when told.
        assert.equal(await store.retryDeadDeliveries({ destinationId: dest.id }, 5000), 1);
        await attempt(5000, "sent");
        assert.deepEqual(await health(), {
          ...episode,
          latestMs: 4000,
          error: "HTTP 400",
          dead: true,
          recovered: true,
        });
        assert.equal(await store.endDeliveryEpisode(dest.id, 1999), false, "another episode");
        assert.equal(await store.endDeliveryEpisode(dest.id, 2000), true);
        assert.equal(await health(), null);
        assert.equal(await store.endDeliveryEpisode(dest.id, 2000), false);
      });

      /** Two alerts, each notified to one destination; `health` reads its failing episode. */
      async function twoDeliveriesToOneDestination() {
        const { source } = await alertWithOutbox();
        await store.applyPage(
          page(source.id, [eventRow("e2", T0 + 1)], {
            matches: [ruleMatch(source.id, "e2", T0 + 1, { dedupString: "another" })],
          }),
        );
        const dest = await newDestination();
        for (const entry of await store.listUnroutedOutbox(10)) {
          await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 1000);
        }
        return { health: async () => (await store.getDestination(dest.id))?.failing ?? null };
      }

      it("ends an episode at a success only once no other delivery to the destination is still failing", async () => {
        const { health } = await twoDeliveriesToOneDestination();
        // The receiver rejects one notification and takes the other.
        const rejected = await attempt(2000, "retry", { error: "HTTP 500" });
        await attempt(2001, "sent");
        assert.equal((await health())?.deliveryId, rejected.id, "one is still failing: the episode goes on");
        const again = await attempt(2002, "sent");
        assert.equal(again.id, rejected.id);
        assert.equal(await health(), null);
      });

      /**
       * Two deliveries to one destination, claimed by two workers at 2000: the one sent is recorded first, at 2500;
       * the other's is recorded after it with `outcome`, at 2100 (its attempt ended first, or its clock is behind).
       */
      async function failureRecordedAfterSuccess(outcome: "retry" | "failed") {
        const { health } = await twoDeliveriesToOneDestination();
        const [early, late] = await store.claimDeliveries({ nowMs: 2000, leaseMs: 10_000, limit: 2 });
        assert.ok(early && late);
        await store.recordDeliveryAttempt({
          deliveryId: late.id,
          leaseToken: late.leaseToken,
          atMs: 2500,
          outcome: "sent",
          durationMs: 1,
        });
        await store.recordDeliveryAttempt({
          deliveryId: early.id,
          leaseToken: early.leaseToken,
          atMs: 2100,
          outcome,
          ...(outcome === "retry" ? { nextAttemptAtMs: 3000 } : {}),
          error: "HTTP 503",
          durationMs: 1,
        });
        // The episode it begins, recovered already (a success is newer than its failure).
        const episode = {
          sinceMs: 2100,
          latestMs: 2100,
          deliveryId: early.id,
          alertId: early.alertId,
          error: "HTTP 503",
          recovered: true,
        };
        return { episode, health };
      }

      it("begins an episode for a failure older than a success already recorded: no outage hides behind a clock", async () => {
        const { episode, health } = await failureRecordedAfterSuccess("retry");
        assert.deepEqual(await health(), { ...episode, dead: false });
        // A failure newer than the success: the episode is no longer recovered.
        await attempt(3000, "retry", { error: "HTTP 503" });
        assert.equal((await health())?.recovered, false);
      });

      it("still begins an episode for a give-up older than a success: its dead letter is announced", async () => {
        const { episode, health } = await failureRecordedAfterSuccess("failed");
        assert.deepEqual(await health(), { ...episode, dead: true });
      });

      it("counts a claim whose sender recorded nothing, until an attempt is recorded", async () => {
        await alertWithOutbox();
        const dest = await newDestination();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 1000);
        const claim = async (nowMs: number) => (await store.claimDeliveries({ nowMs, leaseMs: LEASE_MS, limit: 1 }))[0];
        assert.equal((await claim(1000))?.unrecordedClaims, 0);
        // Its sender died: the lease lapses and the next claim counts it.
        await leaseLapses();
        assert.equal((await claim(1100))?.unrecordedClaims, 1);
        await leaseLapses();
        const third = await claim(1200);
        assert.equal(third?.unrecordedClaims, 2);
        await store.recordDeliveryAttempt({
          deliveryId: third.id,
          leaseToken: third.leaseToken,
          atMs: 1250,
          outcome: "retry",
          nextAttemptAtMs: 1300,
          durationMs: 1,
        });
        assert.equal((await claim(1300))?.unrecordedClaims, 0);
      });

      it("sends dead letters again, in order, with a new retry window; never behind a later notification, nor an ended alert's creation", async () => {
        const { alertId } = await alertWithOutbox();
        const pager = await newDestination("pager");
        const chat = await newDestination("chat");
        const gone = await newDestination("gone");
        const [created] = await store.listUnroutedOutbox(10);
        assert.ok(created);
        await store.routeOutboxEntry(
          created.id,
          [pager, chat, gone].map((d) => ({ id: d.id, name: d.name })),
          1000,
        );
        // The chat's and gone's "created" die; the pager's is still being sent. One destination is removed.
        const creations = await store.claimDeliveries({ nowMs: 2000, leaseMs: 60_000, limit: 10 });
        const fail = (d: (typeof creations)[number], atMs: number) =>
          store.recordDeliveryAttempt({
            deliveryId: d.id,
            leaseToken: d.leaseToken,
            atMs,
            outcome: "failed",
            error: "HTTP 500",
            durationMs: 1,
          });
        for (const d of creations) if (d.destinationName !== "pager") await fail(d, 2000);
        await store.removeDestination(gone.id);
        // The alert ends; its resolve goes where the creation is on its way (the pager), not to the chat.
        await store.setAlertStatus(alertId, "RESOLVED", 3000);
        const resolved = (await store.listUnroutedOutbox(10)).find((e) => e.kind === "resolved");
        assert.ok(resolved);
        await store.routeOutboxEntry(resolved.id, [], 3000);
        // The pager's creation dies after all; its resolve is being sent (claimed, not yet recorded).
        const pagerCreation = creations.find((d) => d.destinationName === "pager");
        assert.ok(pagerCreation);
        await fail(pagerCreation, 3500);
        const [inFlight, ...others] = await store.claimDeliveries({ nowMs: 4000, leaseMs: 60_000, limit: 10 });
        assert.equal(inFlight?.kind, "resolved");
        assert.equal(inFlight?.destinationName, "pager");
        assert.deepEqual(others, []);
        // An ended alert's creation is not announced again (nothing would resolve it).
        assert.deepEqual(await store.countDeadDeliveries(), new Map());
        // The list of a destination's dead letters says so, letter by letter.
        const dead = async (d: { id: string }) =>
          (await store.listDeadDeliveries(d.id)).map((x) => [x.kind, x.alertId, x.lastError, x.sendAgain]);
        assert.deepEqual(await dead(chat), [["created", alertId, "HTTP 500", false]]);
        assert.equal(await store.retryDeadDeliveries({ alertId }, 5000), 0);

        // Reopened: the chat's creation goes again; the pager's waits behind its resolve on its way.
        await store.setAlertStatus(alertId, "OPEN", 5000);
        assert.deepEqual(await store.countDeadDeliveries(), new Map([[chat.id, 1]]));
        assert.deepEqual(await dead(chat), [["created", alertId, "HTTP 500", true]]);
        assert.deepEqual(await dead(pager), [["created", alertId, "HTTP 500", false]]);
        // That resolve dies too: both of the pager's go again, in order.
        await store.recordDeliveryAttempt({
          deliveryId: inFlight.id,
          leaseToken: inFlight.leaseToken,
          atMs: 6000,
          outcome: "failed",
          durationMs: 1,
        });
        assert.deepEqual(
          await store.countDeadDeliveries(),
          new Map([
            [chat.id, 1],
            [pager.id, 2],
          ]),
        );
        // Newest first, each with the time it was given up: its last attempt, not its routing.
        assert.deepEqual(await dead(pager), [
          ["resolved", alertId, null, true],
          ["created", alertId, "HTTP 500", true],
        ]);
        // A worker that had lost the resolve's lease logs its own late attempt: the letter was given up before.
        assert.equal(
          await store.recordDeliveryAttempt({
            deliveryId: inFlight.id,
            leaseToken: inFlight.leaseToken,
            atMs: 7000,
            outcome: "failed",
            durationMs: 1,
          }),
          false,
        );
        const [resolvedLetter, createdLetter] = await store.listDeadDeliveries(pager.id);
        assert.deepEqual([resolvedLetter?.createdAtMs, resolvedLetter?.gaveUpAtMs], [3000, 6000]);
        assert.equal(createdLetter?.createdAtMs, 1000);
        assert.equal(createdLetter?.gaveUpAtMs, 3500);
        assert.deepEqual(await store.listDeadDeliveries("no-such-destination"), []);
        assert.equal(await store.retryDeadDeliveries({ alertId: "no-such-alert" }, 9000), 0);
        assert.equal(await store.retryDeadDeliveries({ alertId }, 9000), 3);
        assert.deepEqual(await dead(pager), []);
        const byKey = new Map((await store.listDeliveries(alertId)).map((d) => [`${d.kind}:${d.destinationName}`, d]));
        assert.equal(byKey.get("created:gone")?.status, "failed");
        for (const key of ["created:chat", "created:pager", "resolved:pager"]) {
          assert.equal(byKey.get(key)?.status, "pending", key);
          assert.equal(byKey.get(key)?.retryFromMs, 9000, key);
          assert.equal(byKey.get(key)?.nextAttemptAtMs, 9000, key);
        }
        assert.equal(byKey.get("created:gone")?.retryFromMs, byKey.get("created:gone")?.createdAtMs);
        const claimed = await store.claimDeliveries({ nowMs: 9000, leaseMs: 1000, limit: 10 });
        assert.deepEqual(
          claimed.map((d) => `${d.kind}:${d.destinationName}`).sort(),
          ["created:chat", "created:pager"],
          "the pager's resolve waits for its creation",
        );
        assert.deepEqual(await store.countDeadDeliveries(), new Map());
      });

      it("lists a destination's dead letters newest first, in outbox order when routed at once", async () => {
        const { source, alertId } = await alertWithOutbox();
        const alertIds = [alertId];
        for (const n of [2, 3, 4]) {
          const created = await store.applyPage(
            page(source.id, [eventRow(`e${n}`, T0 + n)], {
              matches: [ruleMatch(source.id, `e${n}`, T0 + n, { dedupString: `key ${n}` })],
            }),
          );
          alertIds.push(...created.createdAlertIds);
        }
        for (const id of alertIds) await store.setAlertStatus(id, "RESOLVED", 500);
        const dest = await newDestination();
        const entries = await store.listUnroutedOutbox(100);
        assert.equal(entries.length, 8);
        // All routed in the same millisecond: their deliveries have one creation time.
        for (const entry of entries) await store.routeOutboxEntry(entry.id, [{ id: dest.id, name: dest.name }], 1000);
        for (let i = 0; i < entries.length; i++) await attempt(2000 + i, "failed", { error: "HTTP 500" });
        assert.deepEqual(
          (await store.listDeadDeliveries(dest.id)).map((d) => d.outboxId),
          entries.map((e) => e.id).sort((a, b) => b - a),
          "each alert's resolve before its creation, the later alerts first",
        );
      });

      it("removing the source removes its outbox and deliveries", async () => {
        const { source, alertId } = await alertWithOutbox();
        const [entry] = await store.listUnroutedOutbox(10);
        assert.ok(entry);
        await store.routeOutboxEntry(entry.id, [{ id: "d", name: "d" }], 0);
        await store.removeSource(source.id);
        assert.deepEqual(await store.listDeliveries(alertId), []);
        assert.deepEqual(await store.listUnroutedOutbox(10), []);
        assert.deepEqual(await store.claimDeliveries({ nowMs: 0, leaseMs: 1000, limit: 8 }), []);
      });
    });
  });
}
