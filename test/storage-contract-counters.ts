// The Store contract for the counters behind the overview (events per day and type, alerts per status and
// severity, quarantined records and rule errors per source) and for keyset paging of searches, run against
// every backend beside test/storage-contract.ts. Each count is checked against the rows themselves, read
// through the ordinary list methods, after every kind of write that can change it.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { eventDocument } from "../src/storage/event-document.ts";
import type { AlertCursor, EventCursor, EventQuery, QuarantineRow, Store, StoredEvent } from "../src/storage/ports.ts";
import { eventRow, ruleMatch, sourceSettings } from "./storage-contract.ts";

const DAY = 86_400;
const D0 = 19_700 * DAY; // a day's start
const ALL = 10_000;

function bad(raw: string): QuarantineRow {
  return { eventId: null, reason: "missing effective_at", issues: [], raw };
}

/** What the counters must say, computed from the rows. */
async function truth(store: Store) {
  const sources = await store.listSources();
  const events = (await store.searchEvents({ limit: ALL })) as StoredEvent[];
  const histogram = new Map<string, number>();
  for (const e of events) {
    if (e.effectiveAtSecs < D0) continue;
    const key = `${Math.floor(e.effectiveAtSecs / DAY) * DAY}|${e.type}`;
    histogram.set(key, (histogram.get(key) ?? 0) + 1);
  }
  const alerts = new Map<string, number>();
  for (const a of await store.listAlerts({ limit: ALL })) {
    const key = `${a.sourceId}|${a.status}|${a.severity}`;
    alerts.set(key, (alerts.get(key) ?? 0) + 1);
  }
  const perSource = [];
  for (const s of sources) {
    const matches = await store.listMatches({ sourceId: s.id, sinceSecs: 0, untilSecs: D0 + 100 * DAY });
    perSource.push({
      sourceId: s.id,
      events: (await store.listEventIds(s.id)).length,
      quarantined: (await store.listQuarantine({ sourceId: s.id, limit: ALL })).length,
      ruleErrors: matches.filter((m) => m.isError).length,
    });
  }
  perSource.sort((x, y) => (x.sourceId < y.sourceId ? -1 : x.sourceId > y.sourceId ? 1 : 0));
  return { histogram, alerts, perSource, total: events.length };
}

async function assertCountersTrue(store: Store): Promise<void> {
  const t = await truth(store);
  const histogram = await store.eventHistogram({ sinceSecs: D0, bucketSecs: DAY });
  assert.deepEqual(new Map(histogram.map((b) => [`${b.bucketStartSecs}|${b.type}`, b.count])), t.histogram);
  const alerts = await store.alertCounts();
  assert.deepEqual(new Map(alerts.map((a) => [`${a.sourceId}|${a.status}|${a.severity}`, a.count])), t.alerts);
  assert.deepEqual(await store.sourceCounts(), t.perSource);
  assert.equal(await store.countEvents(), t.total);
  for (const s of t.perSource) assert.equal(await store.countEvents({ sourceId: s.sourceId }), s.events);
}

export function runCountersContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (counters, paging): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("keeps every counter equal to the rows through ingest, re-reads, alerts, status changes and source removal", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      const b = await store.createSource(sourceSettings("b"), { ciphertext: "x" });
      await assertCountersTrue(store);

      // Three days, two types, one event before the histogram's start, ids shared between sources.
      const rows = (prefix: string) => [
        eventRow(`${prefix}1`, D0 - 5, { type: "login.failed" }),
        eventRow(`${prefix}2`, D0 + 10, { type: "login.failed" }),
        eventRow(`${prefix}3`, D0 + 20, { type: "login.succeeded" }),
        eventRow(`${prefix}4`, D0 + DAY + 1, { type: "login.failed" }),
        eventRow(`${prefix}5`, D0 + 2 * DAY - 1, { type: "login.failed" }),
        eventRow(`${prefix}6`, D0 + 2 * DAY, { type: "api_key.created" }),
      ];
      const matchesOf = (sourceId: string, prefix: string) => [
        ruleMatch(sourceId, `${prefix}2`, D0 + 10, { severity: "HIGH", dedupString: "x" }),
        ruleMatch(sourceId, `${prefix}4`, D0 + DAY + 1, { severity: "LOW", dedupString: "y" }),
        ruleMatch(sourceId, `${prefix}5`, D0 + 2 * DAY - 1, {
          isError: true,
          errorType: "TypeError",
          errorMessage: "boom",
          dedupString: "z",
        }),
      ];
      await store.applyPage({
        sourceId: a.id,
        events: rows("e"),
        quarantined: [bad("{}"), bad("{ }")],
        unknownTypes: [],
        matches: matchesOf(a.id, "e"),
      });
      await store.applyPage({
        sourceId: b.id,
        events: rows("e").slice(0, 3),
        quarantined: [bad("{}")],
        unknownTypes: [],
      });
      await assertCountersTrue(store);
      assert.equal(await store.countEvents({ sourceId: a.id }), 6);

      // Re-reads: the same events, matches and bad records again count nothing; a new one counts once.
      const before = await store.sourceCounts();
      await store.applyPage({
        sourceId: a.id,
        events: [...rows("e"), eventRow("e7", D0 + 30, { type: "login.failed" })],
        quarantined: [bad("{}")],
        unknownTypes: [],
        matches: matchesOf(a.id, "e"),
      });
      await assertCountersTrue(store);
      const after = await store.sourceCounts();
      assert.equal(
        after.find((s) => s.sourceId === a.id)?.events,
        (before.find((s) => s.sourceId === a.id)?.events ?? 0) + 1,
      );
      assert.equal(after.find((s) => s.sourceId === a.id)?.quarantined, 2);
      assert.equal(after.find((s) => s.sourceId === a.id)?.ruleErrors, 1);

      // Derived matches (correlation) and status changes.
      await store.applyDerivedMatches(b.id, [ruleMatch(b.id, "e2", D0 + 10, { severity: "CRITICAL", ruleId: "Corr" })]);
      const [first] = await store.listAlerts({ sourceId: a.id, severity: "HIGH" });
      assert.ok(first);
      await store.setAlertStatus(first.id, "ACKNOWLEDGED", 1000);
      await store.setAlertStatus(first.id, "RESOLVED", 2000);
      await assertCountersTrue(store);
      const open = (await store.alertCounts()).filter((c) => c.status === "OPEN");
      assert.ok(open.length > 0, "some alerts stay open");

      await store.removeSource(a.id);
      await assertCountersTrue(store);
      assert.ok((await store.alertCounts()).every((c) => c.sourceId === b.id));
      assert.deepEqual(
        (await store.sourceCounts()).map((s) => s.sourceId),
        [b.id],
      );
    });

    it("answers histograms of buckets shorter than a day from the events", async () => {
      const s = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      await store.applyPage({
        sourceId: s.id,
        events: [
          eventRow("h1", D0 + 10),
          eventRow("h2", D0 + 3599),
          eventRow("h3", D0 + 3600),
          eventRow("h4", D0 + 7300),
        ],
        quarantined: [],
        unknownTypes: [],
      });
      assert.deepEqual(
        (await store.eventHistogram({ sourceId: s.id, sinceSecs: D0 + 1800, bucketSecs: 3600 })).map((b) => [
          b.bucketStartSecs,
          b.count,
        ]),
        [
          [D0, 1],
          [D0 + 3600, 1],
          [D0 + 7200, 1],
        ],
      );
    });

    it("gives the events of a search as the API's JSON documents, in the same order, with the page's cursor", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      await store.applyPage({
        sourceId: a.id,
        events: [
          eventRow("d1", D0 + 1, { actorEmail: null }),
          eventRow("d2", D0 + 2, { raw: JSON.stringify({ id: "d2", n: 1.5, s: "é\n\u2028", deep: [{ a: null }] }) }),
          eventRow("d3", D0 + 3, { raw: "not json {" }),
        ],
        quarantined: [],
        unknownTypes: [],
      });
      const events = await store.searchEvents({ limit: 10 });
      const docs = await store.searchEventDocuments({ limit: 10 });
      assert.equal(docs.count, 3);
      assert.deepEqual(
        JSON.parse(`[${new TextDecoder().decode(docs.json)}]`),
        JSON.parse(JSON.stringify(events.map(eventDocument))),
      );
      assert.deepEqual(docs.last, { effectiveAtSecs: D0 + 1, id: "d1", sourceId: a.id });
      const empty = await store.searchEventDocuments({ text: "absent-text" });
      assert.deepEqual(
        { count: empty.count, bytes: empty.json.length, last: empty.last },
        { count: 0, bytes: 0, last: null },
      );
    });

    it("lists alerts page by page after a cursor: every alert once, in the same order as one query", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      // Many alerts created by one page (same creation time): ties fall to the window start, then the id.
      const events = Array.from({ length: 17 }, (_, i) => eventRow(`al${i}`, D0 + (i % 4) * 3600));
      await store.applyPage({
        sourceId: a.id,
        events,
        quarantined: [],
        unknownTypes: [],
        matches: events.map((e, i) =>
          ruleMatch(a.id, e.id, e.effectiveAtSecs, { dedupString: `d${i}`, severity: i % 2 ? "HIGH" : "LOW" }),
        ),
      });
      for (const query of [{}, { severity: "HIGH" as const }]) {
        const whole = (await store.listAlerts({ ...query, limit: ALL })).map((x) => x.id);
        const paged: string[] = [];
        let after: AlertCursor | undefined;
        for (;;) {
          const page = await store.listAlerts({ ...query, limit: 3, after });
          paged.push(...page.map((x) => x.id));
          const last = page.at(-1);
          if (page.length < 3 || !last) break;
          after = { createdAtMs: last.createdAtMs, windowStartSecs: last.windowStartSecs, id: last.id };
        }
        assert.ok(whole.length >= 8, JSON.stringify(query));
        assert.deepEqual(paged, whole, JSON.stringify(query));
      }
    });

    it("reads a search page by page after a cursor: every event once, in the same order as one query", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      const b = await store.createSource(sourceSettings("b"), { ciphertext: "x" });
      // Many ties: equal times, and the same ids in both sources.
      for (const source of [a, b]) {
        await store.applyPage({
          sourceId: source.id,
          events: Array.from({ length: 23 }, (_, i) =>
            eventRow(`p${String(i % 7).padStart(2, "0")}-${i}`, D0 + Math.floor(i / 5), {
              type: i % 2 === 0 ? "login.failed" : "login.succeeded",
            }),
          ),
          quarantined: [],
          unknownTypes: [],
        });
      }
      const queries: EventQuery[] = [{}, { types: ["login.failed"] }, { sourceId: b.id }, { text: "p03" }];
      for (const query of queries) {
        const whole = (await store.searchEvents({ ...query, limit: ALL })).map((e) => `${e.sourceId}/${e.id}`);
        const paged: string[] = [];
        let after: EventCursor | undefined;
        for (;;) {
          const page = await store.searchEvents({ ...query, limit: 4, after });
          paged.push(...page.map((e) => `${e.sourceId}/${e.id}`));
          const last = page.at(-1);
          if (page.length < 4 || !last) break;
          after = { effectiveAtSecs: last.effectiveAtSecs, id: last.id, sourceId: last.sourceId };
        }
        assert.ok(whole.length > 0, JSON.stringify(query));
        assert.deepEqual(paged, whole, JSON.stringify(query));
      }
    });
  });
}
