// The Store contract for finding 7 (docs/security.md): alerts are a function of the events, not of their
// order. Seeded scenarios (test/alert-order-scenarios.ts) are delivered to a real store many ways — shuffled
// or newest first, in pages of random sizes, over parallel slices running at once, with events read again —
// and every delivery must leave the same alerts as one in-order page: rule, dedup string, window, match
// count, title, severity, context and the matches attached. Run against every backend.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { PageWrite, Store } from "../src/storage/ports.ts";
import {
  type AlertShape,
  Rng,
  randomDelivery,
  type ScenarioEvent,
  scenarioEvents,
  sortShapes,
} from "./alert-order-scenarios.ts";
import { eventRow, sourceSettings } from "./storage-contract.ts";

function pageOf(sourceId: string, events: readonly ScenarioEvent[]): PageWrite {
  return {
    sourceId,
    events: events.map((e) => eventRow(e.id, e.t)),
    quarantined: [],
    unknownTypes: [],
    matches: events.flatMap((e) => e.matches.map((m) => ({ ...m, sourceId }))),
  };
}

async function alertShapes(store: Store, sourceId: string): Promise<AlertShape[]> {
  const alerts = await store.listAlerts({ sourceId, limit: 10_000 });
  const shapes = await Promise.all(
    alerts.map(async (a) => ({
      ruleId: a.ruleId,
      dedupString: a.dedupString,
      isError: a.isError,
      windowStartSecs: a.windowStartSecs,
      windowEndSecs: a.windowEndSecs,
      matchCount: a.matchCount,
      title: a.title,
      severity: a.severity,
      alertContext: a.alertContext,
      eventIds: (await store.getAlertMatches(a.id)).map((m) => m.match.eventId).sort(),
    })),
  );
  return sortShapes(shapes);
}

export function runAlertOrderContract(
  name: string,
  open: () => Promise<Store>,
  options: { scenarios: number; deliveries: number },
): void {
  describe(`Store contract (alerts independent of arrival order): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    /** Every delivery of each scenario, page by page through `apply`, must give the in-order alerts. */
    async function deliverScenarios(seed: string, apply: (page: PageWrite) => Promise<unknown>): Promise<void> {
      const rng = new Rng(16_007, seed);
      let sources = 0;
      const newSource = async () =>
        (await store.createSource(sourceSettings(`order-${++sources}`), { ciphertext: "x" })).id;
      let alerted = 0;
      for (let scenario = 0; scenario < options.scenarios; scenario++) {
        const events = scenarioEvents(rng, "unset", rng.int(30, 70));
        // The reference: every event once, in event-time order, in one page.
        const reference = await newSource();
        const inOrder = [...events].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
        await store.applyPage(pageOf(reference, inOrder));
        const expected = await alertShapes(store, reference);
        alerted += expected.length;
        assert.ok(
          expected.some((a) => a.matchCount > 1),
          "the scenario groups several matches into one alert",
        );

        for (let delivery = 0; delivery < options.deliveries; delivery++) {
          const sourceId = await newSource();
          const slices = randomDelivery(rng, events);
          // Slices run at once, as parallel backfill slices do: their pages interleave.
          await Promise.all(
            slices.map(async (pages) => {
              for (const page of pages) await apply(pageOf(sourceId, page));
            }),
          );
          assert.deepEqual(
            await alertShapes(store, sourceId),
            expected,
            `scenario ${scenario}, delivery ${delivery} (${slices.length} slices)`,
          );
        }
      }
      assert.ok(alerted > 10 * options.scenarios, `only ${alerted} alerts over ${options.scenarios} scenarios`);
    }

    it("gives the same alerts for the same events in any order, page split and slice split, re-reads included", async () => {
      await deliverScenarios(`storage-contract-alert-order:${name}`, (page) => store.applyPage(page));
    });

    it("gives the same alerts when the matches come derived, without their pages", async () => {
      await deliverScenarios(`storage-contract-alert-order-derived:${name}`, (page) =>
        store.applyDerivedMatches(page.sourceId, page.matches ?? []),
      );
    });
  });
}
