// Correlation runs over stored signals (runCorrelations), with a Panther Group rule whose criteria field is a
// list: an anchor event that carries two values completes the rule once for each.

import assert from "node:assert/strict";
import { it } from "node:test";
import { storeWithSource } from "../../test/helpers.ts";
import { eventRow, ruleMatch } from "../../test/storage-contract.ts";
import type { CorrelationRuleSpec } from "../detections/panther/correlation.ts";
import { runCorrelations } from "./correlations.ts";

const T = 1_700_000_000;

/** Reconnaissance, then a key created, from one address (any of the events' `ips`) within 30 minutes. */
const SAME_ADDRESS: CorrelationRuleSpec = {
  ruleId: "Test.ReconThenKey",
  displayName: null,
  enabled: true,
  severity: "HIGH",
  specPath: "recon-then-key.yml",
  kind: "Group",
  members: [
    { id: "recon", ruleId: "Test.Recon", min: 1, max: null, absence: false },
    { id: "key", ruleId: "Test.KeyCreated", min: 1, max: null, absence: false },
  ],
  criteria: { ip: { recon: "ips", key: "ips" } },
  transitions: [],
  lookbackMinutes: 30,
  tests: [],
  packId: null,
  description: null,
  reference: null,
  runbook: null,
  tags: [],
  reports: {},
  dedupPeriodMinutes: 60,
  createAlert: true,
  outputIds: null,
};

it("raises an alert for each key an anchor completes, once, however often it runs", async () => {
  const { store, source } = await storeWithSource();
  try {
    const signal = (id: string, ruleId: string, t: number, ips: string[]) =>
      ruleMatch(source.id, id, t, { ruleId, createAlert: false, dedupString: id, alertContext: { ips } });
    await store.applyPage({
      sourceId: source.id,
      quarantined: [],
      unknownTypes: [],
      events: [eventRow("e1", T), eventRow("e2", T + 10), eventRow("e3", T + 60)],
      matches: [
        signal("e1", "Test.Recon", T, ["198.51.100.1"]),
        signal("e2", "Test.Recon", T + 10, ["198.51.100.2"]),
        // The anchor: one key created from both addresses.
        signal("e3", "Test.KeyCreated", T + 60, ["198.51.100.1", "198.51.100.2"]),
      ],
    });
    const first = await runCorrelations(store, source, T + 3600, [SAME_ADDRESS]);
    assert.equal(first.createdAlertIds.length, 2);
    const again = await runCorrelations(store, source, T + 3600, [SAME_ADDRESS]);
    assert.deepEqual(again.createdAlertIds, []);
    const alerts = (await store.listAlerts({ limit: 10 })).filter((a) => a.ruleId === SAME_ADDRESS.ruleId);
    assert.deepEqual(alerts.map((a) => [a.dedupString, a.matchCount]).sort(), [
      ["198.51.100.1", 1],
      ["198.51.100.2", 1],
    ]);
  } finally {
    await store.close();
  }
});

it("keeps a key no store holds as written (a lone surrogate from a member's context) as an escape, and alerts once", async () => {
  const { store, source } = await storeWithSource();
  try {
    const odd = "198.51.100.7\uD800";
    const signal = (id: string, ruleId: string, t: number) =>
      ruleMatch(source.id, id, t, { ruleId, createAlert: false, dedupString: id, alertContext: { ips: [odd] } });
    await store.applyPage({
      sourceId: source.id,
      quarantined: [],
      unknownTypes: [],
      events: [eventRow("e1", T), eventRow("e2", T + 60)],
      matches: [signal("e1", "Test.Recon", T), signal("e2", "Test.KeyCreated", T + 60)],
    });
    const first = await runCorrelations(store, source, T + 3600, [SAME_ADDRESS]);
    assert.equal(first.createdAlertIds.length, 1);
    assert.deepEqual((await runCorrelations(store, source, T + 3600, [SAME_ADDRESS])).createdAlertIds, []);
    const [alert] = (await store.listAlerts({ limit: 10 })).filter((a) => a.ruleId === SAME_ADDRESS.ruleId);
    assert.equal(alert?.dedupString, "198.51.100.7\\ud800");
  } finally {
    await store.close();
  }
});

it("follows the rule's CreateAlert and OutputIds: a signal correlation stores its match once with no alert", async () => {
  const { store, source } = await storeWithSource();
  try {
    const signal = (id: string, ruleId: string, t: number) =>
      ruleMatch(source.id, id, t, {
        ruleId,
        createAlert: false,
        dedupString: id,
        alertContext: { ips: ["198.51.100.9"] },
      });
    await store.applyPage({
      sourceId: source.id,
      quarantined: [],
      unknownTypes: [],
      events: [eventRow("e1", T), eventRow("e2", T + 60)],
      matches: [signal("e1", "Test.Recon", T), signal("e2", "Test.KeyCreated", T + 60)],
    });
    const quiet = { ...SAME_ADDRESS, ruleId: "Test.Quiet", createAlert: false };
    const routed = { ...SAME_ADDRESS, ruleId: "Test.Routed", outputIds: ["pager"] };
    // An empty OutputIds is the default routing, as for rules, not "send nowhere".
    const unrouted = { ...SAME_ADDRESS, ruleId: "Test.Unrouted", outputIds: [] };
    for (let run = 0; run < 2; run++) {
      const { createdAlertIds } = await runCorrelations(store, source, T + 3600, [quiet, routed, unrouted]);
      assert.equal(createdAlertIds.length, run === 0 ? 2 : 0);
    }
    const alerts = await store.listAlerts({ limit: 10 });
    assert.deepEqual(alerts.map((a) => [a.ruleId, a.destinations]).sort(), [
      ["Test.Routed", ["pager"]],
      ["Test.Unrouted", null],
    ]);
    const quietMatches = (await store.listMatches({ sourceId: source.id, sinceSecs: T, untilSecs: T + 3600 })).filter(
      (m) => m.ruleId === "Test.Quiet",
    );
    assert.deepEqual(
      quietMatches.map((m) => [m.dedupString, m.createAlert]),
      [["198.51.100.9", false]],
    );
  } finally {
    await store.close();
  }
});
