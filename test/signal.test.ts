// Signal (issue 11, item 1): the simulator's default organization is routine activity, and routine activity
// is not an alert. Over a simulated week it must raise no HIGH or CRITICAL alert and at most one MEDIUM a
// day. 1,500 events a day keeps this under a minute; `npm run bench -- --only signal` measures 10,000 a day.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alertsFor, alertsPerDay, HIGH_OR_ABOVE, MEDIUM_OR_ABOVE, SIM_NOW } from "./simulated-alerts.ts";

const DAYS = 7;

describe("signal: the simulator's default organization", { timeout: 120_000 }, () => {
  it("raises no HIGH or CRITICAL alert and at most one MEDIUM a day over a week", async () => {
    // No profile: whatever the simulator's default is, it must be the routine organization.
    const alerts = await alertsFor({ seed: 2026, history: { days: DAYS, eventsPerDay: 1500, endSecs: SIM_NOW } }, 8);
    const describe = (severities: ReadonlySet<string>) =>
      alerts.filter((a) => severities.has(a.severity)).map((a) => `${a.severity} ${a.ruleId}: ${a.title}`);
    assert.deepEqual(describe(HIGH_OR_ABOVE), [], "no HIGH or CRITICAL alert on routine activity");
    const perDay = alertsPerDay(alerts, DAYS);
    assert.ok(perDay.mediumPlus <= 1, `at most one MEDIUM+ alert a day, got:\n${describe(MEDIUM_OR_ABOVE).join("\n")}`);
  });
});
