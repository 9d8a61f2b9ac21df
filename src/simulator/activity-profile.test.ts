import assert from "node:assert/strict";
import { test } from "node:test";
import { CONTROL_WEAKENING_TYPES, RISKY_CHANGE_TYPES } from "./activity.ts";
import { createSimulatedOrg } from "./index.ts";

const END = 1_795_000_000;

test("the benign (default) profile never weakens a control or makes a risky change; the realistic one does now and then", () => {
  const history = { days: 30, eventsPerDay: 2000, endSecs: END };
  const benign = createSimulatedOrg({ seed: 3, tenantShare: 0.2, history });
  const realistic = createSimulatedOrg({ seed: 3, profile: "realistic", tenantShare: 0.2, history });
  const weakening = (events: Array<{ type: string }>) => events.filter((e) => CONTROL_WEAKENING_TYPES.has(e.type));
  const risky = (events: Array<{ type: string }>) => events.filter((e) => RISKY_CHANGE_TYPES.has(e.type));
  assert.equal(benign.allEvents().length, realistic.allEvents().length);
  assert.deepEqual(weakening(benign.allEvents()), []);
  assert.deepEqual(risky(benign.allEvents()), []);
  const seen = new Set(weakening(realistic.allEvents()).map((e) => e.type));
  assert.ok(seen.size >= 5, `realistic activity includes control-weakening actions (${[...seen].join(", ")})`);
  const seenRisky = new Set(risky(realistic.allEvents()).map((e) => e.type));
  assert.ok(seenRisky.size >= 3, `realistic activity includes risky changes (${[...seenRisky].join(", ")})`);
});
