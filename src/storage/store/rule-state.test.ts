import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RuleStateOp } from "../../core/detection.ts";
import type { RuleStateEntry } from "../ports.ts";
import { applyStateOp, applyStateOpsTo, groupStateOps, stateTimeSecs } from "./rule-state.ts";

const NOW = 1_800_000_000;
const put = (key: string, value: string, ruleId = "R"): RuleStateOp => ({
  kind: "put",
  ruleId,
  key,
  value,
  expiresAtSecs: NOW + 60,
});
const inc = (key: string, by = 1, ruleId = "R"): RuleStateOp => ({
  kind: "increment",
  ruleId,
  key,
  by,
  expiresAtSecs: null,
});
const add = (key: string, member: string, ruleId = "R"): RuleStateOp => ({
  kind: "add_to_set",
  ruleId,
  key,
  member,
  expiresAtSecs: NOW + 120,
});
const del = (key: string, ruleId = "R"): RuleStateOp => ({ kind: "delete", ruleId, key });

/** The reference: every op applied in order to a map of entries, one at a time. */
function oneByOne(start: Map<string, RuleStateEntry>, ops: readonly RuleStateOp[]): Map<string, RuleStateEntry> {
  const state = new Map(start);
  for (const op of ops) {
    const k = JSON.stringify([op.ruleId, op.key]);
    const next = applyStateOp(state.get(k) ?? null, op, NOW);
    if (next === null) state.delete(k);
    else state.set(k, next);
  }
  return state;
}

function grouped(start: Map<string, RuleStateEntry>, ops: readonly RuleStateOp[]): Map<string, RuleStateEntry> {
  const state = new Map(start);
  for (const g of groupStateOps(ops)) {
    const k = JSON.stringify([g.ruleId, g.key]);
    const next = applyStateOpsTo(state.get(k) ?? null, g.ops, NOW);
    if (next === null) state.delete(k);
    else state.set(k, next);
  }
  return state;
}

describe("groupStateOps", () => {
  it("groups by rule and key, keeping each key's ops in order and keys in order of first op", () => {
    const ops = [inc("a"), put("b", "x"), inc("a", 2), inc("a", 1, "Other"), del("b"), add("a", "m")];
    const groups = groupStateOps(ops);
    assert.deepEqual(
      groups.map((g) => [g.ruleId, g.key, g.ops]),
      [
        ["R", "a", [ops[0], ops[2], ops[5]]],
        ["R", "b", [ops[1], ops[4]]],
        ["Other", "a", [ops[3]]],
      ],
    );
    assert.deepEqual(groupStateOps([]), []);
  });

  it("folding each group gives the same state as applying every op in order", () => {
    const start = new Map<string, RuleStateEntry>([
      [
        JSON.stringify(["R", "a"]),
        { ruleId: "R", key: "a", value: "v", counter: 3, members: ["z"], expiresAtSecs: NOW + 10 },
      ],
      // Expired: counts as absent.
      [JSON.stringify(["R", "c"]), { ruleId: "R", key: "c", value: null, counter: 9, members: [], expiresAtSecs: NOW }],
    ]);
    const cases: RuleStateOp[][] = [
      [inc("a"), inc("a", 4), add("a", "b"), add("a", "b"), put("a", "w")],
      [del("a"), inc("a"), del("b"), put("b", "x"), inc("c"), inc("c")],
      [add("x", "2"), add("y", "1"), add("x", "1"), del("x"), del("y"), inc("y", 5)],
      [put("a", "1"), put("a", "2", "S"), del("a", "S"), inc("a", 1, "S")],
    ];
    for (const ops of cases) assert.deepEqual(grouped(start, ops), oneByOne(start, ops));
  });

  it("applyStateOpsTo returns null when the last op deletes, and the current entry for no ops", () => {
    assert.equal(applyStateOpsTo(null, [inc("a"), del("a")], NOW), null);
    const entry: RuleStateEntry = { ruleId: "R", key: "a", value: null, counter: 1, members: [], expiresAtSecs: null };
    assert.equal(applyStateOpsTo(entry, [], NOW), entry);
    assert.deepEqual(applyStateOpsTo(null, [del("a"), inc("a", 2)], NOW), {
      ruleId: "R",
      key: "a",
      value: null,
      counter: 2,
      members: [],
      expiresAtSecs: null,
    });
  });
});

describe("stateTimeSecs", () => {
  it("is the earliest event time, never later than now, ignoring missing times", () => {
    assert.equal(stateTimeSecs([300, 100, 200], 1000), 100);
    assert.equal(stateTimeSecs([5000], 1000), 1000);
    assert.equal(stateTimeSecs([], 1000), 1000);
    assert.equal(stateTimeSecs([0, 500], 1000), 500);
  });
});
