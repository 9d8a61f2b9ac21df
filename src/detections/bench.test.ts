import assert from "node:assert/strict";
import { it } from "node:test";
import { benchTsRules } from "./bench.ts";

it("benchTsRules measures 10 TS rules over normalized events", () => {
  const r = benchTsRules({ events: 1000, rounds: 1 });
  assert.equal(r.rules, 10);
  assert.ok(r.evalsPerSec > 0);
});
