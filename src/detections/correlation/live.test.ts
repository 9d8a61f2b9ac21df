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

it("gives keys whose values differ different dedup strings, whatever commas the values hold", () => {
  const spec = {
    ...parseCorrelationRule(
      {
        AnalysisType: "correlation_rule",
        RuleID: "A.Then.B",
        Enabled: true,
        Severity: "High",
        Detection: [
          {
            Group: [
              { ID: "a", RuleID: "A" },
              { ID: "b", RuleID: "B" },
            ],
            MatchCriteria: {
              ip: [
                { GroupID: "a", Match: "ip" },
                { GroupID: "b", Match: "ip" },
              ],
              user: [
                { GroupID: "a", Match: "user" },
                { GroupID: "b", Match: "user" },
              ],
            },
            LookbackWindowMinutes: 60,
          },
        ],
      },
      "/c.yml",
    ),
    packId: null,
  };
  // Two pairs of events: {ip: "x", user: "y, z"} and {ip: "x, y", user: "z"}. Joined as they are, both keys read
  // "x, y, z", and the second pair's alert would join the first's.
  const records = new Map<string, Record<string, unknown>>([
    ["a1", { ip: "x", user: "y, z" }],
    ["b1", { ip: "x", user: "y, z" }],
    ["a2", { ip: "x, y", user: "z" }],
    ["b2", { ip: "x, y", user: "z" }],
    ["a3", { ip: "back\\slash", user: "u" }],
    ["b3", { ip: "back\\slash", user: "u" }],
  ]);
  const matches = [...records.keys()].map((id, i) =>
    ruleMatch("s", id, T + i, { ruleId: id.startsWith("a") ? "A" : "B" }),
  );
  const { derived } = correlateStored(spec, matches, records, { nowSecs: T + 3600, anchorWanted: () => true });
  assert.deepEqual(derived.map((m) => m.dedupString).sort(), ["back\\\\slash, u", "x, y\\, z", "x\\, y, z"]);
});
