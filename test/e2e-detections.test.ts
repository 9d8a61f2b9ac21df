// End to end: simulator → poll (and history backfill) → normalize → detect → alerts, with the built-in
// packs. Each attack scenario must raise its alert at the severity it deserves (SCENARIO_EXPECTATIONS); the
// routine organization's targets (no HIGH, at most one MEDIUM a day) are in test/signal.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SCENARIO_LIST } from "../src/simulator/index.ts";
import { raisedAsExpected, SCENARIO_EXPECTATIONS, scenarioAlerts } from "./simulated-alerts.ts";

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
});
