import assert from "node:assert/strict";
import { it } from "node:test";
import { ruleMatch } from "../../../test/storage-contract.ts";
import { parseCorrelationRule } from "../panther/correlation.ts";
import { correlateStored } from "./live.ts";

const T = 1_780_000_000;

it("an Absence's frame is checked from the group's first match, not its anchor", () => {
  // Two A within the hour and no B in the hour the group's first A opens.
  const spec = {
    ...parseCorrelationRule(
      {
        AnalysisType: "correlation_rule",
        RuleID: "Two.A.Without.B",
        Enabled: true,
        Severity: "High",
        Detection: [
          {
            Group: [
              { ID: "a", RuleID: "A", MinMatchCount: 2 },
              { ID: "b", RuleID: "B", Absence: true },
            ],
            LookbackWindowMinutes: 60,
          },
        ],
      },
      "/c.yml",
    ),
    packId: null,
  };
  const matches = [ruleMatch("s", "a1", T, { ruleId: "A" }), ruleMatch("s", "a2", T + 50 * 60, { ruleId: "A" })];
  const decide = (frameStored: (from: number, to: number) => boolean) =>
    correlateStored(spec, matches, new Map(), { nowSecs: T + 2 * 3600, frameStored, anchorWanted: () => true });
  // A backfill still reads [T - 1h, T + 30 min]: a B in it, before the anchor (T + 50 min) but inside the
  // window the first A opened, may still come. Undecided.
  const backfilling = (from: number, to: number) => !(from <= T + 1800 && to >= T - 3600);
  assert.deepEqual([decide(backfilling).derived.length, decide(backfilling).undecided], [0, 1]);
  // Once it is done: raised.
  assert.deepEqual([decide(() => true).derived.map((m) => m.eventId), decide(() => true).undecided], [["a2"], 0]);
});
