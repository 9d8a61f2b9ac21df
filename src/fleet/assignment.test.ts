import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignItems } from "./assignment.ts";

const items = (n: number) => Array.from({ length: n }, (_, i) => `source:${String(i).padStart(4, "0")}`);
const workers = (n: number) => Array.from({ length: n }, (_, i) => `worker-${i}`);

/** item → worker */
function owners(assignment: Map<string, string[]>): Map<string, string> {
  const byItem = new Map<string, string>();
  for (const [worker, list] of assignment) for (const item of list) byItem.set(item, worker);
  return byItem;
}

function moved(before: Map<string, string[]>, after: Map<string, string[]>): number {
  const a = owners(before);
  const b = owners(after);
  return [...b].filter(([item, worker]) => a.get(item) !== worker).length;
}

describe("assignItems", () => {
  it("gives every item exactly one worker, none more than ceil(items / workers)", () => {
    for (const [n, w] of [
      [0, 3],
      [1, 3],
      [20, 3],
      [200, 3],
      [201, 7],
      [5, 8],
    ] as const) {
      const result = assignItems(items(n), workers(w));
      assert.equal(result.size, w, "every worker is listed");
      const all = [...result.values()].flat();
      assert.equal(all.length, n, "no item twice, none missing");
      assert.deepEqual([...all].sort(), items(n));
      for (const list of result.values())
        assert.ok(list.length <= Math.ceil(n / w), `${list.length} > ceil(${n}/${w})`);
      // Spread evenly, not merely bounded: each worker gets floor or ceil.
      if (n >= w) for (const list of result.values()) assert.ok(list.length >= Math.floor(n / w) - 1);
    }
  });

  it("is deterministic whatever the order (or duplicates) of its inputs", () => {
    const a = assignItems(items(50), workers(4));
    const shuffled = [...items(50)].reverse();
    const b = assignItems([...shuffled, ...shuffled.slice(0, 5)], [...workers(4)].reverse());
    assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
  });

  it("assigns nothing without workers", () => {
    assert.equal(assignItems(items(5), []).size, 0);
  });

  it("moves few items when a worker joins: about its fair share", () => {
    const before = assignItems(items(200), workers(3));
    const after = assignItems(items(200), workers(4));
    const ideal = 50; // the newcomer's share; anything else moving is churn
    const n = moved(before, after);
    assert.ok(n >= ideal, `the newcomer got its share (${n})`);
    assert.ok(n <= ideal * 1.3, `${n} items moved for a fair share of ${ideal}`);
    // The newcomer gains most of what moves: the old workers pass few items among themselves (capacity shrank).
    const a = owners(before);
    const amongOld = [...owners(after)].filter(([item, worker]) => worker !== "worker-3" && a.get(item) !== worker);
    assert.ok(amongOld.length <= 10, `${amongOld.length} items moved between the workers that were there`);
  });

  it("moves few items when a worker leaves: mostly the leaver's", () => {
    const before = assignItems(items(200), workers(4));
    const leaver = before.get("worker-1") as string[];
    const after = assignItems(
      items(200),
      workers(4).filter((w) => w !== "worker-1"),
    );
    const n = moved(before, after);
    assert.ok(n >= leaver.length);
    assert.ok(n <= leaver.length * 1.3, `${n} items moved when a worker holding ${leaver.length} left`);
  });

  it("moves nothing when nothing changes, and only the new item when one is added", () => {
    const before = assignItems(items(30), workers(3));
    assert.equal(moved(before, assignItems(items(30), workers(3))), 0);
    const grown = assignItems(items(31), workers(3));
    assert.ok(moved(before, grown) <= 3, "adding one item reshuffles at most a couple");
  });
});
