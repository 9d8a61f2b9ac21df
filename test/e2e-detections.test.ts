// End to end: simulator → poll (and history backfill) → normalize → detect → alerts, with the built-in
// packs. Each attack scenario must raise its alert at the severity it deserves (SCENARIO_EXPECTATIONS); the
// routine organization's targets (no HIGH, at most one MEDIUM a day) are in test/signal.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SCENARIO_LIST } from "../src/simulator/index.ts";
import {
  alertsFor,
  SIM_NOW as NOW,
  raisedAsExpected,
  SCENARIO_EXPECTATIONS,
  scenarioAlerts,
} from "./simulated-alerts.ts";

describe("detections end to end", { timeout: 600_000 }, () => {
  for (const { name, description } of SCENARIO_LIST) {
    const want = SCENARIO_EXPECTATIONS[name];
    it(`scenario ${name} raises ${want.ruleId} at ${want.severity}`, async () => {
      const alerts = await scenarioAlerts(name);
      const got = alerts.filter((a) => a.ruleId === want.ruleId).map((a) => a.severity);
      assert.ok(
        raisedAsExpected(name, alerts),
        `${description}: expected ${want.ruleId} at ${want.severity}, got ${
          got.length > 0
            ? `it at ${[...new Set(got)].join(", ")}`
            : [...new Set(alerts.map((a) => `${a.ruleId} (${a.severity})`))].join(", ") || "no alert"
        }`,
      );
    });
  }

  it("a brute force then success that arrives by backfill (three days old) raises a HIGH alert", async () => {
    // The attack is history: the first poll starts at "now" and the backfill job reads it, newest slice first
    // (so the success is stored before its failures). Correlation runs on event time, not on the wall clock.
    const atSecs = NOW - 3 * 86_400;
    const alerts = await alertsFor(
      {
        seed: 405,
        profile: "benign",
        history: { days: 4, eventsPerDay: 600, endSecs: NOW - 20 * 60 },
        scenarios: [{ name: "brute-force-then-success", atSecs }],
      },
      5,
    );
    const fired = alerts.filter((a) => a.ruleId === "OpenAI.BruteForce.Login.Success");
    assert.equal(fired.length, 1, `alerts: ${alerts.map((a) => `${a.severity} ${a.ruleId}`).join(", ")}`);
    assert.equal(fired[0]?.severity, "HIGH");
    assert.equal(fired[0]?.fromHistory, true, "read by the backfill: an alert from history, not a page");
    assert.ok(
      Math.abs((fired[0]?.windowStartSecs ?? 0) - atSecs) < 86_400,
      "the alert's window is at the attack's event time, not at the wall clock",
    );
  });
});
