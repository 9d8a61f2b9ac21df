import assert from "node:assert/strict";
import { test } from "node:test";
import { ruleMatch } from "../../test/storage-contract.ts";
import { foldNoisyMatches, NOISY_DEDUP } from "./limiter.ts";
import { applyMatches } from "./windows.ts";

const T0 = 1_700_000_000;

test("what is left of a rule's budget after the last hour's alerts decides which new alerts fold", () => {
  const matches = ["a", "b", "c"].map((id, i) => ruleMatch("s", id, T0 + i, { dedupString: id }));
  const other = ruleMatch("s", "o", T0, { ruleId: "Other", dedupString: "o" });
  const all = [...matches, other];
  const outcome = applyMatches([], all);
  const recent = (_s: string, rule: string) => (rule === "OpenAI.Login.Failed" ? 2 : 0);
  const folded = foldNoisyMatches(outcome, all, recent, 3);
  assert.ok(folded);
  assert.deepEqual(
    folded.map((m) => m.dedupString),
    ["a", NOISY_DEDUP, NOISY_DEDUP, "o"],
  );
  assert.equal(folded[1]?.threshold, 1);
  assert.equal(folded[3], other, "another rule's budget is its own");
  // Within budget: nothing to fold.
  assert.equal(
    foldNoisyMatches(outcome, all, () => 0, 3),
    null,
  );
  // Windows below their threshold open no alert, so they use no budget and are not folded.
  const quiet = matches.map((m) => ({ ...m, threshold: 5 }));
  assert.equal(
    foldNoisyMatches(applyMatches([], quiet), quiet, () => 100, 3),
    null,
  );
});

test("a correlation's matches are never folded: each is known by its key, which folding would replace", () => {
  const completions = ["k1", "k2", "k3"].map((key, i) =>
    ruleMatch("s", "anchor", T0 + i, { ruleId: "Corr.Rule", logType: "Vigil.Correlation", dedupString: key }),
  );
  assert.equal(
    foldNoisyMatches(applyMatches([], completions), completions, () => 100, 3),
    null,
  );
});
