// The alert limiter in the stores (src/alerts/limiter.ts): past its hourly budget, a rule's new alerts fold into
// one noisy alert per event-time hour. Run on every store by its test file.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { NOISY_DEDUP } from "../src/alerts/limiter.ts";
import type { RuleMatch } from "../src/core/detection.ts";
import type { PageWrite, Store } from "../src/storage/ports.ts";
import { eventRow, ruleMatch, sourceSettings } from "./storage-contract.ts";

const T0 = 1_763_900_000 - (1_763_900_000 % 3600) + 60;

/** The two ways matches reach the store: with their page, or derived (correlation rules). */
const ROUTES = {
  "a page": (store: Store, write: PageWrite) => store.applyPage(write),
  "derived matches": (store: Store, write: PageWrite) =>
    store.applyDerivedMatches(write.sourceId, write.matches ?? [], { fromHistory: write.fromHistory === true }),
};

export function runLimiterContract(name: string, open: (alertLimitPerHour: number) => Promise<Store>): void {
  for (const [route, applyTo] of Object.entries(ROUTES))
    runLimiterCases(`${name}: alert limiter, through ${route}`, open, applyTo);
}

function runLimiterCases(
  title: string,
  open: (alertLimitPerHour: number) => Promise<Store>,
  applyTo: (store: Store, write: PageWrite) => Promise<{ createdAlertIds: string[] }>,
): void {
  describe(title, () => {
    let store: Store;
    let sourceId: string;
    beforeEach(async () => {
      store = await open(3);
      sourceId = (await store.createSource(sourceSettings("noisy"), { ciphertext: "x" })).id;
    });
    afterEach(async () => {
      await store.close();
    });

    const apply = (write: PageWrite) => applyTo(store, write);

    /** One page of events, each with one match of `ruleId` and its own dedup string (so its own alert). */
    function page(ids: string[], overrides: Partial<RuleMatch> = {}): PageWrite {
      return {
        sourceId,
        events: ids.map((id, i) => eventRow(id, T0 + i)),
        quarantined: [],
        unknownTypes: [],
        matches: ids.map((id, i) => ruleMatch(sourceId, id, T0 + i, { dedupString: `actor-${id}`, ...overrides })),
      };
    }

    it("folds a rule's alerts beyond its hourly budget into one noisy alert, and keeps counting there", async () => {
      const first = await apply(page(["a", "b", "c", "d", "e"]));
      assert.equal(first.createdAlertIds.length, 4, "three alerts within the budget, then the noisy one");
      const alerts = await store.listAlerts({ ruleId: "OpenAI.Login.Failed" });
      const noisy = alerts.filter((a) => a.dedupString === NOISY_DEDUP);
      assert.equal(noisy.length, 1);
      assert.equal(noisy[0]?.matchCount, 2);
      assert.match(noisy[0]?.title ?? "", /raised more than 3 alerts in an hour/);
      assert.equal(alerts.filter((a) => a.dedupString !== NOISY_DEDUP).length, 3);

      // More of the same: no new alert, the noisy one grows; nothing is lost (every match is stored).
      const second = await apply(page(["f", "g"]));
      assert.deepEqual(second.createdAlertIds, []);
      assert.equal((await store.getAlert(noisy[0]!.id))?.matchCount, 4);
      const signals = await store.listMatches({ sourceId, sinceSecs: T0, untilSecs: T0 + 10 });
      assert.equal(signals.length, 7);
      const attached = await store.getAlertMatches(noisy[0]!.id);
      assert.deepEqual(attached.map((m) => m.match.eventId).sort(), ["d", "e", "f", "g"]);

      // A match that joins an alert that already exists is never folded.
      const again = await apply(page(["h"], { dedupString: "actor-a" }));
      assert.deepEqual(again.createdAlertIds, []);
      assert.equal(alerts.find((a) => a.dedupString === "actor-a")?.matchCount, 1);
      const actorA = (await store.listAlerts({ ruleId: "OpenAI.Login.Failed" })).find(
        (a) => a.dedupString === "actor-a",
      );
      assert.equal(actorA?.matchCount, 2);
    });

    it("gives history and live alerts budgets of their own: a backfill does not silence what follows it", async () => {
      const history = await apply({ ...page(["h1", "h2", "h3", "h4"]), fromHistory: true });
      assert.equal(history.createdAlertIds.length, 4, "three, then the noisy one, all from history");
      const live = await apply(page(["l1", "l2"]));
      assert.equal(live.createdAlertIds.length, 2);
      const liveAlerts = await store.listAlerts({ fromHistory: false });
      assert.deepEqual(liveAlerts.map((a) => a.dedupString).sort(), ["actor-l1", "actor-l2"]);
    });

    it("budgets each rule on its own, and never folds rule errors", async () => {
      await apply(page(["a", "b", "c", "d"]));
      const other = await apply(page(["x1", "x2", "x3"], { ruleId: "OpenAI.Other" }));
      assert.equal(other.createdAlertIds.length, 3);
      const errors = await apply(
        page(["e1", "e2", "e3", "e4", "e5"], { ruleId: "OpenAI.Broken", isError: true, errorType: "TypeError" }),
      );
      assert.equal(errors.createdAlertIds.length, 5);
      assert.equal((await store.listAlerts()).filter((a) => a.dedupString === NOISY_DEDUP).length, 1);
    });

    it("spends a rule's budget once when pages open its alerts at once (parallel slices, several workers)", async () => {
      // Eight pages at once, two new alerts each, all of one rule and hour: sixteen alerts asked for, three given.
      const pages = Array.from({ length: 8 }, (_, p) => page([`p${p}a`, `p${p}b`]));
      const created = (await Promise.all(pages.map(apply))).flatMap((r) => r.createdAlertIds);
      const alerts = await store.listAlerts({ ruleId: "OpenAI.Login.Failed" });
      assert.equal(alerts.filter((a) => a.dedupString !== NOISY_DEDUP).length, 3);
      const noisy = alerts.filter((a) => a.dedupString === NOISY_DEDUP);
      assert.equal(noisy.length, 1);
      assert.equal(noisy[0]?.matchCount, 13);
      assert.equal(new Set(created).size, 4);
      assert.equal((await store.listMatches({ sourceId, sinceSecs: T0, untilSecs: T0 + 10 })).length, 16);
    });

    it("never folds a correlation's completions: applied again, each is known as stored", async () => {
      // Five keys, two of them on one anchor: past the budget of three, and applied a second time, as a
      // correlation run does when another member match lands nearby.
      const completions = [
        ["a1", "k1"],
        ["a2", "k2"],
        ["a3", "k3"],
        ["a4", "k4"],
        ["a4", "k5"],
      ].map(([anchor, key], i) =>
        ruleMatch(sourceId, anchor as string, T0 + i, {
          ruleId: "Corr.Rule",
          logType: "Vigil.Correlation",
          dedupString: key as string,
        }),
      );
      const first = await store.applyDerivedMatches(sourceId, completions);
      assert.equal(first.createdAlertIds.length, 5);
      assert.deepEqual((await store.applyDerivedMatches(sourceId, completions)).createdAlertIds, []);
      assert.deepEqual((await store.listAlerts({ ruleId: "Corr.Rule" })).map((a) => a.dedupString).sort(), [
        "k1",
        "k2",
        "k3",
        "k4",
        "k5",
      ]);
    });
  });
}
