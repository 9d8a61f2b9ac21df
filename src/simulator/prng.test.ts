import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng, WeightedTable } from "./prng.ts";

describe("Rng", () => {
  it("gives the same sequence for the same seed and stream, and a different one otherwise", () => {
    const draw = (seed: number, stream: string) => {
      const rng = new Rng(seed, stream);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    assert.deepEqual(draw(7, "a"), draw(7, "a"));
    assert.notDeepEqual(draw(7, "a"), draw(8, "a"));
    assert.notDeepEqual(draw(7, "a"), draw(7, "b"));
  });

  it("keeps numbers in range and ids in their alphabet", () => {
    const rng = new Rng(1, "range");
    for (let i = 0; i < 2000; i++) {
      const f = rng.next();
      assert.ok(f >= 0 && f < 1);
      const n = rng.int(3, 5);
      assert.ok(n >= 3 && n <= 5 && Number.isInteger(n));
    }
    assert.match(rng.alnum(24), /^[A-Za-z0-9]{24}$/);
    assert.match(rng.hex(32), /^[0-9a-f]{32}$/);
  });

  it("samples distinct items and draws Poisson counts around the mean", () => {
    const rng = new Rng(2, "sample");
    const picked = rng.sample([1, 2, 3, 4, 5, 6], 4);
    assert.equal(new Set(picked).size, 4);
    let total = 0;
    for (let i = 0; i < 2000; i++) total += rng.poisson(3);
    assert.ok(Math.abs(total / 2000 - 3) < 0.2, `mean ${total / 2000}`);
    assert.equal(rng.poisson(0), 0);
  });
});

describe("WeightedTable", () => {
  it("picks in proportion to the weights and never a zero-weight item", () => {
    const table = new WeightedTable<string>([
      ["a", 3],
      ["b", 1],
      ["never", 0],
    ]);
    const rng = new Rng(3, "weights");
    const counts = { a: 0, b: 0, never: 0 } as Record<string, number>;
    for (let i = 0; i < 8000; i++) {
      const item = table.pick(rng);
      counts[item] = (counts[item] ?? 0) + 1;
    }
    assert.equal(counts.never, 0);
    const share = (counts.a ?? 0) / ((counts.a ?? 0) + (counts.b ?? 0));
    assert.ok(share > 0.7 && share < 0.8, `share of a: ${share}`);
  });
});
