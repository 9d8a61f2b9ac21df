// The Store contract for the search page (issue 12): the histogram of a search's results over time and saved
// searches, run against every backend beside test/storage-contract.ts.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { VigilError } from "../src/core/errors.ts";
import type { Store } from "../src/storage/ports.ts";
import { TEXT_CANDIDATE_CAP } from "../src/storage/store/dialect.ts";
import { eventRow, sourceSettings } from "./storage-contract.ts";

const HOUR = 3600;
/** A whole day (so hour and day buckets are easy to read). */
const T0 = 1_763_856_000;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function runSearchContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (search histogram, saved searches): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("counts a search's matches per bucket and type, with every filter the search has", async () => {
      const prod = await store.createSource(sourceSettings("prod"), { ciphertext: "x" });
      const other = await store.createSource(sourceSettings("other"), { ciphertext: "x" });
      const events = [
        eventRow("e1", T0 + 10, { raw: JSON.stringify({ note: "Needle here" }) }),
        eventRow("e2", T0 + 20),
        eventRow("e3", T0 + HOUR + 5, { type: "api_key.created", raw: JSON.stringify({ note: "needle" }) }),
        eventRow("e4", T0 + 2 * HOUR + 1, { actorEmail: "bob@example.com", ip: "198.51.100.1" }),
        // The API may write an address in capitals: it is stored folded (foldEmail), raw keeps it as it came.
        eventRow("e5", T0 + 2 * HOUR + 2, { actorEmail: "Bob@EXAMPLE.com" }),
      ];
      await store.applyPage({ sourceId: prod.id, events, quarantined: [], unknownTypes: [] });
      await store.applyPage({
        sourceId: other.id,
        events: [eventRow("o1", T0 + 30)],
        quarantined: [],
        unknownTypes: [],
      });

      assert.deepEqual(await store.searchHistogram({ sourceId: prod.id }, HOUR), [
        { bucketStartSecs: T0, type: "login.succeeded", count: 2 },
        { bucketStartSecs: T0 + HOUR, type: "api_key.created", count: 1 },
        { bucketStartSecs: T0 + 2 * HOUR, type: "login.succeeded", count: 2 },
      ]);
      // All sources, one day bucket; the page's limit and cursor do not narrow a histogram.
      assert.deepEqual(
        await store.searchHistogram({ limit: 1, after: { effectiveAtSecs: T0 + 15, id: "x", sourceId: "y" } }, 86_400),
        [
          { bucketStartSecs: T0, type: "api_key.created", count: 1 },
          { bucketStartSecs: T0, type: "login.succeeded", count: 5 },
        ],
      );
      assert.deepEqual(await store.searchHistogram({ actorEmail: "bob@example.com" }, HOUR), [
        { bucketStartSecs: T0 + 2 * HOUR, type: "login.succeeded", count: 2 },
      ]);
      // An address typed in capitals finds it stored in lower case; one that matches nothing finds nothing.
      assert.deepEqual((await store.searchEvents({ actorEmail: "Bob@Example.COM" })).map((e) => e.id).sort(), [
        "e4",
        "e5",
      ]);
      assert.deepEqual(await store.searchEvents({ actorEmail: "Rob@example.com" }), []);
      assert.deepEqual(
        (await store.searchEvents({ actorEmail: "bob@example.com" })).map((e) => [e.id, e.actorEmail]).sort(),
        [
          ["e4", "bob@example.com"],
          ["e5", "bob@example.com"],
        ],
      );
      assert.deepEqual(await store.searchHistogram({ ip: "198.51.100.1", sinceSecs: T0 + HOUR }, HOUR), [
        { bucketStartSecs: T0 + 2 * HOUR, type: "login.succeeded", count: 1 },
      ]);
      assert.deepEqual(await store.searchHistogram({ untilSecs: T0 + HOUR, types: ["login.succeeded"] }, HOUR), [
        { bucketStartSecs: T0, type: "login.succeeded", count: 3 },
      ]);
      // Free text, before and after the text index has caught up: the same counts.
      const byText = [
        { bucketStartSecs: T0, type: "login.succeeded", count: 1 },
        { bucketStartSecs: T0 + HOUR, type: "api_key.created", count: 1 },
      ];
      assert.deepEqual(await store.searchHistogram({ text: "NEEDLE" }, HOUR), byText);
      await store.indexPendingText();
      assert.deepEqual(await store.searchHistogram({ text: "NEEDLE" }, HOUR), byText);
      // The histogram adds up to what the search finds.
      const found = await store.searchEvents({ text: "needle", limit: 100 });
      assert.equal(found.length, 2);

      assert.deepEqual(await store.searchHistogram({ text: "nowhere" }, HOUR), []);
      await rejectsWith(store.searchHistogram({}, 0), "usage");
      await rejectsWith(store.searchHistogram({}, 1.5), "usage");
    });

    it("finds a text held by more records than the candidate cap as it finds a rare one, indexed or queued", async () => {
      const source = await store.createSource(sourceSettings("big"), { ciphertext: "x" });
      const total = TEXT_CANDIDATE_CAP + 300;
      const note = (i: number) => (i % 250 === 0 ? "common-word rare-word" : "common-word");
      const events = Array.from({ length: total }, (_, i) =>
        eventRow(`e${String(i).padStart(5, "0")}`, T0 + i, { raw: JSON.stringify({ note: note(i) }) }),
      );
      const newest = (n: number, keep: (i: number) => boolean) =>
        events
          .map((e, i) => ({ id: e.id, i }))
          .filter(({ i }) => keep(i))
          .slice(-n)
          .reverse()
          .map((e) => e.id);
      const page = async (text: string, after?: { effectiveAtSecs: number; id: string; sourceId: string }) =>
        (await store.searchEvents({ text, limit: 100, ...(after ? { after } : {}) })).map((e) => e.id);
      const check = async () => {
        assert.deepEqual(
          await page("COMMON-word"),
          newest(100, () => true),
        );
        assert.deepEqual(
          await page("rare-word"),
          newest(100, (i) => i % 250 === 0),
        );
        // The next page of the common text, from the cursor of the first.
        const cursor = { effectiveAtSecs: T0 + total - 100, id: events[total - 100]!.id, sourceId: source.id };
        assert.deepEqual(await page("common-word", cursor), newest(200, () => true).slice(100));
        assert.equal(await store.countEvents({ text: "common-word" }), total);
        assert.deepEqual(await store.searchHistogram({ text: "rare-word" }, 86_400), [
          { bucketStartSecs: T0, type: "login.succeeded", count: Math.ceil(total / 250) },
        ]);
      };
      // The first part indexed, the rest queued.
      const indexed = events.slice(0, TEXT_CANDIDATE_CAP);
      await store.applyPage({ sourceId: source.id, events: indexed, quarantined: [], unknownTypes: [] });
      await store.indexPendingText();
      const queued = events.slice(TEXT_CANDIDATE_CAP);
      await store.applyPage({ sourceId: source.id, events: queued, quarantined: [], unknownTypes: [] });
      await check();
      await store.indexPendingText();
      await check();
    });

    it("saves searches by unique name, lists them by name and deletes them", async () => {
      assert.deepEqual(await store.listSavedSearches(), []);
      const b = await store.createSavedSearch({
        name: " bob's logins ",
        query: "actor=bob%40example.com",
        createdBy: "user:ana",
      });
      assert.equal(b.name, "bob's logins");
      assert.equal(b.query, "actor=bob%40example.com");
      assert.equal(b.createdBy, "user:ana");
      const a = await store.createSavedSearch({
        name: "API keys",
        query: "type=api_key.created&range=7d",
        createdBy: "user:bo",
      });
      assert.deepEqual(
        (await store.listSavedSearches()).map((s) => s.name),
        ["API keys", "bob's logins"],
      );
      assert.deepEqual((await store.listSavedSearches())[0], a);
      await rejectsWith(store.createSavedSearch({ name: "API keys", query: "", createdBy: "user:ana" }), "conflict");
      await rejectsWith(store.createSavedSearch({ name: "  ", query: "", createdBy: "user:ana" }), "usage");
      await store.deleteSavedSearch(a.id);
      assert.deepEqual(
        (await store.listSavedSearches()).map((s) => s.id),
        [b.id],
      );
      await rejectsWith(store.deleteSavedSearch(a.id), "not_found");
    });
  });
}
